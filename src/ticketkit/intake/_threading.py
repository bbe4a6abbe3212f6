"""Outgoing threading headers, so a customer's reply lands on its ticket."""

from __future__ import annotations

import re

from .._config import KEY_PATTERN
from ._errors import IntakeError

__all__ = ["check_domain", "message_id_key", "outgoing_headers", "thread_subject"]

_ID_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_MSG_ID = re.compile(r"^<?([^<>\s@]{1,200}@[^<>\s@]{1,253})>?$")
# Our Message-IDs: <tk.{KEY}.{notification id}@{domain}>; the thread root <tk.{KEY}@{domain}>.
_OURS = re.compile(r"^<tk\.([A-Z][A-Z0-9]{0,9}-[1-9][0-9]{0,17})(?:\.[^<>\s@]*)?@([^<>\s@]+)>$")
_MAX_REFERENCES = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_TAG = re.compile(r"\[[A-Z][A-Z0-9]{0,9}-[1-9][0-9]{0,17}\]\s*")


def _check_key(ticket_key: object) -> str:
    if not isinstance(ticket_key, str) or KEY_PATTERN.match(ticket_key) is None:
        raise IntakeError(f"ticket key {ticket_key!r} is not a ticket key; pass one like 'HD-12'")
    return ticket_key


def _normalise_id(value: object) -> str:
    match = _MSG_ID.match(value) if isinstance(value, str) else None
    if match is None:
        raise IntakeError(
            f"message id {value!r} is not a Message-ID; pass one like '<abc@example.com>'"
            " (no spaces, line breaks or extra angle brackets)"
        )
    return f"<{match.group(1)}>"


def check_domain(domain: object, what: str = "domain") -> str:
    """``domain`` if it is a host name such as ``help.example.com``; else ``IntakeError``.

    The domain of the Message-IDs ticketkit sends, which the same check accepts
    when a reply names them.
    """
    if not isinstance(domain, str) or not _DOMAIN.match(domain):
        raise IntakeError(
            f"{what} {domain!r} is not a host name; pass the domain the mail is sent from,"
            " like 'help.example.com'"
        )
    return domain


def outgoing_headers(
    ticket_key: str,
    notification_id: str,
    *,
    domain: str,
    references: tuple[str, ...] | list[str] = (),
    auto_submitted: bool = True,
) -> dict[str, str]:
    """Threading headers for a mail sent about ``ticket_key``.

    ``Message-ID`` is ``<tk.{ticket_key}.{notification_id}@{domain}>``, so a
    reply naming it in ``In-Reply-To`` or ``References`` leads back to the
    ticket (see ``parse_message(..., our_domain=domain)``). ``References``
    starts with the ticket's thread root ``<tk.{ticket_key}@{domain}>`` (every
    mail about one ticket threads together) followed by ``references``, the ids
    of the conversation so far, oldest first; ``In-Reply-To`` is the last of
    them. With ``auto_submitted`` (the default, for notifications) the headers
    also say ``Auto-Submitted: auto-generated`` and ask Exchange not to answer
    with out-of-office replies (RFC 3834), which keeps mail loops from starting.
    """
    key = _check_key(ticket_key)
    if not isinstance(notification_id, str) or not _ID_PART.match(notification_id):
        raise IntakeError(
            f"notification id {notification_id!r} cannot go into a Message-ID; use letters,"
            " digits and . _ - only (no '@', spaces, angle brackets or line breaks)"
        )
    domain = check_domain(domain)
    if not isinstance(references, tuple | list):
        raise IntakeError(
            f"references must be a tuple of Message-IDs, got {type(references).__name__}"
        )
    root = f"<tk.{key}@{domain}>"
    chain: list[str] = [root]
    for ref in references:
        normal = _normalise_id(ref)
        if normal not in chain:
            chain.append(normal)
    if len(chain) > _MAX_REFERENCES:
        chain = [root, *chain[-(_MAX_REFERENCES - 1) :]]
    headers = {
        "Message-ID": f"<tk.{key}.{notification_id}@{domain}>",
        "In-Reply-To": chain[-1],
        "References": " ".join(chain),
    }
    if auto_submitted:
        headers["Auto-Submitted"] = "auto-generated"
        headers["X-Auto-Response-Suppress"] = "All"
    return headers


def thread_subject(key: str, title: str) -> str:
    """The subject of a mail about ticket ``key``: ``"[HD-12] title"`` on one line.

    Ticket tags already in ``title`` are removed first, so the tag never doubles.
    """
    key = _check_key(key)
    if not isinstance(title, str):
        raise IntakeError(f"title must be a string, got {type(title).__name__}")
    one_line = " ".join(_CONTROL.sub(" ", _TAG.sub("", title)).split())
    return f"[{key}] {one_line}".rstrip()


def message_id_key(message_id: str, our_domain: str) -> str | None:
    """The ticket key a Message-ID we sent names, or None if it is not ours."""
    match = _OURS.match(message_id)
    if match is None or match.group(2).lower() != our_domain.lower():
        return None
    return match.group(1)
