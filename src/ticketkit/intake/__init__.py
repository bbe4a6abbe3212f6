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

# The package root offers the mail side's names, gathered (and listed once) in .email.
from .email import *  # noqa: F403
from .email import __all__ as __all__
