"""What stores keep for automation: outbox items, and the checks of the store operations' input.

An :class:`OutboxItem` is one message waiting to be delivered (a notification
as plain data in ``payload``). It is written in the same transaction as the
change that caused it, and delivered afterwards by
:func:`ticketkit.notify.deliver_outbox`, which leases due items, sends them
outside any transaction and records the outcome. The store also keeps each
ticket's next instant of scheduled work (``set_due`` / ``claim_due``) and named
counters (``next_counter``, for round-robin routing); those need no record type.

The functions here are shared by the memory store and the SQL store so that
both refuse the same input with the same words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import field, frozen

from ._clock import ensure_utc
from ._errors import ValidationError
from ._events import JSONValue
from ._text import MAX_NAME

__all__ = [
    "MAX_COUNTER_NAME",
    "MAX_ERROR",
    "MAX_LIMIT",
    "OutboxItem",
    "check_counter_name",
    "check_limit",
    "check_names",
    "cut_error",
    "is_leasable",
    "renamed_payload",
]

#: The longest ``last_error`` an outbox item keeps; longer texts are cut.
MAX_ERROR = 1000
#: The longest name of a counter (:meth:`Transaction.next_counter`).
MAX_COUNTER_NAME = 200
#: The most rows one call of ``claim_due``, ``lease_outbox`` or ``outbox`` handles.
MAX_LIMIT = 10_000


def _created(value: Any) -> datetime:
    return ensure_utc(value, "created")


def _next_attempt_at(value: Any) -> datetime:
    return ensure_utc(value, "next_attempt_at")


def _lease_until(value: Any) -> datetime | None:
    return None if value is None else ensure_utc(value, "lease_until")


def _sent_at(value: Any) -> datetime | None:
    return None if value is None else ensure_utc(value, "sent_at")


def _check_channel(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ValidationError(
            f"an outbox item's channel must be a non-empty name without surrounding spaces, "
            f"got {value!r:.60}; use the name of a notifier such as 'email'",
            field="channel",
        )
    if len(value) > MAX_NAME:
        raise ValidationError(
            f"an outbox item's channel is {len(value)} characters long; the limit is "
            f"{MAX_NAME} (use a shorter notifier name)",
            field="channel",
        )


def json_object(value: object, what: str, *, field: str, hint: str = "") -> dict[str, JSONValue]:
    """A copy of ``value``, a mapping of plain JSON data; ``ValidationError`` otherwise.

    What is kept as JSON text is refused now if the store could not keep it or
    give it back alike. ``what`` names the value in the message (``"an outbox
    item's payload"``); ``hint`` says what to pass instead.
    """
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValidationError(
            f"{what} must be a mapping with string keys, got {value!r:.60}{hint}", field=field
        )
    try:
        copy: dict[str, JSONValue] = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{what} must be plain JSON data (str, int, float, bool, None, "
            f"lists and string-keyed dicts): {exc}",
            field=field,
        ) from exc
    return copy


def _payload(value: object) -> Mapping[str, JSONValue]:
    return json_object(
        value,
        "an outbox item's payload",
        field="payload",
        hint="; pass the notification's to_data()",
    )


def _check_attempts(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"an outbox item's attempts must be a whole number >= 0, got {value!r}",
            field="attempts",
        )


def _check_error(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_ERROR):
        raise ValidationError(
            f"an outbox item's last_error must be None or text of at most {MAX_ERROR} "
            f"characters, got {value!r:.60}; cut it with cut_error()",
            field="last_error",
        )


def _check_ticket_id(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValidationError(
            f"an outbox item's ticket_id must be None or a ticket id (>= 1), got {value!r}",
            field="ticket_id",
        )


def _check_tenant(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise ValidationError(
            f"an outbox item's tenant must be a non-empty name of at most {MAX_NAME} "
            f"characters, got {value!r:.60}",
            field="tenant",
        )


@frozen
class OutboxItem:
    """One message to deliver through the notifier named ``channel``.

    ``payload`` is plain JSON data (a :class:`ticketkit.notify.Notification`'s
    ``to_data()``). A new item carries ``id=0``; :meth:`Transaction.add_outbox`
    assigns ids, which order items by age. ``next_attempt_at`` is when it may be
    (re)tried; ``lease_until`` is set while a deliverer holds it; ``sent_at`` once
    it was delivered; ``gave_up`` once it failed for the last time. ``attempts``
    counts failures, ``last_error`` says why the last one failed.
    """

    id: int
    channel: str = field(validator=_check_channel)
    payload: Mapping[str, JSONValue] = field(converter=_payload)
    created: datetime = field(converter=_created)
    next_attempt_at: datetime = field(converter=_next_attempt_at)
    ticket_id: int | None = field(default=None, validator=_check_ticket_id)
    tenant: str = field(default="default", validator=_check_tenant)
    attempts: int = field(default=0, validator=_check_attempts)
    lease_until: datetime | None = field(default=None, converter=_lease_until)
    sent_at: datetime | None = field(default=None, converter=_sent_at)
    last_error: str | None = field(default=None, validator=_check_error)
    gave_up: bool = False

    @property
    def pending(self) -> bool:
        """Whether it still waits for delivery: neither sent nor given up."""
        return self.sent_at is None and not self.gave_up


def is_leasable(item: OutboxItem, now: datetime) -> bool:
    """Whether ``lease_outbox(now, …)`` may hand ``item`` out: pending, due, not leased."""
    return (
        item.pending
        and item.next_attempt_at <= now
        and (item.lease_until is None or item.lease_until < now)
    )


def check_limit(limit: object, what: str = "limit") -> int:
    """``limit`` of a batch operation: a whole number from 1 to :data:`MAX_LIMIT`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(
            f"{what} must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}", field=what
        )
    return limit


def check_counter_name(name: object) -> str:
    """The name of a counter: a non-empty string of at most :data:`MAX_COUNTER_NAME` characters."""
    if not isinstance(name, str) or not name:
        raise ValidationError(
            f"a counter name must be a non-empty string, got {name!r:.60}; use e.g. "
            "'route:default'",
            field="name",
        )
    if len(name) > MAX_COUNTER_NAME:
        raise ValidationError(
            f"the counter name {name[:40]!r}… is {len(name)} characters long; the limit is "
            f"{MAX_COUNTER_NAME}",
            field="name",
        )
    return name


def check_names(values: object, what: str) -> tuple[str, ...]:
    """``values`` as a tuple of strings; a lone string is refused (it is not a list of names)."""
    if isinstance(values, str) or not isinstance(values, (list, tuple, set, frozenset)):
        raise ValidationError(
            f"{what} must be a list of names, got {values!r:.60}; wrap a single name in a list",
            field=what,
        )
    found = tuple(values)
    bad = [v for v in found if not isinstance(v, str)]
    if bad:
        raise ValidationError(f"{what} must hold strings, got {bad[0]!r:.60}", field=what)
    return found


def cut_error(error: object) -> str:
    """The text kept as an outbox item's ``last_error``: at most :data:`MAX_ERROR` characters."""
    text = error if isinstance(error, str) else str(error)
    return text[:MAX_ERROR]


def renamed_payload(value: JSONValue, person: str, alias: str) -> JSONValue:
    """``value`` with ``person`` replaced by ``alias`` in every string and key.

    For erasure: exact, case-sensitive replacement, as in the access log. An
    empty ``person`` changes nothing.
    """
    if not person:
        return value
    if isinstance(value, str):
        return value.replace(person, alias)
    if isinstance(value, list):
        return [renamed_payload(v, person, alias) for v in value]
    if isinstance(value, dict):
        return {
            k.replace(person, alias): renamed_payload(v, person, alias) for k, v in value.items()
        }
    return value
