"""A help desk that sends satisfaction surveys, on any store, with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from databases import fresh_database
from ticketkit import Automation, FrozenClock, Notifications, Tracker
from ticketkit.notify import CallbackNotifier, Notification
from ticketkit.surveys import Survey

BACKENDS = ("memory", "sqlite", "postgresql", "mysql")
#: Monday 2 March 2026, 09:00 UTC.
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "correct horse battery staple 42"
URL = "https://help.example/survey?token={token}"
CUSTOMER = "carol@example.com"
AGENT = "alice@example.com"


def survey(**settings: Any) -> Survey:
    settings.setdefault("secret", SECRET)
    settings.setdefault("url_template", URL)
    return Survey(**settings)


@contextmanager
def desk(
    backend: str = "memory", tmp_path: Path | None = None, **survey_settings: Any
) -> Iterator[tuple[Tracker, FrozenClock, list[Notification]]]:
    """A tracker whose automation sends only surveys, to the list it yields."""
    clock = FrozenClock(START)
    sent: list[Notification] = []
    settings: dict[str, Any] = {
        "prefix": "HD",
        "clock": clock,
        "automation": Automation(
            notifications=Notifications(send=()), survey=survey(**survey_settings)
        ),
        "notifiers": {
            "email": CallbackNotifier(sent.append),
            "survey": CallbackNotifier(sent.append),
        },
        "queues": {"support": "HD", "billing": "HD"},
        "default_queue": "support",
    }
    if backend == "memory":
        with Tracker.in_memory(**settings) as tracker:
            yield tracker, clock, sent
        return
    assert tmp_path is not None
    with fresh_database(backend, tmp_path) as url, Tracker.from_url(url, **settings) as tracker:
        yield tracker, clock, sent


def token_in(notification: Notification) -> str:
    """The token of the survey link in a notification's body."""
    [link] = [word for word in notification.body.split() if word.startswith("https://")]
    return parse_qs(urlsplit(link).query)["token"][0]


def resolved(
    tracker: Tracker,
    title: str = "Printer jams",
    *,
    agent: str | None = AGENT,
    queue: str = "support",
    reporter: str = CUSTOMER,
) -> str:
    """The key of a new ticket that ``agent`` worked on and resolved."""
    key = tracker.open(title, actor=reporter, queue=queue).key
    if agent is not None:
        tracker.assign(key, agent, actor="lead@example.com")
    tracker.transition(key, "start", actor=agent or "lead@example.com")
    tracker.transition(key, "resolve", actor=agent or "lead@example.com")
    return key


def types_of(tracker: Tracker, key: str) -> list[str]:
    return [e.type.value for e in tracker.history(key)]
