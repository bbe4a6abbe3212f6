"""What a workflow action checks and what it does: guards and effects.

A *guard* is any callable ``(GuardContext) -> str | None``: it returns a human
reason when it refuses the action and ``None`` to allow it. An *effect* is a
frozen value saying what the action changes on the ticket or what the caller
must supply. Both are plain data, so a workflow can be written to and read
from JSON or TOML.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeAlias

import attrs
from attrs import frozen

from ._errors import InvalidWorkflow, ValidationError
from ._model import Ticket

__all__ = [
    "ACTOR",
    "BUILTIN_GUARDS",
    "ActorIsAssignee",
    "ClearField",
    "Effect",
    "Guard",
    "GuardContext",
    "HasAssignee",
    "RequireComment",
    "RequireField",
    "RequireResolution",
    "SetField",
    "TransitionInputs",
    "WithinDays",
    "effect_from_data",
    "effect_to_data",
    "guard_from_data",
    "guard_to_data",
    "plan_changes",
]

#: The value of a :class:`SetField` that stands for the acting user.
ACTOR = "$actor"

#: Fields an effect may touch; custom fields are written ``fields.<name>``.
_PLAIN_FIELDS = ("assignee", "resolution", "priority", "queue")
_CUSTOM_FIELD = re.compile(r"^fields\.[a-z][a-z0-9_]{0,62}$")


def _freeze(value: Mapping[str, object]) -> Mapping[str, object]:
    return types.MappingProxyType(dict(value))


@frozen
class TransitionInputs:
    """What the caller of a transition supplied besides the action's name.

    ``fields`` maps a field path (``"assignee"``, ``"fields.severity"``) to a
    value, for actions with a :class:`RequireField` effect.
    """

    comment: str | None = None
    resolution: str | None = None
    fields: Mapping[str, object] = attrs.field(factory=dict, converter=_freeze)


@frozen
class GuardContext:
    """Everything a guard may look at when it decides."""

    ticket: Ticket
    actor: str
    now: datetime
    action: str
    inputs: TransitionInputs


#: A guard returns a reason when it refuses, ``None`` when it allows.
Guard: TypeAlias = Callable[[GuardContext], str | None]


# -- built-in guards -------------------------------------------------------------


def _check_days(_: object, __: object, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidWorkflow(
            f"WithinDays needs a whole number of days of 0 or more, got {value!r}"
        )


def _describe_age(age: timedelta) -> str:
    days, seconds = age.days, age.seconds
    if days >= 1:
        hours = seconds // 3600
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@frozen
class WithinDays:
    """Allow only while the ticket was resolved at most ``days`` days ago.

    A ticket that was never resolved (``resolved_at`` is ``None``) is allowed.
    """

    name: ClassVar[str] = "within_days"
    days: int = attrs.field(validator=_check_days)

    def __call__(self, ctx: GuardContext) -> str | None:
        resolved_at = ctx.ticket.resolved_at
        if resolved_at is None:
            return None
        age = ctx.now - resolved_at
        if age <= timedelta(days=self.days):
            return None
        return (
            f"it was resolved {_describe_age(age)} ago (on {resolved_at:%Y-%m-%d %H:%M}); "
            f"{ctx.action!r} is allowed only within {self.days} days of resolution, "
            "so open a new ticket instead"
        )


@frozen
class HasAssignee:
    """Allow only when the ticket has an assignee."""

    name: ClassVar[str] = "has_assignee"

    def __call__(self, ctx: GuardContext) -> str | None:
        if ctx.ticket.assignee:
            return None
        return f"it has no assignee; assign it before {ctx.action!r}"


@frozen
class ActorIsAssignee:
    """Allow only the ticket's assignee."""

    name: ClassVar[str] = "actor_is_assignee"

    def __call__(self, ctx: GuardContext) -> str | None:
        assignee = ctx.ticket.assignee
        if not assignee:
            return f"it has no assignee; only its assignee may {ctx.action!r}, so assign it first"
        if assignee == ctx.actor:
            return None
        return (
            f"only its assignee {assignee!r} may {ctx.action!r}, not {ctx.actor!r}; "
            "ask them or reassign it"
        )


_BuiltinGuard: TypeAlias = WithinDays | HasAssignee | ActorIsAssignee

#: Guards that can be named in workflow data without registering them.
BUILTIN_GUARDS: Mapping[str, type[_BuiltinGuard]] = types.MappingProxyType(
    {cls.name: cls for cls in (WithinDays, HasAssignee, ActorIsAssignee)}
)


