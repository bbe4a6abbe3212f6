"""What a store must do. A backend needs no base class, only these methods.

Tenants: every read takes keyword ``tenant``. ``None`` (the default) reads
across all tenants, for trusted code such as the :class:`~ticketkit.Tracker`;
with a tenant name, a ticket of another tenant, and everything that hangs off
it (events, comments, attachments, references), is exactly as absent as one
that does not exist: ``None`` or an empty list, never an error that tells the
two apart. Queries and searches never return another tenant's tickets, whatever
the cursor says. Ticket ids, keys and external references are unique per
store, across tenants.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

from .._access_log import Denial
from .._automation_records import OutboxItem
from .._events import Event
from .._model import Attachment, Comment, Ticket
from .._query import Page, Query
from ..kb._article import Article, ArticleRevision, ArticleStatus, Solution

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

    def get_ticket(self, ref: int | str, *, tenant: str | None = None) -> Ticket | None:
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

    def update_comment(self, comment: Comment) -> None:
        """Replace the ``author``, ``body``, ``redacted_at`` and ``redacted_by`` of a comment.

        For redaction (which passes the author unchanged) and erasure (which
        replaces it by a pseudonym): the comment with ``comment.id`` keeps its
        ticket, time and ``internal`` flag, and the search index forgets the old
        body. :class:`~ticketkit.NotFound` if there is no such comment on
        ``comment.ticket_id``.
        """
        ...

    def update_attachment(self, attachment: Attachment) -> None:
        """Replace the ``uploaded_by`` of the stored attachment ``attachment.id``.

        For erasure: everything else (name, type, size, digest, time, content)
        stays. :class:`~ticketkit.NotFound` if there is no such attachment on
        ``attachment.ticket_id``.
        """
        ...

    def rewrite_event(self, event: Event) -> None:
        """Replace the ``actor``, ``old``, ``new`` and ``data`` of the stored event ``event.id``.

        Only for redaction and erasure of personal data; the event keeps its
        ticket, version, type, time and field. :class:`~ticketkit.NotFound` if
        there is no such event on ``event.ticket_id``.
        """
        ...

    def add_denial(self, denial: Denial) -> Denial:
        """Record a denied attempt; return it with its ``id``."""
        ...

    def rename_in_denials(self, person: str, alias: str, *, tenant: str) -> None:
        """Replace ``person`` by ``alias`` in the stored denials of ``tenant``.

        For erasure: a denial whose ``principal`` is ``person`` gets ``alias``,
        and every occurrence of ``person`` in ``target`` and ``reason`` is
        replaced, exactly (case counts), the result cut to the length each keeps
        (see :func:`ticketkit._access_log.renamed_denial`). Other tenants'
        denials are left alone.
        """
        ...

    # -- the knowledge base: articles, their versions, solutions ----------------------

    def create_article(self, draft: Article, *, note: str | None = None) -> Article:
        """Store a new article (``id=0``, ``version=1``); return it with its ``id``.

        Its first :class:`~ticketkit.kb.ArticleRevision` (by ``draft.author`` at
        ``draft.created``, with ``note``) is stored with it.
        """
        ...

    def get_article(self, article_id: int, *, tenant: str | None = None) -> Article | None:
        """The article with this id, as this transaction sees it."""
        ...

    def update_article(
        self, article: Article, expected_version: int, *, note: str | None = None
    ) -> None:
        """Replace the stored article, if it is still at ``expected_version``.

        ``article.version`` is ``expected_version + 1``; the new version's
        revision (by ``article.updated_by`` at ``article.updated``, with ``note``)
        is stored with it. Raises :class:`~ticketkit.ConflictError` and changes
        nothing otherwise; :class:`~ticketkit.NotFound` if there is no such article.
        """
        ...

    def add_solution(self, solution: Solution) -> bool:
        """Record that the article solves the ticket; ``False`` (and no change) if it was.

        The ticket and the article exist and are of ``solution.tenant`` (the
        caller checked).
        """
        ...

    def remove_solution(self, ticket_id: int, article_id: int) -> bool:
        """Forget that the article solves the ticket; ``False`` if it was not recorded."""
        ...

    def rename_in_articles(self, person: str, alias: str, *, tenant: str) -> None:
        """For erasure: replace ``person`` by ``alias`` where ``tenant``'s articles name them.

        In the ``author`` and ``updated_by`` of articles, the ``author`` of every
        revision and the ``linked_by`` of solutions; exact matches only (case counts).
        """
        ...

    def get_comment(self, ticket_id: int, comment_id: int) -> Comment | None:
        """The ticket's comment ``comment_id`` as this transaction sees it (its own
        writes included), or ``None`` when the ticket has no such comment."""
        ...

    # -- automation: scheduled work, counters, the outbox ---------------------------

    def events(self, ticket_id: int) -> list[Event]:
        """The ticket's events as this transaction sees them (its own included), oldest first."""
        ...

    def set_due(self, ticket_id: int, due_at: datetime | None) -> None:
        """Set the instant of the ticket's next scheduled work; ``None`` removes it.

        One instant per ticket: a new one replaces the old. The tenant is the
        ticket's. :class:`~ticketkit.NotFound` if there is no such ticket.
        """
        ...

    def claim_due(self, now: datetime, limit: int) -> list[int]:
        """Take the tickets whose instant is at or before ``now``; return their ids.

        Earliest instant first (ties by ticket id), at most ``limit`` (1 to
        10,000), of every tenant. Claimed instants are removed: the caller sets
        the next one with :meth:`set_due` in this same transaction, and a
        rollback puts them back. Rows another open transaction has claimed are
        skipped, never waited for twice nor handed out twice: of transactions
        running at once, each ticket goes to one.
        """
        ...

    def next_counter(self, name: str) -> int:
        """The next value of the counter ``name``: 0, 1, 2, … never given out twice.

        Counters are shared by every process using the store; a rollback gives
        the value back.
        """
        ...

    def add_outbox(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Store new outbox items (``id=0``); return them with ids, in order."""
        ...

    def lease_outbox(self, now: datetime, until: datetime, limit: int) -> list[OutboxItem]:
        """Lease up to ``limit`` due items until ``until``; return them, oldest due first.

        Due: not sent, not given up, ``next_attempt_at <= now``, and not leased
        (``lease_until`` unset or before ``now``). The items come back with
        ``lease_until=until``. Items another open transaction is leasing are
        skipped.
        """
        ...

    def outbox_sent(self, item_id: int, at: datetime) -> None:
        """Record that the item was delivered at ``at``; its lease ends.

        :class:`~ticketkit.NotFound` if there is no such item.
        """
        ...

    def outbox_failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed delivery: ``attempts`` + 1, lease ended, ``last_error`` kept.

        ``error`` is cut to 1,000 characters. The item is tried again from
        ``retry_at``; with ``None`` it is given up. :class:`~ticketkit.NotFound`
        if there is no such item.
        """
        ...

    def rename_in_outbox(self, person: str, alias: str, *, tenant: str) -> None:
        """For erasure: replace ``person`` by ``alias`` in the payloads of ``tenant``'s items.

        Every occurrence in every string (and key) of the payload, exactly (case
        counts); other tenants' items are left alone.
        """
        ...


@runtime_checkable
class Store(Protocol):
    """Keeps tickets, their events, comments and attachments (see the module on ``tenant``)."""

    def transaction(self) -> AbstractContextManager[Transaction]:
        """Begin a unit of work; it commits when the ``with`` block ends normally."""
        ...

    def get_ticket(self, ref: int | str, *, tenant: str | None = None) -> Ticket | None: ...

    def ticket_for_reference(self, reference: str, *, tenant: str | None = None) -> Ticket | None:
        """The ticket that was given this external reference, or ``None``.

        Exact match: ``"a"`` does not find the ticket of ``"A"``.
        """
        ...

    def events(
        self, ticket_id: int, *, until: datetime | None = None, tenant: str | None = None
    ) -> list[Event]:
        """A ticket's events, oldest first; with ``until``, only those at or before it."""
        ...

    def comments(self, ticket_id: int, *, tenant: str | None = None) -> list[Comment]:
        """A ticket's comments, oldest first."""
        ...

    def attachments(self, ticket_id: int, *, tenant: str | None = None) -> list[Attachment]: ...

    def get_attachment(
        self, attachment_id: int, *, tenant: str | None = None
    ) -> Attachment | None: ...

    def attachment_content(
        self, attachment_id: int, *, tenant: str | None = None
    ) -> bytes | None: ...

    def query(self, query: Query, *, tenant: str | None = None) -> Page:
        """Run a query already checked by :func:`ticketkit.query.check_query`."""
        ...

    def search(
        self, text: str, *, limit: int, tenant: str | None = None, where: Query | None = None
    ) -> list[tuple[Ticket, float]]:
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
        With ``tenant``, the ``limit`` best of that tenant's tickets. With
        ``where`` (a query checked by :func:`ticketkit.query.check_query`; its
        order, limit and cursor play no part), the ``limit`` best of the
        tickets that satisfy its conditions and text: the filter is part of the
        search, so a match that the filter keeps is never crowded out by better
        matches it leaves out.
        """
        ...

    def events_by_actor(self, actor: str, *, tenant: str | None = None) -> list[Event]:
        """Every event ``actor`` recorded, on any ticket, oldest first (by id)."""
        ...

    def comments_by_author(self, author: str, *, tenant: str | None = None) -> list[Comment]:
        """Every comment ``author`` wrote, on any ticket, oldest first (by id)."""
        ...

    def denials(self, *, tenant: str | None = None, limit: int = 100) -> list[Denial]:
        """The latest ``limit`` denied attempts (of ``tenant``), newest first."""
        ...

    def next_due(self, *, tenant: str | None = None) -> datetime | None:
        """The earliest instant of scheduled work (of ``tenant``), or ``None`` if there is none."""
        ...

    def due_count(self, now: datetime) -> int:
        """How many tickets (of every tenant) have scheduled work at or before ``now``."""
        ...

    def outbox(
        self, *, tenant: str | None = None, pending: bool | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        """The oldest ``limit`` outbox items (of ``tenant``), oldest first.

        ``pending=True``: only those neither sent nor given up; ``False``: only
        those sent or given up; ``None``: all.
        """
        ...

    def count_open(
        self, assignees: Sequence[str], statuses: Sequence[str], *, tenant: str | None = None
    ) -> dict[str, int]:
        """For each of ``assignees``, how many of its tickets (of ``tenant``) are in ``statuses``.

        Every assignee given is a key, with 0 when it has none.
        """
        ...

    # -- the knowledge base ---------------------------------------------------------

    def get_article(self, article_id: int, *, tenant: str | None = None) -> Article | None: ...

    def article_revisions(
        self, article_id: int, *, tenant: str | None = None
    ) -> list[ArticleRevision]:
        """Every version of the article, oldest first (empty for an unknown article)."""
        ...

    def articles(
        self,
        *,
        tenant: str | None = None,
        statuses: Sequence[ArticleStatus] | None = None,
        tag: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[Article]:
        """Articles in id order, those with an id above ``after``, at most ``limit`` (1 to 1,000).

        Only those in ``statuses`` (``None``: all) and, with ``tag`` (already
        lower-case), those that have it.
        """
        ...

    def search_articles(
        self,
        text: str,
        *,
        limit: int,
        tenant: str | None = None,
        statuses: Sequence[ArticleStatus] | None = None,
    ) -> list[tuple[Article, float]]:
        """The articles whose text best matches ``text``, with their scores, best first.

        The same words and rules as :meth:`search`: whole words, case-insensitive,
        nothing read as query syntax; an article matches when its title, body or
        tags hold any of the words, and one with them in its title ranks above one
        that mentions them once in its body. Ties go to the lower id. Only articles
        in ``statuses`` (``None``: all) compete for the ``limit`` places.
        """
        ...

    def solutions(
        self,
        *,
        ticket_ids: Sequence[int] | None = None,
        article_id: int | None = None,
        tenant: str | None = None,
    ) -> list[Solution]:
        """The recorded solutions of these tickets and/or of this article, oldest first.

        Ordered by ``linked_at``, then ticket id, then article id. Give at least
        one of ``ticket_ids`` and ``article_id``; both: only links that match both.
        """
        ...

    def close(self) -> None: ...
