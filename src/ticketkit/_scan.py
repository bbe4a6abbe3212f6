"""Reading many tickets and their histories: what reports, dry runs and CSAT share.

:func:`check_scope` refuses a bad ``tenant``, ``where`` or ``progress``;
:func:`tickets_before` lists the tickets they select; :func:`histories` reads
their events, many at once from a store that can (``events_for``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._errors import ValidationError
from ._events import Event
from ._model import Ticket
from ._query import MAX_LIMIT, Condition, Op, Query

if TYPE_CHECKING:
    from ._tracker import Tracker

__all__ = ["BATCH", "Progress", "check_scope", "histories", "tickets_before"]

#: ``progress(done, total)``, called as tickets are read.
Progress = Callable[[int, int], None]

#: How many tickets' events are asked for at once from a store that reads them together.
BATCH = 500


def check_scope(tenant: object, where: object, progress: object) -> None:
    """Refuse a ``tenant``, ``where`` or ``progress`` that cannot select or report tickets."""
    if tenant is not None and (not isinstance(tenant, str) or not tenant):
        raise ValidationError(
            f"tenant must be a tenant's name or None for every tenant, got {tenant!r:.60}",
            field="tenant",
        )
    if where is not None and not isinstance(where, Mapping | Query):
        raise ValidationError(
            f"where must be a query such as {{'queue': 'it'}} or a Query, got {where!r:.60}",
            field="where",
        )
    if progress is not None and not callable(progress):
        raise ValidationError(
            f"progress must be a function of (done, total) or None, got {progress!r:.60}",
            field="progress",
        )


def tickets_before(
    tracker: Tracker,
    where: Mapping[str, Any] | Query | None,
    tenant: str | None,
    until: datetime | None,
) -> list[Ticket]:
    """Every ticket that matches ``where`` (text too) and ``tenant``, opened before ``until``
    (``None``: whenever)."""
    query = where if isinstance(where, Query) else Query.build(where)
    wanted = list(query.conditions)
    if until is not None:
        wanted.append(Condition("created", Op.LT, until))
    if tenant is not None:
        wanted.append(Condition("tenant", Op.EQ, tenant))
    found: list[Ticket] = []
    cursor: str | None = None
    while True:
        page = tracker.query(wanted, text=query.text, limit=MAX_LIMIT, cursor=cursor)
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


def histories(tracker: Tracker, tickets: list[Ticket]) -> Iterator[list[Event]]:
    """Each ticket's events, oldest first, in the order of ``tickets``.

    A store with ``events_for(ticket_ids) -> Mapping[int, list[Event]]`` is
    asked :data:`BATCH` tickets at a time; any other store once per ticket.
    """
    store = tracker.store
    batched: Callable[[list[int]], Mapping[int, list[Event]]] | None = getattr(
        store, "events_for", None
    )
    if batched is None:
        for ticket in tickets:
            yield store.events(ticket.id)
        return
    for start in range(0, len(tickets), BATCH):
        chunk = tickets[start : start + BATCH]
        found = batched([ticket.id for ticket in chunk])
        for ticket in chunk:
            yield list(found.get(ticket.id, ()))
