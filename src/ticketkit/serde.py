"""JSON in and out: a cattrs converter for every ticketkit value.

:func:`make_converter` builds a new :class:`cattrs.Converter` each time from
small ``configure_*`` functions, which a host may also apply to a converter of
its own. Nothing is registered on cattrs' global converter.

The JSON forms are stable, so front ends can rely on them:

* datetimes are ISO 8601 strings with an offset (``"2026-01-05T09:00:00+00:00"``);
  naive ones are refused when reading, and aware ones are read as UTC;
* a priority is its name (``"P2"``), other enums are their values (``"high"``);
* frozensets are sorted lists, tuples are lists, read-only mappings are objects;
* custom-field decimals and dates are tagged (``{"$decimal": "1.50"}``,
  ``{"$date": "2026-03-01"}``), exactly as in event values (:mod:`ticketkit._values`);
* a :class:`PriorityMatrix` is ``{"cells": [{"impact", "urgency", "priority"}, ...]}``;
* a query condition's value is read back by its field (``"P1"`` becomes
  ``Priority.P1`` for ``priority``; an ``in`` list becomes a frozenset);
* a :class:`Workflow` is :meth:`Workflow.to_data`'s form;
* a length of time (``timedelta``: SLA clocks, time entries) is a number of
  seconds.

Reading bad data raises :class:`ticketkit.ValidationError`, whose message
names every problem and where it is (``$.priority``).
"""

from __future__ import annotations

import functools
import json
import types
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import BaseValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._access_log import Denial
from ._errors import TicketkitError, ValidationError
from ._events import Event, EventType
from ._fields import FieldDef, FieldType, FieldValue
from ._guards import Guard
from ._model import Attachment, Comment, Link, LinkKind, Ticket
from ._priority import Impact, Priority, PriorityMatrix, Urgency
from ._query import Condition, Op, Page, Query
from ._values import decode_field_value, encode_field_value
from ._workflow import Category, Workflow
from .kb._article import Article, ArticleRevision, ArticleStatus, Solution
from .kb._service import ArticleHit
from .kb._suggest import ArticleSuggestion, Suggestions, TicketSuggestion
from .sla._clocks import ClockState
from .sla._policy import TargetKind

__all__ = [
    "configure_collections",
    "configure_datetimes",
    "configure_enums",
    "configure_field_values",
    "configure_models",
    "configure_primitives",
    "configure_workflows",
    "from_json",
    "make_converter",
    "structure",
    "to_json",
    "unstructure",
]

T = TypeVar("T")
_Hook = Callable[[Any, Any], Any]


def make_converter(*, guards: Mapping[str, Guard] | None = None) -> cattrs.Converter:
    """A new converter for every ticketkit value; ``guards`` names custom workflow guards.

    Unknown keys are refused when reading, so a misspelt field is an error
    rather than silently ignored.
    """
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    configure_primitives(converter)
    configure_collections(converter)
    configure_datetimes(converter)
    configure_enums(converter)
    configure_field_values(converter)
    configure_models(converter)
    configure_workflows(converter, guards=guards)
    return converter


# -- building blocks -----------------------------------------------------------------


def _expect(kind: type, what: str, *accept: type) -> _Hook:
    allowed = (kind, *accept)

    def hook(value: Any, cl: Any) -> Any:
        if cl is not kind and isinstance(cl, type) and issubclass(cl, Enum):
            return _enum_structure_factory(cl)(value, cl)  # an enum not configured
        if (kind is not bool and isinstance(value, bool)) or not isinstance(value, allowed):
            raise ValidationError(f"expected {what}, got {type(value).__name__} ({value!r:.60})")
        return value

    return hook


def configure_primitives(converter: cattrs.Converter) -> None:
    """Read ``str``, ``int``, ``bool`` and ``float`` strictly: no ``str(5)`` or ``int(True)``."""
    converter.register_structure_hook(str, _expect(str, "a string"))
    converter.register_structure_hook(int, _expect(int, "a whole number"))
    converter.register_structure_hook(bool, _expect(bool, "true or false"))
    float_hook = _expect(float, "a number", int)
    converter.register_structure_hook(float, lambda v, t: float(float_hook(v, t)))


def _is_set(t: Any) -> bool:
    return t in (frozenset, set) or get_origin(t) in (frozenset, set)


def _is_var_tuple(t: Any) -> bool:
    args = get_args(t)
    return t is tuple or (get_origin(t) is tuple and (not args or args[-1] is Ellipsis))


