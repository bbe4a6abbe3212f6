"""Automation rules: a trigger, conditions and actions, kept as plain data.

A :class:`Rule` is checked when it is built (names, operators, templates,
regular expressions); :meth:`Rule.check` checks what it refers to (custom
fields, workflow states and actions) against a tracker's configuration. A
:class:`RuleSet` holds the rules of a help desk with unique names and the
depth to which rules may set each other off.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from functools import partial
from typing import Any

from attrs import field, frozen

from .._errors import ValidationError
from .._events import Event, EventType
from .._fields import FieldDef
from .._text import check_name
from .._workflow import Workflow
from ._action_data import action_from_data
from ._actions import ACTION_TYPES, RuleAction, SetField, Transition
from ._conditions import CONDITION_TYPES, All, Condition, check_condition, condition_from_data
from ._data import check_bool, in_context, named, read_list, read_table
from ._triggers import Elapsed, OnEvent, Trigger, trigger_from_data

__all__ = ["DEFAULT_MAX_DEPTH", "Rule", "RuleSet"]

#: How deep rules may set each other off unless a rule set says otherwise.
DEFAULT_MAX_DEPTH = 5
_MAX_DEPTH_LIMIT = 50


def _name(value: object) -> str:
    return check_name(value, "rule name")


def _trigger(value: object) -> Trigger:
    if not isinstance(value, OnEvent | Elapsed):
        raise ValidationError(
            f"a rule's trigger must be OnEvent or Elapsed, got {value!r:.60}", field="trigger"
        )
    return value


def _actions(value: object) -> tuple[RuleAction, ...]:
    if isinstance(value, ACTION_TYPES):
        value = (value,)
    found = tuple(read_list(value, "actions", of="rule actions"))
    for action in found:
        if not isinstance(action, ACTION_TYPES):
            raise ValidationError(
                f"{action!r:.60} is not a rule action; use SetField, SetPriority, Assign, "
                "AddTag, RemoveTag, Reply, Note, Transition, Notify or Escalate",
                field="actions",
            )
    return found


def _enabled(value: object) -> bool:
    return check_bool(value, "enabled")


@frozen
class Rule:
    """When ``trigger`` fires and ``when`` holds, do ``actions`` (in order).

    ``Rule("vip", OnEvent({"opened"}), [SetPriority("P1")], when=HasTag("vip"))``.
    """

    name: str = field(converter=_name)
    trigger: Trigger = field(converter=_trigger)
    actions: tuple[RuleAction, ...] = field(converter=_actions)
    when: Condition = field(factory=All)
    enabled: bool = field(default=True, converter=_enabled)

    def __attrs_post_init__(self) -> None:
        if not self.actions:
            raise ValidationError(
                f"rule {self.name!r} has no actions; give it at least one", field="actions"
            )
        if not isinstance(self.when, CONDITION_TYPES):
            raise ValidationError(
                f"the 'when' of rule {self.name!r} is {self.when!r:.60}, not a condition; use "
                "FieldIs, HasTag, TextMatches, All, Any or Not",
                field="when",
            )

    def check(self, fields: Mapping[str, FieldDef], workflow: Workflow) -> None:
        """Refuse references to unknown custom fields, states, workflow actions.

        The :class:`~ticketkit.ValidationError` names the rule and the item.
        """
        in_context(
            f"rule {self.name!r}, when", partial(check_condition, self.when, fields, workflow)
        )
        for i, action in enumerate(self.actions):
            where = f"rule {self.name!r}, actions[{i}] ({next(iter(action.to_data()))})"
            if isinstance(action, SetField):
                in_context(where, partial(action.check, fields))
            elif isinstance(action, Transition):
                in_context(where, partial(action.check, workflow))

    def to_data(self) -> dict[str, Any]:
        """Plain data (JSON- and TOML-ready); :meth:`from_data` reads it back."""
        data: dict[str, Any] = {"name": self.name, "trigger": self.trigger.to_data()}
        if self.when != All():
            data["when"] = self.when.to_data()
        data["actions"] = [a.to_data() for a in self.actions]
        if not self.enabled:
            data["enabled"] = False
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Rule:
        """Read a rule written by :meth:`to_data`.

        ``{"name": ..., "trigger": {...}, "when": {...}, "actions": [...], "enabled": ...}``;
        errors name the rule and the item at fault.
        """
        table = read_table(
            data, named(data, "rule"), {"name", "trigger", "actions"}, {"when", "enabled"}
        )
        name = _name(table["name"])
        where = f"rule {name!r}"
        trigger = trigger_from_data(table["trigger"], f"{where}, trigger")
        when = condition_from_data(table["when"], f"{where}, when") if "when" in table else All()
        raw = in_context(where, lambda: read_list(table["actions"], "actions"))
        actions = [action_from_data(a, f"{where}, actions[{i}]") for i, a in enumerate(raw)]
        enabled = table.get("enabled", True)
        return in_context(where, lambda: cls(name, trigger, actions, when, enabled))


def _rules(value: object) -> tuple[Rule, ...]:
    if isinstance(value, Rule):
        value = (value,)
    found = tuple(read_list(value, "rules", of="Rule"))
    names: set[str] = set()
    for rule in found:
        if not isinstance(rule, Rule):
            raise ValidationError(f"{rule!r:.60} is not a Rule", field="rules")
        if rule.name in names:
            raise ValidationError(
                f"two rules are named {rule.name!r}; give each rule its own name", field="rules"
            )
        names.add(rule.name)
    return found


def _max_depth(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"max_depth must be a whole number, got {value!r}", field="max_depth")
    if not 1 <= value <= _MAX_DEPTH_LIMIT:
        raise ValidationError(
            f"max_depth must be between 1 and {_MAX_DEPTH_LIMIT}, got {value}", field="max_depth"
        )
    return value


@frozen
class RuleSet:
    """The automation rules of a help desk, by unique name, in the order they run.

    ``max_depth`` bounds how deep rules set each other off: a change made by a
    rule may trigger further rules, at most ``max_depth`` levels deep, so a rule
    cannot trigger itself without end.
    """

    rules: tuple[Rule, ...] = field(default=(), converter=_rules)
    max_depth: int = field(default=DEFAULT_MAX_DEPTH, converter=_max_depth)
    _by_event: Mapping[EventType, tuple[Rule, ...]] = field(init=False, eq=False, repr=False)
    _timed: tuple[Rule, ...] = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        by_event: dict[EventType, list[Rule]] = {}
        for rule in self.rules:
            if rule.enabled and isinstance(rule.trigger, OnEvent):
                for kind in EventType:
                    if kind in rule.trigger.types:
                        by_event.setdefault(kind, []).append(rule)
        object.__setattr__(
            self,
            "_by_event",
            types.MappingProxyType({k: tuple(v) for k, v in by_event.items()}),
        )
        timed = tuple(r for r in self.rules if r.enabled and isinstance(r.trigger, Elapsed))
        object.__setattr__(self, "_timed", timed)

    def for_event(self, event: Event) -> tuple[Rule, ...]:
        """The enabled event rules whose trigger takes ``event``'s type, in order.

        Whether the actor fits the trigger's ``by`` is for the caller to check
        (``rule.trigger.fires_for(event, is_customer)``).
        """
        return self._by_event.get(event.type, ())

    def timed(self) -> tuple[Rule, ...]:
        """The enabled time-based rules, in order."""
        return self._timed

    def rule(self, name: str) -> Rule:
        """The rule called ``name``."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in self.rules) or "none"
        raise ValidationError(f"there is no rule named {name!r}; the rules: {known}")

    def check(self, fields: Mapping[str, FieldDef], workflow: Workflow) -> None:
        """:meth:`Rule.check` for every rule."""
        for rule in self.rules:
            rule.check(fields, workflow)

    def to_data(self) -> dict[str, Any]:
        """``{"max_depth": n, "rules": [...]}``; :meth:`from_data` reads it back."""
        return {"max_depth": self.max_depth, "rules": [r.to_data() for r in self.rules]}

    @classmethod
    def from_data(cls, data: object) -> RuleSet:
        """Read a list of rules, or ``{"max_depth": n, "rules": [...]}``."""
        if isinstance(data, Mapping):
            table = read_table(data, "a rule set", (), {"max_depth", "rules"})
            depth = table.get("max_depth", DEFAULT_MAX_DEPTH)
            items = table.get("rules", [])
        else:
            depth, items = DEFAULT_MAX_DEPTH, data
        rules = read_list(items, "rules", of="rules")
        return cls(tuple(Rule.from_data(item) for item in rules), depth)
