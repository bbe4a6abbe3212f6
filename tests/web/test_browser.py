"""The web example end to end, in headless Chromium driven by Playwright.

The app runs under uvicorn on a free localhost port in a background thread, on a
SQLite file, as ``python examples/web/app.py`` would run it. One browser serves
the whole module; each test has its own browser contexts (one per person, so
cookies never mix).

Debian's ``chromium`` package provides the browser (``TICKETKIT_TEST_CHROMIUM``
names another); without it these tests fail, they never skip.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Dialog,
    Page,
    expect,
    sync_playwright,
)

import ticketkit

from .conftest import XSS_ACTOR, XSS_TAG, XSS_TEXT, XSS_TITLE
from app import create_app
from seed import make_tracker, seed

CHROMIUM = os.environ.get("TICKETKIT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NAMES = {
    "alice@acme.example": "Alice Archer",
    "bob@globex.example": "Bob Baker",
    "ann": "Ann Agent",
}


class Site:
    """The app served over HTTP, and the tracker behind it."""

    def __init__(self, tracker: ticketkit.Tracker, url: str) -> None:
        self.tracker = tracker
        self.url = url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """uvicorn serving the demo on SQLite, on a free port, in a thread."""
    db = tmp_path_factory.mktemp("web") / "web.db"
    tracker = make_tracker(f"sqlite:///{db}")
    seed(tracker)
    # No Content-Security-Policy here: the XSS tests must prove that escaping alone
    # keeps injected markup inert (the CSP would block inline script anyway).
    app = create_app(
        tracker, secret="browser-tests", rate_limit=(50, timedelta(minutes=1)), csp=None
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.01)
    yield Site(tracker, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(10)
    sock.close()
    tracker.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's chromium package "
            "(apt-get install chromium) or set TICKETKIT_TEST_CHROMIUM to a Chromium binary"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        expect.set_options(timeout=15_000)
        yield browser
        browser.close()


Open = Callable[[str], Page]

#: The message of every JavaScript dialog any page opened; an injected alert() lands here.
DIALOGS: list[str] = []


def record_dialog(dialog: Dialog) -> None:
    DIALOGS.append(dialog.message)
    dialog.dismiss()


@pytest.fixture
def person(browser: Browser, site: Site) -> Iterator[Open]:
    """``person("ann")``: a page in a fresh context, logged in as that demo person."""
    contexts: list[BrowserContext] = []
    DIALOGS.clear()

    def open_as(who: str) -> Page:
        context = browser.new_context(base_url=site.url)
        context.set_default_timeout(15_000)  # generous: CI machines can be busy
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", record_dialog)
        page.goto("/login")
        page.get_by_role("button", name=f"Log in as {NAMES[who]}").click()
        expect(page).to_have_url(re.compile(r"/tickets$"))
        return page

    yield open_as
    for context in contexts:
        context.close()


def assert_no_script_ran(page: Page) -> None:
    assert DIALOGS == []
    assert page.evaluate("window.__pwned") is None


def test_open_find_transition_and_read_history(person: Open, site: Site) -> None:
    """A customer opens a ticket by the form; an agent starts work; both see the history."""
    alice = person("alice@acme.example")
    alice.get_by_role("link", name="New ticket").click()
    alice.get_by_role("button", name="Send").click()  # empty: FormIntake's errors come back
    expect(alice.locator('.error[data-field="title"]')).to_have_text("title is required")
    alice.get_by_label("Title").fill("Beamer in room 4 flickers")
    alice.get_by_label("What happened?").fill("Since the update it flickers every minute.")
    alice.get_by_role("button", name="Send").click()
    expect(alice.locator("#title")).to_have_text("Beamer in room 4 flickers")
    key = alice.locator("#key").inner_text()
    assert site.tracker.get(key).reporter == "alice@acme.example"

    alice.get_by_role("link", name="Tickets").click()
    alice.get_by_label("Text").fill("beamer")
    alice.get_by_role("button", name="Filter").click()
    expect(alice.locator("#tickets a")).to_have_text([key])

    ann = person("ann")
    ann.goto("/tickets?status=new")
    ann.get_by_role("link", name=key, exact=True).click()
    expect(ann.locator("#status")).to_contain_text("New")
    start = ann.locator("#actions form").filter(has=ann.get_by_role("button", name="Start work"))
    start.locator("textarea").fill("Looking at it today.")
    start.get_by_role("button", name="Start work").click()
    expect(ann.locator("#status")).to_contain_text("Open")
    expect(ann.locator("#history")).to_contain_text("status: new → open")
    ann.get_by_label("Reply").fill("Which laptop do you connect?")
    ann.locator("#internal").check()
    ann.locator("#send-comment").click()
    expect(ann.locator("#comments .internal")).to_contain_text("Which laptop")
    expect(ann.locator("#sla")).to_contain_text("resolution")

    alice.goto(f"/tickets/{key}")
    expect(alice.locator("#status")).to_contain_text("Open")
    expect(alice.locator("#history")).to_contain_text("status: new → open")
    expect(alice.locator("#comments")).to_contain_text("Looking at it today.")
    expect(alice.locator("#comments")).not_to_contain_text("Which laptop")
    expect(alice.locator("#sla")).to_have_count(0)
    assert site.tracker.get(key).status == "open"

    bob = person("bob@globex.example")
    response = bob.goto(f"/tickets/{key}")
    assert response is not None
    assert response.status == 404
    expect(bob.locator("h1")).to_have_text("Not found")
    expect(bob.locator("#message")).to_have_text(f"no ticket {key}")


def test_injected_markup_stays_text(person: Open, site: Site) -> None:
    """Script in titles, descriptions, tags, comments and names never runs."""
    ticket = site.tracker.open(XSS_TITLE, XSS_TEXT, actor=XSS_ACTOR, tags=[XSS_TAG])
    site.tracker.comment(ticket.key, XSS_TEXT, actor=XSS_ACTOR)

    ann = person("ann")
    ann.goto(f"/tickets/{ticket.key}")
    expect(ann.locator("#title")).to_have_text(XSS_TITLE)
    expect(ann.locator("#description")).to_have_text(XSS_TEXT)
    expect(ann.locator("#tags")).to_have_text(XSS_TAG)
    expect(ann.locator("#comments .body")).to_have_text(XSS_TEXT)
    expect(ann.locator("#history")).to_contain_text(XSS_ACTOR)
    assert ann.locator("img, svg, main script").count() == 0
    assert_no_script_ran(ann)
    ann.goto("/tickets")
    expect(ann.locator("#tickets")).to_contain_text(XSS_TITLE)
    assert_no_script_ran(ann)

    alice = person("alice@acme.example")
    alice.get_by_role("link", name="New ticket").click()
    alice.get_by_label("Title").fill(XSS_TEXT)
    alice.get_by_label("What happened?").fill(XSS_TITLE)
    alice.get_by_role("button", name="Send").click()
    expect(alice.locator("#title")).to_have_text(XSS_TEXT)
    expect(alice.locator("#description")).to_have_text(XSS_TITLE)
    assert_no_script_ran(alice)
