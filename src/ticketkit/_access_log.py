"""The record of one denied attempt, kept by the store for administrators to review.

It lives here, below :mod:`ticketkit.access`, so that stores can keep it
without importing the access-control domain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from attrs import evolve, field, frozen

from ._errors import ValidationError
from ._text import MAX_NAME

__all__ = ["MAX_REASON", "Denial", "check_denials_limit", "renamed_denial"]

#: The longest ``reason`` a denial keeps.
MAX_REASON = 1000


def _text(limit: int, *, optional: bool = False) -> Callable[[Any, Any, Any], None]:
    def check(instance: object, attribute: object, value: object) -> None:
        name = getattr(attribute, "name", "value")
        if value is None and optional:
            return
        if not isinstance(value, str) or not value:
            raise ValidationError(
                f"a denial's {name} must be a non-empty string, got {value!r:.60}", field=name
            )
        if len(value) > limit:
            raise ValidationError(
                f"a denial's {name} is {len(value)} characters long; the limit is {limit} "
                "(shorten it)",
                field=name,
            )

    return check


def _moment(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValidationError(
            f"a denial's time must be an aware datetime, got {value!r:.60}", field="at"
        )


@frozen
class Denial:
    """Who tried what on which ticket, and was refused.

    ``principal`` is the actor name, ``role`` their role, ``tenant`` the tenant
    they acted in, ``permission`` what was checked (``"read"``, ``"transition"``),
    ``target`` a ticket key or a short description (``"query"``), ``reason`` the
    policy's reason. ``id`` is assigned by the store and orders denials.
    """

    at: datetime = field(validator=_moment)
    principal: str = field(validator=_text(MAX_NAME))
    role: str = field(validator=_text(MAX_NAME))
    tenant: str = field(validator=_text(MAX_NAME))
    permission: str = field(validator=_text(MAX_NAME))
    target: str | None = field(validator=_text(MAX_NAME, optional=True))
    reason: str = field(validator=_text(MAX_REASON))
    id: int = 0


def check_denials_limit(limit: object) -> int:
    """``limit`` for :meth:`Store.denials`: a whole number from 1 to 10,000."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise ValidationError(
            f"limit must be a whole number from 1 to 10000, got {limit!r}", field="limit"
        )
    return limit


def renamed_denial(denial: Denial, person: str, alias: str, tenant: str) -> Denial:
    """``denial`` with ``person`` replaced by ``alias``, if it is of ``tenant``.

    The principal is replaced when it is ``person``; in the target and the
    reason every occurrence of ``person`` is, cut to the length each keeps.
    This is what :meth:`Transaction.rename_in_denials` does to each denial.
    """
    if denial.tenant != tenant:
        return denial
    target = denial.target
    return evolve(
        denial,
        principal=alias if denial.principal == person else denial.principal,
        target=None if target is None else target.replace(person, alias)[:MAX_NAME],
        reason=denial.reason.replace(person, alias)[:MAX_REASON],
    )
