"""Bulk import: tickets from another system, with their history, in batches.

:func:`import_tickets` reads :class:`ImportRecord` objects from any iterable
(a generator of millions is fine: it holds one batch at a time), checks each
one, and stores each batch in one transaction of the store. Every imported
ticket gets a fresh key and a history that replays to the stored ticket: its
``opened`` event at ``created`` by the reporter, then one event per history
entry and comment, in time order, with their own actors and times.

Failure policy: the import stops at the first bad record. Batches stored
before it are kept; nothing of the batch that holds it is stored. The
:class:`ImportRecordError` raised names the record and the field, and carries
the :class:`ImportReport` of what was kept, so the caller can resume.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence, Sized
from typing import TYPE_CHECKING

from ._errors import ValidationError
from ._events import Event, EventType
from ._model import Comment, Ticket
from ._text import check_name
from .importers._plan import Change, CommentStep, Plan, RecordProblem, located, plan
from .importers._records import ImportRecord, ImportRecordError, ImportReport, Progress

if TYPE_CHECKING:
    from ._tracker import Tracker
    from .storage import Transaction

__all__ = ["import_tickets"]


# -- writing a batch ----------------------------------------------------------------


def _create(tx: Transaction, plans: Sequence[Plan]) -> list[Ticket]:
    """The batch's tickets, stored, in the order of ``plans``."""
    create_many = getattr(tx, "create_tickets", None)
    if create_many is None:
        return [tx.create_ticket(p.ticket, p.prefix) for p in plans]
    created: list[Ticket | None] = [None] * len(plans)
    by_prefix: dict[str, list[int]] = {}
    for i, p in enumerate(plans):
        by_prefix.setdefault(p.prefix, []).append(i)
    for prefix, positions in by_prefix.items():
        stored = create_many([plans[i].ticket for i in positions], prefix)
        for i, ticket in zip(positions, stored, strict=True):
            created[i] = ticket
    return [t for t in created if t is not None]


def _write(tx: Transaction, plans: Sequence[Plan]) -> list[Ticket]:
    """Store the batch's tickets, comments and events; the tickets, in order."""
    tickets = _create(tx, plans)
    notes = [
        Comment(
            id=0,
            ticket_id=t.id,
            ticket_key=t.key,
            author=step.author,
            body=step.body,
            created=step.at,
            internal=step.internal,
        )
        for p, t in zip(plans, tickets, strict=True)
        for step in p.steps
        if isinstance(step, CommentStep)
    ]
    stored: list[Comment] = []
    if notes:
        add_comments = getattr(tx, "add_comments", None)
        stored = add_comments(notes) if add_comments else [tx.add_comment(c) for c in notes]
    comment = iter(stored)
    new_events: list[Event] = []
    for p, t in zip(plans, tickets, strict=True):
        tid, key = t.id, t.key
        new_events.append(
            Event(tid, key, 1, EventType.OPENED, t.reporter, t.created, data=p.opened)
        )
        for step in p.steps:
            if isinstance(step, Change):
                new_events.append(
                    Event(
                        tid,
                        key,
                        step.version,
                        step.type,
                        step.actor,
                        step.at,
                        step.field,
                        step.old,
                        step.new,
                        step.data,
                    )
                )
                continue
            note = next(comment)
            data = {"comment_id": note.id, "internal": note.internal, "imported": True}
            new_events.append(
                Event(
                    tid,
                    key,
                    step.version,
                    EventType.COMMENTED,
                    note.author,
                    note.created,
                    data=data,
                )
            )
    insert_events = getattr(tx, "insert_events", None)
    if insert_events is not None:  # the SQL store: one executemany, no ids read back
        insert_events(new_events)
    else:
        tx.add_events(new_events)
    return tickets


def import_tickets(
    tracker: Tracker,
    records: Iterable[ImportRecord],
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``records`` into ``tracker``'s store, ``batch_size`` per transaction.

    Streams: only one batch is held in memory. Each ticket gets a fresh key from
    the prefix of its first queue. ``progress(done, total)`` is called after each
    stored batch (``total`` is ``len(records)`` when it has one, else ``None``).
    Subscribers are not called for imported events.

    Raises :class:`ImportRecordError` (a :class:`~ticketkit.ValidationError`) at the
    first bad record: earlier batches are kept, its own batch is not stored. Other
    errors (a :class:`~ticketkit.StorageError`, say) propagate with a note saying
    how many records were kept; their batch is rolled back.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError(
            f"batch_size must be a whole number of at least 1, got {batch_size!r}",
            field="batch_size",
        )
    total = len(records) if isinstance(records, Sized) else None
    config = tracker.config
    done = batches = 0
    keys: dict[str, str] = {}
    source = iter(records)

    def failed(index: int, source_id: str | None, problem: RecordProblem) -> ImportRecordError:
        shown = f"record {index}" + ("" if source_id is None else f" (source_id {source_id!r})")
        where = problem.where
        return ImportRecordError(
            f"{shown}: {problem.error}"
            + (f" [field {where}]" if where else "")
            + f"; the {done} records before its batch were imported and kept",
            index=index,
            source_id=source_id,
            field=where,
            report=ImportReport(done, batches, keys),
        )

    while True:
        batch: list[Plan] = []
        batch_ids: list[str | None] = []
        pending: set[str] = set()
        for index in itertools.count(done):
            if len(batch) == batch_size:
                break
            try:
                record = next(source)
            except StopIteration:
                break
            except ValidationError as exc:  # a reader's bad line
                raise failed(index, None, RecordProblem(exc, exc.field)) from exc
            source_id = getattr(record, "source_id", None)
            try:
                if not isinstance(record, ImportRecord):
                    raise RecordProblem(
                        ValidationError(
                            f"got a {type(record).__name__}, not an ImportRecord; "
                            "build records with ticketkit.importers.ImportRecord"
                        ),
                        None,
                    )
                if source_id is not None:
                    with located("source_id"):
                        check_name(source_id, "source_id")
                    if source_id in keys or source_id in pending:
                        raise RecordProblem(
                            ValidationError(
                                f"source_id {source_id!r} was already used by an earlier "
                                "record; give each record its own"
                            ),
                            "source_id",
                        )
                    pending.add(source_id)
                batch.append(plan(config, record))
            except RecordProblem as problem:
                raise failed(index, source_id, problem) from problem.error
            batch_ids.append(source_id)
        if not batch:
            break
        try:
            with tracker.store.transaction() as tx:
                stored = _write(tx, batch)
        except BaseException as exc:
            exc.add_note(
                f"ticketkit import: the {done} records before this batch were imported and "
                f"kept; records {done} to {done + len(batch) - 1} were rolled back"
            )
            raise
        for source_id, ticket in zip(batch_ids, stored, strict=True):
            if source_id is not None:
                keys[source_id] = ticket.key
        done += len(batch)
        batches += 1
        if progress is not None:
            progress(done, total)
        if len(batch) < batch_size:
            break
    return ImportReport(done, batches, keys)
