"""Deliver notifications as signed JSON POSTs to a URL; check the signatures when receiving."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from attrs import field, frozen

from .._clock import ensure_utc
from .._errors import ValidationError
from ._notification import Notification, NotificationError, check_line

__all__ = ["PERMANENT_STATUSES", "WebhookNotifier", "body_of", "sign", "verify_signature"]

#: HTTP statuses after which sending the same request again cannot succeed:
#: the receiver refused the request itself (or is gone for good).
PERMANENT_STATUSES = frozenset({400, 405, 410, 413, 415, 422})

DELIVERY_HEADER = "X-Ticketkit-Delivery"
TIMESTAMP_HEADER = "X-Ticketkit-Timestamp"
SIGNATURE_HEADER = "X-Ticketkit-Signature"


def _secret(value: object) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes) or not value:
        raise ValidationError(
            "a webhook secret must be a non-empty str or bytes; generate one with "
            "secrets.token_hex(32) and share it with the receiver",
            field="secret",
        )
    return value


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``.

    ``"sha256="`` + the hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body``.
    """
    mac = hmac.new(_secret(secret), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(notification: Notification) -> bytes:
    """The JSON body a webhook receives for ``notification``: its ``to_data()``, UTF-8."""
    return json.dumps(
        notification.to_data(), ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")


def _header(headers: Mapping[str, str] | Any, name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def verify_signature(
    secret: str | bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: datetime | float | None = None,
    tolerance: float = 300,
) -> bool:
    """Whether a webhook request is genuine: signed with ``secret``, and recent.

    For receivers. ``body`` is the raw request body (bytes, before any JSON
    parsing); ``headers`` the request headers (names in any case; an
    ``http.server`` or framework headers object works). True only when
    ``X-Ticketkit-Timestamp`` is a whole number of seconds within ``tolerance``
    seconds of ``now`` (default: the current time; a datetime or a Unix time)
    and ``X-Ticketkit-Signature`` matches, compared in constant time. Replays
    older than ``tolerance`` fail; to drop replays within it, remember the
    ``X-Ticketkit-Delivery`` ids seen.
    """
    key = _secret(secret)
    if not isinstance(body, bytes):
        raise ValidationError(
            f"verify_signature needs the raw request body as bytes, got {type(body).__name__}",
            field="body",
        )
    stamp = _header(headers, TIMESTAMP_HEADER)
    given = _header(headers, SIGNATURE_HEADER)
    if stamp is None or given is None or not stamp.isascii() or not stamp.isdigit():
        return False
    if len(stamp) > 12:
        return False
    if now is None:
        current = time.time()
    elif isinstance(now, datetime):
        current = ensure_utc(now, "now").timestamp()
    else:
        current = float(now)
    if abs(current - int(stamp)) > tolerance:
        return False
    expected = sign(key, int(stamp), body)
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: the signed POST must reach the configured URL or fail."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _url(instance: object, attribute: object, value: Any) -> None:
    text = check_line(value, "url", limit=2000, owner="the webhook's")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            f"the webhook URL {text!r} must be an http:// or https:// URL with a host, such "
            "as 'https://hooks.example.com/ticketkit'",
            field="url",
        )


def _timeout(instance: object, attribute: object, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(f"timeout must be a number > 0, got {value!r}", field="timeout")


@frozen
class WebhookNotifier:
    """POSTs each notification as JSON (its ``to_data()``) to ``url``, signed with ``secret``.

    Headers: ``Content-Type: application/json``, ``X-Ticketkit-Delivery`` (the
    notification id, the same on every retry), ``X-Ticketkit-Timestamp`` (Unix
    seconds) and ``X-Ticketkit-Signature: sha256=<hex>``, the HMAC-SHA256 of
    ``f"{timestamp}."`` followed by the body; receivers check it with
    :func:`verify_signature`. Any status other than 2xx, a redirect, a timeout
    or a connection error raises :class:`NotificationError`; statuses in
    :data:`PERMANENT_STATUSES` are permanent failures (not retried).
    """

    url: str = field(validator=_url)
    secret: bytes = field(converter=_secret, repr=False)
    timeout: float = field(default=10.0, kw_only=True, validator=_timeout)

    def request(self, notification: Notification, timestamp: int) -> urllib.request.Request:
        """The signed POST request :meth:`send` makes for ``notification`` at ``timestamp``."""
        body = body_of(notification)
        return urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "ticketkit-webhook",
                DELIVERY_HEADER: notification.id,
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            },
        )

    def send(self, notification: Notification) -> None:
        """POST ``notification``; :class:`NotificationError` unless the receiver answers 2xx."""
        request = self.request(notification, int(time.time()))
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                status = response.status
                response.read(65536)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise NotificationError(
                f"could not POST notification {notification.id} to {self.url}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not 200 <= status < 300:
            raise NotificationError(
                f"the webhook {self.url} answered {status} to notification {notification.id}; "
                "it must answer 2xx",
                permanent=status in PERMANENT_STATUSES,
            )
