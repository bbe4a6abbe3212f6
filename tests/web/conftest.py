"""Shared set-up for the web example's tests: the app on a seeded demo tracker.

The example lives in ``examples/web/`` as plain modules (``app``, ``views``,
``api``, ``auth``, ``seed``), as ``python examples/web/app.py`` runs them, so
its directory goes on ``sys.path`` here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import ticketkit

WEB = Path(__file__).resolve().parents[2] / "examples" / "web"
if str(WEB) not in sys.path:
    sys.path.insert(0, str(WEB))

from app import create_app  # noqa: E402
from seed import make_tracker, seed  # noqa: E402

#: Strings that run script if a page forgets to escape them.
XSS_TITLE = '<script>window.__pwned = 1; alert("title")</script>'
XSS_TEXT = '"><img src=x onerror="window.__pwned=1;alert(1)">'
XSS_TAG = "<svg/onload=alert(1)>"
XSS_ACTOR = '"><img src=x onerror=alert(2)>'


@pytest.fixture
def tracker() -> Iterator[ticketkit.Tracker]:
    """The demo help desk in memory, seeded: HD-1..HD-3, HD-5 support; HD-4 billing."""
    tracker = make_tracker("memory://")
    seed(tracker)
    yield tracker
    tracker.close()


@pytest.fixture
def app(tracker: ticketkit.Tracker) -> Starlette:
    return create_app(tracker, secret="test-secret", rate_limit=(3, timedelta(minutes=10)))


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    """A visitor's browser: it keeps cookies and does not follow redirects."""
    with TestClient(app, follow_redirects=False) as client:
        yield client


def log_in(client: TestClient, person: str) -> str:
    """Log ``client`` in as ``person`` through the login form; returns the CSRF token."""
    token = client.get("/api/me").json()["csrf"]
    response = client.post("/login", data={"csrf": token, "person": person})
    assert response.status_code == 303, response.text
    me = client.get("/api/me").json()
    assert me["principal"]["id"] == person
    return str(me["csrf"])


Login = Callable[[str], tuple[TestClient, str]]


@pytest.fixture
def as_person(app: Starlette) -> Iterator[Login]:
    """``as_person("ann")``: a new logged-in client and its CSRF token."""
    clients: list[TestClient] = []

    def make(person: str) -> tuple[TestClient, str]:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client, log_in(client, person)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
