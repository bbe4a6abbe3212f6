"""Trackers and mail with attachments for the mail gateway's atomicity and race tests."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from databases import fresh_database
from ticketkit import FrozenClock, Tracker

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: Every store the gateway's writes must be atomic on.
STORES = ("memory", "sqlite", "postgresql", "mysql")
#: The tracker's max_attachment_size in these tests.
LIMIT = 1000

File = tuple[str, str, bytes]  # file name, declared media type, content


@contextmanager
def tracker_on(store: str, tmp_path: Path, **settings: Any) -> Iterator[Tracker]:
    """A help-desk tracker (prefix HD, files up to LIMIT bytes) on ``store``."""
    options: dict[str, Any] = {
        "clock": FrozenClock(MONDAY),
        "queues": {"support": "HD"},
        "default_queue": "support",
        "max_attachment_size": LIMIT,
        **settings,
    }
    if store == "memory":
        with Tracker.in_memory(**options) as tracker:
            yield tracker
        return
    with fresh_database(store, tmp_path) as url, Tracker.from_url(url, **options) as tracker:
        yield tracker


def mail(
    body: str = "The printer is broken.",
    *,
    files: Sequence[File] = (),
    sender: str = "Ann Example <ann@example.com>",
    subject: str = "Printer broken",
    message_id: str = "<m1@mail.example.com>",
) -> bytes:
    """A message, multipart/mixed with base64 parts when it carries ``files``."""
    head = f"From: {sender}\nTo: help@desk.example\nSubject: {subject}\nMessage-ID: {message_id}\n"
    if not files:
        return f"{head}Content-Type: text/plain; charset=utf-8\n\n{body}\n".encode()
    parts = [f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"]
    for name, media, content in files:
        encoded = base64.encodebytes(content).decode()
        parts.append(
            f'Content-Type: {media}\nContent-Disposition: attachment; filename="{name}"\n'
            f"Content-Transfer-Encoding: base64\n\n{encoded}"
        )
    text = "".join(f"--b\n{part}" for part in parts) + "--b--\n"
    return f'{head}Content-Type: multipart/mixed; boundary="b"\n\n{text}'.encode()


def reply(key: str, body: str, message_id: str, **kwargs: Any) -> bytes:
    """A reply to ``key`` by its [tag]."""
    return mail(body, subject=f"Re: [{key}] Printer broken", message_id=message_id, **kwargs)


def stored_files(tracker: Tracker, key: str) -> list[tuple[str, str, bytes]]:
    return [
        (a.filename, a.media_type, tracker.attachment_content(a.id))
        for a in tracker.attachments(key)
    ]
