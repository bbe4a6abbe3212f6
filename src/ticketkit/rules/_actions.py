"""What a rule does: pure descriptions that the tracker carries out.

Each action is a frozen value with ``to_data()``; :func:`action_from_data`
reads it back. The data forms (every one TOML-safe: no nulls):

* ``{"set_field": "fields.team", "value": "blue"}`` / ``{"clear_field": "fields.team"}``
* ``{"set_priority": "P1"}``
* ``{"assign": "alice"}`` / ``{"unassign": true}`` / ``{"route": true}`` (the router picks)
* ``{"add_tag": "vip"}`` / ``{"remove_tag": "vip"}``
* ``{"reply": "text"}`` (public) / ``{"note": "text"}`` (internal)
* ``{"transition": "close"}`` (a workflow action)
* ``{"notify": "sla_warning", "to": ["assignee"], "text": "..."}``
* ``{"escalate": true}`` (the next level) / ``{"escalate": "manager"}``

Texts are :class:`string.Template` s with the placeholders ``$key $title $status
$priority $assignee $reporter``; any other placeholder is refused when the
action is built, and :func:`render_text` fills them in.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from attrs import field, frozen

from .._errors import ValidationError
from .._events import JSONValue
from .._fields import FieldDef
from .._model import Ticket, check_tag
from .._priority import Impact, Priority, Urgency
from .._text import check_body, check_name, check_title
from .._workflow import Workflow
from ._data import check_bool, optional_name, read_list

__all__ = [
    "PLACEHOLDERS",
    "AddTag",
    "Assign",
    "Escalate",
    "Note",
    "Notify",
    "RemoveTag",
    "Reply",
    "RuleAction",
    "SetField",
    "SetPriority",
    "Transition",
    "check_template",
    "render_text",
]

#: The placeholders a rule's text may use.
PLACEHOLDERS = ("key", "title", "status", "priority", "assignee", "reporter")


def check_template(text: object, what: str = "text") -> str:
    """``text`` if it is a template using only :data:`PLACEHOLDERS`; else ``ValidationError``.

    A literal dollar sign is written ``$$``.
    """
    body = check_body(text, what, allow_empty=False)
    for found in string.Template.pattern.finditer(body):
        name = found.group("named") or found.group("braced")
        if found.group("invalid") is not None:
            raise ValidationError(
                f"{what} has a '$' at position {found.start('invalid')} that starts no "
                f"placeholder; write $$ for a dollar sign, or use one of "
                f"{', '.join('$' + p for p in PLACEHOLDERS)}",
                field=what,
            )
        if name is not None and name not in PLACEHOLDERS:
            raise ValidationError(
                f"{what} uses the unknown placeholder ${name}; use one of "
                f"{', '.join('$' + p for p in PLACEHOLDERS)} (or $$ for a dollar sign)",
                field=what,
            )
    return body


def render_text(template: str, ticket: Ticket) -> str:
    """``template`` with the ticket's values in place of its placeholders.

    ``$priority`` reads ``P1``...; ``$assignee`` reads ``unassigned`` when there is none.
    """
    values = {
        "key": ticket.key,
        "title": ticket.title,
        "status": ticket.status,
        "priority": ticket.priority.name,
        "assignee": ticket.assignee or "unassigned",
        "reporter": ticket.reporter,
    }
    return string.Template(check_template(template)).substitute(values)


#: The ticket fields :class:`SetField` may set, besides ``fields.<name>``.
SETTABLE = ("title", "description", "queue", "assignee", "impact", "urgency")


def _settable(value: object) -> str:
    if not isinstance(value, str) or not (
        value in SETTABLE or (value.startswith("fields.") and len(value) > 7)
    ):
        hint = {"priority": "set_priority", "tags": "add_tag or remove_tag", "status": "transition"}
        extra = f" (use {hint[value]})" if isinstance(value, str) and value in hint else ""
        raise ValidationError(
            f"a rule cannot set the field {value!r}{extra}; use one of "
            f"{', '.join(SETTABLE)} or fields.<name>",
            field="set_field",
        )
    return value


def _set_value(name: str, value: object) -> JSONValue:
    """``value`` checked for the built-in field ``name``, in its JSON form."""
    if isinstance(value, datetime):
        raise ValidationError(f"{name} takes a date, not a datetime: {value!r}", field=name)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        if not name.startswith("fields."):
            raise ValidationError(f"{name} takes one value, got {value!r:.60}", field=name)
        return tuple(_set_value(name, item) for item in value)
    if name.startswith("fields.") or (value is None and name in _CLEARABLE):
        return value
    if name == "title":
        return check_title(value)
    if name == "description":
        return check_body(value)
    if name == "impact":
        return Impact.parse(value).value
    if name == "urgency":
        return Urgency.parse(value).value
    return check_name(value, name)


_CLEARABLE = ("assignee", "impact", "urgency")


@frozen
class SetField:
    """Set a ticket field or custom field to ``value`` (``None`` clears it)."""

    field: str = field(converter=_settable)
    value: JSONValue = None

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "value", _set_value(self.field, self.value))

    def check(self, fields: Mapping[str, FieldDef]) -> None:
        """Refuse an undefined custom field or a value it cannot hold."""
        if not self.field.startswith("fields."):
            return
        fd = fields.get(self.field[7:])
        if fd is None:
            known = ", ".join(f"fields.{n}" for n in sorted(fields)) or "none are defined"
            raise ValidationError(
                f"unknown custom field {self.field!r}; known fields: {known}", field=self.field
            )
        if self.value is None:
            if fd.required:
                raise ValidationError(
                    f"{self.field!r} is required and cannot be cleared", field=self.field
                )
        else:
            fd.validate(self.value)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"set_field": name, "value": value}``, or ``{"clear_field": name}``."""
        if self.value is None:
            return {"clear_field": self.field}
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"set_field": self.field, "value": value}


