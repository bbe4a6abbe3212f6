"""What a store must do. A backend needs no base class, only these methods."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

from .._events import Event
from .._model import Attachment, Comment, Ticket
from .._query import Page, Query

__all__ = ["Store", "Transaction"]


@runtime_checkable
class Transaction(Protocol):
    """One unit of work: everything done through it is kept together or not at all."""

    def create_ticket(self, draft: Ticket, prefix: str) -> Ticket:
        """Store a new ticket; assign its ``id`` and the next unused key for ``prefix``.

        ``draft`` carries ``id=0`` and ``key=""``; keys run ``PREFIX-1``, ``PREFIX-2``,
        … per prefix and are never given out twice.
        """
        ...

    def get_ticket(self, ref: int | str) -> Ticket | None:
        """The ticket with this id (``int``) or key (``str``), as this transaction sees it."""
        ...

    def update_ticket(self, ticket: Ticket, expected_version: int) -> None:
        """Replace the stored ticket, if it is still at ``expected_version``.

        Raises :class:`~ticketkit.ConflictError` and changes nothing otherwise.
        ``ticket.version`` is ``expected_version + 1``.
        """
        ...

    def add_events(self, events: Sequence[Event]) -> list[Event]:
        """Append events in order; return them with their ``id`` assigned."""
        ...

    def add_comment(self, comment: Comment) -> Comment:
        """Store a comment (``id=0``); return it with its ``id``."""
        ...

    def add_attachment(self, attachment: Attachment, content: bytes) -> Attachment:
        """Store an attachment's metadata and bytes; return it with its ``id``."""
        ...

    def add_reference(self, ticket_id: int, reference: str) -> None:
        """Give the ticket an external reference that no other ticket may have.

        ``reference`` was checked by the tracker and is compared exactly (case
        and spaces count). If any ticket already has it, raise
        :class:`~ticketkit.DuplicateReference` (its ``key`` may be ``None``); the
        caller then lets the whole transaction fail. Of transactions that add
        the same reference at the same time, at most one may commit.
        """
        ...


@runtime_checkable
class Store(Protocol):
    """Keeps tickets, their events, comments and attachments."""

    def transaction(self) -> AbstractContextManager[Transaction]:
        """Begin a unit of work; it commits when the ``with`` block ends normally."""
        ...

    def get_ticket(self, ref: int | str) -> Ticket | None: ...

    def ticket_for_reference(self, reference: str) -> Ticket | None:
        """The ticket that was given this external reference, or ``None``.

        Exact match: ``"a"`` does not find the ticket of ``"A"``.
        """
        ...

    def events(self, ticket_id: int, *, until: datetime | None = None) -> list[Event]:
        """A ticket's events, oldest first; with ``until``, only those at or before it."""
        ...

    def comments(self, ticket_id: int) -> list[Comment]:
        """A ticket's comments, oldest first."""
        ...

    def attachments(self, ticket_id: int) -> list[Attachment]: ...

    def get_attachment(self, attachment_id: int) -> Attachment | None: ...

    def attachment_content(self, attachment_id: int) -> bytes | None: ...

    def query(self, query: Query) -> Page:
        """Run a query already checked by :func:`ticketkit.query.check_query`."""
        ...

    def search(self, text: str, *, limit: int) -> list[tuple[Ticket, float]]:
        """The tickets whose text best matches ``text``, with their scores, best first.

        ``text`` and ``limit`` were checked by the tracker (non-empty text,
        ``1 <= limit <= 100``). The words of ``text`` are those of
        :func:`ticketkit._search.words`: whole words, compared case-insensitively;
        everything between them is never read as query syntax. A ticket matches
        when its title, description or one of its comments (internal notes too)
        holds any of the words. Scores are higher for better matches and compare
        only within one result; ties go to the lower ticket id. The ranking must
        put a ticket that has the words in its title and description above one
        that mentions them once in a comment. Only committed writes are searched.
        """
        ...

    def close(self) -> None: ...