def _sort_key(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def configure_collections(converter: cattrs.Converter) -> None:
    """Sets become sorted lists and tuples lists; reading needs a list, never a string."""

    def unstructure_set_factory(t: Any) -> Callable[[Any], Any]:
        args = get_args(t)
        item = converter.get_unstructure_hook(args[0]) if args else converter.unstructure

        def unstructure_set(value: Any) -> list[Any]:
            try:
                ordered = sorted(value)
            except TypeError:
                return sorted((item(v) for v in value), key=_sort_key)
            return [item(v) for v in ordered]

        return unstructure_set

    def structure_factory(t: Any) -> _Hook:
        args = get_args(t)
        item_type = args[0] if args else Any
        list_type = types.GenericAlias(list, (item_type,))
        as_list = converter.get_structure_hook(list_type)
        origin = get_origin(t) or t
        make: Callable[[list[Any]], Any] = origin if origin in (set, frozenset) else tuple

        def structure_collection(value: Any, _: Any) -> Any:
            if not isinstance(value, list | tuple):
                raise ValidationError(f"expected a list, got {type(value).__name__}")
            return make(as_list(value, list_type))

        return structure_collection

    converter.register_unstructure_hook_factory(_is_set, unstructure_set_factory)
    converter.register_structure_hook_factory(_is_set, structure_factory)
    converter.register_structure_hook_factory(_is_var_tuple, structure_factory)


def _parse_datetime(value: Any, _: Any = None) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                f"{value!r:.60} is not an ISO 8601 date and time; "
                "write it like 2026-01-05T09:00:00+00:00"
            ) from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise ValidationError(
            f"expected an ISO 8601 date and time string, got {type(value).__name__}"
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationError(
            f"the date and time {value!s:.60} has no UTC offset; add one, "
            "e.g. 2026-01-05T09:00:00+00:00 or ...Z"
        )
    return parsed.astimezone(UTC)


def _seconds(length: timedelta) -> int | float:
    seconds = length.total_seconds()
    return int(seconds) if seconds.is_integer() else seconds


def _parse_timedelta(value: Any, _: Any) -> timedelta:
    from .rules._duration import parse_duration

    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(f"expected a number of seconds, got {value!r:.60}")
    return parse_duration(value, "duration")


def configure_datetimes(converter: cattrs.Converter) -> None:
    """Datetimes as ISO 8601 strings with an offset; naive ones are refused, aware read as UTC.

    Lengths of time (``timedelta``) are numbers of seconds; reading also takes
    the ``"2d 4h"`` form of :func:`ticketkit.rules.parse_duration`.
    """
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, _parse_datetime)
    converter.register_unstructure_hook(timedelta, _seconds)
    converter.register_structure_hook(timedelta, _parse_timedelta)


def _enum_structure_factory(cls: type[Enum]) -> _Hook:
    parse = getattr(cls, "parse", None)
    if callable(parse):
        return lambda value, _: parse(value)

    def structure_enum(value: Any, _: Any) -> Enum:
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in cls)
            raise ValidationError(
                f"unknown {cls.__name__} {value!r:.60}; use one of {choices}"
            ) from None

    return structure_enum


def _enum_value(member: Enum) -> Any:
    return member.value


_ENUMS: tuple[type[Enum], ...] = (
    ArticleStatus,
    Category,
    ClockState,
    EventType,
    FieldType,
    Impact,
    LinkKind,
    Op,
    TargetKind,
    Urgency,
)


def configure_enums(converter: cattrs.Converter) -> None:
    """A priority is its name (``"P2"``); every other enum is its value."""

    def is_enum(t: Any) -> bool:
        return isinstance(t, type) and issubclass(t, Enum)

    converter.register_unstructure_hook_factory(is_enum, lambda _: _enum_value)
    converter.register_structure_hook_factory(is_enum, _enum_structure_factory)
    # str and int hooks would win over the factory for str and int enums; name each one.
    for cls in _ENUMS:
        converter.register_unstructure_hook(cls, _enum_value)
        converter.register_structure_hook(cls, _enum_structure_factory(cls))
    converter.register_unstructure_hook(Priority, lambda p: p.name)
    converter.register_structure_hook(Priority, lambda value, _: Priority.parse(value))


def _structure_decimal(value: Any, _: Any) -> Decimal:
    result = decode_field_value(value)
    if not isinstance(result, Decimal):
        raise ValidationError(f'expected a decimal like {{"$decimal": "1.50"}}, got {value!r:.60}')
    return result


