"""Shared tickets by mail: the people a new message is copied to follow its ticket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from databases import fresh_database
from ticketkit import FrozenClock, Tracker
from ticketkit.intake import IntakeError, MailGateway

from .corpus_support import OUR_DOMAIN
from .test_gateway import make_tracker


def copied_mail(cc: str, *, sender: str = "ann@acme.example", message_id: str = "m1") -> bytes:
    return (
        f"From: {sender}\n"
        f"To: help@desk.example, bob@acme.example\n"
        f"Cc: {cc}\n"
        f"Subject: VPN is down\n"
        f"Message-ID: <{message_id}@acme.example>\n\n"
        f"Nobody in the office can connect.\n"
    ).encode()


def reply_mail(sender: str, key: str, message_id: str) -> bytes:
    return (
        f"From: {sender}\n"
        f"To: help@desk.example\n"
        f"Subject: Re: [{key}] VPN is down\n"
        f"Message-ID: <{message_id}@example.net>\n\n"
        f"Same here since 9:00.\n"
    ).encode()


COPIED = f"carol@acme.example, eve@other.example, robot@{OUR_DOMAIN}, ann@acme.example"


@pytest.fixture
def tracker(backend: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Tracker]:
    if backend == "memory":
        with make_tracker(clock) as t:
            yield t
        return
    with fresh_database(backend, tmp_path) as url, make_tracker(clock, url) as t:
        yield t


def gateway(tracker: Tracker, cc: str) -> MailGateway:
    return MailGateway(tracker, domain=OUR_DOMAIN, cc=cc, own_addresses=["Help@desk.example"])


class TestCopiedPeople:
    def test_none_by_default(self, tracker: Tracker) -> None:
        """Without cc=, only the sender is on the ticket, as before."""
        key = MailGateway(tracker, domain=OUR_DOMAIN).ingest(copied_mail(COPIED)).key
        assert key is not None
        assert tracker.get(key).watchers == frozenset()

    def test_same_domain_adds_colleagues_only(self, tracker: Tracker) -> None:
        """Colleagues at the sender's domain follow; outsiders, the desk and the sender do not."""
        key = gateway(tracker, "same_domain").ingest(copied_mail(COPIED)).key
        assert key is not None
        ticket = tracker.get(key)
        assert ticket.watchers == {"bob@acme.example", "carol@acme.example"}
        assert ticket.reporter == "ann@acme.example"
        assert ticket.version == 1  # in the write that opened it

    def test_all_adds_everyone_but_the_desk(self, tracker: Tracker) -> None:
        key = gateway(tracker, "all").ingest(copied_mail(COPIED)).key
        assert key is not None
        assert tracker.get(key).watchers == {
            "bob@acme.example",
            "carol@acme.example",
            "eve@other.example",
        }

    def test_a_copied_person_may_reply(self, tracker: Tracker) -> None:
        """A reply from someone who was copied lands on the ticket; a stranger's does not."""
        desk = gateway(tracker, "same_domain")
        key = desk.ingest(copied_mail(COPIED)).key
        assert key is not None
        assert desk.ingest(reply_mail("carol@acme.example", key, "r1")).outcome == "commented"
        stranger = desk.ingest(reply_mail("eve@other.example", key, "r2"))
        assert (stranger.outcome, stranger.key) == ("opened", "HD-2")
        assert [c.author for c in tracker.comments(key)] == ["carol@acme.example"]

    def test_replies_add_nobody(self, tracker: Tracker) -> None:
        """Only the message that opens a ticket shares it; a reply's Cc is not followed."""
        desk = gateway(tracker, "all")
        key = desk.ingest(copied_mail("carol@acme.example")).key
        assert key is not None
        reply = reply_mail("carol@acme.example", key, "r3").replace(
            b"To: help@desk.example\n", b"To: help@desk.example\nCc: mallory@evil.example\n"
        )
        assert desk.ingest(reply).outcome == "commented"
        assert tracker.get(key).watchers == {"bob@acme.example", "carol@acme.example"}

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"cc": "everyone"}, "cc must be one of none, same_domain, all"),
            ({"own_addresses": "help@desk.example"}, "own_addresses must be a list"),
            ({"own_addresses": ["helpdesk"]}, "own_addresses must be a list"),
        ],
    )
    def test_bad_options(self, tracker: Tracker, options: dict[str, object], message: str) -> None:
        with pytest.raises(IntakeError, match=message):
            MailGateway(tracker, domain=OUR_DOMAIN, **options)  # type: ignore[arg-type]
