"""ingest_imap against a real IMAP server (pymap) on 127.0.0.1."""

from __future__ import annotations

import logging
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketkit import FrozenClock, Tracker
from ticketkit._errors import StorageError
from ticketkit.intake import (
    IntakeError,
    MailGateway,
    MailLimits,
    MailSourceError,
    ingest_imap,
)
from ticketkit.intake._imap import imap_mailbox_name

from .corpus_support import OUR_DOMAIN, load
from .pymap_server import PASSWORD, Proxy, Server, make_certificate, running_pymap


def mail(
    message_id: str,
    subject: str = "Printer broken",
    sender: str = "ann@example.com",
    body: str = "Hello.",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: help@desk.example\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"
    ).encode()


@pytest.fixture
def server() -> Iterator[Server]:
    with running_pymap() as running:
        yield running


@pytest.fixture
def tracker(clock: FrozenClock) -> Tracker:
    return Tracker.in_memory(clock=clock, queues={"support": "HD"}, default_queue="support")


@pytest.fixture
def gateway(tracker: Tracker) -> MailGateway:
    return MailGateway(tracker, domain=OUR_DOMAIN)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def take(gateway: MailGateway, server: Server, **options: object):  # type: ignore[no-untyped-def]
    """ingest_imap over plain text (the server is on this host)."""
    settings: dict[str, object] = {
        "port": server.port,
        "user": server.user,
        "password": server.password,
        "security": "none",
    }
    settings.update(options)
    return ingest_imap(gateway, "127.0.0.1", **settings)  # type: ignore[arg-type]


def flags_of(messages: list[tuple[bytes, bytes]]) -> list[bytes]:
    return [flags for flags, _ in messages]


