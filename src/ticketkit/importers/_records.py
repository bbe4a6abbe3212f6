"""What an import reads: tickets from another system, with their history.

A reader (:func:`~ticketkit.importers.read_json`, :func:`~ticketkit.importers.read_csv`)
or the caller's own code builds :class:`ImportRecord` objects;
``Tracker.import_tickets`` checks and stores them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from attrs import field, frozen

from .._errors import ValidationError
from .._priority import Priority

__all__ = [
    "HISTORY_FIELDS",
    "ImportRecord",
    "ImportRecordError",
    "ImportReport",
    "ImportedChange",
    "ImportedComment",
    "NotImported",
    "Progress",
]

#: ``(done, total)`` after each stored batch; ``total`` is ``None`` for an iterator.
Progress = Callable[[int, int | None], object]

#: The fields a history entry may change (plus ``fields.<name>`` for custom fields).
HISTORY_FIELDS = (
    "status",
    "resolution",
    "assignee",
    "priority",
    "title",
    "description",
    "queue",
    "tags",
)


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError(
            f"tags must be a list of tags, not the single string {value!r}", field="tags"
        )
    return tuple(value)


def _names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError(
            f"watchers must be a list of names, not the single string {value!r}",
            field="watchers",
        )
    return tuple(value)


def _changes(value: Iterable[ImportedChange]) -> tuple[ImportedChange, ...]:
    return tuple(value)


def _comments(value: Iterable[ImportedComment]) -> tuple[ImportedComment, ...]:
    return tuple(value)


def _frozen_map(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@frozen
class ImportedChange:
    """One change recorded by the source system: ``field`` went from ``old`` to ``new``.

    ``field`` is one of :data:`HISTORY_FIELDS` or ``fields.<name>``; values take
    the same forms as the ticket's (``tags`` a list of tags, ``priority`` ``"P2"``).
    """

    actor: str
    at: datetime
    field: str
    old: Any = None
    new: Any = None


@frozen
class ImportedComment:
    """A reply or, with ``internal=True``, an agents-only note from the source system."""

    author: str
    body: str
    created: datetime
    internal: bool = False


@frozen
class ImportRecord:
    """A ticket as another system knows it, with its current values.

    ``status`` must be a state of the tracker's workflow; ``None`` means the
    last status the history records, or the workflow's initial state.
    ``history`` lists the source's changes; the importer works back from the
    current values through the ``old`` values to the ticket as first opened,
    so each field's history must end at the record's value and each ``old`` must
    be the value the previous change left. ``source_id`` (the ticket's id in the
    other system) is kept in the ``opened`` event and mapped to the new key in
    the :class:`ImportReport`.
    """

    title: str
    reporter: str
    created: datetime
    description: str = ""
    status: str | None = None
    priority: Priority | str | int | None = None
    assignee: str | None = None
    queue: str | None = None
    tags: tuple[str, ...] = field(default=(), converter=_strings)
    fields: Mapping[str, object] = field(factory=dict, converter=_frozen_map)
    resolution: str | None = None
    comments: tuple[ImportedComment, ...] = field(default=(), converter=_comments)
    history: tuple[ImportedChange, ...] = field(default=(), converter=_changes)
    source_id: str | None = None
    #: Who watches the ticket now. Watcher changes are not history: the imported
    #: ticket is opened with these watchers.
    watchers: tuple[str, ...] = field(default=(), converter=_names)


@frozen
class NotImported:
    """Something a reader found in the source but cannot carry into ticketkit.

    ``source_id`` is the ticket it belongs to (``None``: the whole source),
    ``what`` the kind of thing (``"attachment"``, ``"field"``, ``"comment"``)
    and ``detail`` which one (a file name, a field name).
    """

    source_id: str | None
    what: str
    detail: str


@frozen
class ImportReport:
    """What an import stored: how many tickets, in how many batches, and their keys.

    ``keys`` maps the ``source_id`` of each record that has one to its new key
    (it grows by roughly 150 bytes per such record).
    """

    imported: int = 0
    batches: int = 0
    keys: Mapping[str, str] = field(factory=dict, converter=_frozen_map)


class ImportRecordError(ValidationError):
    """A record could not be imported; the batches before its batch were kept.

    ``index`` is the record's position (0-based) in the input, ``source_id`` its
    id in the other system, ``field`` the offending field, and ``report`` what
    was stored before the import stopped.
    """

    def __init__(
        self,
        message: str,
        *,
        index: int,
        source_id: str | None,
        field: str | None,
        report: ImportReport,
    ) -> None:
        super().__init__(message, field=field)
        self.index = index
        self.source_id = source_id
        self.report = report
