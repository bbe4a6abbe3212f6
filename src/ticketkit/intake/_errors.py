"""The errors of mail and form intake."""

from __future__ import annotations

from .._errors import ValidationError

__all__ = ["IntakeError", "MailRefused"]


class IntakeError(ValidationError):
    """Input arriving by mail or through a form could not be taken in.

    The only kind of error :func:`ticketkit.intake.parse_message` lets escape,
    whatever bytes it is given.
    """


class MailRefused(IntakeError):
    """A message is refused as a whole: over a limit, ambiguous or unreadable.

    ``reason`` is a short machine-readable word (for example
    ``"max_message_bytes"``, ``"ambiguous_from"``, ``"malformed"``) a gateway
    can count, log or answer with a bounce.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
