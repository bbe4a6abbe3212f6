"""A small shop application that reports its own crashes as tickets.

    python examples/crashing_app.py

It files into ``crashes.db`` and keeps its crash spool in ``crash-spool/``, both
in the working directory. It shows the whole flow: handled errors, a logged
error, an uncaught crash in a separate run of the program, one ticket per bug
however often it happens, and a fixed bug coming back in a newer release.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import ticketkit
import ticketkit.crash

DATABASE = "sqlite:///crashes.db"
SPOOL = "crash-spool"
log = logging.getLogger("shop")


def parse_price(text: str) -> float:
    return float(text)  # "12,50" raises ValueError: the bug this shop has


def price_of(text: str) -> float | None:
    """A handled error: reported, and the application carries on."""
    try:
        return parse_price(text)
    except ValueError:
        ticketkit.crash.capture_exception()
        return None


def start(release: str) -> tuple[ticketkit.Tracker, ticketkit.crash.CrashHandle]:
    """What the application does at start-up: open its tracker, install the crash hook."""
    tracker = ticketkit.Tracker.from_url(DATABASE, prefix="BUG")
    handle = ticketkit.crash.install(tracker, app="shop", release=release, spool_dir=SPOOL)
    return tracker, handle


def crash_for_real() -> None:
    """Run with --crash: an error nobody catches, on the last line of the program."""
    start("1.4.0")
    parse_price("n/a")


def main() -> None:
    tracker, handle = start("1.4.0")
    log.addHandler(ticketkit.crash.CrashLogHandler())  # breadcrumbs, and files log.exception
    log.setLevel(logging.INFO)
    log.info("basket opened")
    ticketkit.crash.breadcrumb("clicked pay", category="ui", data={"basket": 42})

    # Handled errors: the same bug three times is one ticket, counted three times.
    for text in ("12.50", "12,50", "7,00", "n/a"):
        price_of(text)
    (ticket,) = tracker.query({"fields.crash_culprit": "__main__.parse_price"})
    key = ticket.key
    print(f"3 bad prices: {key} counted {ticket.fields['crash_count']} times")
    print(f"  title: {ticket.title}")

    # A logged error with its exception is filed too.
    try:
        {"sku-1": 10}["sku-42"]
    except KeyError:
        log.exception("unknown product")

    # A crash nobody catches, in a separate run of this program.
    done = subprocess.run(
        [sys.executable, __file__, "--crash"], capture_output=True, text=True, check=False
    )
    print(f"the crashing run exited with {done.returncode}, as it would without ticketkit")

    tickets = tracker.query({"tags": {"contains": "crash"}}, order_by="id")
    print(f"{len(tickets)} crash tickets:")
    for t in tickets:
        print(f"  {t.key}  x{t.fields['crash_count']}  {t.fields['crash_culprit']}  {t.title}")

    # The developer fixes the bug in 1.4.1. Old installations still crash: counted only.
    ticketkit.crash.mark_fixed(tracker, key, "1.4.1", actor="dev", action="resolve")
    price_of("3,99")
    ticket = tracker.get(key)
    count = ticket.fields["crash_count"]
    print(f"a crash from 1.4.0 after the fix: {ticket.status}, counted {count} times")

    # 1.5.0 brings the bug back: the ticket reopens as a regression.
    handle.uninstall()
    tracker.close()
    tracker, handle = start("1.5.0")
    price_of("3,99")
    ticket = tracker.get(key)
    print(f"a crash from 1.5.0: {ticket.status}, tags {', '.join(sorted(ticket.tags))}")
    note = [c.body for c in tracker.comments(key) if c.internal][-1]
    print(f"  note: {note.split('. ')[0]}")
    handle.uninstall()
    tracker.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["--crash"]:
        crash_for_real()
    else:
        main()
