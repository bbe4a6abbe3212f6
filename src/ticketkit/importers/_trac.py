"""Trac: tickets, their change history and custom fields, read from a Trac database.

Reads the SQLite database of a Trac environment (``<env>/db/trac.db``)
read-only with the standard library; Trac itself is not needed. Tables read:
``ticket``, ``ticket_custom``, ``ticket_change`` and ``attachment``. Each
ticket becomes one :class:`ImportRecord`: its ``ticket_change`` rows, grouped
by time, become history entries with their original author and time, and
non-empty ``comment`` rows become comments. Trac stores times as microseconds
since the epoch (Trac 0.12 and later); older databases, in seconds, are
recognised by the size of the numbers.
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from .._errors import ValidationError
from .._fields import FieldDef
from ._csv import _field_value
from ._records import ImportedChange, ImportedComment, ImportRecord, NotImported

__all__ = ["TRAC_PRIORITIES", "TRAC_STATUSES", "TracReader", "read_trac"]

#: Trac's default priorities, most urgent first, as ticketkit priorities.
TRAC_PRIORITIES: Mapping[str, str] = {
    "blocker": "P1",
    "critical": "P2",
    "major": "P3",
    "minor": "P4",
    "trivial": "P5",
}
#: Trac's default workflow states; the names are those of the built-in
#: ``bugtracker`` workflow. A ticket Trac stored without a status is ``new``.
TRAC_STATUSES: Mapping[str, str] = {
    "": "new",
    "new": "new",
    "assigned": "assigned",
    "accepted": "accepted",
    "reopened": "reopened",
    "closed": "closed",
}
#: Columns of Trac's ``ticket`` table that are read as custom fields.
_FIELD_COLUMNS = ("type", "severity", "version", "milestone")
_COLUMNS = (
    "id",
    "time",
    "reporter",
    "summary",
    "description",
    "status",
    "priority",
    "owner",
    "resolution",
    "keywords",
    "component",
    "cc",
    *_FIELD_COLUMNS,
)
_NOT_FIELDS = frozenset(("comment", "attachment", *_COLUMNS)) - frozenset(_FIELD_COLUMNS)
_SPLIT = re.compile(r"[\s,]+")
_TAG_UNSAFE = re.compile(r"[\s,]+")
_NOBODY = ("", "< default >", "somebody")
_MICROSECONDS = 10**11  # larger Trac times are microseconds (0.12+), smaller ones seconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _when(value: object) -> datetime:
    if not isinstance(value, int):
        raise ValidationError(f"a Trac time must be a whole number, got {value!r}")
    if abs(value) >= _MICROSECONDS:
        return _EPOCH + timedelta(microseconds=value)
    return _EPOCH + timedelta(seconds=value)


def _open(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(os.fspath(path))}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as exc:
        raise ValidationError(
            f"{path} cannot be read as a Trac database ({exc}); give the Trac environment's "
            "directory or its db/trac.db file",
            field="source",
        ) from None
    missing = sorted({"ticket", "ticket_change", "ticket_custom"} - tables)
    if missing:
        db.close()
        raise ValidationError(
            f"{path} is an SQLite database but not Trac's: it has no {', '.join(missing)} "
            "table; give the Trac environment's directory or its db/trac.db file",
            field="source",
        )
    return db


class TracReader:
    """Iterate over a Trac database's tickets as :class:`ImportRecord` objects.

    Build it with :func:`read_trac`. Iterating reads the database afresh each
    time, one ticket at a time; :attr:`not_imported` then lists what the last
    pass found but could not carry over (attachments, fields no ticketkit field
    takes).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        statuses: Mapping[str, str] | None = None,
        priorities: Mapping[str, str] | None = None,
        default_priority: str = "P3",
        components: Literal["tag", "queue"] | Mapping[str, str] = "tag",
        default_queue: str = "default",
        fields: Iterable[FieldDef] | Mapping[str, FieldDef] = (),
        rename: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
    ) -> None:
        where = Path(path)
        self.path = where / "db" / "trac.db" if where.is_dir() else where
        if not self.path.is_file():
            raise ValidationError(
                f"{where} is neither a Trac environment (a directory with db/trac.db) nor a file",
                field="source",
            )
        _open(self.path).close()  # refuse a file that is not Trac's now, not mid-import
        if not (components in ("tag", "queue") or isinstance(components, Mapping)):
            raise ValidationError(
                "components must be 'tag', 'queue' or a mapping of component to queue, got "
                f"{components!r}",
                field="components",
            )
        self.statuses = {**TRAC_STATUSES, **(statuses or {})}
        self.priorities = {**TRAC_PRIORITIES, **(priorities or {})}
        self.default_priority = default_priority
        self.components = components
        self.default_queue = default_queue
        self.fields = dict(fields) if isinstance(fields, Mapping) else {f.name: f for f in fields}
        self.rename = dict(rename or {})
        self.users = dict(users or {})
        self.not_imported: list[NotImported] = []

    def __iter__(self) -> Iterator[ImportRecord]:
        self.not_imported = []
        db = _open(self.path)
        try:
            yield from self._records(db)
        except sqlite3.Error as exc:
            raise ValidationError(f"{self.path}: reading the Trac database failed: {exc}") from exc
        finally:
            db.close()

    # -- reading -----------------------------------------------------------------------

    def _records(self, db: sqlite3.Connection) -> Iterator[ImportRecord]:
        tickets = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM ticket ORDER BY id")
        custom = _grouped(db, "SELECT ticket, name, value FROM ticket_custom ORDER BY ticket")
        changes = _grouped(
            db,
            "SELECT ticket, time, author, field, oldvalue, newvalue FROM ticket_change "
            "ORDER BY ticket, time, rowid",
        )
        files = _grouped(
            db,
            "SELECT CAST(id AS INTEGER), filename FROM attachment WHERE type = 'ticket' "
            "ORDER BY CAST(id AS INTEGER)",
        )
        for row in tickets:
            values = dict(zip(_COLUMNS, row, strict=True))
            tid = values["id"]
            source_id = f"#{tid}"
            try:
                values.update((name, value) for _, name, value in custom.take(tid))
                for _, filename in files.take(tid):
                    self.not_imported.append(NotImported(source_id, "attachment", filename))
                yield self._record(source_id, values, changes.take(tid))
            except ValidationError as exc:
                raise ValidationError(f"Trac ticket {source_id}: {exc}", field=exc.field) from exc

    def _record(
        self, source_id: str, current: dict[str, Any], rows: list[tuple[Any, ...]]
    ) -> ImportRecord:
        # Work back through the old values to the ticket as first opened.
        state = dict(current)
        for _, _, _, name, old, _ in reversed(rows):
            if name not in ("comment", "attachment") and not name.startswith("_comment"):
                state[name] = old
        dropped = {
            name
            for name, value in state.items()
            if name not in _NOT_FIELDS and value and self._field(name) is None
        }
        before = self._map(state)
        history: list[ImportedChange] = []
        comments: list[ImportedComment] = []
        for when, group in itertools.groupby(rows, key=lambda r: r[1]):
            at = _when(when)
            entries = list(group)
            actor = self._user(entries[0][2])
            for _, _, author, name, _, new in entries:
                if name == "comment":
                    if (new or "").strip():
                        comments.append(ImportedComment(self._user(author), new, at))
                elif not name.startswith("_comment"):
                    state[name] = new
                    if name not in _NOT_FIELDS and self._field(name) is None:
                        dropped.add(name)
            after = self._map(state)
            for name, value in after.items():
                if value != before.get(name):
                    history.append(ImportedChange(actor, at, name, before.get(name), value))
            for name in before.keys() - after.keys():
                history.append(ImportedChange(actor, at, name, before[name], None))
            before = after
        self.not_imported.extend(NotImported(source_id, "field", name) for name in sorted(dropped))
        # The ticket row is the truth: if its history does not end there, the import says so.
        now = self._map(current)
        fields = {name[7:]: value for name, value in now.items() if name.startswith("fields.")}
        return ImportRecord(
            source_id=source_id,
            title=current["summary"] or "",
            reporter=self._user(current["reporter"]),
            created=_when(current["time"]),
            description=now["description"],
            status=now["status"],
            priority=now["priority"],
            assignee=now["assignee"],
            queue=now.get("queue"),
            tags=now["tags"],
            fields=fields,
            resolution=now["resolution"],
            history=history,
            comments=comments,
            watchers=[self._user(name) for name in _SPLIT.split(current["cc"] or "") if name],
        )

    # -- mapping -----------------------------------------------------------------------

    def _user(self, name: object) -> str:
        text = str(name or "").strip() or "anonymous"
        return self.users.get(text, text)

    def _field(self, name: str) -> FieldDef | None:
        return self.fields.get(self.rename.get(name, name))

    def _map(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The ticketkit values of a Trac ticket's values (``fields.<name>`` for custom ones)."""
        owner = state["owner"] or ""
        priority = state["priority"] or ""
        tags = [word for word in _SPLIT.split(state["keywords"] or "") if word]
        mapped: dict[str, Any] = {
            "title": state["summary"] or "",
            "description": state["description"] or "",
            "status": self.statuses.get(state["status"] or "", state["status"]),
            "priority": self.priorities.get(priority, priority) or self.default_priority,
            "assignee": None if owner in _NOBODY else self._user(owner),
            "resolution": state["resolution"] or None,
        }
        component = state["component"] or ""
        if component and self.components == "tag":
            tags.append(_TAG_UNSAFE.sub("-", component.strip()))
        elif isinstance(self.components, Mapping):
            mapped["queue"] = self.components.get(component, self.default_queue)
            if component and component not in self.components:
                tags.append(_TAG_UNSAFE.sub("-", component.strip()))
        elif self.components == "queue":
            mapped["queue"] = component or self.default_queue
        mapped["tags"] = sorted({tag.lower() for tag in tags})
        for name, value in state.items():
            fd = self._field(name) if name not in _NOT_FIELDS else None
            if fd is not None and value not in (None, ""):
                try:
                    mapped[f"fields.{fd.name}"] = _field_value(fd, str(value))
                except ValidationError:  # passed on as it is, for the import to report
                    mapped[f"fields.{fd.name}"] = value
        return mapped


class _grouped:
    """Rows of a query ordered by their first column, taken one key at a time."""

    def __init__(self, db: sqlite3.Connection, sql: str) -> None:
        self._rows = db.execute(sql)
        self._next: tuple[Any, ...] | None = self._rows.fetchone()

    def take(self, key: int) -> list[tuple[Any, ...]]:
        found = []
        while self._next is not None and self._next[0] <= key:
            if self._next[0] == key:
                found.append(self._next)
            self._next = self._rows.fetchone()
        return found


def read_trac(
    path: str | os.PathLike[str],
    *,
    statuses: Mapping[str, str] | None = None,
    priorities: Mapping[str, str] | None = None,
    default_priority: str = "P3",
    components: Literal["tag", "queue"] | Mapping[str, str] = "tag",
    default_queue: str = "default",
    fields: Iterable[FieldDef] | Mapping[str, FieldDef] = (),
    rename: Mapping[str, str] | None = None,
    users: Mapping[str, str] | None = None,
) -> TracReader:
    """Read the tickets of a Trac environment (its directory, or its ``db/trac.db``).

    Returns a :class:`TracReader`: iterate it (or hand it to
    ``Tracker.import_tickets`` or :func:`plan_import`) for one
    :class:`ImportRecord` per ticket, ``source_id`` ``"#<id>"``. Mapping:

    - ``statuses`` maps Trac states to workflow states, on top of
      :data:`TRAC_STATUSES` (the built-in ``bugtracker`` workflow's names);
      ``priorities`` maps Trac priorities on top of :data:`TRAC_PRIORITIES`
      (blocker P1 … trivial P5); an empty priority is ``default_priority``.
      Unmapped values are passed on as they are, so :func:`plan_import` lists them.
    - ``components``: ``"tag"`` (a tag, spaces turned into ``-``), ``"queue"``
      (the queue of that name) or a mapping of component to queue (components
      not in it become tags); tickets without a component go to
      ``default_queue`` (give the tracker's ``config.default_queue``). Keywords
      become tags; the owner the assignee; ``cc`` the watchers (as they are
      now: cc changes are not history).
    - ``fields`` (``tracker.config.fields``) are the custom fields to fill:
      each Trac custom field, and ``type``, ``severity``, ``version`` and
      ``milestone``, goes into the ticketkit field of its name (or of
      ``rename[name]``), converted to its type. The rest are listed in
      :attr:`TracReader.not_imported`, as are attachments.
    - ``users`` maps Trac user names to ticketkit names; an empty one is
      ``anonymous``. Descriptions and comments keep their Trac wiki markup.

    Raises :class:`~ticketkit.ValidationError` at once for a path that is not
    a Trac database.
    """
    return TracReader(
        path,
        statuses=statuses,
        priorities=priorities,
        default_priority=default_priority,
        components=components,
        default_queue=default_queue,
        fields=fields,
        rename=rename,
        users=users,
    )
