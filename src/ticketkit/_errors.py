"""The errors ticketkit raises on purpose.

Every error is a :class:`TicketkitError`; each message names the bad value and
says what to do instead.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "DuplicateReference",
    "InvalidCursor",
    "InvalidWorkflow",
    "NotFound",
    "PermissionDenied",
    "SchemaVersionError",
    "StorageError",
    "TicketkitError",
    "TransitionNotAllowed",
    "ValidationError",
]


class TicketkitError(Exception):
    """Base class of every error the library raises on purpose."""


class ValidationError(TicketkitError, ValueError):
    """A value given to ticketkit is not acceptable.

    ``field`` names the offending field when there is one, so a form can show
    the message next to it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidCursor(ValidationError):
    """A pagination cursor was tampered with or belongs to another query."""


class InvalidWorkflow(ValidationError):
    """A workflow definition is inconsistent (raised when it is built)."""


class NotFound(TicketkitError, LookupError):
    """No ticket (or comment, attachment) answers to the given key or id."""


class TransitionNotAllowed(TicketkitError):
    """A workflow action cannot be applied to a ticket right now.

    Carries the ticket ``key``, its current ``status``, the ``action`` tried
    and, when a guard refused, the guard's ``reason``.
    """

    def __init__(
        self,
        message: str,
        *,
        key: str | None,
        status: str,
        action: str,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.key = key
        self.status = status
        self.action = action
        self.reason = reason


class ConflictError(TicketkitError):
    """A write was based on a stale version of a ticket or an article; nothing was changed."""

    def __init__(self, message: str, *, key: str, expected: int, actual: int) -> None:
        super().__init__(message)
        self.key = key
        self.expected = expected
        self.actual = actual

    @classmethod
    def stale(cls, key: str, expected: int, actual: int) -> ConflictError:
        """The conflict of a write expecting version ``expected`` of ``key``, now at ``actual``."""
        return cls(
            f"{key} is at version {actual}, not {expected}; reload it and apply the change again",
            key=key,
            expected=expected,
            actual=actual,
        )


class DuplicateReference(TicketkitError):
    """Another ticket already has this external reference; nothing was stored.

    ``reference`` is the reference refused; ``key`` is the key of the ticket
    that has it, or ``None`` when that ticket could not be read.
    """

    def __init__(self, message: str, *, reference: str, key: str | None) -> None:
        super().__init__(message)
        self.reference = reference
        self.key = key


class PermissionDenied(TicketkitError):
    """The acting principal may not do this."""


class StorageError(TicketkitError):
    """The store cannot do what was asked: unreachable, locked, read-only, misconfigured.

    The message says what is wrong; the driver's own exception is chained as
    ``__cause__``. Nothing was changed. ``retryable`` is true when the same work
    may well succeed if simply done again: the database broke a deadlock or a
    serialization conflict, or a lock was held past its timeout.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class SchemaVersionError(StorageError):
    """The database's schema is older or newer than this version of ticketkit expects."""

    def __init__(self, message: str, *, found: str | None, expected: str) -> None:
        super().__init__(message)
        self.found = found
        self.expected = expected