class TestTakingMail:
    def test_new_mail_opens_replies_comment_and_everything_moves(
        self, server: Server, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """Three new messages, a reply and a vacation reply; the next run finds nothing."""
        server.append(mail("<a@example.com>"))
        server.append(mail("<b@example.com>", subject="VPN down", sender="bob@example.com"))
        server.append(mail("<r@example.com>", subject="Re: [HD-1] Printer broken", body="Fixed."))
        server.append(load("vacation_autoreply.eml"))
        server.append(mail("<c@example.com>", subject="Wifi", sender="cy@example.com"))
        first = take(gateway, server)
        assert [r.outcome for r in first.results] == [
            "opened",
            "opened",
            "commented",
            "ignored",
            "opened",
        ]
        assert str(first) == "5 message(s): 3 opened, 1 commented, 1 ignored"
        assert sorted(t.title for t in tracker.query(None)) == [
            "Printer broken",
            "VPN down",
            "Wifi",
        ]
        assert [c.body for c in tracker.comments("HD-1")] == ["Fixed."]
        assert server.messages() == []
        done = server.messages('"ticketkit-done"')
        assert len(done) == 5
        assert b"\\Seen" not in b" ".join(flags_of(done))  # fetched with BODY.PEEK[]
        second = take(gateway, server)
        assert (second.total, str(second)) == (0, "0 message(s): nothing to do")
        assert len(tracker.query(None)) == 3

    def test_read_mail_is_taken_and_deleted_mail_is_left(
        self, server: Server, gateway: MailGateway
    ) -> None:
        """The mailbox is a queue: a message someone read is still taken; \\Deleted is not."""
        server.append(mail("<seen@example.com>"), flags="(\\Seen)")
        server.append(mail("<gone@example.com>", subject="Deleted"), flags="(\\Deleted)")
        summary = take(gateway, server)
        assert [(r.outcome, r.key) for r in summary.results] == [("opened", "HD-1")]
        (left,) = server.messages()
        assert b"\\Deleted" in left[0]
        assert b"<gone@example.com>" in left[1]

    def test_a_message_taken_in_but_not_moved_is_a_duplicate(
        self, server: Server, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """A crash between the gateway and the move costs nothing: the next run moves it."""
        gateway.ingest(mail("<a@example.com>"))
        server.append(mail("<a@example.com>"))
        (result,) = take(gateway, server).results
        assert (result.outcome, result.key) == ("duplicate", "HD-1")
        assert server.messages() == []
        assert len(tracker.query(None)) == 1

    def test_at_most_max_messages_a_run(self, server: Server, gateway: MailGateway) -> None:
        """A batch limit takes the oldest first and says how many are left."""
        for n in range(5):
            server.append(mail(f"<m{n}@example.com>", subject=f"Message {n}"))
        first = take(gateway, server, max_messages=2)
        assert (first.total, first.pending) == (2, 3)
        assert str(first) == "2 message(s): 2 opened; 3 left for the next run"
        assert [r.key for r in first.results] == ["HD-1", "HD-2"]
        assert gateway.tracker.get("HD-1").title == "Message 0"
        rest = take(gateway, server, max_messages=3)
        assert (rest.total, rest.pending) == (3, 0)
        assert len(server.messages('"ticketkit-done"')) == 5

    def test_oversized_mail_is_refused_without_being_downloaded(
        self, server: Server, tracker: Tracker
    ) -> None:
        """RFC822.SIZE over max_message_bytes: refused and moved, its body never fetched."""
        gateway = MailGateway(
            tracker, domain=OUR_DOMAIN, limits=MailLimits(max_message_bytes=50_000)
        )
        server.append(mail("<big@example.com>", subject="Huge", body="x" * 200_000))
        server.append(mail("<small@example.com>", subject="Small"))
        proxy = Proxy(server.port)
        try:
            summary = take(gateway, server, port=proxy.port)
        finally:
            proxy.close()
        assert [(r.outcome, r.reason) for r in summary.results] == [
            ("refused", "max_message_bytes"),
            ("opened", None),
        ]
        assert len(proxy.received) < 10_000  # the 200 kB message never crossed the wire
        assert proxy.sent.count(b"BODY.PEEK[]<0.50001>") == 1  # only the small one, and capped
        assert [t.title for t in tracker.query(None)] == ["Small"]
        assert server.messages() == []
        assert len(server.messages('"ticketkit-done"')) == 2

    def test_a_storage_error_leaves_the_message_in_place(
        self, server: Server, tmp_path: Path
    ) -> None:
        """The database refuses the write: the run stops, the message stays, unread, for later."""
        path = tmp_path / "desk.db"
        Tracker.from_url(f"sqlite:///{path}").close()
        server.append(mail("<a@example.com>"))
        read_only = Tracker.from_url(f"sqlite:///file:{path}?mode=ro&uri=true")
        with read_only, pytest.raises(StorageError, match="read-only"):
            take(MailGateway(read_only, domain=OUR_DOMAIN), server)
        (left,) = server.messages()
        assert b"\\Seen" not in left[0]
        assert server.messages('"ticketkit-done"') == []
        with Tracker.from_url(f"sqlite:///{path}") as writable:
            summary = take(MailGateway(writable, domain=OUR_DOMAIN), server)
            assert [r.outcome for r in summary.results] == ["opened"]
        assert server.messages() == []


class TestMailboxes:
    def test_mailbox_names_are_modified_utf7_and_quoted(self) -> None:
        """RFC 3501's example, '&' and quoting."""
        assert imap_mailbox_name("~peter/mail/台北/日本語") == '"~peter/mail/&U,BTFw-/&ZeVnLIqe-"'
        assert imap_mailbox_name('Tom & "Jerry"') == '"Tom &- \\"Jerry\\""'
        assert imap_mailbox_name("😀") == '"&2D3eAA-"'
        with pytest.raises(IntakeError, match="line breaks"):
            imap_mailbox_name("INBOX\r\nA001 LOGOUT")

    def test_mailboxes_with_spaces_and_accents(self, server: Server, gateway: MailGateway) -> None:
        """A source and a done mailbox named in German, with spaces, '&' and an umlaut."""
        source, done = "Support Eingang", "Erledigt & gelöst"
        assert server.client().create(imap_mailbox_name(source))[0] == "OK"
        server.append(mail("<a@example.com>"), mailbox=imap_mailbox_name(source))
        summary = take(gateway, server, mailbox=source, done_mailbox=done)
        assert summary.counts["opened"] == 1
        assert b'"Erledigt &- gel&APY-st"' in b" ".join(server.mailboxes())
        assert len(server.messages(imap_mailbox_name(done))) == 1
        assert server.messages(imap_mailbox_name(source)) == []

    @pytest.mark.parametrize(
        ("hidden", "commands"),
        [
            ((), [b"UID MOVE"]),
            ((b"MOVE",), [b"UID COPY", b"UID STORE", b"UID EXPUNGE"]),
            ((b"MOVE", b"UIDPLUS"), [b"UID COPY", b"UID STORE", b" EXPUNGE"]),
        ],
        ids=["move", "uidplus", "neither"],
    )
    def test_moves_with_what_the_server_offers(
        self, gateway: MailGateway, hidden: tuple[bytes, ...], commands: list[bytes]
    ) -> None:
        """UID MOVE; else UID COPY, \\Deleted and UID EXPUNGE; else a plain EXPUNGE."""
        with running_pymap(hide=hidden) as server:
            server.append(mail("<a@example.com>"))
            server.append(mail("<b@example.com>", subject="Second"))
            proxy = Proxy(server.port)
            try:
                summary = take(gateway, server, port=proxy.port)
            finally:
                proxy.close()
            assert summary.counts["opened"] == 2
            assert server.messages() == []
            assert len(server.messages('"ticketkit-done"')) == 2
        for command in commands:
            assert proxy.sent.count(command) == 2, command
        assert (b"UID MOVE" in proxy.sent) == (not hidden)
        assert proxy.sent.count(b"UID FETCH") == 3  # the sizes, then each message
        # Messages are named by UID, never by sequence number.
        assert not re.search(rb"(?m)^\w+ (FETCH|STORE|COPY|MOVE|SEARCH) ", proxy.sent)


class TestErrors:
    def test_a_wrong_password(
        self, server: Server, gateway: MailGateway, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A refused login names the server and the user, never a password; nothing moves."""
        caplog.set_level(logging.DEBUG, logger="ticketkit")
        server.append(mail("<a@example.com>"))
        with pytest.raises(MailSourceError) as info:
            take(gateway, server, password="wrong-password")
        message = str(info.value)
        assert f"127.0.0.1:{server.port}" in message
        assert f"login as {server.user!r} refused" in message
        assert "check the user name and the password" in message
        assert not info.value.temporary
        assert "wrong-password" not in message + caplog.text + repr(info.value.__cause__)
        assert len(server.messages()) == 1

    def test_the_password_is_never_logged(
        self, server: Server, gateway: MailGateway, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Debug logging of a whole run shows each message, never the password."""
        caplog.set_level(logging.DEBUG, logger="ticketkit")
        server.append(mail("<a@example.com>"))
        take(gateway, server)
        assert "UID 101: opened HD-1" in caplog.text
        assert PASSWORD not in caplog.text

    def test_an_unknown_mailbox(self, server: Server, gateway: MailGateway) -> None:
        """The error names the mailbox and what to check."""
        with pytest.raises(MailSourceError) as info:
            take(gateway, server, mailbox="Suport")
        assert "cannot open mailbox 'Suport'" in str(info.value)
        assert "case-sensitive" in str(info.value)
        assert not info.value.temporary

    def test_a_read_only_mailbox(self, server: Server, gateway: MailGateway) -> None:
        """Messages could not be moved out: refused before any is taken in."""
        server.append(mail("<a@example.com>"))
        server.make_read_only("INBOX")
        with pytest.raises(MailSourceError) as info:
            take(gateway, server)
        assert "cannot open mailbox 'INBOX'" in str(info.value)
        assert "allowed to move messages out of it" in str(info.value)
        assert not info.value.temporary
        assert len(gateway.tracker.query(None)) == 0

    def test_connection_refused_is_temporary(self, gateway: MailGateway) -> None:
        """No server on the port: 'cannot reach', and worth trying again later."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # bound, never listening: connections are refused
            with pytest.raises(MailSourceError) as info:
                ingest_imap(
                    gateway, "127.0.0.1", port=port, user="u", password="p", security="none"
                )
        assert f"cannot reach IMAP server 127.0.0.1:{port}" in str(info.value)
        assert "refused" in str(info.value).lower()
        assert info.value.temporary

    def test_a_server_that_never_answers_times_out(self, gateway: MailGateway) -> None:
        """imaplib waits forever by default; ingest_imap gives up after ``timeout``."""
        with socket.create_server(("127.0.0.1", 0)) as silent:
            port = silent.getsockname()[1]
            with pytest.raises(MailSourceError) as info:
                ingest_imap(
                    gateway, "127.0.0.1", port=port, user="u", password="p", security="none",
                    timeout=0.2,
                )  # fmt: skip
        assert "timed out" in str(info.value)
        assert info.value.temporary

    @pytest.mark.parametrize(
        ("options", "match"),
        [
            ({"security": "ssl"}, "security 'ssl' is not one of"),
            ({"port": 0}, "port must be"),
            ({"max_messages": 0}, "max_messages must be"),
            ({"timeout": 0}, "timeout must be"),
            ({"password": ""}, "password must be"),
            ({"done_mailbox": "INBOX"}, "must differ from mailbox"),
            ({"mailbox": "a\nb"}, "line breaks"),
        ],
    )
    def test_bad_settings_are_refused_before_connecting(
        self, gateway: MailGateway, options: dict[str, object], match: str
    ) -> None:
        """Each names the setting; no connection is tried (port 9 would not answer)."""
        settings: dict[str, object] = {"user": "u", "password": "p", "port": 9}
        settings.update(options)
        with pytest.raises(IntakeError, match=match):
            ingest_imap(gateway, "127.0.0.1", **settings)  # type: ignore[arg-type]

    def test_a_password_that_is_not_ascii(self, gateway: MailGateway) -> None:
        """LOGIN is ASCII: such a password goes through AUTHENTICATE PLAIN, in UTF-8."""
        with running_pymap(password="Pässwört-✓") as server:
            server.append(mail("<a@example.com>"))
            assert take(gateway, server).counts["opened"] == 1


class TestTLS:
    def trusting(self, cert: Path) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(cert))

    def test_imaps_with_a_trusted_certificate(
        self, certificate: tuple[Path, Path], gateway: MailGateway
    ) -> None:
        """security='tls': TLS from the first byte; the certificate is checked."""
        cert, key = certificate
        server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_side.load_cert_chain(cert, key)
        with running_pymap(implicit_tls=server_side, client_context=self.trusting(cert)) as server:
            server.append(mail("<a@example.com>"))
            summary = take(gateway, server, security="tls", ssl_context=self.trusting(cert))
            assert summary.counts["opened"] == 1
            with pytest.raises(MailSourceError) as info:
                take(gateway, server, security="tls", ssl_context=None)  # the system's CAs
            assert "TLS certificate is not trusted" in str(info.value)
            assert not info.value.temporary

    def test_starttls(self, certificate: tuple[Path, Path], gateway: MailGateway) -> None:
        """security='starttls' upgrades the connection before logging in, and checks too."""
        cert, key = certificate
        server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_side.load_cert_chain(cert, key)
        with running_pymap(starttls=server_side) as server:
            server.append(mail("<a@example.com>"))
            proxy = Proxy(server.port)
            try:
                summary = take(
                    gateway, server, port=proxy.port, security="starttls",
                    ssl_context=self.trusting(cert),
                )  # fmt: skip
            finally:
                proxy.close()
            assert summary.counts["opened"] == 1
            assert b"STARTTLS" in proxy.sent
            assert b"LOGIN" not in proxy.sent  # the password went encrypted
            with pytest.raises(MailSourceError, match="TLS certificate is not trusted"):
                take(gateway, server, security="starttls")

    def test_starttls_not_offered(self, server: Server, gateway: MailGateway) -> None:
        """A server without STARTTLS is never sent the password in the clear."""
        with pytest.raises(MailSourceError, match="does not offer STARTTLS"):
            take(gateway, server, security="starttls")

    def test_tls_to_a_plain_port(self, server: Server, gateway: MailGateway) -> None:
        """security='tls' against a port that does not speak TLS says what to change."""
        with pytest.raises(MailSourceError) as info:
            take(gateway, server, security="tls")
        assert "TLS failed" in str(info.value)
        assert "use 'starttls' for port 143" in str(info.value)
        assert not info.value.temporary
