"""The values a :class:`~ticketkit.Macro` is built from, each checked and converted.

Names, labels, reply templates (only ``$placeholders``; ``str.format`` fields
are refused), custom field values in their JSON form, priorities, tags.
Each ``to_*`` function is an attrs converter raising
:class:`~ticketkit.ValidationError` that names the setting.
"""

from __future__ import annotations

import math
import re
import string
import types
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from ._errors import ValidationError
from ._events import JSONValue
from ._model import check_tag
from ._priority import Priority
from ._text import check_body, check_name
from .rules._data import check_bool, check_table, read_list

__all__ = [
    "ME",
    "NOBODY",
    "PLACEHOLDERS",
    "check_template",
    "to_action",
    "to_add_tags",
    "to_assignee",
    "to_internal",
    "to_label",
    "to_name",
    "to_priority",
    "to_queue",
    "to_remove_tags",
    "to_reply",
    "to_resolution",
    "to_set_fields",
]

#: The placeholders a macro's reply may use.
PLACEHOLDERS = ("key", "title", "status", "priority", "assignee", "reporter", "agent")
#: ``assignee=ME`` gives the ticket to the agent applying the macro.
ME = "me"
#: ``assignee=NOBODY`` leaves the ticket unassigned.
NOBODY = "nobody"

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# "{name", "{name.attr", "{name[0]", "{0}": what str.format would read as a field.
_FORMAT_FIELD = re.compile(r"\{[A-Za-z0-9_][^{}\s]*\}")
_MAX_LABEL = 200


# -- converters ---------------------------------------------------------------------


def to_name(value: object) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValidationError(
            f"macro name {value!r:.80} is not valid; use 1 to 64 lower-case letters, digits, "
            "'_', '.' or '-', starting with a letter or digit, such as 'ask-for-logs' "
            "(put the words people read in label=)",
            field="name",
        )
    return value


def to_label(value: object) -> str:
    if value == "":
        return ""
    text = check_name(value, "label")
    if len(text) > _MAX_LABEL:
        raise ValidationError(
            f"label is {len(text)} characters long; the limit is {_MAX_LABEL}", field="label"
        )
    return text


def check_template(text: object, what: str = "reply") -> str:
    """``text`` if it is a template using only :data:`PLACEHOLDERS`; else ``ValidationError``."""
    body = check_body(text, what, allow_empty=False)
    known = ", ".join("$" + p for p in PLACEHOLDERS)
    for found in string.Template.pattern.finditer(body):
        if found.group("invalid") is not None:
            raise ValidationError(
                f"{what} has a '$' at position {found.start()} that starts no "
                f"placeholder; write $$ for a dollar sign, or use one of {known}",
                field=what,
            )
        name = found.group("named") or found.group("braced")
        if name is not None and name not in PLACEHOLDERS:
            raise ValidationError(
                f"{what} uses the unknown placeholder ${name}; use one of {known} "
                "(or $$ for a dollar sign)",
                field=what,
            )
    braces = _FORMAT_FIELD.search(string.Template.pattern.sub(" ", body))
    if braces is not None:
        raise ValidationError(
            f"{what} holds {braces.group()[:40]!r}, which reads as a str.format field; macro "
            f"texts are filled in only from $placeholders: use one of {known}",
            field=what,
        )
    return body


def to_reply(value: object) -> str | None:
    return None if value is None else check_template(value, "reply")


def to_internal(value: object) -> bool:
    return check_bool(value, "internal")


def to_field_value(name: str, value: object) -> JSONValue:
    """A custom field value in its JSON form (``None`` clears the field)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"fields.{name} cannot be {value!r}", field=f"fields.{name}")
        return value
    if isinstance(value, datetime):
        raise ValidationError(
            f"fields.{name} takes a date, not a datetime: {value!r}", field=f"fields.{name}"
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        items = tuple(to_field_value(name, item) for item in value)
        if any(item is None or isinstance(item, tuple) for item in items):
            raise ValidationError(
                f"fields.{name} takes a list of plain values, got {value!r:.60}",
                field=f"fields.{name}",
            )
        return items
    raise ValidationError(
        f"fields.{name} cannot be set to {value!r:.60}; give text, a number, true or false, "
        "a date or a list of choices (None clears it)",
        field=f"fields.{name}",
    )


def to_set_fields(value: object) -> Mapping[str, JSONValue]:
    table = check_table(value, "set_fields")
    found: dict[str, JSONValue] = {}
    for name in sorted(table, key=str):
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            hint = ""
            if isinstance(name, str) and name.startswith("fields."):
                hint = f" (write {name[7:]!r}, without 'fields.')"
            raise ValidationError(
                f"set_fields takes custom field names such as 'team', got {name!r:.60}{hint}; "
                "set the priority, queue and assignee with their own settings",
                field="set_fields",
            )
        found[name] = to_field_value(name, table[name])
    return types.MappingProxyType(found)


def to_priority(value: object) -> Priority | None:
    return None if value is None else Priority.parse(value)


def to_queue(value: object) -> str | None:
    return None if value is None else check_name(value, "queue")


def to_assignee(value: object) -> str | None:
    return None if value is None else check_name(value, "assignee")


def to_tags(value: object, what: str) -> frozenset[str]:
    return frozenset(check_tag(v) for v in read_list(value, what, of="tags"))


def to_add_tags(value: object) -> frozenset[str]:
    return to_tags(value, "add_tags")


def to_remove_tags(value: object) -> frozenset[str]:
    return to_tags(value, "remove_tags")


def to_action(value: object) -> str | None:
    return None if value is None else check_name(value, "action")


def to_resolution(value: object) -> str | None:
    return None if value is None else check_name(value, "resolution")
