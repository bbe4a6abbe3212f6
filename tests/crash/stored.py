"""Reading back what crash reporting stored: the crash tickets and their reports."""

from __future__ import annotations

import json
from typing import Any

from ticketkit import Ticket, Tracker
from ticketkit.crash import REPORT_FILENAME


def crash_tickets(tracker: Tracker) -> list[Ticket]:
    return [t for t in tracker.query(limit=100) if "crash" in t.tags]


def only_ticket(tracker: Tracker) -> Ticket:
    tickets = crash_tickets(tracker)
    assert len(tickets) == 1, [t.title for t in tickets]
    return tickets[0]


def stored_report(tracker: Tracker, key: str) -> dict[str, Any]:
    first = next(a for a in tracker.attachments(key) if a.filename == REPORT_FILENAME)
    data: dict[str, Any] = json.loads(tracker.attachment_content(first.id))
    return data


def everything_stored(tracker: Tracker, key: str) -> str:
    """Every bit of a ticket as text: fields, description, history, comments, attachments."""
    parts = [repr(tracker.get(key)), repr(tracker.history(key)), repr(tracker.comments(key))]
    parts += [tracker.attachment_content(a.id).decode() for a in tracker.attachments(key)]
    return "\n".join(parts)
