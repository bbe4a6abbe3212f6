"""Macros: named bundles of steps an agent applies to a ticket in one go.

A :class:`Macro` is a canned reply (or internal note), field changes, tags,
an assignee and a workflow action, kept as plain data like
:class:`~ticketkit.Automation`: it is checked when it is built (its name, its
reply's placeholders, that it does something), :meth:`Macro.check` checks it
against a tracker's fields, queues and workflow, and :meth:`Macro.to_data` /
:meth:`Macro.from_data` round-trip it through TOML- and JSON-ready dicts.

The tracker carries a macro out in one write (see :mod:`ticketkit._macro_apply`).

A reply is a :class:`string.Template`, as rule texts are: ``$key $title
$status $priority $assignee $reporter $agent`` (``$$`` is a dollar sign). It
is filled in by substitution only, never with :meth:`str.format`, so a reply
cannot reach into a ticket's attributes; ``{name}`` fields, which look like
``str.format`` placeholders, are refused with a hint to write ``$name``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from attrs import field, frozen

from ._config import TrackerConfig
from ._errors import ValidationError
from ._events import JSONValue
from ._guards import RequireComment, RequireField, RequireResolution
from ._macro_values import (
    ME,
    NOBODY,
    PLACEHOLDERS,
    to_action,
    to_add_tags,
    to_assignee,
    to_internal,
    to_label,
    to_name,
    to_priority,
    to_queue,
    to_remove_tags,
    to_reply,
    to_resolution,
    to_set_fields,
)
from ._model import Ticket
from ._priority import Priority
from .rules._data import check_table, in_context, read_list, read_table

__all__ = [
    "ME",
    "NOBODY",
    "PLACEHOLDERS",
    "Macro",
    "check_macros",
    "macros_from_data",
    "macros_to_data",
]

# -- the macro ----------------------------------------------------------------------


@frozen
class Macro:
    """A named bundle of steps that an agent applies to a ticket in one write.

    In the order they are carried out: ``set_fields`` (custom field name to
    value, ``None`` clears), ``priority``, ``queue``, ``assignee`` (a name,
    :data:`ME` for the agent applying the macro, :data:`NOBODY` to unassign),
    ``add_tags`` and ``remove_tags``, the ``reply`` (a template; an internal
    note when ``internal``), then the workflow ``action`` (with ``resolution``
    when the action asks for one). ``label`` is what a front end shows
    (default: the name made readable). A macro must do at least one thing.
    """

    name: str = field(converter=to_name)
    label: str = field(default="", converter=to_label, kw_only=True)
    reply: str | None = field(default=None, converter=to_reply, kw_only=True)
    internal: bool = field(default=False, converter=to_internal, kw_only=True)
    # Left out of the hash (a mapping has none); equal macros still hash alike.
    set_fields: Mapping[str, JSONValue] = field(
        factory=dict, converter=to_set_fields, kw_only=True, hash=False
    )
    priority: Priority | None = field(default=None, converter=to_priority, kw_only=True)
    queue: str | None = field(default=None, converter=to_queue, kw_only=True)
    assignee: str | None = field(default=None, converter=to_assignee, kw_only=True)
    add_tags: frozenset[str] = field(default=frozenset(), converter=to_add_tags, kw_only=True)
    remove_tags: frozenset[str] = field(default=frozenset(), converter=to_remove_tags, kw_only=True)
    action: str | None = field(default=None, converter=to_action, kw_only=True)
    resolution: str | None = field(default=None, converter=to_resolution, kw_only=True)

    def __attrs_post_init__(self) -> None:
        where = f"macro {self.name!r}"
        if self.resolution is not None and self.action is None:
            raise ValidationError(
                f"{where} has a resolution but no action; give the action that resolves, "
                "such as action='resolve'",
                field="resolution",
            )
        both = sorted(self.add_tags & self.remove_tags)
        if both:
            raise ValidationError(
                f"{where} both adds and removes the tag {both[0]!r}; keep one", field="tags"
            )
        if self.internal and self.reply is None:
            raise ValidationError(
                f"{where} is internal=True without a reply; internal makes the reply an "
                "internal note, so give reply= or leave internal out",
                field="internal",
            )
        if not self.steps:
            raise ValidationError(
                f"{where} does nothing; give it a reply, field changes, tags, an assignee "
                "or an action",
                field="name",
            )

    @property
    def title(self) -> str:
        """The label, or the name made readable (``ask-for-logs`` reads "Ask for logs")."""
        return self.label or re.sub(r"[-_.]+", " ", self.name).strip().capitalize()

    @property
    def steps(self) -> tuple[str, ...]:
        """The steps this macro takes, in order: ``fields.<name>``, ``priority``,
        ``queue``, ``assignee``, ``tags``, ``reply`` or ``note``, ``action``."""
        found = [f"fields.{name}" for name in self.set_fields]
        found += [name for name in ("priority", "queue", "assignee") if getattr(self, name)]
        if self.add_tags or self.remove_tags:
            found.append("tags")
        if self.reply is not None:
            found.append("note" if self.internal else "reply")
        if self.action is not None:
            found.append("action")
        return tuple(found)

    def assignee_for(self, agent: str) -> str | None:
        """The assignee this macro sets when ``agent`` applies it (``None``: unassigned).

        Only meaningful when :attr:`assignee` is set.
        """
        if self.assignee == ME:
            return agent
        if self.assignee == NOBODY:
            return None
        return self.assignee

    def permissions(
        self, agent: str, *, comment: bool = False
    ) -> tuple[tuple[str, str | None], ...]:
        """The ``(permission, detail)`` pairs a principal ``agent`` needs to apply it.

        ``change_field`` per field path, ``assign`` (detail: the new assignee),
        ``comment`` or ``internal_note`` for the reply (or for the agent's own
        ``comment``), ``transition`` (detail: the action), in step order.
        """
        needed: list[tuple[str, str | None]] = []
        needed += [("change_field", f"fields.{name}") for name in self.set_fields]
        needed += [("change_field", name) for name in ("priority", "queue") if getattr(self, name)]
        if self.assignee is not None:
            needed.append(("assign", self.assignee_for(agent)))
        if self.add_tags or self.remove_tags:
            needed.append(("change_field", "tags"))
        if self.reply is not None or comment:
            needed.append(("internal_note" if self.internal else "comment", None))
        if self.action is not None:
            needed.append(("transition", self.action))
        return tuple(needed)

    def render(self, ticket: Ticket, agent: str) -> str | None:
        """The reply with ``ticket``'s values (and ``$agent``) filled in; ``None`` without one.

        ``$assignee`` reads ``unassigned`` when there is none.
        """
        if self.reply is None:
            return None
        values = {
            "key": ticket.key,
            "title": ticket.title,
            "status": ticket.status,
            "priority": ticket.priority.name,
            "assignee": ticket.assignee or "unassigned",
            "reporter": ticket.reporter,
            "agent": agent,
        }
        return string.Template(self.reply).substitute(values)

    def check(self, config: TrackerConfig) -> None:
        """Refuse a custom field, queue, workflow action or resolution ``config`` lacks.

        Also refused: an action that needs a comment when the macro has no reply, a
        resolution the action does not take (or none when it needs one), and an
        action that needs a field the macro does not set. The
        :class:`~ticketkit.ValidationError` names the macro and the item.
        """
        where = f"macro {self.name!r}"
        for name, value in self.set_fields.items():
            fd = config.fields.get(name)
            if fd is None:
                known = ", ".join(sorted(config.fields)) or "none are defined"
                raise ValidationError(
                    f"{where} sets the unknown custom field {name!r}; known fields: {known}",
                    field=f"fields.{name}",
                )
            if value is None and fd.required:
                raise ValidationError(
                    f"{where} clears the required custom field {name!r}; a required field "
                    "cannot be cleared",
                    field=f"fields.{name}",
                )
            if value is not None:
                in_context(where, partial(fd.validate, value))
        if self.queue is not None:
            in_context(where, lambda: config.check_queue(self.queue))
        if self.action is not None:
            self._check_action(config, where)

    def _check_action(self, config: TrackerConfig, where: str) -> None:
        assert self.action is not None
        action = in_context(where, lambda: config.workflow.action(str(self.action)))
        choices: tuple[str, ...] | None = None
        for effect in action.effects:
            if isinstance(effect, RequireResolution):
                choices = effect.choices
            elif isinstance(effect, RequireComment) and self.reply is None:
                raise ValidationError(
                    f"{where}: action {action.name!r} needs a comment; give the macro a reply",
                    field="reply",
                )
            elif isinstance(effect, RequireField) and effect.field not in self._sets():
                raise ValidationError(
                    f"{where}: action {action.name!r} needs a value for {effect.field!r}; "
                    "the macro must set it",
                    field=effect.field,
                )
        if choices is None and self.resolution is not None:
            raise ValidationError(
                f"{where}: action {action.name!r} takes no resolution, but "
                f"{self.resolution!r} is given; leave the resolution out",
                field="resolution",
            )
        if choices is not None and self.resolution not in choices:
            what = (
                "needs a resolution"
                if self.resolution is None
                else f"cannot use {self.resolution!r}"
            )
            raise ValidationError(
                f"{where}: action {action.name!r} {what}; use one of {', '.join(choices)}",
                field="resolution",
            )

    def _sets(self) -> dict[str, JSONValue]:
        """The field paths this macro sets before its action, with their values
        (``assignee`` as written: ``me`` and ``nobody`` are resolved when applied)."""
        found: dict[str, JSONValue] = {f"fields.{n}": v for n, v in self.set_fields.items()}
        if self.priority is not None:
            found["priority"] = self.priority.name
        if self.queue is not None:
            found["queue"] = self.queue
        if self.assignee is not None:
            found["assignee"] = self.assignee
        return found

    # -- data -----------------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        """Plain data, JSON- and TOML-ready (no nulls); :meth:`from_data` reads it back."""
        data: dict[str, Any] = {"name": self.name}
        if self.label:
            data["label"] = self.label
        if self.reply is not None:
            data["reply"] = self.reply
        if self.internal:
            data["internal"] = True
        values = {n: v for n, v in self.set_fields.items() if v is not None}
        if values:
            data["set_fields"] = {
                n: list(v) if isinstance(v, tuple) else v for n, v in values.items()
            }
        cleared = [n for n, v in self.set_fields.items() if v is None]
        if cleared:
            data["clear_fields"] = cleared
        if self.priority is not None:
            data["priority"] = self.priority.name
        for name in ("queue", "assignee"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        for name in ("add_tags", "remove_tags"):
            if getattr(self, name):
                data[name] = sorted(getattr(self, name))
        for name in ("action", "resolution"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_data(cls, data: object) -> Macro:
        """Read a macro written by :meth:`to_data`; errors name the macro and the key."""
        where = _named(data)
        optional = {a for a in _KEYS if a != "name"}
        table = read_table(data, where, {"name"}, optional)
        values = dict(table)
        cleared = values.pop("clear_fields", None)
        if cleared is not None:
            names = in_context(where, lambda: read_list(cleared, "clear_fields", of="field names"))
            given = dict(check_table(values.get("set_fields", {}), f"{where}, set_fields"))
            both = sorted(set(given) & {str(n) for n in names})
            if both:
                raise ValidationError(
                    f"{where} both sets and clears the field {both[0]!r}; keep one",
                    field="clear_fields",
                )
            values["set_fields"] = {**given, **dict.fromkeys(names)}
        return in_context(where, lambda: cls(**values))


_KEYS = (
    "name",
    "label",
    "reply",
    "internal",
    "set_fields",
    "clear_fields",
    "priority",
    "queue",
    "assignee",
    "add_tags",
    "remove_tags",
    "action",
    "resolution",
)


def _named(data: object) -> str:
    if isinstance(data, Mapping) and isinstance(data.get("name"), str):
        return f"macro {data['name']!r:.80}"
    return "a macro"


# -- many macros --------------------------------------------------------------------


def check_macros(value: object) -> tuple[Macro, ...]:
    """``value`` (macros, or their data tables, in any iterable) as a tuple of macros,
    refusing anything else and two macros of one name."""
    if isinstance(value, Macro):
        value = (value,)
    items = read_list(value, "macros", of="Macro")
    found = tuple(Macro.from_data(m) if isinstance(m, Mapping) else m for m in items)
    names: set[str] = set()
    for macro in found:
        if not isinstance(macro, Macro):
            raise ValidationError(
                f"{macro!r:.60} is not a Macro (or a macro's data table)", field="macros"
            )
        if macro.name in names:
            raise ValidationError(
                f"two macros are named {macro.name!r}; give each macro its own name",
                field="macros",
            )
        names.add(macro.name)
    return found


def macros_to_data(macros: Iterable[Macro]) -> dict[str, Any]:
    """``{"macros": [...]}``: a TOML file's ``[[macros]]`` tables."""
    return {"macros": [m.to_data() for m in check_macros(list(macros))]}


def macros_from_data(data: object) -> tuple[Macro, ...]:
    """Macros from ``{"macros": [...]}`` (a parsed TOML or JSON file) or a plain list."""
    if isinstance(data, Mapping):
        items = read_table(data, "the macros data", (), {"macros"}).get("macros", [])
    else:
        items = data
    return check_macros([Macro.from_data(item) for item in read_list(items, "macros")])
