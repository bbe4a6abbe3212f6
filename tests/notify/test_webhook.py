"""WebhookNotifier against a local http.server; verify_signature for receivers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ticketkit import ValidationError
from ticketkit.notify import (
    Notification,
    NotificationError,
    Notifier,
    WebhookNotifier,
    verify_signature,
)
from ticketkit.notify._webhook import sign

SECRET = "whsec-7f3a"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the local server got, and the statuses it answers with (200 once they run out)."""

    requests: list[Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(Request(self.path, dict(self.headers.items()), body))
            if state.delay:
                time.sleep(state.delay)
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", state.url + "elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def notification() -> Notification:
    return Notification(
        channel="hooks",
        template="sla_breached",
        recipients=("alice",),
        subject="[HD-12] SLA breached: resolution was due 17:00",
        body="Ticket HD-12 breached.\n",
        ticket_key="HD-12",
        data={"target": "resolution", "cycle": 0},
    )


class TestSend:
    def test_posts_signed_json(self, receiver: Receiver) -> None:
        """The receiver gets the notification's data as JSON with a signature that verifies."""
        n = notification()
        hook = WebhookNotifier(receiver.url + "hooks/ticketkit", SECRET)
        assert isinstance(hook, Notifier)
        before = int(time.time())
        hook.send(n)
        [request] = receiver.requests
        assert request.path == "/hooks/ticketkit"
        assert request.headers["Content-Type"].startswith("application/json")
        assert request.headers["X-Ticketkit-Delivery"] == n.id
        stamp = int(request.headers["X-Ticketkit-Timestamp"])
        assert before <= stamp <= int(time.time())
        assert request.headers["X-Ticketkit-Signature"] == sign(SECRET, stamp, request.body)
        assert Notification.from_data(json.loads(request.body)) == n
        assert verify_signature(SECRET, request.body, request.headers)
        assert verify_signature(SECRET.encode(), request.body, request.headers)

    def test_server_error_raises_to_retry(self, receiver: Receiver) -> None:
        """A 500 answer is a NotificationError that is not permanent."""
        receiver.statuses = [500]
        with pytest.raises(NotificationError, match="answered 500") as info:
            WebhookNotifier(receiver.url, SECRET).send(notification())
        assert not info.value.permanent

    @pytest.mark.parametrize("status", [400, 410, 422])
    def test_refused_content_is_permanent(self, receiver: Receiver, status: int) -> None:
        """A status saying the request itself is unacceptable is permanent."""
        receiver.statuses = [status]
        with pytest.raises(NotificationError, match=f"answered {status}") as info:
            WebhookNotifier(receiver.url, SECRET).send(notification())
        assert info.value.permanent

    @pytest.mark.parametrize("status", [401, 404, 429, 503])
    def test_other_client_errors_are_retried(self, receiver: Receiver, status: int) -> None:
        """Statuses that may change with time (auth, rate limits, missing route) are retried."""
        receiver.statuses = [status]
        with pytest.raises(NotificationError) as info:
            WebhookNotifier(receiver.url, SECRET).send(notification())
        assert not info.value.permanent

    def test_redirects_are_not_followed(self, receiver: Receiver) -> None:
        """A redirect is a failure: the signed body is never sent elsewhere."""
        receiver.statuses = [307]
        with pytest.raises(NotificationError, match="answered 307"):
            WebhookNotifier(receiver.url, SECRET).send(notification())
        assert [r.path for r in receiver.requests] == ["/"]

    def test_other_2xx_statuses_are_success(self, receiver: Receiver) -> None:
        """202 and 204 count as delivered."""
        receiver.statuses = [202, 204]
        hook = WebhookNotifier(receiver.url, SECRET)
        hook.send(notification())
        hook.send(notification())
        assert len(receiver.requests) == 2

    def test_timeout(self, receiver: Receiver) -> None:
        """A receiver slower than the timeout is a failure to retry."""
        receiver.delay = 1.5
        with pytest.raises(NotificationError, match="could not POST") as info:
            WebhookNotifier(receiver.url, SECRET, timeout=0.3).send(notification())
        assert not info.value.permanent

    def test_connection_refused(self, receiver: Receiver) -> None:
        """Nobody listening is a failure naming the URL."""
        url = "http://127.0.0.1:9/hook"
        with pytest.raises(NotificationError, match=r"127\.0\.0\.1:9/hook"):
            WebhookNotifier(url, SECRET, timeout=2).send(notification())


class TestVerify:
    def signed(self, at: int = 1_760_000_000) -> tuple[bytes, dict[str, str]]:
        body = b'{"id":"abc"}'
        headers = {
            "X-Ticketkit-Timestamp": str(at),
            "X-Ticketkit-Signature": sign(SECRET, at, body),
        }
        return body, headers

    def test_genuine_request_verifies(self) -> None:
        """A fresh, correctly signed request passes; header names may be in any case."""
        body, headers = self.signed()
        assert verify_signature(SECRET, body, headers, now=1_760_000_100)
        lower = {k.lower(): v for k, v in headers.items()}
        assert verify_signature(SECRET, body, lower, now=1_760_000_100)
        assert verify_signature(
            SECRET, body, headers, now=datetime.fromtimestamp(1_760_000_000, UTC)
        )

    def test_tampered_body_fails(self) -> None:
        """Changing one byte of the body breaks the signature."""
        body, headers = self.signed()
        assert not verify_signature(
            SECRET, body.replace(b"abc", b"abd"), headers, now=1_760_000_000
        )

    def test_wrong_secret_fails(self) -> None:
        """Another secret does not verify."""
        body, headers = self.signed()
        assert not verify_signature("other", body, headers, now=1_760_000_000)

    def test_old_and_future_timestamps_fail(self) -> None:
        """A timestamp beyond the tolerance either way fails (replays)."""
        body, headers = self.signed()
        assert verify_signature(SECRET, body, headers, now=1_760_000_300)
        assert not verify_signature(SECRET, body, headers, now=1_760_000_301)
        assert not verify_signature(SECRET, body, headers, now=1_759_999_699)
        assert verify_signature(SECRET, body, headers, now=1_760_000_900, tolerance=900)

    def test_moved_timestamp_fails(self) -> None:
        """Changing the timestamp header (to look fresh) breaks the signature."""
        body, headers = self.signed()
        headers["X-Ticketkit-Timestamp"] = "1760000200"
        assert not verify_signature(SECRET, body, headers, now=1_760_000_200)

    @pytest.mark.parametrize(
        "change",
        [
            {"X-Ticketkit-Timestamp": None},
            {"X-Ticketkit-Signature": None},
            {"X-Ticketkit-Timestamp": "-5"},
            {"X-Ticketkit-Timestamp": "1.7e9"},
            {"X-Ticketkit-Timestamp": "١٧٦٠٠٠٠٠٠٠"},
            {"X-Ticketkit-Signature": "sha1=abc"},
            {"X-Ticketkit-Signature": "sha256=é"},
        ],
    )
    def test_missing_or_malformed_headers_fail(self, change: dict[str, str | None]) -> None:
        """Missing or malformed headers make verification fail, never raise."""
        body, headers = self.signed()
        for name, value in change.items():
            if value is None:
                del headers[name]
            else:
                headers[name] = value
        assert not verify_signature(SECRET, body, headers, now=1_760_000_000)

    def test_body_must_be_bytes(self) -> None:
        """Passing parsed JSON instead of the raw body is refused, saying so."""
        _, headers = self.signed()
        with pytest.raises(ValidationError, match="raw request body as bytes"):
            verify_signature(SECRET, '{"id":"abc"}', headers)  # type: ignore[arg-type]


class TestSettings:
    @pytest.mark.parametrize(
        "url", ["ftp://x/y", "file:///etc/passwd", "http://", "hooks.example.com", "http://a\r\n"]
    )
    def test_bad_urls(self, url: str) -> None:
        """Only http(s) URLs with a host are accepted."""
        with pytest.raises(ValidationError, match=r"(?i)webhook's url|webhook url"):
            WebhookNotifier(url, SECRET)

    @pytest.mark.parametrize("secret", ["", b"", None])
    def test_secret_is_required(self, secret: Any) -> None:
        """An empty or missing secret is refused."""
        with pytest.raises(ValidationError, match="secret"):
            WebhookNotifier("https://hooks.example.com/x", secret)

    def test_secret_is_not_in_the_repr(self) -> None:
        """The secret never shows in repr (logs)."""
        assert SECRET not in repr(WebhookNotifier("https://hooks.example.com/x", SECRET))

    def test_bad_timeout(self) -> None:
        """A timeout must be positive."""
        with pytest.raises(ValidationError, match="timeout"):
            WebhookNotifier("https://hooks.example.com/x", SECRET, timeout=0)
