"""Comments with an external reference (the Message-ID of the mail they came from)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from databases import fresh_database
from ticketkit import DuplicateReference, EventType, Tracker, ValidationError

BACKENDS = ("memory", "sqlite", "postgresql", "mysql")


@pytest.fixture(params=BACKENDS)
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    if request.param == "memory":
        yield Tracker.in_memory()
        return
    with fresh_database(request.param, tmp_path) as url, Tracker.from_url(url) as tracker:
        yield tracker


class TestCommentReference:
    def test_a_reference_is_kept_and_finds_the_ticket(self, tracker: Tracker) -> None:
        """The comment's event records the reference; by_reference finds its ticket."""
        ticket = tracker.open("Mail", actor="bob@example.com")
        comment = tracker.comment(
            ticket.key, "Thanks", actor="bob@example.com", reference="mail:<a@x>"
        )
        assert comment.body == "Thanks"
        last = tracker.history(ticket.key)[-1]
        assert (last.type, last.data["reference"]) == (EventType.COMMENTED, "mail:<a@x>")
        found = tracker.by_reference("mail:<a@x>")
        assert found is not None
        assert found.key == ticket.key

    def test_a_used_reference_adds_nothing(self, tracker: Tracker) -> None:
        """The same reference again, on this ticket or another, raises and changes nothing."""
        first = tracker.open("One", actor="bob@example.com", reference="mail:<open@x>")
        second = tracker.open("Two", actor="bob@example.com")
        tracker.comment(first.key, "Reply", actor="bob@example.com", reference="mail:<r@x>")
        before = [tracker.history(k) for k in (first.key, second.key)]
        for key, reference in ((first.key, "mail:<r@x>"), (second.key, "mail:<r@x>"),
                               (second.key, "mail:<open@x>")):  # fmt: skip
            with pytest.raises(DuplicateReference, match=first.key):
                tracker.comment(key, "Again", actor="bob@example.com", reference=reference)
        assert [tracker.history(k) for k in (first.key, second.key)] == before
        assert len(tracker.comments(first.key)) == 1
        assert tracker.comments(second.key) == []

    def test_a_bad_reference_is_refused(self, tracker: Tracker) -> None:
        ticket = tracker.open("Mail", actor="bob@example.com")
        with pytest.raises(ValidationError, match="reference"):
            tracker.comment(ticket.key, "x", actor="bob@example.com", reference="")
        assert tracker.comments(ticket.key) == []

    def test_the_same_comment_from_many_threads_is_added_once(self, tracker: Tracker) -> None:
        """Six threads deliver the same mail at once: one comment, five DuplicateReference."""
        ticket = tracker.open("Mail", actor="bob@example.com")
        barrier = threading.Barrier(6)
        outcomes: list[str] = []

        def deliver() -> None:
            barrier.wait(10)
            try:
                tracker.comment(ticket.key, "Once", actor="bob@example.com", reference="mail:<s@x>")
                outcomes.append("added")
            except DuplicateReference:
                outcomes.append("duplicate")

        threads = [threading.Thread(target=deliver) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(outcomes) == ["added"] + ["duplicate"] * 5
        assert [c.body for c in tracker.comments(ticket.key)] == ["Once"]
