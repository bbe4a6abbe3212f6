"""Deliver notifications by calling a function: for tests, chat bots and in-process queues."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attrs import field, frozen

from .._errors import ValidationError
from ._notification import Notification

__all__ = ["CallbackNotifier"]


def _callable(instance: object, attribute: object, value: Any) -> None:
    if not callable(value):
        raise ValidationError(
            f"a CallbackNotifier needs a function taking a Notification, got {value!r:.60}",
            field="callback",
        )


@frozen
class CallbackNotifier:
    """Calls ``callback(notification)`` for each notification; what it returns is ignored.

    The delivery fails when the callback raises (raise
    :class:`~ticketkit.notify.NotificationError` with ``permanent=True`` to stop
    retries). The callback may be called again with the same notification
    after a failure, so it should drop duplicates by ``notification.id``.
    """

    callback: Callable[[Notification], object] = field(validator=_callable)

    def send(self, notification: Notification) -> None:
        """Hand ``notification`` to the callback."""
        self.callback(notification)
