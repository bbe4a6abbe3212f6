"""Trackers with automation on any store, a frozen clock, and a notifier that records."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from databases import fresh_database
from ticketkit import FrozenClock, Tracker
from ticketkit.notify import CallbackNotifier, Notification

BACKENDS = ("memory", "sqlite", "postgresql", "mysql")
#: Monday 5 January 2026, 09:00 UTC.
MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Inbox:
    """A callback notifier's sent mail, and an optional failure to raise."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.fail: Exception | None = None

    def __call__(self, notification: Notification) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(notification)

    def to(self, who: str) -> list[Notification]:
        return [n for n in self.sent if who in n.recipients]

    def templates(self) -> list[str]:
        return [n.template for n in self.sent]


@contextmanager
def tracker_on(
    backend: str, tmp_path: Path, *, clock: FrozenClock | None = None, **settings: Any
) -> Iterator[tuple[Tracker, FrozenClock, Inbox]]:
    """A new tracker on ``backend`` whose notifier ``email`` is an :class:`Inbox`."""
    clock = clock or FrozenClock(MONDAY)
    inbox = Inbox()
    settings.setdefault("notifiers", {"email": CallbackNotifier(inbox)})
    if backend == "memory":
        with Tracker.in_memory(clock=clock, **settings) as tracker:
            yield tracker, clock, inbox
        return
    with (
        fresh_database(backend, tmp_path) as url,
        Tracker.from_url(url, clock=clock, **settings) as tracker,
    ):
        yield tracker, clock, inbox


def types_of(tracker: Tracker, key: str) -> list[str]:
    """The event types of a ticket's history, oldest first."""
    return [e.type.value for e in tracker.history(key)]