def _priority(value: object) -> Priority:
    return Priority.parse(value)


@frozen
class SetPriority:
    """Set the ticket's priority."""

    priority: Priority = field(converter=_priority)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"set_priority": "P1"}``."""
        return {"set_priority": self.priority.name}


def _assignee(value: object) -> str | None:
    return optional_name(value, "assign")


def _route(value: object) -> bool:
    return check_bool(value, "route")


@frozen
class Assign:
    """Assign the ticket to ``to``; with ``route=True`` to the agent the router picks.

    ``Assign()`` unassigns it.
    """

    to: str | None = field(default=None, converter=_assignee)
    route: bool = field(default=False, converter=_route)

    def __attrs_post_init__(self) -> None:
        if self.route and self.to is not None:
            raise ValidationError(
                f"assign either to {self.to!r} or by the router (route=True), not both",
                field="assign",
            )

    def to_data(self) -> dict[str, JSONValue]:
        """``{"assign": name}``, ``{"route": true}`` or ``{"unassign": true}``."""
        if self.route:
            return {"route": True}
        if self.to is None:
            return {"unassign": True}
        return {"assign": self.to}


@frozen
class AddTag:
    """Add a tag."""

    tag: str = field(converter=check_tag)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"add_tag": tag}``."""
        return {"add_tag": self.tag}


@frozen
class RemoveTag:
    """Remove a tag (nothing happens if the ticket does not have it)."""

    tag: str = field(converter=check_tag)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"remove_tag": tag}``."""
        return {"remove_tag": self.tag}


def _reply_text(value: object) -> str:
    return check_template(value, "reply")


def _note_text(value: object) -> str:
    return check_template(value, "note")


@frozen
class Reply:
    """Add a public reply (the customer sees it); ``text`` is a template."""

    text: str = field(converter=_reply_text)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"reply": text}``."""
        return {"reply": self.text}


@frozen
class Note:
    """Add an internal note (agents only); ``text`` is a template."""

    text: str = field(converter=_note_text)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"note": text}``."""
        return {"note": self.text}


def _action_name(value: object) -> str:
    return check_name(value, "transition")


@frozen
class Transition:
    """Take the workflow action ``action`` (``"close"``, ``"resolve"``...)."""

    action: str = field(converter=_action_name)

    def check(self, workflow: Workflow) -> None:
        """Refuse an action the workflow does not have."""
        workflow.action(self.action)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"transition": action}``."""
        return {"transition": self.action}


_ROLES = ("reporter", "assignee", "watchers")


def _recipients(value: object) -> tuple[str, ...]:
    roles = f"{', '.join(_ROLES)} or addresses"
    values = read_list(value, "notify 'to'", of=roles, single=True, field="to")
    found = tuple(check_name(v, "to") for v in values)
    if not found:
        raise ValidationError(
            f"notify needs at least one recipient: {', '.join(_ROLES)} or an address", field="to"
        )
    if len(set(found)) != len(found):
        raise ValidationError(f"notify lists a recipient twice: {list(found)!r}", field="to")
    return found


def _template_name(value: object) -> str:
    return check_name(value, "notify")


def _notify_text(value: object) -> str:
    return "" if value == "" else check_template(value, "notify text")


@frozen
class Notify:
    """Send the notification ``template`` to ``to``.

    Recipients are ``"reporter"``, ``"assignee"``, ``"watchers"`` or addresses.
    ``text`` (a template) fills the ``$text`` of the notification template.
    """

    template: str = field(converter=_template_name)
    to: tuple[str, ...] = field(default=("reporter",), converter=_recipients)
    text: str = field(default="", converter=_notify_text)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"notify": template, "to": [...], "text": ...}`` (no text when empty)."""
        data: dict[str, JSONValue] = {"notify": self.template, "to": list(self.to)}
        if self.text:
            data["text"] = self.text
        return data


def _level(value: object) -> str | None:
    return optional_name(value, "escalate")


@frozen
class Escalate:
    """Escalate to the level named ``level``, or to the next level (``None``)."""

    level: str | None = field(default=None, converter=_level)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"escalate": level}``, or ``{"escalate": true}`` for the next level."""
        return {"escalate": True if self.level is None else self.level}


#: Any action of a rule.
RuleAction = (
    SetField
    | SetPriority
    | Assign
    | AddTag
    | RemoveTag
    | Reply
    | Note
    | Transition
    | Notify
    | Escalate
)
ACTION_TYPES = (
    SetField,
    SetPriority,
    Assign,
    AddTag,
    RemoveTag,
    Reply,
    Note,
    Transition,
    Notify,
    Escalate,
)
