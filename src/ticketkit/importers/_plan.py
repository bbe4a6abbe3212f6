"""Checking one import record and working out its ticket and events.

The importer works back from the record's current values through each history
entry's ``old`` value to the ticket as first opened, then forward through the
history and comments in time order, one event each, so that replaying the
events gives the stored ticket. Values are kept in a plain dict while walking
(building a ``Ticket`` per step would cost more than the rest of an import).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import _edits as edits
from .._clock import ensure_utc
from .._errors import ValidationError
from .._events import EventType
from .._history import SNAPSHOT_FIELDS
from .._model import Ticket, normalise_tags
from .._priority import Priority
from .._text import check_body, check_name, check_title
from .._values import encode
from .._workflow import Category
from ._records import HISTORY_FIELDS, ImportedChange, ImportedComment, ImportRecord

if TYPE_CHECKING:
    from .._config import TrackerConfig

__all__ = ["Change", "CommentStep", "Plan", "RecordProblem", "located", "plan"]

_DONE = (Category.RESOLVED, Category.CLOSED)
_TYPES = {"status": EventType.STATUS_CHANGED, "assignee": EventType.ASSIGNED}
_COMPARED = ("title", "description", "priority", "assignee", "queue", "tags", "resolution")


class RecordProblem(Exception):
    """A ValidationError inside one record, with the field path it happened at."""

    def __init__(self, error: ValidationError, where: str | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.where = where


class Change(NamedTuple):
    """An event of the plan, still without its ticket's id and key."""

    version: int
    type: EventType
    actor: str
    at: datetime
    field: str
    old: Any
    new: Any
    data: dict[str, Any]


class CommentStep(NamedTuple):
    version: int
    author: str
    body: str
    at: datetime
    internal: bool


class Plan(NamedTuple):
    """One record, checked: the ticket to store and the events to write after it."""

    ticket: Ticket  # the final state, id=0, key=""
    prefix: str
    opened: dict[str, Any]  # the opened event's data
    steps: list[Change | CommentStep]  # in time order


@contextmanager
def located(where: str | None) -> Iterator[None]:
    """Turn a ValidationError into a RecordProblem at ``where`` (else the error's field)."""
    try:
        yield
    except ValidationError as exc:
        raise RecordProblem(exc, where or exc.field) from exc


def _status(config: TrackerConfig, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"status must be a state name, got {value!r}", field="status")
    return config.workflow.state(value).name


def _field_name(value: object) -> str:
    if isinstance(value, str) and (value in HISTORY_FIELDS or value.startswith("fields.")):
        return value
    raise ValidationError(
        f"history cannot record changes to {value!r}; use one of "
        f"{', '.join(HISTORY_FIELDS)} or fields.<name>"
    )


def _canonical(config: TrackerConfig, name: str, value: object) -> Any:
    """``value`` for the ticket field ``name``, in the form the ticket holds it."""
    if name.startswith("fields."):
        fd = config.fields.get(name[7:])
        if fd is None:
            known = ", ".join(sorted(config.fields)) or "none are defined"
            raise ValidationError(f"unknown custom field {name[7:]!r}; known fields: {known}")
        return None if value is None else fd.validate(value)
    if name == "status":
        return _status(config, value)
    if name in ("resolution", "assignee"):
        return None if value is None else check_name(value, name)
    if name == "priority":
        return Priority.parse(value)
    if name == "title":
        return check_title(value)
    if name == "description":
        return check_body(value)
    if name == "queue":
        return config.check_queue(value)
    if isinstance(value, str) or not isinstance(value, Iterable):  # tags
        raise ValidationError(f"tags must be a list of tags, got {value!r}", field="tags")
    return normalise_tags(value)


def _get(values: dict[str, Any], name: str) -> Any:
    if name.startswith("fields."):
        return values["fields"].get(name[7:])
    return values[name]


def _put(values: dict[str, Any], name: str, value: Any) -> None:
    if not name.startswith("fields."):
        values[name] = value
    elif value is None:
        values["fields"].pop(name[7:], None)
    else:
        values["fields"][name[7:]] = value


def _time(value: object, name: str, created: datetime | None) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} must be a datetime, got {value!r}", field=name)
    moment = ensure_utc(value, name)
    if created is not None and moment < created:
        raise ValidationError(
            f"{name} {moment.isoformat()} is before the ticket was created "
            f"({created.isoformat()}); fix the time or the ticket's created",
            field=name,
        )
    return moment


_Step = tuple[datetime, int, ImportedChange | ImportedComment, str]


