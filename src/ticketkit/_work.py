"""The work of one ticket inside one transaction, and its one version step."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs
from attrs import evolve

from ._automation_records import OutboxItem
from ._events import Event
from ._model import Ticket

if TYPE_CHECKING:
    from .sla import SLAStatus

__all__ = ["Work", "flatten"]


@attrs.define
class Work:
    """The changes piling up for one ticket inside one transaction."""

    ticket: Ticket
    history: list[Event]
    events: list[Event] = attrs.field(factory=list)
    outbox: list[OutboxItem] = attrs.field(factory=list)
    counts: dict[str, int] = attrs.field(factory=dict)
    #: The SLA status worked out for ``ticket`` as it was then (recording notices
    #: does not change it; a change to the ticket does).
    sla: tuple[Ticket, SLAStatus] | None = None

    def sla_for(self, ticket: Ticket) -> SLAStatus | None:
        """The SLA status already worked out for ``ticket``, if it is still this ticket."""
        return self.sla[1] if self.sla is not None and self.sla[0] is ticket else None

    def change(self, new: Ticket, events: Iterable[Event]) -> None:
        self.ticket = new
        added = list(events)
        self.events.extend(added)
        self.history.extend(added)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def flatten(original: Ticket, new: Ticket, events: Sequence[Event]) -> tuple[Ticket, list[Event]]:
    """One version step for a write made of several changes.

    Each change raises the version by one; the store takes one write at a time,
    so the ticket and every event of the write get ``original.version + 1`` (or
    keep ``original.version`` when only notices were recorded).
    """
    changed = new.version != original.version
    version = original.version + 1 if changed else original.version
    if changed and new.version != version:
        new = evolve(new, version=version)
    return new, [e if e.version == version else evolve(e, version=version) for e in events]