def guard_to_data(guard: Guard, names: Mapping[str, Guard], where: str) -> dict[str, Any]:
    """Describe ``guard`` as ``{"guard": name, ...params}``.

    A custom guard is named by the key it is registered under in ``names``,
    or else by its ``__name__``.
    """
    if isinstance(guard, WithinDays):
        return {"guard": guard.name, "days": guard.days}
    if isinstance(guard, HasAssignee | ActorIsAssignee):
        return {"guard": guard.name}
    for name, registered in names.items():
        if registered is guard:
            return {"guard": name}
    fn_name = getattr(guard, "__name__", None)
    if not isinstance(fn_name, str) or not fn_name.isidentifier():
        raise InvalidWorkflow(
            f"the guard {guard!r} on {where} has no usable name; write it as a def "
            "function or register it by name in the workflow's guard_registry"
        )
    return {"guard": fn_name}


def guard_from_data(data: object, guards: Mapping[str, Guard], where: str) -> Guard:
    """The guard described by ``data``, a built-in one or one from ``guards``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("guard"), str):
        raise InvalidWorkflow(
            f'a guard on {where} must be a table like {{guard = "has_assignee"}}, got {data!r}'
        )
    name = data["guard"]
    params = {k: v for k, v in data.items() if k != "guard"}
    builtin = BUILTIN_GUARDS.get(name)
    if builtin is not None:
        expected = ["days"] if builtin is WithinDays else []
        if sorted(params) != expected:
            wanted = ", ".join(expected) or "no parameters"
            raise InvalidWorkflow(
                f"guard {name!r} on {where} takes {wanted}, got {sorted(params) or 'none'}"
            )
        return builtin(**params)
    if name in guards:
        if params:
            raise InvalidWorkflow(
                f"custom guard {name!r} on {where} takes no parameters, got {sorted(params)}"
            )
        return guards[name]
    known = ", ".join([*BUILTIN_GUARDS, *guards])
    raise InvalidWorkflow(
        f"unknown guard {name!r} on {where}; known guards: {known}. "
        "Pass custom guards with guards={name: function}"
    )


# -- effects -----------------------------------------------------------------------


def _check_field(_: object, __: object, value: Any) -> None:
    if not isinstance(value, str) or (
        value not in _PLAIN_FIELDS and not _CUSTOM_FIELD.match(value)
    ):
        allowed = ", ".join(_PLAIN_FIELDS)
        raise InvalidWorkflow(
            f"an effect cannot change the field {value!r}; use one of {allowed}, "
            "or fields.<custom field name>"
        )


def _check_value(_: object, __: object, value: Any) -> None:
    ok = isinstance(value, str | int | float) and not (
        isinstance(value, float) and not math.isfinite(value)
    )
    if not ok:
        raise InvalidWorkflow(
            f"SetField value {value!r} is not a string, number or boolean; "
            "use ClearField to clear a field"
        )


@frozen
class SetField:
    """Set ``field`` to ``value``; the value ``"$actor"`` stands for the acting user."""

    kind: ClassVar[str] = "set_field"
    field: str = attrs.field(validator=_check_field)
    value: str | int | float | bool = attrs.field(validator=_check_value)

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field,)


@frozen
class ClearField:
    """Clear ``field`` (set it to ``None``)."""

    kind: ClassVar[str] = "clear_field"
    field: str = attrs.field(validator=_check_field)

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field,)


@frozen
class RequireComment:
    """The caller must supply a comment that is not blank."""

    kind: ClassVar[str] = "require_comment"

    @property
    def fields(self) -> tuple[str, ...]:
        return ()


def _check_choices(_: object, __: object, value: Any) -> None:
    if not value:
        raise InvalidWorkflow("RequireResolution needs at least one choice, e.g. ('fixed',)")
    for choice in value:
        if not isinstance(choice, str) or not choice.strip() or choice != choice.strip():
            raise InvalidWorkflow(
                f"resolution choice {choice!r} is not valid; use a non-empty string "
                "without surrounding white space"
            )
    if len(set(value)) != len(value):
        raise InvalidWorkflow(f"RequireResolution lists a choice twice: {value!r}")


def _to_tuple(value: object) -> tuple[object, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple):
        raise InvalidWorkflow(f"resolution choices must be a list of strings, got {value!r}")
    return tuple(value)


@frozen
class RequireResolution:
    """The caller must supply a resolution, one of ``choices``; it is stored on the ticket."""

    kind: ClassVar[str] = "require_resolution"
    choices: tuple[str, ...] = attrs.field(converter=_to_tuple, validator=_check_choices)

    @property
    def fields(self) -> tuple[str, ...]:
        return ("resolution",)


@frozen
class RequireField:
    """The caller must supply ``inputs.fields[field]``; the value is applied to the ticket."""

    kind: ClassVar[str] = "require_field"
    field: str = attrs.field(validator=_check_field)

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field,)


Effect: TypeAlias = SetField | ClearField | RequireComment | RequireResolution | RequireField

_EFFECTS: Mapping[str, tuple[type[Effect], tuple[str, ...]]] = {
    SetField.kind: (SetField, ("field", "value")),
    ClearField.kind: (ClearField, ("field",)),
    RequireComment.kind: (RequireComment, ()),
    RequireResolution.kind: (RequireResolution, ("choices",)),
    RequireField.kind: (RequireField, ("field",)),
}


def effect_to_data(effect: Effect) -> dict[str, Any]:
    """Describe ``effect`` as ``{"effect": kind, ...params}``."""
    data: dict[str, Any] = {"effect": effect.kind}
    for name in _EFFECTS[effect.kind][1]:
        value = getattr(effect, name)
        data[name] = list(value) if isinstance(value, tuple) else value
    return data


def effect_from_data(data: object, where: str) -> Effect:
    """The effect described by ``data``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("effect"), str):
        raise InvalidWorkflow(
            f"an effect on {where} must be a table like "
            f'{{effect = "clear_field", field = "resolution"}}, got {data!r}'
        )
    kind = data["effect"]
    if kind not in _EFFECTS:
        known = ", ".join(_EFFECTS)
        raise InvalidWorkflow(f"unknown effect {kind!r} on {where}; known effects: {known}")
    cls, params = _EFFECTS[kind]
    given = sorted(k for k in data if k != "effect")
    if given != sorted(params):
        wanted = ", ".join(params) or "no parameters"
        raise InvalidWorkflow(f"effect {kind!r} on {where} takes {wanted}, got {given or 'none'}")
    return cls(**{k: data[k] for k in params})