def _steps(record: ImportRecord, created: datetime) -> list[_Step]:
    """History entries and comments, checked for type and time, in time order."""
    found: list[_Step] = []
    for i, change in enumerate(record.history):
        where = f"history[{i}]"
        if not isinstance(change, ImportedChange):
            raise RecordProblem(ValidationError(f"{change!r} is not an ImportedChange"), where)
        with located(f"{where}.at"):
            found.append((_time(change.at, "at", created), 0, change, where))
    for i, note in enumerate(record.comments):
        where = f"comments[{i}]"
        if not isinstance(note, ImportedComment):
            raise RecordProblem(ValidationError(f"{note!r} is not an ImportedComment"), where)
        with located(f"{where}.created"):
            found.append((_time(note.created, "created", created), 1, note, where))
    found.sort(key=lambda step: (step[0], step[1]))  # stable: history first at equal times
    return found


def plan(config: TrackerConfig, record: ImportRecord) -> Plan:
    """Check ``record`` and work out its ticket and events; raises RecordProblem."""
    where: str | None = "created"
    try:
        created = _time(record.created, "created", None)
        where = None  # new_ticket's errors name their field
        target = edits.new_ticket(
            config,
            title=record.title,
            description=record.description,
            reporter=record.reporter,
            now=created,
            priority=edits.UNSET if record.priority is None else record.priority,
            assignee=record.assignee,
            queue=record.queue,
            tags=record.tags,
            fields=record.fields,
            watchers=record.watchers,
        )
        where = "resolution"
        resolution = _canonical(config, "resolution", record.resolution)
        wanted = None
        if record.status is not None:
            where = "status"
            wanted = _status(config, record.status)
        steps = _steps(record, created) if record.history or record.comments else []

        # The ticket as first opened: each field the history changes at its first old value.
        values = {name: getattr(target, name) for name in SNAPSHOT_FIELDS}
        values.update(status=wanted or config.workflow.initial, fields=dict(target.fields))
        values["resolution"] = resolution
        changed: set[str] = set()
        for _, _, change, at_step in steps:
            if isinstance(change, ImportedChange):
                where = f"{at_step}.field"
                name = _field_name(change.field)
                if name not in changed:
                    changed.add(name)
                    where = f"{at_step}.old"
                    _put(values, name, _canonical(config, name, change.old))
        workflow = config.workflow
        if workflow.category(values["status"]) in _DONE:
            values["resolved_at"] = created
        opened = {name: encode(name, values[name]) for name in SNAPSHOT_FIELDS}

        version, updated = 1, created
        events: list[Change | CommentStep] = []
        for at, _, change, at_step in steps:
            if isinstance(change, ImportedComment):
                where = at_step
                author = check_name(change.author, "author")
                body = edits.check_comment(change.body)
                if not isinstance(change.internal, bool):
                    raise ValidationError(
                        f"internal must be true or false, got {change.internal!r}"
                    )
                version, updated = version + 1, at
                events.append(CommentStep(version, author, body, at, change.internal))
                continue
            name = change.field
            where = f"{at_step}.actor"
            actor = check_name(change.actor, "actor")
            where = f"{at_step}.old"
            old = _canonical(config, name, change.old)
            before = _get(values, name)
            if old != before:
                raise ValidationError(
                    f"the history says {name} was {old!r} at {at.isoformat()}, but the earlier "
                    f"history left it at {before!r}; each old value must be the value the "
                    "previous change left"
                )
            where = f"{at_step}.new"
            new = _canonical(config, name, change.new)
            if new == old:  # a change from a value to itself records nothing
                continue
            _put(values, name, new)
            version, updated = version + 1, at
            data: dict[str, Any] = {}
            if name == "status":
                if workflow.category(new) not in _DONE:
                    values["resolved_at"] = None
                elif workflow.category(old) not in _DONE:
                    values["resolved_at"] = at
                data["resolved_at"] = encode("resolved_at", values["resolved_at"])
            data["imported"] = True
            kind = _TYPES.get(name, EventType.FIELD_CHANGED)
            events.append(
                Change(version, kind, actor, at, name, encode(name, old), encode(name, new), data)
            )

        expected = {name: getattr(target, name) for name in _COMPARED}
        expected["resolution"] = resolution
        for name in set(target.fields) | set(values["fields"]):
            expected[f"fields.{name}"] = target.fields.get(name)
        if wanted is not None:
            expected["status"] = wanted
        for name, value in expected.items():
            if _get(values, name) != value:
                where = name
                raise ValidationError(
                    f"the history leaves {name} at {_get(values, name)!r} but the record says "
                    f"{value!r}; the last change to a field must end at the record's value"
                )
    except ValidationError as exc:
        raise RecordProblem(exc, where or exc.field) from exc
    data_opened: dict[str, Any] = {"ticket": opened, "imported": True}
    if record.source_id is not None:
        data_opened["source_id"] = record.source_id
    ticket = Ticket(id=0, key="", created=created, updated=updated, version=version, **values)
    return Plan(ticket, config.queues[opened["queue"]], data_opened, events)