def _structure_number(value: Any, _: Any) -> int | Decimal:
    result = decode_field_value(value)
    if isinstance(result, bool) or not isinstance(result, int | Decimal):
        raise ValidationError(
            f'expected a whole number or a decimal like {{"$decimal": "1.50"}}, got {value!r:.60}'
        )
    return result


def _structure_date(value: Any, _: Any) -> date:
    result = decode_field_value(value)
    if isinstance(result, datetime) or not isinstance(result, date):
        raise ValidationError(f'expected a date like {{"$date": "2026-03-01"}}, got {value!r:.60}')
    return result


def configure_field_values(converter: cattrs.Converter) -> None:
    """Custom-field values in the tagged JSON form of :mod:`ticketkit._values`."""
    converter.register_unstructure_hook(Decimal, encode_field_value)
    converter.register_structure_hook(Decimal, _structure_decimal)
    converter.register_unstructure_hook(date, encode_field_value)
    converter.register_structure_hook(date, _structure_date)
    converter.register_unstructure_hook(FieldValue, encode_field_value)
    converter.register_structure_hook(FieldValue, lambda value, _: decode_field_value(value))
    converter.register_unstructure_hook(int | Decimal, encode_field_value)
    converter.register_structure_hook(int | Decimal, _structure_number)
    converter.register_unstructure_hook(
        int | Decimal | None, lambda v: None if v is None else encode_field_value(v)
    )
    converter.register_structure_hook(
        int | Decimal | None, lambda v, t: None if v is None else _structure_number(v, t)
    )


# -- models --------------------------------------------------------------------------


@attrs.frozen
class _Cell:
    impact: Impact
    urgency: Urgency
    priority: Priority


_CONDITION_PARSERS: dict[str, Callable[[Any], Any]] = {
    "priority": Priority.parse,
    "impact": Impact.parse,
    "urgency": Urgency.parse,
    "created": _parse_datetime,
    "updated": _parse_datetime,
    "resolved_at": _parse_datetime,
}


def _condition_value(name: str, data: Any) -> Any:
    if data is None:
        return None
    if name.startswith("fields."):
        return data if isinstance(data, float) else decode_field_value(data)
    parser = _CONDITION_PARSERS.get(name)
    return data if parser is None else parser(data)


def _configure_condition(converter: cattrs.Converter) -> None:
    structure_base = make_dict_structure_fn(Condition, converter)

    def unstructure_condition(cond: Condition) -> dict[str, Any]:
        return {
            "field": cond.field,
            "op": converter.unstructure(cond.op),
            "value": converter.unstructure(cond.value),
        }

    def structure_condition(data: Any, cls: Any) -> Condition:
        base = structure_base(data, cls)
        raw = base.value
        if base.op is Op.ANY:
            if not isinstance(raw, list):
                raise ValidationError(f"'any' takes a list of conditions, got {raw!r:.60}")
            return attrs.evolve(base, value=tuple(structure_condition(c, cls) for c in raw))
        try:
            if base.op is Op.IS_NULL:
                value = raw
            elif base.op in (Op.IN, Op.NOT_IN) and isinstance(raw, list):
                value = frozenset(_condition_value(base.field, v) for v in raw)
            else:
                value = _condition_value(base.field, raw)
        except (TicketkitError, TypeError, ValueError) as exc:
            raise ValidationError(f"bad value for {base.field!r}: {exc}") from None
        return attrs.evolve(base, value=value)

    converter.register_unstructure_hook(Condition, unstructure_condition)
    converter.register_structure_hook(Condition, structure_condition)


def _configure_matrix(converter: cattrs.Converter) -> None:
    def unstructure_cells(cells: Mapping[tuple[Impact, Urgency], Priority]) -> list[Any]:
        return [
            converter.unstructure(_Cell(i, u, cells[(i, u)]))
            for i in Impact
            for u in Urgency
            if (i, u) in cells
        ]

    def structure_cells(data: Any, _: Any) -> dict[tuple[Impact, Urgency], Priority]:
        cells: dict[tuple[Impact, Urgency], Priority] = {}
        for cell in converter.structure(data, list[_Cell]):
            if (cell.impact, cell.urgency) in cells:
                raise ValidationError(
                    f"the priority matrix lists impact {cell.impact.value}, "
                    f"urgency {cell.urgency.value} twice; list each pair once"
                )
            cells[(cell.impact, cell.urgency)] = cell.priority
        return cells

    cells = override(unstruct_hook=unstructure_cells, struct_hook=structure_cells)
    converter.register_unstructure_hook(
        PriorityMatrix, make_dict_unstructure_fn(PriorityMatrix, converter, cells=cells)
    )
    converter.register_structure_hook(
        PriorityMatrix, make_dict_structure_fn(PriorityMatrix, converter, cells=cells)
    )


