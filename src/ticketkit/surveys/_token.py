"""Survey tokens: signed, expiring, for one ticket, usable once.

A token is ``<payload>.<signature>``, both unpadded base64url. The payload is
the UTF-8 text ``1:<ticket id>:<expiry, Unix seconds>:<nonce>:<tenant>`` (the
tenant last, as it is the only part that may hold a colon); the signature is
HMAC-SHA256 of ``ticketkit-survey`` and a NUL byte followed by the payload,
under the survey's secret. The nonce is 16 random bytes (``secrets``), so no
two tokens are alike and a used one is known by its nonce: redeeming claims the
store reference ``csat:<nonce>``, which only one transaction can ever hold.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import attrs

from .._errors import ValidationError

__all__ = ["REASONS", "Claims", "SurveyTokenError", "make_token", "read_token", "reference_of"]

_VERSION = "1"
_DOMAIN = b"ticketkit-survey\x00"
_LONGEST = 1000  # characters; a real token is about 130

#: Why a token is refused (:attr:`SurveyTokenError.reason`).
REASONS = ("malformed", "forged", "expired", "wrong_ticket", "superseded", "used")


class SurveyTokenError(ValidationError):
    """A survey token that cannot be used; ``reason`` says why (see :data:`REASONS`).

    * ``malformed`` - not a survey token at all (cut short, not base64url);
    * ``forged`` - the signature does not match (altered, or signed with another
      secret), or no such survey was sent;
    * ``expired`` - its ``valid_for`` has run out;
    * ``wrong_ticket`` - it belongs to another ticket than the one it was given for;
    * ``superseded`` - the ticket was resolved again and a newer survey was sent;
    * ``used`` - it has been answered already.

    Nothing is stored when a token is refused.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, field="token")
        self.reason = reason


@attrs.frozen
class Claims:
    """What a token's signed payload says."""

    ticket_id: int
    tenant: str
    nonce: str
    expires: datetime


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    if not text or not all(c.isascii() and (c.isalnum() or c in "-_") for c in text):
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Only the one canonical spelling: the unused low bits of the last character
    # would otherwise let several strings stand for the same token.
    if _encode(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def _sign(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, _DOMAIN + payload, hashlib.sha256).digest()


def reference_of(nonce: str) -> str:
    """The store reference that marks the token with this nonce as used."""
    return f"csat:{nonce}"


def make_token(secret: bytes, ticket_id: int, tenant: str, expires: datetime) -> tuple[str, str]:
    """A new token for the ticket and its nonce: ``(token, nonce)``."""
    nonce = secrets.token_urlsafe(16)
    seconds = int(expires.timestamp())
    payload = f"{_VERSION}:{ticket_id}:{seconds}:{nonce}:{tenant}".encode()
    return f"{_encode(payload)}.{_encode(_sign(secret, payload))}", nonce


def _malformed() -> SurveyTokenError:
    return SurveyTokenError(
        "this is not a survey token; use the whole link from the survey message",
        reason="malformed",
    )


def read_token(secrets_: tuple[bytes, ...], token: object, now: datetime) -> Claims:
    """The claims of a token signed with one of ``secrets_`` and not expired at ``now``.

    The signature is checked before anything in the payload is believed, and
    compared in constant time with each secret's.
    """
    if not isinstance(token, str) or len(token) > _LONGEST or token.count(".") != 1:
        raise _malformed()
    payload_text, signature_text = token.split(".")
    try:
        payload = _decode(payload_text)
        signature = _decode(signature_text)
    except (ValueError, binascii.Error):
        raise _malformed() from None
    # Every secret is tried, so the time taken does not tell which one matched.
    matches = [hmac.compare_digest(_sign(secret, payload), signature) for secret in secrets_]
    if not any(matches):
        raise SurveyTokenError(
            "this survey token's signature does not match: it was altered or not made by "
            "this help desk",
            reason="forged",
        )
    try:
        version, ticket_id, seconds, nonce, tenant = payload.decode("utf-8").split(":", 4)
        claims = Claims(
            ticket_id=int(ticket_id),
            tenant=tenant,
            nonce=nonce,
            expires=datetime.fromtimestamp(int(seconds), UTC),
        )
    except (ValueError, OverflowError, OSError):
        raise _malformed() from None
    if version != _VERSION:
        raise _malformed()
    if now >= claims.expires:
        raise SurveyTokenError(
            f"this survey expired at {claims.expires:%Y-%m-%d %H:%M} UTC; it can no longer "
            "be answered",
            reason="expired",
        )
    return claims
