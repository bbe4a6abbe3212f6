"""Reading rules, routing and escalation settings from plain data (JSON, TOML).

The checks every ``from_data`` and converter of :mod:`ticketkit.rules` shares:
tables with known keys, lists, names, booleans, and errors that say where they
happened. Each raises :class:`~ticketkit.ValidationError` naming the bad value.
(Workflows have their own readers in :mod:`ticketkit._workflow_data`, which
raise ``InvalidWorkflow``.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from .._errors import ValidationError
from .._text import check_name

__all__ = [
    "build_named",
    "check_bool",
    "check_table",
    "in_context",
    "name_set",
    "named",
    "optional_name",
    "read_list",
    "read_table",
]

T = TypeVar("T")


def check_table(data: object, where: str) -> Mapping[str, Any]:
    """``data`` if it is a mapping (a TOML table); else ``ValidationError``."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"{where} must be a table (mapping), got {data!r:.60}")
    return data


def read_table(
    data: object, where: str, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    """``data`` as a dict after checking it is a mapping with only the known keys."""
    table = check_table(data, where)
    needed = set(required)
    known = needed | set(optional)
    unknown = sorted((k for k in table if k not in known), key=str)
    if unknown:
        raise ValidationError(
            f"{where} has the unknown key {unknown[0]!r}; use {', '.join(sorted(known))}"
        )
    missing = sorted(needed - set(table))
    if missing:
        raise ValidationError(f"{where} needs the key {missing[0]!r}", field=missing[0])
    return dict(table)


def read_list(
    value: object, what: str, *, of: str = "", single: bool = False, field: str | None = None
) -> list[Any]:
    """``value`` as a list; a mapping, bytes or a non-collection is refused.

    A string is refused too, unless ``single`` makes it a list of one. ``of`` says
    in the message what the items should be; ``field`` defaults to ``what``.
    """
    if single and isinstance(value, str):
        return [value]
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        items = f" of {of}" if of else ""
        raise ValidationError(
            f"{what} must be a list{items}, got {value!r:.60}",
            field=what if field is None else field,
        )
    return list(value)


def name_set(values: Iterable[str], what: str) -> frozenset[str]:
    """Names (queues, agents) as a frozen set; each one checked with ``check_name``."""
    return frozenset(check_name(v, what) for v in read_list(values, what))


def optional_name(value: object, what: str) -> str | None:
    """``None``, or ``value`` checked with ``check_name``."""
    return None if value is None else check_name(value, what)


def check_bool(value: object, what: str) -> bool:
    """``value`` if it is ``True`` or ``False``; else ``ValidationError``."""
    if not isinstance(value, bool):
        raise ValidationError(f"{what} must be true or false, got {value!r}", field=what)
    return value


def in_context(where: str, build: Callable[[], T]) -> T:
    """Call ``build``; a ``ValidationError`` it raises is repeated with ``where`` in front.

    A message that already starts with ``where`` is left as it is.
    """
    try:
        return build()
    except ValidationError as exc:
        if str(exc).startswith(where):
            raise
        raise ValidationError(f"{where}: {exc}", field=exc.field) from None


def named(data: object, kind: str) -> str:
    """How errors name a table of ``kind``: ``"agent 'alice'"``, or ``"an agent"``."""
    if isinstance(data, Mapping) and "name" in data:
        return f"{kind} {data['name']!r}"
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def build_named(cls: Callable[..., T], data: object, kind: str, optional: Iterable[str]) -> T:
    """``cls(**data)`` for a table with a ``name`` and the ``optional`` keys.

    Errors name the table (see :func:`named`).
    """
    where = named(data, kind)
    values = read_table(data, where, {"name"}, optional)
    return in_context(where, lambda: cls(**values))
