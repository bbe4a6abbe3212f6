"""SMTPNotifier against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ticketkit import ValidationError
from ticketkit.notify import Notification, NotificationError, Notifier, SMTPNotifier, Templates
from ticketkit.notify._smtp import is_address


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Handler:
    """Collects what the server receives; can refuse recipients or data."""

    received: list[Received] = field(default_factory=list)
    refuse_rcpt: str | None = None
    refuse_data: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_rcpt is not None:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data is not None:
            return self.refuse_data
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 OK"


@pytest.fixture
def server() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def notification(**changes: Any) -> Notification:
    values: dict[str, Any] = {
        "channel": "email",
        "template": "created",
        "recipients": ("bob@example.com",),
        "subject": "[HD-12] Mail is down",
        "body": "We have received your request.\n",
        "ticket_key": "HD-12",
    }
    values.update(changes)
    return Notification(**values)


def notifier(port: int, **options: Any) -> SMTPNotifier:
    return SMTPNotifier(
        host="127.0.0.1", port=port, sender="Help Desk <help@example.com>", **options
    )


class TestDelivery:
    def test_sends_one_message_with_the_headers(self, server: tuple[Handler, int]) -> None:
        """The server receives From, To, Subject, Date, Message-ID and the ticketkit headers."""
        handler, port = server
        n = notification()
        smtp = notifier(port)
        assert isinstance(smtp, Notifier)
        smtp.send(n)
        [got] = handler.received
        assert got.sender == "help@example.com"
        assert got.recipients == ["bob@example.com"]
        msg = got.message
        assert msg["From"] == "Help Desk <help@example.com>"
        assert msg["To"] == "bob@example.com"
        assert msg["Subject"] == "[HD-12] Mail is down"
        assert msg["Date"]
        assert msg["Message-ID"] == f"<{n.id}@example.com>"
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg["X-Ticketkit-Delivery"] == n.id
        assert msg["X-Ticketkit-Ticket"] == "HD-12"
        assert msg.get_content().replace("\r\n", "\n") == "We have received your request.\n"

    def test_message_id_is_stable_across_retries(self, server: tuple[Handler, int]) -> None:
        """Sending the same notification twice gives the same Message-ID (receivers dedupe)."""
        handler, port = server
        n = notification()
        notifier(port).send(n)
        notifier(port).send(n)
        assert (
            handler.received[0].message["Message-ID"] == handler.received[1].message["Message-ID"]
        )

    def test_threading_headers(self, server: tuple[Handler, int]) -> None:
        """Message-ID, In-Reply-To and References given by the notification are sent as they are."""
        handler, port = server
        n = notification(
            headers={
                "Message-ID": "<hd-12-3@helpdesk.example.com>",
                "In-Reply-To": "<hd-12-1@helpdesk.example.com>",
                "References": "<hd-12-1@helpdesk.example.com> <hd-12-2@helpdesk.example.com>",
                "Reply-To": "help+HD-12@example.com",
            }
        )
        notifier(port).send(n)
        msg = handler.received[0].message
        assert msg["Message-ID"] == "<hd-12-3@helpdesk.example.com>"
        assert msg["In-Reply-To"] == "<hd-12-1@helpdesk.example.com>"
        assert msg["References"] == (
            "<hd-12-1@helpdesk.example.com> <hd-12-2@helpdesk.example.com>"
        )
        assert msg["Reply-To"] == "help+HD-12@example.com"
        assert len(msg.get_all("Message-ID") or []) == 1

    def test_unicode_subject_and_body(self, server: tuple[Handler, int]) -> None:
        """Non-ASCII subjects and bodies arrive intact (encoded words, quoted-printable)."""
        handler, port = server
        notifier(port).send(notification(subject="[HD-12] Grüße – 邮件", body="Schöne Grüße\n.\n"))
        msg = handler.received[0].message
        assert msg["Subject"] == "[HD-12] Grüße – 邮件"
        assert msg.get_content().replace("\r\n", "\n") == "Schöne Grüße\n.\n"
        assert handler.received[0].raw.isascii()

    def test_several_recipients_are_not_disclosed(self, server: tuple[Handler, int]) -> None:
        """With several recipients the envelope has them all, the To header none of them."""
        handler, port = server
        recipients = ("bob@example.com", "carol@example.org")
        notifier(port).send(notification(recipients=recipients))
        got = handler.received[0]
        assert got.recipients == list(recipients)
        assert "bob@" not in got.message["To"]
        assert "carol@" not in got.raw.decode().split("\r\n\r\n")[0]

    def test_disclose_recipients(self, server: tuple[Handler, int]) -> None:
        """disclose_recipients lists every recipient in To."""
        handler, port = server
        notifier(port, disclose_recipients=True).send(
            notification(recipients=("bob@example.com", "carol@example.org"))
        )
        assert handler.received[0].message["To"] == "bob@example.com, carol@example.org"

    def test_address_of_resolves_names(self, server: tuple[Handler, int]) -> None:
        """address_of maps person names to addresses; None leaves a person out."""
        handler, port = server
        book = {"alice": "alice@example.com", "bob": None}
        notifier(port, address_of=book.get).send(notification(recipients=("alice", "bob", "dave")))
        assert handler.received[0].recipients == ["alice@example.com"]


class TestNoInjection:
    def test_title_with_line_breaks_cannot_add_headers(self, server: tuple[Handler, int]) -> None:
        """A hostile ticket title rendered into the subject adds no header and no recipient."""
        handler, port = server
        context = {"key": "HD-12", "title": "Down\r\nBcc: evil@evil.example\r\nX-Evil: 1"}
        n = Templates().notification(
            "created", context, channel="email", recipients=["bob@example.com"]
        )
        notifier(port).send(n)
        got = handler.received[0]
        assert got.recipients == ["bob@example.com"]
        assert got.message["Bcc"] is None
        assert got.message["X-Evil"] is None
        assert got.message["Subject"] == "[HD-12] Down Bcc: evil@evil.example X-Evil: 1"

    @pytest.mark.parametrize(
        "hostile",
        [
            "bob@example.com, evil@evil.example",
            "bob@example.com;evil@evil.example",
            "Bob <evil@evil.example>",
            '"bob@example.com" evil@evil.example',
            "evil@evil.example (bob@example.com)",
            "bob@example.com evil@evil.example",
            "bob@example.com\u3000evil@evil.example",
        ],
    )
    def test_recipients_that_are_not_one_address_are_never_sent_to(
        self, server: tuple[Handler, int], hostile: str
    ) -> None:
        """A recipient holding a comma, display name or second address is left out."""
        handler, port = server
        notifier(port).send(notification(recipients=("carol@example.org", hostile)))
        assert handler.received[0].recipients == ["carol@example.org"]
        assert b"evil" not in handler.received[0].raw

    def test_hostile_address_of_result_is_left_out(self, server: tuple[Handler, int]) -> None:
        """An address book answer with a line break or comma is never used."""
        handler, port = server
        book = {"bob": "bob@example.com\r\nBcc: evil@evil.example", "carol": "carol@example.org"}
        notifier(port, address_of=book.get).send(notification(recipients=("bob", "carol")))
        assert handler.received[0].recipients == ["carol@example.org"]
        assert b"evil" not in handler.received[0].raw

    def test_no_deliverable_recipient_fails_permanently(self, server: tuple[Handler, int]) -> None:
        """When no valid address is left nothing is sent and the failure is permanent."""
        handler, port = server
        with pytest.raises(NotificationError, match="no deliverable e-mail address") as info:
            notifier(port).send(notification(recipients=("a@b.example, evil@evil.example",)))
        assert info.value.permanent
        assert handler.received == []

    @pytest.mark.parametrize(
        "sender",
        ["help@example.com\r\nBcc: evil@evil.example", "a@b.c, evil@evil.example", "Help <>", ""],
    )
    def test_hostile_senders_are_refused(self, sender: str) -> None:
        """A sender that is not one address is refused when the notifier is built."""
        with pytest.raises(ValidationError, match="sender"):
            SMTPNotifier(host="127.0.0.1", sender=sender)

    def test_sender_display_name_with_specials_is_quoted(self, server: tuple[Handler, int]) -> None:
        """A display name with a comma is quoted, so it never becomes a second address."""
        handler, port = server
        SMTPNotifier(host="127.0.0.1", port=port, sender="Help, Inc <help@example.com>").send(
            notification()
        )
        msg = handler.received[0].message
        assert len(msg["From"].addresses) == 1
        assert msg["From"].addresses[0].addr_spec == "help@example.com"
        assert msg["From"].addresses[0].display_name == "Help, Inc"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("bob@example.com", True),
        ("o'hara+tag@mail.example.co.uk", True),
        ("a@localhost", True),
        ("bob@", False),
        ("@example.com", False),
        ("bob@@example.com", False),
        ("bob@-example.com", False),
        ("bö@example.com", False),
        ("bob.@example.com", False),
        ("x" * 65 + "@example.com", False),
        ("a@b.c\n", False),
        (None, False),
    ],
)
def test_is_address(value: object, ok: bool) -> None:
    """Only one plain ASCII addr-spec counts as an address."""
    assert is_address(value) is ok


class TestFailures:
    def test_refused_recipient_is_permanent(self, server: tuple[Handler, int]) -> None:
        """A 5xx refusal of every recipient is a permanent failure."""
        handler, port = server
        handler.refuse_rcpt = "550 no such user"
        with pytest.raises(NotificationError, match="refused every recipient") as info:
            notifier(port).send(notification())
        assert info.value.permanent

    def test_temporary_refusal_is_retried(self, server: tuple[Handler, int]) -> None:
        """A 4xx refusal is a failure to retry."""
        handler, port = server
        handler.refuse_rcpt = "451 try later"
        with pytest.raises(NotificationError) as info:
            notifier(port).send(notification())
        assert not info.value.permanent

    def test_refused_data(self, server: tuple[Handler, int]) -> None:
        """A 5xx answer to the message is permanent, a 4xx one is not."""
        handler, port = server
        handler.refuse_data = "554 rejected as spam"
        with pytest.raises(NotificationError, match="554") as info:
            notifier(port).send(notification())
        assert info.value.permanent
        handler.refuse_data = "452 mailbox full"
        with pytest.raises(NotificationError, match="452") as info:
            notifier(port).send(notification())
        assert not info.value.permanent

    def test_no_server(self) -> None:
        """A closed port is a NotificationError naming the host and port, to retry."""
        port = free_port()
        with pytest.raises(NotificationError, match=f"127.0.0.1:{port}") as info:
            notifier(port, timeout=2).send(notification())
        assert not info.value.permanent


class TestSettings:
    def test_bad_settings(self) -> None:
        """Bad ports, timeouts and contradictory TLS or login settings are refused."""
        with pytest.raises(ValidationError, match="port"):
            SMTPNotifier(host="h", port=0, sender="a@b.c")
        with pytest.raises(ValidationError, match="timeout"):
            SMTPNotifier(host="h", sender="a@b.c", timeout=0)
        with pytest.raises(ValidationError, match="not both"):
            SMTPNotifier(host="h", sender="a@b.c", ssl=True, starttls=True)
        with pytest.raises(ValidationError, match="username and password"):
            SMTPNotifier(host="h", sender="a@b.c", username="u")
        with pytest.raises(ValidationError, match="host"):
            SMTPNotifier(host="h\r\nx", sender="a@b.c")
        with pytest.raises(ValidationError, match="address_of"):
            SMTPNotifier(host="h", sender="a@b.c", address_of="x")  # type: ignore[arg-type]

    def test_password_is_not_in_the_repr(self) -> None:
        """The password never shows in repr (logs)."""
        smtp = SMTPNotifier(host="h", sender="a@b.c", username="u", password="hunter2")
        assert "hunter2" not in repr(smtp)


class TestTLS:
    def test_starttls_and_login(self, certificate: tuple[Path, Path]) -> None:
        """With starttls the client upgrades, then logs in, then sends."""
        cert, key = certificate
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cert, key)
        logins: list[tuple[bytes, bytes]] = []

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            assert isinstance(data, LoginPassword)
            logins.append((data.login, data.password))
            return AuthResult(success=data.password == b"s3cret")

        handler = Handler()
        port = free_port()
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            tls_context=server_ctx,
            require_starttls=True,
            authenticator=authenticator,
            auth_require_tls=True,
        )
        controller.start()
        try:
            client_ctx = ssl.create_default_context(cafile=str(cert))
            options = {"starttls": True, "tls_context": client_ctx, "username": "agent"}
            notifier(port, password="s3cret", **options).send(notification())
            assert logins == [(b"agent", b"s3cret")]
            assert len(handler.received) == 1
            with pytest.raises(NotificationError, match="could not send"):
                # A wrong password is refused (aiosmtpd then stalls the session).
                notifier(port, password="wrong", timeout=3, **options).send(notification())
            assert (b"agent", b"wrong") in logins
            with pytest.raises(NotificationError):
                # An unknown certificate authority is refused.
                notifier(port, starttls=True, username="agent", password="s3cret", timeout=3).send(
                    notification()
                )
            assert len(handler.received) == 1
        finally:
            controller.stop()

    def test_implicit_tls(self, certificate: tuple[Path, Path]) -> None:
        """With ssl=True the connection is TLS from the start."""
        cert, key = certificate
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cert, key)
        handler = Handler()
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=server_ctx)
        controller.start()
        try:
            client_ctx = ssl.create_default_context(cafile=str(cert))
            notifier(port, ssl=True, tls_context=client_ctx).send(notification())
            assert handler.received[0].recipients == ["bob@example.com"]
        finally:
            controller.stop()
