"""Deliver the outbox: lease due items, send them outside any transaction, record the outcome."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from attrs import frozen

from .._automation_records import OutboxItem, check_limit
from .._clock import ensure_utc
from .._errors import ValidationError
from ..storage._protocol import Store
from ._notification import Notification, NotificationError, Notifier

__all__ = ["MAX_BACKOFF", "DeliveryReport", "deliver_outbox", "retry_at"]

_log = logging.getLogger("ticketkit.notify")

#: The longest wait between two attempts, however many failures came before.
MAX_BACKOFF = timedelta(days=1)


@frozen
class DeliveryReport:
    """What one :func:`deliver_outbox` run did.

    ``sent``: items delivered. ``failed``: items whose attempt failed and that
    will be tried again later. ``gave_up``: items that failed for the last
    time (``max_attempts`` reached, a permanent :class:`NotificationError`, or
    a payload that is not a notification). ``deferred``: leased items not tried
    because the lease was running out; the next run after the lease ends
    takes them.
    """

    sent: int
    failed: int
    gave_up: int
    deferred: int = 0

    @property
    def leased(self) -> int:
        """How many items the run leased."""
        return self.sent + self.failed + self.gave_up + self.deferred


def retry_at(now: datetime, attempts: int, backoff: timedelta) -> datetime:
    """When an item that has failed ``attempts`` times before this failure is tried again.

    ``now + backoff * 2**attempts`` (1, 2, 4, 8... times ``backoff``), at most
    :data:`MAX_BACKOFF` after ``now``.
    """
    delay: timedelta = MAX_BACKOFF if attempts >= 40 else min(backoff * 2**attempts, MAX_BACKOFF)
    return now + delay


def _check(
    notifiers: Mapping[str, Notifier],
    limit: int,
    lease: timedelta,
    max_attempts: int,
    backoff: timedelta,
) -> None:
    if not isinstance(notifiers, Mapping):
        raise ValidationError(
            f"notifiers must be a mapping of channel names to notifiers, got "
            f"{type(notifiers).__name__}; e.g. {{'email': SMTPNotifier(...)}}",
            field="notifiers",
        )
    for name, notifier in notifiers.items():
        if not callable(getattr(notifier, "send", None)):
            raise ValidationError(
                f"the notifier for channel {name!r} has no send(notification) method: "
                f"{notifier!r:.60}",
                field="notifiers",
            )
    check_limit(limit)
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise ValidationError(
            f"lease must be a timedelta > 0, got {lease!r}; it should exceed the notifiers' "
            "timeouts by far, e.g. timedelta(minutes=5)",
            field="lease",
        )
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValidationError(
            f"max_attempts must be a whole number >= 1, got {max_attempts!r}",
            field="max_attempts",
        )
    if not isinstance(backoff, timedelta) or backoff < timedelta(0):
        raise ValidationError(
            f"backoff must be a timedelta >= 0, got {backoff!r}; e.g. timedelta(minutes=1)",
            field="backoff",
        )


def _attempt(item: OutboxItem, notifiers: Mapping[str, Notifier]) -> tuple[str | None, bool]:
    """Try to deliver ``item``: ``(None, _)`` on success, else ``(error, permanent)``."""
    notifier = notifiers.get(item.channel)
    if notifier is None:
        known = ", ".join(sorted(notifiers)) or "none"
        return (f"no notifier named {item.channel!r} (configured: {known})", False)
    try:
        notification = Notification.from_data(item.payload)
    except ValidationError as exc:
        return (f"the payload is not a notification: {exc}", True)
    try:
        notifier.send(notification)
    except NotificationError as exc:
        return (f"{type(exc).__name__}: {exc}", exc.permanent)
    except Exception as exc:  # a notifier's failure must never stop the others
        return (f"{type(exc).__name__}: {exc}", False)
    return (None, False)


def deliver_outbox(
    store: Store,
    notifiers: Mapping[str, Notifier],
    now: datetime,
    *,
    limit: int = 100,
    lease: timedelta = timedelta(minutes=5),
    max_attempts: int = 8,
    backoff: timedelta = timedelta(minutes=1),
) -> DeliveryReport:
    """Deliver up to ``limit`` due outbox items through the notifiers named by their channels.

    One transaction leases the due items until ``now + lease``; each is then
    sent outside any transaction and its outcome recorded in a transaction of
    its own: sent at ``now``, or failed with the error text. A failed item is
    tried again at :func:`retry_at` (``backoff`` doubled per earlier failure)
    until it has failed ``max_attempts`` times, then given up; a permanent
    :class:`NotificationError`, an unparsable payload give up at once. An item
    whose channel has no notifier fails (and is retried) with "no notifier
    named ...". Exceptions from notifiers never propagate; errors of the store
    do.

    Deliverers may run at once in many threads and processes: a leased item
    goes to one of them. Items not yet tried when 90% of the lease has passed
    (measured on this process's monotonic clock) are left for a later run, so
    an item is never sent after its lease may have run out. Delivery is at
    least once: if the process dies between sending and recording, the item is
    sent again once its lease ends, with the same notification id.
    """
    now = ensure_utc(now, "now")
    _check(notifiers, limit, lease, max_attempts, backoff)
    started = time.monotonic()
    with store.transaction() as tx:
        items = tx.lease_outbox(now, now + lease, limit)
    deadline = started + lease.total_seconds() * 0.9
    sent = failed = gave_up = deferred = 0
    for item in items:
        if time.monotonic() >= deadline:
            deferred += 1
            continue
        error, permanent = _attempt(item, notifiers)
        if error is None:
            with store.transaction() as tx:
                tx.outbox_sent(item.id, now)
            sent += 1
            continue
        last = permanent or item.attempts + 1 >= max_attempts
        when = None if last else retry_at(now, item.attempts, backoff)
        with store.transaction() as tx:
            tx.outbox_failed(item.id, error, when)
        if last:
            gave_up += 1
            _log.warning(
                "gave up outbox item %s (channel %s) after %d attempts: %s",
                item.id,
                item.channel,
                item.attempts + 1,
                error,
            )
        else:
            failed += 1
            _log.info("outbox item %s failed, retry at %s: %s", item.id, when, error)
    return DeliveryReport(sent=sent, failed=failed, gave_up=gave_up, deferred=deferred)
