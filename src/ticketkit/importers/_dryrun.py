"""A dry run: what an import would store, and every value it could not map.

:func:`plan_import` checks records exactly as ``Tracker.import_tickets`` does,
but stores nothing and does not stop at a bad record: it counts what would be
imported and collects each record's problem and each value the tracker does
not know (a state its workflow lacks, a priority, a queue, a custom field, a
user not in a given list).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from attrs import field, frozen

from .._errors import ValidationError
from .._priority import Priority
from .._text import check_name
from ._plan import CommentStep, RecordProblem, located, plan
from ._records import ImportedChange, ImportRecord, NotImported

if TYPE_CHECKING:
    from .._config import TrackerConfig
    from .._tracker import Tracker

__all__ = ["ImportPlan", "RecordIssue", "plan_import"]


@frozen
class RecordIssue:
    """Why one record would not be imported: its position, ``source_id``, field, message."""

    index: int
    source_id: str | None
    field: str | None
    message: str


_KINDS = ("status", "priority", "queue", "field", "user")


def _unmapped(value: Mapping[str, Mapping[str, int]]) -> Mapping[str, Mapping[str, int]]:
    order = {kind: i for i, kind in enumerate(_KINDS)}
    return MappingProxyType(
        {
            kind: MappingProxyType(dict(sorted(value[kind].items())))
            for kind in sorted(value, key=lambda k: (order.get(k, len(order)), k))
        }
    )


@frozen
class ImportPlan:
    """What :func:`plan_import` found; nothing was stored.

    ``records`` were read; ``tickets`` of them would be imported, with
    ``changes`` history events and ``comments`` comments (besides one
    ``opened`` event each). ``problems`` lists each record that would stop the
    import. ``unmapped`` names the values the tracker does not know, by kind
    (``"status"``, ``"priority"``, ``"queue"``, ``"field"``, ``"user"``), with
    the number of records that hold each: ``{"status": {"frozen": 3}}``.
    ``not_imported`` is what the reader could not carry over (such as
    attachments), when it says so.
    """

    records: int = 0
    tickets: int = 0
    changes: int = 0
    comments: int = 0
    problems: tuple[RecordIssue, ...] = ()
    unmapped: Mapping[str, Mapping[str, int]] = field(factory=dict, converter=_unmapped)
    not_imported: tuple[NotImported, ...] = ()

    @property
    def ok(self) -> bool:
        """Would the import store every record?"""
        return not self.problems


def _values(record: ImportRecord) -> Iterator[tuple[str, Any]]:
    """``(kind, value)`` for each value of ``record`` the tracker must know."""
    yield "status", record.status
    yield "priority", record.priority
    yield "queue", record.queue
    for name in record.fields:
        yield "field", name
    yield "user", record.reporter
    yield "user", record.assignee
    entries: tuple[object, ...] = record.history  # a caller's record may hold anything
    for change in entries:
        if not isinstance(change, ImportedChange):
            continue
        yield "user", change.actor
        name = change.field
        if isinstance(name, str) and name.startswith("fields."):
            yield "field", name[7:]
        elif name in ("status", "priority", "queue"):
            yield name, change.old
            yield name, change.new
        elif name == "assignee":
            yield "user", change.old
            yield "user", change.new
    for note in record.comments:
        yield "user", getattr(note, "author", None)
    for name in record.watchers:
        yield "user", name


def _known(config: TrackerConfig, kind: str, value: Any, users: Collection[str] | None) -> bool:
    try:
        if kind == "status":
            config.workflow.state(value)
        elif kind == "priority":
            Priority.parse(value)
        elif kind == "queue":
            config.check_queue(value)
        elif kind == "field":
            return value in config.fields
        else:
            return users is None or check_name(value, "user") in users
    except ValidationError:
        return False
    return True


def plan_import(
    tracker: Tracker,
    records: Iterable[ImportRecord],
    *,
    users: Collection[str] | None = None,
) -> ImportPlan:
    """Check ``records`` as ``tracker.import_tickets`` would, store nothing, report.

    Reads every record (a reader's bad line is a problem too; reading then
    stops, as the reader cannot go on) and returns an :class:`ImportPlan`.
    Give ``users`` (the names the tracker's host knows) to have every other
    reporter, assignee, actor, author and watcher listed as unmapped.
    ``records`` that have a ``not_imported`` list (the Trac and Roundup
    readers) add it to the plan.
    """
    config = tracker.config
    counts = Counter[str]()
    unmapped: dict[str, Counter[str]] = {}
    problems: list[RecordIssue] = []
    seen: set[str] = set()
    source = iter(records)
    index = -1
    while True:
        index += 1
        try:
            record = next(source)
        except StopIteration:
            break
        except ValidationError as exc:
            problems.append(RecordIssue(index, None, exc.field, str(exc)))
            break
        counts["records"] += 1
        source_id = getattr(record, "source_id", None)
        try:
            if not isinstance(record, ImportRecord):
                raise RecordProblem(
                    ValidationError(f"got a {type(record).__name__}, not an ImportRecord"), None
                )
            strange = {
                (kind, str(value))
                for kind, value in _values(record)
                if value is not None and not _known(config, kind, value, users)
            }
            for kind, value in strange:
                unmapped.setdefault(kind, Counter())[value] += 1
            if source_id is not None:
                with located("source_id"):
                    check_name(source_id, "source_id")
                if source_id in seen:
                    raise RecordProblem(
                        ValidationError(f"source_id {source_id!r} was already used"), "source_id"
                    )
                seen.add(source_id)
            found = plan(config, record)
        except RecordProblem as problem:
            problems.append(RecordIssue(index, source_id, problem.where, str(problem.error)))
            continue
        counts["tickets"] += 1
        notes = sum(isinstance(step, CommentStep) for step in found.steps)
        counts["comments"] += notes
        counts["changes"] += len(found.steps) - notes
    return ImportPlan(
        records=counts["records"],
        tickets=counts["tickets"],
        changes=counts["changes"],
        comments=counts["comments"],
        problems=tuple(problems),
        unmapped=unmapped,
        not_imported=tuple(getattr(records, "not_imported", ())),
    )
