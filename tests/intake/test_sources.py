"""ticketkit.intake sources: stdin, a Maildir, and ``ticketkit mail ingest``."""

from __future__ import annotations

import io
import mailbox
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ticketkit import FrozenClock, TicketkitError, Tracker
from ticketkit.intake import (
    IngestSummary,
    MailGateway,
    MailSourceError,
    ingest_maildir,
    ingest_stdin,
)
from ticketkit.intake._sources import main

from .corpus_support import OUR_DOMAIN, load

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def mail(
    message_id: str, subject: str = "Printer broken", sender: str = "ann@example.com"
) -> bytes:
    return (
        f"From: {sender}\nTo: help@desk.example\nSubject: {subject}\n"
        f"Message-ID: {message_id}\nContent-Type: text/plain\n\nHello.\n"
    ).encode()


def five_messages(path: Path, key: str = "HD-1") -> Path:
    """A Maildir with 3 new tickets, 1 reply (in cur/), 1 vacation reply."""
    box = mailbox.Maildir(path, create=True)
    box.add(mail("<a@example.com>"))
    box.add(mail("<b@example.com>", sender="bob@example.com"))
    box.add(load("vacation_autoreply.eml"))
    box.add(mail("<c@example.com>", sender="cy@example.com"))
    seen = mailbox.MaildirMessage(mail("<d@example.com>", subject=f"Re: [{key}] Printer broken"))
    seen.set_subdir("cur")
    seen.add_flag("S")
    box.add(seen)
    return path


@pytest.fixture
def tracker() -> Tracker:
    return Tracker.in_memory(
        clock=FrozenClock(MONDAY), queues={"support": "HD"}, default_queue="support"
    )


class TestMaildir:
    def test_every_message_is_taken_in_once(self, tracker: Tracker, tmp_path: Path) -> None:
        """Run twice over five messages: the second run finds nothing to do."""
        folder = five_messages(tmp_path / "inbox")
        gateway = MailGateway(tracker, domain=OUR_DOMAIN)
        first = ingest_maildir(gateway, folder)
        assert first.total == 5
        assert dict(first.counts) == {
            "opened": 3,
            "commented": 1,
            "reopened": 0,
            "ignored": 1,
            "refused": 0,
            "duplicate": 0,
        }
        assert str(first) == "5 message(s): 3 opened, 1 commented, 1 ignored"
        assert len(tracker.query(None)) == 3
        assert len(tracker.comments("HD-1")) == 1
        second = ingest_maildir(gateway, folder)
        assert (second.total, str(second)) == (0, "0 message(s): nothing to do")
        box = mailbox.Maildir(folder, create=False)
        assert len(box) == 0
        assert len(box.get_folder("ticketkit-done")) == 5

    def test_a_message_left_behind_by_a_crash_is_harmless(
        self, tracker: Tracker, tmp_path: Path
    ) -> None:
        """A message taken in but not moved is a duplicate the next time."""
        folder = tmp_path / "inbox"
        box = mailbox.Maildir(folder, create=True)
        gateway = MailGateway(tracker, domain=OUR_DOMAIN)
        gateway.ingest(mail("<a@example.com>"))  # the crash came before the move
        box.add(mail("<a@example.com>"))
        summary = ingest_maildir(gateway, folder)
        assert summary.counts["duplicate"] == 1
        assert len(tracker.query(None)) == 1

    def test_a_directory_that_is_not_a_maildir_is_refused(
        self, tracker: Tracker, tmp_path: Path
    ) -> None:
        """The error names the directory and what a Maildir holds; retrying will not help."""
        with pytest.raises(MailSourceError, match="not a Maildir") as info:
            ingest_maildir(MailGateway(tracker, domain=OUR_DOMAIN), tmp_path)
        assert isinstance(info.value, TicketkitError)
        assert not info.value.temporary


class TestStdin:
    def test_one_message_from_a_pipe(self, tracker: Tracker) -> None:
        """ingest_stdin reads one message from the stream."""
        summary = ingest_stdin(
            MailGateway(tracker, domain=OUR_DOMAIN), io.BytesIO(mail("<a@example.com>"))
        )
        assert summary.counts["opened"] == 1
        assert isinstance(summary, IngestSummary)

    def test_an_endless_stream_is_refused_as_oversized(self, tracker: Tracker) -> None:
        """Only max_message_bytes + 1 bytes are read."""
        stream = io.BytesIO(mail("<a@example.com>") + b"x" * (26 * 1024 * 1024))
        (result,) = ingest_stdin(MailGateway(tracker, domain=OUR_DOMAIN), stream).results
        assert (result.outcome, result.reason) == ("refused", "max_message_bytes")
        assert stream.tell() == 25 * 1024 * 1024 + 1


class TestCommandLine:
    def test_mail_ingest_from_a_maildir_into_sqlite(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`ticketkit mail ingest URL --domain D --maildir PATH` opens the tickets."""
        url = f"sqlite:///{tmp_path / 'desk.db'}"
        folder = five_messages(tmp_path / "inbox", key="TK-1")
        argv = ["ingest", url, "--domain", OUR_DOMAIN, "--maildir", str(folder)]
        assert main(argv) == 0
        assert "3 opened" in capsys.readouterr().out
        assert main(argv) == 0
        assert "nothing to do" in capsys.readouterr().out
        with Tracker.from_url(url) as tracker:
            assert sorted(t.title for t in tracker.query(None)) == ["Printer broken"] * 3
            assert len(tracker.comments("TK-1")) == 1

    def test_mail_ingest_from_stdin(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`--stdin` takes the one message an MTA pipes in."""
        url = f"sqlite:///{tmp_path / 'desk.db'}"
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(mail("<a@example.com>"))))
        assert main(["ingest", url, "--domain", OUR_DOMAIN, "--stdin"]) == 0
        assert capsys.readouterr().out.strip() == "1 message(s): 1 opened"
        with Tracker.from_url(url) as tracker:
            assert tracker.by_reference("mail:<a@example.com>") is not None

    def test_not_a_maildir_exits_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Wrong settings are a usage error (2), not "try again later" (75)."""
        url = f"sqlite:///{tmp_path / 'desk.db'}"
        assert main(["ingest", url, "--domain", OUR_DOMAIN, "--maildir", str(tmp_path)]) == 2
        assert "is not a Maildir" in capsys.readouterr().err

    def test_maildir_and_stdin_are_exclusive(self, tmp_path: Path) -> None:
        """Exactly one source must be named."""
        with pytest.raises(SystemExit) as exit_:
            main(["ingest", "memory://", "--domain", OUR_DOMAIN])
        assert exit_.value.code == 2


def test_python_m_ticketkit_mail_ingest(tmp_path: Path) -> None:
    """`python -m ticketkit mail ingest ... --stdin` takes a piped message in."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'desk.db'}"
    message = (
        b"From: ann@example.com\r\nTo: help@help.example.com\r\nSubject: Disk full\r\n"
        b"Message-ID: <pipe1@example.com>\r\n\r\nThe disk is full.\r\n"
    )
    command = [sys.executable, "-m", "ticketkit", "mail", "ingest", url, "--domain",
               "help.example.com", "--stdin"]  # fmt: skip
    done = subprocess.run(command, input=message, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    from ticketkit import Tracker

    with Tracker.from_url(url) as tracker:
        assert [t.title for t in tracker.query().items] == ["Disk full"]
