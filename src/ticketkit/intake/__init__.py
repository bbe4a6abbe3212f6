"""Intake of tickets from e-mail and web forms.

:func:`parse_message` turns raw RFC 5322 bytes into an :class:`IncomingMessage`
safely: limits are checked first, auto-replies and bounces are recognised,
HTML is converted to text, quoted text is trimmed from replies and attachment
file names are sanitised. Only :class:`IntakeError` ever escapes it.
:func:`outgoing_headers` and :func:`thread_subject` give the mail ticketkit
sends the threading headers that lead a customer's reply back to its ticket.
:class:`MailGateway` opens tickets and adds replies from mail, read from
stdin, a Maildir or IMAP (:func:`ingest_stdin`, :func:`ingest_maildir`,
:func:`ingest_imap`). :mod:`ticketkit.intake.email` holds the mail side alone,
:mod:`ticketkit.intake.forms` the web forms.
"""

from __future__ import annotations

from ._attachments import IncomingAttachment, sanitize_filename
from ._errors import IntakeError, MailRefused
from ._gateway import IngestResult, MailGateway
from ._html import html_to_text
from ._imap import ingest_imap
from ._limits import MailLimits
from ._message import IncomingMessage, Sender, parse_message
from ._quotes import trim_reply
from ._sources import IngestSummary, MailSourceError, ingest_maildir, ingest_stdin
from ._threading import outgoing_headers, thread_subject

__all__ = [
    "IncomingAttachment",
    "IncomingMessage",
    "IngestResult",
    "IngestSummary",
    "IntakeError",
    "MailGateway",
    "MailLimits",
    "MailRefused",
    "MailSourceError",
    "Sender",
    "html_to_text",
    "ingest_imap",
    "ingest_maildir",
    "ingest_stdin",
    "outgoing_headers",
    "parse_message",
    "sanitize_filename",
    "thread_subject",
    "trim_reply",
]
