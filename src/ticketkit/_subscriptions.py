"""Callbacks that run after changes are stored."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from ._errors import ValidationError
from ._events import Event, EventType

__all__ = ["Subscribers", "Subscription"]

logger = logging.getLogger("ticketkit")

Callback = Callable[[Event], object]


class Subscription:
    """The handle ``tracker.subscribe`` returns; :meth:`cancel` stops the callbacks."""

    def __init__(self, owner: Subscribers, callback: Callback, types: frozenset[EventType] | None):
        self._owner = owner
        self.callback = callback
        self.types = types

    @property
    def active(self) -> bool:
        return self in self._owner._subscriptions

    def cancel(self) -> None:
        """Stop calling the callback. Cancelling twice is harmless."""
        self._owner.remove(self)

    def __repr__(self) -> str:
        kinds = "all" if self.types is None else ",".join(sorted(self.types))
        return f"<Subscription {getattr(self.callback, '__name__', self.callback)!r} {kinds}>"


class Subscribers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []

    def add(self, callback: Callback, event_types: Iterable[EventType | str]) -> Subscription:
        if not callable(callback):
            raise ValidationError(f"subscribe needs a callable, got {callback!r}")
        types: set[EventType] = set()
        for kind in event_types:
            try:
                types.add(EventType(kind))
            except ValueError:
                known = ", ".join(t.value for t in EventType)
                raise ValidationError(f"unknown event type {kind!r}; use one of {known}") from None
        subscription = Subscription(self, callback, frozenset(types) or None)
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def publish(self, events: Sequence[Event]) -> None:
        """Hand each event to its subscribers; a failing callback is logged and skipped."""
        with self._lock:
            subscriptions = list(self._subscriptions)
        for event in events:
            for subscription in subscriptions:
                if subscription.types is not None and event.type not in subscription.types:
                    continue
                try:
                    subscription.callback(event)
                except Exception:
                    logger.exception(
                        "ticketkit subscriber %r failed on %s event of %s; the change is kept",
                        subscription.callback,
                        event.type.value,
                        event.ticket_key,
                    )
