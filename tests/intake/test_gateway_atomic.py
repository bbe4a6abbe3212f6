"""Each message is one write: a crash part-way leaves nothing, and redelivery finishes it.

The store fails inside the write (at the second file, or as the events are
stored), after the ticket, comment or status change was already written in
the transaction. Nothing of the message may remain; delivering it again takes
it in whole, and a third delivery is a duplicate that adds nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faults import Boom, FailOn, hook
from ticketkit import EventType, FrozenClock, Tracker
from ticketkit.intake import IngestResult, MailGateway

from .corpus_support import OUR_DOMAIN
from .gateway_support import STORES, File, mail, reply, stored_files, tracker_on

FILES: list[File] = [
    ("log.txt", "text/plain", b"line 1\nline 2\n"),
    ("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 not really a jpeg"),
]
EXPECTED = [
    ("log.txt", "text/plain", b"line 1\nline 2\n"),
    ("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 not really a jpeg"),
]
FAULTS = [("add_attachment", 2), ("add_events", 1)]


def everything(tracker: Tracker) -> object:
    keys = [t.key for t in tracker.query(None).items]
    return [
        (tracker.get(k), tracker.history(k), tracker.comments(k), stored_files(tracker, k))
        for k in keys
    ]


def status_changes(tracker: Tracker, key: str) -> list[tuple[str, str]]:
    return [
        (str(e.old), str(e.new)) for e in tracker.history(key) if e.type is EventType.STATUS_CHANGED
    ]


def crash_then_redeliver(
    tracker: Tracker, raw: bytes, fault: tuple[str, int], expected: IngestResult
) -> None:
    """Deliver ``raw`` into a failing store, then twice into a healthy one."""
    gateway = MailGateway(tracker, domain=OUR_DOMAIN)
    before = everything(tracker)
    failure = FailOn(*fault)
    hook(tracker, failure)
    with pytest.raises(Boom):
        gateway.ingest(raw)
    assert failure.failed == 1
    assert everything(tracker) == before
    failure.disarm()
    assert gateway.ingest(raw) == expected
    taken = everything(tracker)
    assert gateway.ingest(raw) == IngestResult(
        "duplicate", key=expected.key, reason="already taken in"
    )
    assert everything(tracker) == taken


@pytest.mark.parametrize("fault", FAULTS, ids=[name for name, _ in FAULTS])
@pytest.mark.parametrize("store", STORES)
class TestCrashPartWay:
    def test_a_new_message(self, store: str, fault: tuple[str, int], tmp_path: Path) -> None:
        """No ticket is left without its files; redelivery opens it with both, once."""
        with tracker_on(store, tmp_path) as tracker:
            crash_then_redeliver(
                tracker, mail(files=FILES), fault, IngestResult("opened", key="HD-1")
            )
            assert [t.key for t in tracker.query(None).items] == ["HD-1"]
            assert stored_files(tracker, "HD-1") == EXPECTED
            assert tracker.get("HD-1").version == 1

    def test_a_reply(self, store: str, fault: tuple[str, int], tmp_path: Path) -> None:
        """No comment is left without its files."""
        with tracker_on(store, tmp_path) as tracker:
            key = tracker.open("Printer", actor="ann@example.com").key
            raw = reply(key, "Photo attached.", "<m2@mail.example.com>", files=FILES)
            crash_then_redeliver(tracker, raw, fault, IngestResult("commented", key=key))
            assert [c.body for c in tracker.comments(key)] == ["Photo attached."]
            assert stored_files(tracker, key) == EXPECTED
            assert tracker.get(key).version == 2

    def test_a_reply_that_reopens(self, store: str, fault: tuple[str, int], tmp_path: Path) -> None:
        """The comment, the files and the reopen go in together, or none of them."""
        with tracker_on(store, tmp_path) as tracker:
            key = tracker.open("Printer", actor="ann@example.com").key
            tracker.transition(key, "resolve", actor="agent")
            raw = reply(key, "Broken again.", "<m2@mail.example.com>", files=FILES)
            crash_then_redeliver(tracker, raw, fault, IngestResult("reopened", key=key))
            assert status_changes(tracker, key) == [("new", "resolved"), ("resolved", "open")]
            assert [c.body for c in tracker.comments(key)] == ["Broken again."]
            assert stored_files(tracker, key) == EXPECTED

    def test_a_reply_to_a_ticket_waiting_for_the_customer(
        self, store: str, fault: tuple[str, int], tmp_path: Path
    ) -> None:
        """The comment, the files and customer_replied go in together, or none of them."""
        with tracker_on(store, tmp_path) as tracker:
            key = tracker.open("Printer", actor="ann@example.com").key
            for action in ("start", "wait_for_customer"):
                tracker.transition(key, action, actor="agent")
            raw = reply(key, "Here is the photo.", "<m2@mail.example.com>", files=FILES)
            crash_then_redeliver(tracker, raw, fault, IngestResult("commented", key=key))
            assert status_changes(tracker, key)[-1] == ("pending_customer", "open")
            assert [c.body for c in tracker.comments(key)] == ["Here is the photo."]
            assert stored_files(tracker, key) == EXPECTED


@pytest.mark.parametrize("store", STORES)
def test_a_reply_opening_a_new_ticket_gets_its_link_on_redelivery(
    store: str, tmp_path: Path
) -> None:
    """Past the reopen window: the new ticket and its link are two writes; a crash
    between them is repaired when the message comes again."""
    with tracker_on(store, tmp_path) as tracker:
        old = tracker.open("Printer", actor="ann@example.com").key
        tracker.transition(old, "resolve", actor="agent")
        assert isinstance(tracker.clock, FrozenClock)
        tracker.clock.advance(days=8)
        gateway = MailGateway(tracker, domain=OUR_DOMAIN)
        raw = reply(old, "Broken again.", "<m2@mail.example.com>")
        failure = FailOn("update_ticket")  # the link's write, after the new ticket's
        hook(tracker, failure)
        with pytest.raises(Boom):
            gateway.ingest(raw)
        new = tracker.get("HD-2")
        assert new.linked("relates") == []
        failure.disarm()
        duplicate = IngestResult("duplicate", key="HD-2", reason="already taken in")
        assert gateway.ingest(raw) == duplicate
        assert tracker.get("HD-2").linked("relates") == [old]
        assert tracker.get(old).linked("relates") == ["HD-2"]
        linked = tracker.history(old)
        assert gateway.ingest(raw) == duplicate
        assert tracker.history(old) == linked
