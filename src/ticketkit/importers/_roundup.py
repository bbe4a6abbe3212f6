"""Roundup: issues, messages and journals, read from ``roundup-admin export``.

``roundup-admin export DIR`` writes one colon-separated file per class
(``issue.csv``, ``msg.csv``, ``user.csv``, ``status.csv``, …), whose first row
names the properties, and one ``<class>-journals.csv`` per class (node id,
date, user id, action, parameters). Each cell is a Python literal (``'3'``,
``None``, ``['1', '2']``, ``(2024, 5, 1, 9, 35, 0.0, 0, 0, 0)``), read here
with :func:`ast.literal_eval`, never ``eval``. Message bodies are files under
``msg-files/<id // 1000>/msg<id>``. A ``set`` journal entry holds the values
the properties had *before* the change (a multilink, the ids added and
removed), so the importer works back from the issue's current values.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .._errors import ValidationError
from .._fields import FieldDef
from ._csv import _field_value
from ._records import ImportedChange, ImportedComment, ImportRecord, NotImported

__all__ = ["ROUNDUP_PRIORITIES", "ROUNDUP_STATUSES", "RoundupReader", "read_roundup"]

#: The classic template's statuses as states of the built-in ``helpdesk`` workflow.
ROUNDUP_STATUSES: Mapping[str, str] = {
    "unread": "new",
    "deferred": "open",
    "chatting": "open",
    "need-eg": "pending_customer",
    "in-progress": "open",
    "testing": "open",
    "done-cbb": "resolved",
    "resolved": "resolved",
}
#: The classic template's priorities, most urgent first.
ROUNDUP_PRIORITIES: Mapping[str, str] = {
    "critical": "P1",
    "urgent": "P2",
    "bug": "P3",
    "feature": "P4",
    "wish": "P5",
}
#: Issue properties with a meaning of their own; the rest may fill custom fields.
_KNOWN = frozenset(
    (
        "id",
        "title",
        "status",
        "priority",
        "assignedto",
        "keyword",
        "nosy",
        "messages",
        "files",
        "superseder",
        "creation",
        "creator",
        "activity",
        "actor",
        "is retired",
    )
)


class _Table:
    """One exported CSV file: its rows as dicts of Python values, read lazily."""

    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / name

    def rows(self, header: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        if not self.path.is_file():
            raise ValidationError(
                f"{self.path} is missing; give the directory roundup-admin export wrote",
                field="source",
            )
        with open(self.path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter=":")
            try:
                names = header or next(reader, None)
                if names is None:
                    return
                for row in reader:
                    line = reader.line_num
                    if len(row) != len(names):
                        raise ValidationError(
                            f"line {line} of {self.path}: {len(row)} cells, but "
                            f"{len(names)} columns"
                        )
                    yield line, {n: self._value(c, line) for n, c in zip(names, row, strict=True)}
            except csv.Error as exc:
                raise ValidationError(f"line {reader.line_num} of {self.path}: {exc}") from None

    def _value(self, cell: str, line: int) -> Any:
        try:
            return ast.literal_eval(cell)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ValidationError(
                f"line {line} of {self.path}: {cell[:60]!r} is not a value roundup-admin "
                "export writes"
            ) from None


def _when(value: object, where: str) -> datetime:
    if not (isinstance(value, tuple) and len(value) >= 6):
        raise ValidationError(f"{where}: {value!r} is not a Roundup date")
    try:
        y, mo, d, h, mi, s = value[:6]
        return datetime(y, mo, d, h, mi, tzinfo=UTC) + timedelta(seconds=float(s))
    except (TypeError, ValueError):
        raise ValidationError(f"{where}: {value!r} is not a Roundup date") from None


def _ids(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


class RoundupReader:
    """Iterate over a Roundup export's issues as :class:`ImportRecord` objects.

    Build it with :func:`read_roundup`. Users, statuses, priorities, keywords
    and messages are read when iteration starts; issues one at a time.
    :attr:`not_imported` then lists what could not be carried over.
    """

    def __init__(
        self,
        export_dir: str | os.PathLike[str],
        *,
        statuses: Mapping[str, str] | None = None,
        priorities: Mapping[str, str] | None = None,
        default_priority: str = "P3",
        fields: Iterable[FieldDef] | Mapping[str, FieldDef] = (),
        users: Mapping[str, str] | None = None,
        first_message_is_description: bool = True,
    ) -> None:
        self.directory = Path(export_dir)
        if not (self.directory / "issue.csv").is_file():
            raise ValidationError(
                f"{self.directory} has no issue.csv; give the directory `roundup-admin export` "
                "wrote",
                field="source",
            )
        self.statuses = {**ROUNDUP_STATUSES, **(statuses or {})}
        self.priorities = {**ROUNDUP_PRIORITIES, **(priorities or {})}
        self.default_priority = default_priority
        self.fields = dict(fields) if isinstance(fields, Mapping) else {f.name: f for f in fields}
        self.users = dict(users or {})
        self.first_message_is_description = first_message_is_description
        self.not_imported: list[NotImported] = []

    def _table(self, name: str) -> _Table:
        return _Table(self.directory, name)

    def _names(self, cls: str, key: str) -> dict[str, str]:
        return {str(row["id"]): str(row[key]) for _, row in self._table(f"{cls}.csv").rows()}

    def __iter__(self) -> Iterator[ImportRecord]:
        self.not_imported = []
        self._usernames = self._names("user", "username")
        self._status = self._names("status", "name")
        self._priority = self._names("priority", "name")
        self._keyword = self._names("keyword", "name")
        self._messages = {
            str(row["id"]): (row, line) for line, row in self._table("msg.csv").rows()
        }
        journals: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        header = ["nodeid", "date", "user", "action", "params"]
        for line, entry in self._table("issue-journals.csv").rows(header):
            journals.setdefault(str(entry["nodeid"]), []).append((line, entry))
        issues = self._table("issue.csv")
        for line, row in issues.rows():
            where = f"line {line} of {issues.path}"
            try:
                record = self._record(row, journals.pop(str(row.get("id")), []), where)
            except ValidationError as exc:
                message = str(exc)
                if not message.startswith("line "):
                    message = f"{where}: {message}"
                raise ValidationError(message, field=exc.field) from exc
            if record is not None:
                yield record

    # -- one issue ---------------------------------------------------------------------

    def _user(self, uid: object) -> str:
        name = self._usernames.get(str(uid), f"user{uid}") if uid is not None else "anonymous"
        return self.users.get(name, name)

    def _record(
        self, row: dict[str, Any], journal: list[tuple[int, dict[str, Any]]], where: str
    ) -> ImportRecord | None:
        source_id = f"issue{row['id']}"
        if row.get("is retired"):
            self.not_imported.append(NotImported(source_id, "issue", "retired"))
            return None
        for fid in _ids(row.get("files")):
            self.not_imported.append(NotImported(source_id, "attachment", f"file{fid}"))
        if row.get("superseder"):
            self.not_imported.append(NotImported(source_id, "field", "superseder"))
        for name, value in row.items():
            if name not in _KNOWN and name not in self.fields and value not in (None, "", []):
                self.not_imported.append(NotImported(source_id, "field", name))
        # Work back from the current values through each change's old values.
        changes = sorted(
            ((line, e) for line, e in journal if e["action"] == "set"),
            key=lambda item: (
                _when(item[1]["date"], f"line {item[0]} of issue-journals.csv"),
                item[0],
            ),
        )
        for line, entry in changes:
            if not isinstance(entry["params"], dict):
                raise ValidationError(
                    f"line {line} of issue-journals.csv: a set entry's parameters must be a dict"
                )
        after: list[dict[str, Any]] = []
        state = dict(row)
        for _, entry in reversed(changes):
            after.append(dict(state))
            for name, old in entry["params"].items():
                if name not in state:
                    continue
                if isinstance(old, tuple) and all(isinstance(op, tuple) for op in old):
                    ids = _ids(state[name])
                    for op, changed in old:
                        if op == "+":
                            ids = [i for i in ids if i not in set(_ids(changed))]
                        else:
                            ids = ids + [i for i in _ids(changed) if i not in ids]
                    state[name] = ids
                else:
                    state[name] = old
        after.reverse()
        description, first = "", set()
        opening = _ids(state.get("messages"))
        if self.first_message_is_description and opening:
            description = self._content(opening[0])
            first = {opening[0]}
        before = self._map(state)
        history: list[ImportedChange] = []
        for (line, entry), now in zip(changes, after, strict=True):
            at = _when(entry["date"], f"line {line} of issue-journals.csv")
            actor = self._user(entry["user"])
            mapped = self._map(now)
            for name in [*mapped, *(k for k in before if k not in mapped)]:
                if mapped.get(name) != before.get(name):
                    history.append(
                        ImportedChange(actor, at, name, before.get(name), mapped.get(name))
                    )
            before = mapped
        comments = []
        for mid in _ids(row.get("messages")):
            if mid in first:
                continue
            found = self._messages.get(mid)
            if found is None:
                raise ValidationError(f"message {mid} is not in msg.csv")
            msg, line = found
            body = self._content(mid)
            if body.strip():
                at = _when(msg.get("date") or msg["creation"], f"line {line} of msg.csv")
                comments.append(ImportedComment(self._user(msg.get("author")), body, at))
        current = self._map(row)
        return ImportRecord(
            source_id=source_id,
            title=row.get("title") or "",
            reporter=self._user(row.get("creator")),
            created=_when(row.get("creation"), "creation"),
            description=description,
            status=current["status"],
            priority=current["priority"],
            assignee=current["assignee"],
            tags=current["tags"],
            fields={k[7:]: v for k, v in current.items() if k.startswith("fields.")},
            history=history,
            comments=comments,
            watchers=[self._user(uid) for uid in _ids(row.get("nosy"))],
        )

    def _content(self, mid: str) -> str:
        path = self.directory / "msg-files" / str(int(mid) // 1000) / f"msg{mid}"
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValidationError(
                f"{path} is missing: export with `roundup-admin export`, which writes the "
                "message files (exporttables leaves them out)"
            ) from None

    def _map(self, state: Mapping[str, Any]) -> dict[str, Any]:
        status = self._status.get(str(state.get("status")), str(state.get("status")))
        priority = state.get("priority")
        prio_name = self._priority.get(str(priority), str(priority)) if priority else ""
        mapped: dict[str, Any] = {
            "title": state.get("title") or "",
            "status": self.statuses.get(status, status),
            "priority": self.priorities.get(prio_name, prio_name) or self.default_priority,
            "assignee": self._user(state["assignedto"]) if state.get("assignedto") else None,
            "tags": sorted(
                self._keyword.get(k, k).lower().replace(" ", "-")
                for k in _ids(state.get("keyword"))
            ),
        }
        for name, fd in self.fields.items():
            value = state.get(name)
            if value not in (None, "", []):
                with contextlib.suppress(ValidationError):  # else passed on, to be reported
                    value = _field_value(fd, str(value))
                mapped[f"fields.{fd.name}"] = value
        return mapped


def read_roundup(
    export_dir: str | os.PathLike[str],
    *,
    statuses: Mapping[str, str] | None = None,
    priorities: Mapping[str, str] | None = None,
    default_priority: str = "P3",
    fields: Iterable[FieldDef] | Mapping[str, FieldDef] = (),
    users: Mapping[str, str] | None = None,
    first_message_is_description: bool = True,
) -> RoundupReader:
    """Read the issues of a directory written by ``roundup-admin export``.

    Returns a :class:`RoundupReader`: iterate it (or hand it to
    ``Tracker.import_tickets`` or :func:`plan_import`) for one
    :class:`ImportRecord` per issue, ``source_id`` ``"issue<id>"``. Mapping:

    - statuses and priorities by name: ``statuses`` on top of
      :data:`ROUNDUP_STATUSES` (the classic template onto the ``helpdesk``
      workflow), ``priorities`` on top of :data:`ROUNDUP_PRIORITIES`
      (critical P1 … wish P5); no priority is ``default_priority``. Unmapped
      names are passed on, so :func:`plan_import` lists them.
    - user ids become usernames (then ``users`` maps them to ticketkit names):
      the creator is the reporter, ``assignedto`` the assignee, ``nosy`` the
      watchers (as they are now), each journal entry's user its actor.
    - keywords become tags; the first message the issue was opened with
      becomes the description (``first_message_is_description=False``: a
      comment too), every other message a comment by its author at its date.
    - properties of a customised schema fill the custom ``fields`` of their
      name. Files, ``superseder`` and other properties are listed in
      :attr:`RoundupReader.not_imported`; retired issues are skipped and listed.

    Raises :class:`~ticketkit.ValidationError` for a directory without
    ``issue.csv`` at once, and while reading for a missing file or a malformed
    row, naming the file and line.
    """
    return RoundupReader(
        export_dir,
        statuses=statuses,
        priorities=priorities,
        default_priority=default_priority,
        fields=fields,
        users=users,
        first_message_is_description=first_message_is_description,
    )
