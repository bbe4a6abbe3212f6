"""``ticketkit.intake.email``: the mail gateway, by the name issue 8 gives it.

Everything here is also in :mod:`ticketkit.intake`; this module gathers the
mail side alone, as :mod:`ticketkit.intake.forms` gathers the forms side.
Reading mail safely (:func:`parse_message`), the gateway that acts on it
(:class:`MailGateway`), its sources (:func:`ingest_stdin`,
:func:`ingest_maildir`, :func:`ingest_imap`) and the threading headers of the
mail ticketkit sends.

(The name does not hide the standard library's :mod:`email` package: every
module of ticketkit imports absolutely, so ``import email`` anywhere, here
included, is the standard library's.)
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
