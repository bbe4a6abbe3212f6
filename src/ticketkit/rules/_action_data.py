"""Reading rule actions from plain data (the forms :mod:`._actions` lists)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import ValidationError
from ._actions import (
    AddTag,
    Assign,
    Escalate,
    Note,
    Notify,
    RemoveTag,
    Reply,
    RuleAction,
    SetField,
    SetPriority,
    Transition,
)
from ._data import check_table, in_context

__all__ = ["action_from_data"]


def _true(table: Mapping[str, Any], key: str) -> None:
    if table[key] is not True:
        raise ValidationError(f"{key!r} takes true, got {table[key]!r}", field=key)


def _build(kind: str, table: Mapping[str, Any]) -> RuleAction:
    value = table[kind]
    if kind == "set_field":
        return SetField(value, table.get("value"))
    if kind == "clear_field":
        return SetField(value, None)
    if kind == "set_priority":
        return SetPriority(value)
    if kind == "assign":
        return Assign(value)
    if kind == "unassign":
        _true(table, kind)
        return Assign()
    if kind == "route":
        _true(table, kind)
        return Assign(route=True)
    if kind == "add_tag":
        return AddTag(value)
    if kind == "remove_tag":
        return RemoveTag(value)
    if kind == "reply":
        return Reply(value)
    if kind == "note":
        return Note(value)
    if kind == "transition":
        return Transition(value)
    if kind == "notify":
        return Notify(value, table.get("to", ("reporter",)), table.get("text", ""))
    if value is not True and value is not None and not isinstance(value, str):
        raise ValidationError(
            f"escalate takes a level name, or true for the next level; got {value!r}",
            field="escalate",
        )
    return Escalate(value if isinstance(value, str) else None)


#: Each action kind with the other keys its table may have.
_KINDS: Mapping[str, frozenset[str]] = {
    "set_field": frozenset({"value"}),
    "clear_field": frozenset(),
    "set_priority": frozenset(),
    "assign": frozenset(),
    "unassign": frozenset(),
    "route": frozenset(),
    "add_tag": frozenset(),
    "remove_tag": frozenset(),
    "reply": frozenset(),
    "note": frozenset(),
    "transition": frozenset(),
    "notify": frozenset({"to", "text"}),
    "escalate": frozenset(),
}


def action_from_data(data: object, where: str = "action") -> RuleAction:
    """The action ``data`` describes (see the module for the forms).

    Errors name ``where`` (such as ``"rule 'vip', actions[1]"``) and the problem.
    """
    table = check_table(data, where)
    kinds = [k for k in _KINDS if k in table]
    if len(kinds) != 1:
        unknown = sorted((str(k) for k in table if k not in _KINDS), key=str)
        what = f"the unknown action {unknown[0]!r}" if unknown and not kinds else "no action"
        if len(kinds) > 1:
            what = f"several actions ({', '.join(kinds)})"
        raise ValidationError(
            f"{where} has {what}; give exactly one of {', '.join(_KINDS)}", field="actions"
        )
    kind = kinds[0]
    extra = sorted(set(map(str, table)) - {kind} - _KINDS[kind])
    if extra:
        allowed = ", ".join(sorted(_KINDS[kind])) or "none"
        raise ValidationError(
            f"{where}: {kind} has the unknown key {extra[0]!r}; its other keys: {allowed}",
            field=kind,
        )
    return in_context(where, lambda: _build(kind, table))