def configure_models(converter: cattrs.Converter) -> None:
    """Tickets, comments, attachments, links, events, denials, field definitions, queries,
    pages, and the knowledge base's articles, revisions, solutions and suggestions."""
    # Generated hooks look up the hooks of their fields now, so parts come first.
    _configure_condition(converter)
    _configure_matrix(converter)
    for cls in (
        Link,
        Ticket,
        Comment,
        Attachment,
        Event,
        Denial,
        FieldDef,
        Page,
        Article,
        ArticleRevision,
        Solution,
        ArticleHit,
        ArticleSuggestion,
        TicketSuggestion,
        Suggestions,
    ):
        converter.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, converter))
        converter.register_structure_hook(cls, make_dict_structure_fn(cls, converter))
    # A checked query notes its custom fields' types; in JSON, {name: type}.
    field_types = override(
        unstruct_hook=lambda pairs: {name: kind.value for name, kind in pairs},
        struct_hook=lambda data, _: tuple(
            (str(name), FieldType(kind)) for name, kind in sorted(data.items())
        ),
    )
    converter.register_unstructure_hook(
        Query, make_dict_unstructure_fn(Query, converter, field_types=field_types)
    )
    converter.register_structure_hook(
        Query, make_dict_structure_fn(Query, converter, field_types=field_types)
    )


def configure_workflows(
    converter: cattrs.Converter, *, guards: Mapping[str, Guard] | None = None
) -> None:
    """Workflows in :meth:`Workflow.to_data`'s form; ``guards`` resolves custom guard names."""
    registry = dict(guards or {})

    def unstructure_workflow(workflow: Workflow) -> dict[str, Any]:
        missing = {k: g for k, g in registry.items() if k not in workflow.guard_registry}
        if missing:
            merged = {**missing, **workflow.guard_registry}
            workflow = attrs.evolve(workflow, guard_registry=merged)
        return workflow.to_data()

    def structure_workflow(data: Any, _: Any) -> Workflow:
        return Workflow.from_data(data, guards=registry)

    converter.register_unstructure_hook(Workflow, unstructure_workflow)
    converter.register_structure_hook(Workflow, structure_workflow)


# -- convenience ---------------------------------------------------------------------


@functools.cache
def _default_converter() -> cattrs.Converter:
    return make_converter()


def _format(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, TicketkitError):
        return str(exc)
    if isinstance(exc, AttributeError) and str(exc).endswith("has no attribute 'keys'"):
        return "expected an object with named fields"
    return cattrs.v.format_exception(exc, type_)


def _type_name(cls: Any) -> str:
    return getattr(cls, "__name__", None) or repr(cls)


def unstructure(obj: Any, *, converter: cattrs.Converter | None = None) -> Any:
    """The JSON-ready form of ``obj`` (``json.dumps`` takes it as it is)."""
    return (converter or _default_converter()).unstructure(obj)


def structure(data: Any, cls: type[T], *, converter: cattrs.Converter | None = None) -> T:
    """Read ``data`` (as :func:`unstructure` makes it) as a ``cls``; ``ValidationError`` if bad."""
    conv = converter or _default_converter()
    try:
        return conv.structure(data, cls)
    except TicketkitError:
        raise
    except BaseValidationError as exc:
        problems = cattrs.transform_error(exc, path="$", format_exception=_format)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        problems = [f"{_format(exc, cls)} @ $"]
    first = problems[0].rpartition(" @ ")[2].removeprefix("$").removeprefix(".") if problems else ""
    raise ValidationError(
        f"cannot read a {_type_name(cls)}: " + "; ".join(problems), field=first or None
    ) from None


def to_json(
    obj: Any, *, indent: int | None = None, converter: cattrs.Converter | None = None
) -> str:
    """``obj`` as JSON text."""
    return json.dumps(unstructure(obj, converter=converter), indent=indent)


def from_json(text: str | bytes, cls: type[T], *, converter: cattrs.Converter | None = None) -> T:
    """Read JSON ``text`` as a ``cls``; ``ValidationError`` if it is not JSON or not a ``cls``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"cannot read a {_type_name(cls)}: not valid JSON ({exc})") from None
    return structure(data, cls, converter=converter)
