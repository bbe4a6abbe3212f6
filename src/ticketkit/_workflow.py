"""Workflows: the states a ticket moves through and the actions that move it.

A :class:`Workflow` is data, checked when it is built: unknown, unreachable
and dead-end states raise :class:`InvalidWorkflow`. :meth:`Workflow.plan`
decides whether an action may apply to a ticket now and what it changes; the
tracker applies the plan. Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import enum
import json
import re
import types
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from attrs import evolve, field, frozen

from ._errors import InvalidWorkflow, TransitionNotAllowed, ValidationError
from ._guards import (
    BUILTIN_GUARDS,
    ClearField,
    Effect,
    Guard,
    GuardContext,
    RequireComment,
    RequireField,
    RequireResolution,
    SetField,
    TransitionInputs,
    effect_from_data,
    effect_to_data,
    guard_from_data,
    guard_to_data,
    plan_changes,
)
from ._model import Ticket
from ._workflow_data import parse_json, parse_toml, read_list, read_table, toml_document

__all__ = ["Action", "Category", "State", "TransitionPlan", "Workflow"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ACTION_OPTIONAL = ("label", "guards", "effects")
_EFFECT_TYPES = (SetField, ClearField, RequireComment, RequireResolution, RequireField)


def _name_checker(what: str) -> Callable[[object, object, Any], None]:
    def check(_: object, __: object, value: Any) -> None:
        if not isinstance(value, str) or not _NAME.match(value):
            raise InvalidWorkflow(
                f"{what} name {value!r} is not valid; use lower-case letters, digits and "
                "underscores, starting with a letter"
            )

    return check


def _check_label(_: object, __: object, value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidWorkflow(f"a label must be a string, got {value!r}")


class Category(enum.StrEnum):
    """What a state means, whatever it is called: reports and SLAs work on these."""

    NEW = "new"
    ACTIVE = "active"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


def _to_category(value: Any) -> Category:
    try:
        return Category(value)
    except ValueError:
        known = ", ".join(c.value for c in Category)
        raise InvalidWorkflow(f"unknown state category {value!r}; use one of {known}") from None


@frozen
class State:
    """One status a ticket can have."""

    name: str = field(validator=_name_checker("state"))
    category: Category = field(converter=_to_category)
    label: str = field(default="", validator=_check_label)

    @property
    def title(self) -> str:
        """The label, or the name made readable."""
        return self.label or self.name.replace("_", " ").capitalize()


def _to_sources(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, Iterable):
        return frozenset(value)
    raise InvalidWorkflow(f"action sources must be state names or '*', got {value!r}")


def _check_sources(action: Action, _: object, value: Any) -> None:
    if not value:
        raise InvalidWorkflow(
            f"action {action.name!r} has no source states; list at least one, or '*' for all"
        )
    for name in value:
        if name != "*":
            _name_checker("state")(None, None, name)


def _check_guards(action: Action, _: object, value: Any) -> None:
    for guard in value:
        if not callable(guard):
            raise InvalidWorkflow(
                f"guard {guard!r} on action {action.name!r} is not callable; a guard is a "
                "function (GuardContext) -> str | None"
            )


def _check_effects(action: Action, _: object, value: Any) -> None:
    touched: set[str] = set()
    for effect in value:
        if not isinstance(effect, _EFFECT_TYPES):
            raise InvalidWorkflow(
                f"effect {effect!r} on action {action.name!r} is not an effect; use SetField, "
                "ClearField, RequireComment, RequireResolution or RequireField"
            )
        names = ("comment",) if isinstance(effect, RequireComment) else effect.fields
        for name in names:
            if name in touched:
                raise InvalidWorkflow(
                    f"action {action.name!r} has two effects on {name!r}; keep one"
                )
            touched.add(name)


def _to_guards(value: Iterable[Guard]) -> tuple[Guard, ...]:
    return tuple(value)


def _to_effects(value: Iterable[Effect]) -> tuple[Effect, ...]:
    return tuple(value)


@frozen
class Action:
    """Moves a ticket from any of ``sources`` (``"*"``: every state) to ``target``."""

    name: str = field(validator=_name_checker("action"))
    sources: frozenset[str] = field(converter=_to_sources, validator=_check_sources)
    target: str = field(validator=_name_checker("state"))
    label: str = field(default="", validator=_check_label)
    guards: tuple[Guard, ...] = field(default=(), converter=_to_guards, validator=_check_guards)
    effects: tuple[Effect, ...] = field(default=(), converter=_to_effects, validator=_check_effects)

    @property
    def title(self) -> str:
        """The label, or the name made readable."""
        return self.label or self.name.replace("_", " ").capitalize()


def _freeze_changes(value: Mapping[str, object]) -> Mapping[str, object]:
    return types.MappingProxyType(dict(value))


@frozen
class TransitionPlan:
    """What applying ``action`` will do: the new status and field changes.

    ``changes`` maps a field path to its new raw value (``None`` clears it);
    the tracker validates and applies them.
    """

    action: Action
    source: str
    target: str
    changes: Mapping[str, object] = field(converter=_freeze_changes)


def _to_states(value: Iterable[State]) -> tuple[State, ...]:
    return tuple(value)


def _to_actions(value: Iterable[Action]) -> tuple[Action, ...]:
    return tuple(value)


def _freeze_registry(value: Mapping[str, Guard] | None) -> Mapping[str, Guard]:
    registry = dict(value or {})
    for name, guard in registry.items():
        if not isinstance(name, str) or not name or name in BUILTIN_GUARDS:
            raise InvalidWorkflow(
                f"custom guard name {name!r} is not usable; pick a non-empty name other than "
                f"the built-in ones ({', '.join(BUILTIN_GUARDS)})"
            )
        if not callable(guard):
            raise InvalidWorkflow(f"custom guard {name!r} is {guard!r}, which is not callable")
    return types.MappingProxyType(registry)


@frozen
class Workflow:
    """States, actions and the initial state, checked for consistency when built.

    ``guard_registry`` names custom guards for :meth:`to_data`; it takes no
    part in equality.
    """

    name: str = field(validator=_name_checker("workflow"))
    states: tuple[State, ...] = field(converter=_to_states)
    actions: tuple[Action, ...] = field(converter=_to_actions)
    initial: str
    guard_registry: Mapping[str, Guard] = field(
        factory=dict, converter=_freeze_registry, eq=False, repr=False
    )
    _states: Mapping[str, State] = field(init=False, eq=False, repr=False)
    _actions: Mapping[str, Action] = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        wf = f"workflow {self.name!r}"
        if not self.states:
            raise InvalidWorkflow(f"{wf} has no states; give it at least one State")
        states: dict[str, State] = {}
        for state in self.states:
            if not isinstance(state, State):
                raise InvalidWorkflow(f"{wf}: {state!r} is not a State")
            if state.name in states:
                raise InvalidWorkflow(f"{wf} defines the state {state.name!r} twice")
            states[state.name] = state
        known_states = ", ".join(states)
        if not isinstance(self.initial, str) or self.initial not in states:
            raise InvalidWorkflow(
                f"the initial state {self.initial!r} of {wf} is not one of its states "
                f"({known_states})"
            )
        actions: dict[str, Action] = {}
        for action in self.actions:
            if not isinstance(action, Action):
                raise InvalidWorkflow(f"{wf}: {action!r} is not an Action")
            if action.name in actions:
                raise InvalidWorkflow(f"{wf} defines the action {action.name!r} twice")
            if "*" in action.sources:
                action = evolve(action, sources=frozenset(states))
            for name in sorted(action.sources | {action.target}):
                if name not in states:
                    raise InvalidWorkflow(
                        f"action {action.name!r} of {wf} refers to the unknown state {name!r}; "
                        f"known states: {known_states}"
                    )
            actions[action.name] = action
        object.__setattr__(self, "actions", tuple(actions.values()))
        object.__setattr__(self, "_states", types.MappingProxyType(states))
        object.__setattr__(self, "_actions", types.MappingProxyType(actions))
        self._check_graph()

    def _check_graph(self) -> None:
        reached, todo = {self.initial}, [self.initial]
        while todo:
            current = todo.pop()
            for action in self.actions_from(current):
                if action.target not in reached:
                    reached.add(action.target)
                    todo.append(action.target)
        for state in self.states:
            if state.name not in reached:
                raise InvalidWorkflow(
                    f"state {state.name!r} cannot be reached from the initial state "
                    f"{self.initial!r} in workflow {self.name!r}; add an action leading to it "
                    "or remove it"
                )
            if state.category is not Category.CLOSED and not self.actions_from(state.name):
                raise InvalidWorkflow(
                    f"state {state.name!r} in workflow {self.name!r} is a dead end: no action "
                    f"leaves it and its category is {state.category.value!r}; add an action "
                    "from it or make its category 'closed'"
                )

    # -- lookups -------------------------------------------------------------------

    def state(self, name: str) -> State:
        """The state called ``name``."""
        try:
            return self._states[name]
        except (KeyError, TypeError):
            raise ValidationError(
                f"unknown state {name!r} in workflow {self.name!r}; known states: "
                f"{', '.join(self._states)}",
                field="status",
            ) from None

    def category(self, status: str) -> Category:
        """The category of the state called ``status``."""
        return self.state(status).category

    def action(self, name: str) -> Action:
        """The action called ``name``."""
        try:
            return self._actions[name]
        except (KeyError, TypeError):
            raise ValidationError(
                f"unknown action {name!r} in workflow {self.name!r}; known actions: "
                f"{', '.join(self._actions) or 'none'}",
                field="action",
            ) from None

    def actions_from(self, status: str) -> list[Action]:
        """Actions whose sources include ``status``, guards not consulted."""
        return [a for a in self.actions if status in a.sources]

    # -- transitions -------------------------------------------------------------------

    def plan(
        self,
        ticket: Ticket,
        action: str,
        *,
        actor: str,
        now: datetime,
        inputs: TransitionInputs = TransitionInputs(),  # noqa: B008 - immutable
    ) -> TransitionPlan:
        """Check that ``action`` may apply to ``ticket`` now; return what it changes.

        Raises ``ValidationError`` for an unknown action or bad inputs and
        ``TransitionNotAllowed`` when the ticket's status or a guard forbids it.
        """
        act = self.action(action)
        status = ticket.status

        def refuse(why: str, reason: str | None = None) -> TransitionNotAllowed:
            return TransitionNotAllowed(
                f"cannot {action!r} {ticket.key}: {why}",
                key=ticket.key,
                status=status,
                action=action,
                reason=reason,
            )

        if status not in self._states:
            raise refuse(
                f"it is {status!r}, a status workflow {self.name!r} does not know "
                f"(known states: {', '.join(self._states)})"
            )
        if status not in act.sources:
            possible = ", ".join(a.name for a in self.actions_from(status)) or "nothing"
            raise refuse(f"it is {status!r}; from {status!r} you can: {possible}")
        ctx = GuardContext(ticket=ticket, actor=actor, now=now, action=action, inputs=inputs)
        for guard in act.guards:
            reason = guard(ctx)
            if reason is not None:
                raise refuse(reason, reason)
        return TransitionPlan(
            act, status, act.target, plan_changes(act.name, act.effects, actor, inputs)
        )

    def available_actions(self, ticket: Ticket, actor: str, now: datetime) -> list[Action]:
        """Actions from the ticket's status that its guards allow (with no inputs).

        A guard that raises counts as refusing.
        """
        result = []
        for action in self.actions_from(ticket.status):
            ctx = GuardContext(ticket, actor, now, action.name, TransitionInputs())
            try:
                allowed = all(guard(ctx) is None for guard in action.guards)
            except Exception:
                allowed = False
            if allowed:
                result.append(action)
        return result

    # -- data --------------------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data; :meth:`from_data` reads it back."""
        order = [s.name for s in self.states]
        return {
            "name": self.name,
            "initial": self.initial,
            "states": [
                {"name": s.name, "category": s.category.value, "label": s.label}
                for s in self.states
            ],
            "actions": [
                {
                    "name": a.name,
                    "sources": [n for n in order if n in a.sources],
                    "target": a.target,
                    "label": a.label,
                    "guards": [
                        guard_to_data(g, self.guard_registry, f"action {a.name!r}")
                        for g in a.guards
                    ],
                    "effects": [effect_to_data(e) for e in a.effects],
                }
                for a in self.actions
            ],
        }

    @classmethod
    def from_data(
        cls, data: Mapping[str, Any], *, guards: Mapping[str, Guard] | None = None
    ) -> Workflow:
        """Build a workflow from :meth:`to_data`'s form; custom guards come from ``guards``."""
        registry = _freeze_registry(guards)
        top = read_table(data, "the workflow", {"name", "initial", "states", "actions"})
        states = [
            State(**read_table(s, f"states[{i}]", {"name", "category"}, {"label"}))
            for i, s in enumerate(read_list(top, "states", "the workflow"))
        ]
        actions = []
        for i, raw in enumerate(read_list(top, "actions", "the workflow")):
            where = f"actions[{i}]"
            item = read_table(raw, where, {"name", "sources", "target"}, _ACTION_OPTIONAL)
            where = f"action {item['name']!r}"
            if not isinstance(item["sources"], list | str):
                raise InvalidWorkflow(f"sources of {where} must be a list of state names")
            item["guards"] = [
                guard_from_data(g, registry, where) for g in read_list(item, "guards", where)
            ]
            item["effects"] = [
                effect_from_data(e, where) for e in read_list(item, "effects", where)
            ]
            actions.append(Action(**item))
        return cls(top["name"], states, actions, top["initial"], guard_registry=registry)

    def to_json(self) -> str:
        """:meth:`to_data` as indented JSON."""
        return json.dumps(self.to_data(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, *, guards: Mapping[str, Guard] | None = None) -> Workflow:
        return cls.from_data(parse_json(text), guards=guards)

    def to_toml(self) -> str:
        """:meth:`to_data` as TOML: top-level keys, then ``[[states]]`` and ``[[actions]]``."""
        return toml_document(self.to_data())

    @classmethod
    def from_toml(cls, text: str, *, guards: Mapping[str, Guard] | None = None) -> Workflow:
        return cls.from_data(parse_toml(text), guards=guards)

    # -- diagrams ----------------------------------------------------------------------

    def to_mermaid(self) -> str:
        """A Mermaid state diagram of the workflow, for Markdown pages."""
        from ._diagram import workflow_to_mermaid

        return workflow_to_mermaid(self)

    def to_dot(self) -> str:
        """The workflow as Graphviz DOT text."""
        from ._diagram import workflow_to_dot

        return workflow_to_dot(self)

    def to_svg(self, *, dot: str = "dot", timeout: float = 30.0) -> str:
        """The workflow drawn as SVG by Graphviz's ``dot``; ``GraphvizError`` if that fails."""
        from ._diagram import workflow_to_svg

        return workflow_to_svg(self, dot=dot, timeout=timeout)