def plan_changes(
    name: str, effects: tuple[Effect, ...], actor: str, inputs: TransitionInputs
) -> dict[str, object]:
    """Field changes of the action ``name`` with ``effects``, after checking ``inputs``.

    ``"$actor"`` becomes ``actor``; a supplied resolution or field that the
    effects do not ask for raises ``ValidationError``.
    """
    changes: dict[str, object] = {}
    required = [e.field for e in effects if isinstance(e, RequireField)]
    for key in inputs.fields:
        if key not in required:
            takes = ", ".join(required) or "none"
            raise ValidationError(
                f"action {name!r} takes no field {key!r}; the fields it takes: {takes}", field=key
            )
    takes_resolution = any(isinstance(e, RequireResolution) for e in effects)
    if inputs.resolution is not None and not takes_resolution:
        raise ValidationError(
            f"action {name!r} sets no resolution, but {inputs.resolution!r} was given; "
            "leave the resolution out",
            field="resolution",
        )
    for effect in effects:
        if isinstance(effect, SetField):
            changes[effect.field] = actor if effect.value == ACTOR else effect.value
        elif isinstance(effect, ClearField):
            changes[effect.field] = None
        elif isinstance(effect, RequireComment):
            if inputs.comment is None or not inputs.comment.strip():
                raise ValidationError(
                    f"action {name!r} needs a comment saying why; pass comment='...'",
                    field="comment",
                )
        elif isinstance(effect, RequireResolution):
            given = inputs.resolution.strip() if inputs.resolution is not None else None
            if given not in effect.choices:
                what = "needs a resolution" if given is None else f"cannot use {given!r}"
                raise ValidationError(
                    f"action {name!r} {what}; pass resolution= one of {', '.join(effect.choices)}",
                    field="resolution",
                )
            changes["resolution"] = given
        else:
            if inputs.fields.get(effect.field) is None:
                raise ValidationError(
                    f"action {name!r} needs a value for {effect.field!r}; pass "
                    f"fields={{{effect.field!r}: ...}}",
                    field=effect.field,
                )
            changes[effect.field] = inputs.fields[effect.field]
    return changes
