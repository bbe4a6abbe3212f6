"""Intake of tickets from e-mail and web forms.

:func:`parse_message` turns raw RFC 5322 bytes into an :class:`IncomingMessage`
safely: limits are checked first, auto-replies and bounces are recognised,
HTML is converted to text, quoted text is trimmed from replies and attachment
file names are sanitised. Only :class:`IntakeError` ever escapes it.
"""

from __future__ import annotations

from ._errors import IntakeError, MailRefused
from ._html import html_to_text
from ._limits import MailLimits
from ._quotes import trim_reply

__all__ = [
    "IntakeError",
    "MailLimits",
    "MailRefused",
    "html_to_text",
    "trim_reply",
]
