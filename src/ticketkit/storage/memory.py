"""The in-memory store: the reference every other store is tested against."""

from __future__ import annotations

import bisect
import heapq
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from attrs import evolve

from .._access_log import Denial, check_denials_limit, renamed_denial
from .._errors import ConflictError, DuplicateReference, NotFound
from .._events import Event
from .._model import Attachment, Comment, Ticket
from .._query import Page, Query, cursor_of, encode_cursor, matches, sort_key
from .._search import terms, words
from ._memory_automation import (
    AutomationState,
    MemoryAutomationReads,
    MemoryAutomationTransaction,
)
from ._memory_kb import KBState, MemoryKBReads, MemoryKBTransaction

__all__ = ["MemoryStore"]

#: How much a word counts in each part of a ticket (title, description, comments), and
#: BM25's k1 and b: the same as the SQL store's ``bm25(tk_search, 3.0, 2.0, 1.0)`` on
#: SQLite, so the two rank alike.
_WEIGHTS = (3.0, 2.0, 1.0)
_K1, _B = 1.2, 0.75


class _Doc:
    """The words of one ticket, counted per part, as the search index holds them."""

    __slots__ = ("comments", "description", "length", "title", "typed")

    def __init__(self) -> None:
        self.typed: tuple[str, str] | None = None  # the title and description indexed
        self.title: Counter[str] = Counter()
        self.description: Counter[str] = Counter()
        self.comments: Counter[str] = Counter()
        self.length = 0  # words in all three parts

    def frequency(self, term: str) -> float:
        title, description, comments = _WEIGHTS
        return (
            title * self.title[term]
            + description * self.description[term]
            + comments * self.comments[term]
        )


class _SearchIndex:
    """An inverted index over tickets' titles, descriptions and comments, ranked by BM25.

    It is the reference for the SQL store's FTS5 table: the same parts, weights
    and formula (Okapi BM25 with k1=1.2, b=0.75, per-part weights summed into one
    frequency, IDF ``log((N - n + 0.5) / (n + 0.5))`` floored at 1e-6). It is
    kept up to date as transactions commit, never rebuilt.
    """

    def __init__(self) -> None:
        self._docs: dict[int, _Doc] = {}
        self._postings: dict[str, set[int]] = {}
        self._total = 0  # words in all documents

    def _has(self, doc: _Doc, term: str) -> bool:
        return term in doc.title or term in doc.description or term in doc.comments

    def put_ticket(self, ticket: Ticket) -> None:
        """Index a new ticket, or re-index its title and description if they changed."""
        doc = self._docs.setdefault(ticket.id, _Doc())
        typed = (ticket.title, ticket.description)
        if doc.typed == typed:
            return
        old = set(doc.title) | set(doc.description)
        self._total -= doc.length
        doc.typed = typed
        doc.title, doc.description = Counter(terms(typed[0])), Counter(terms(typed[1]))
        doc.length = doc.title.total() + doc.description.total() + doc.comments.total()
        self._total += doc.length
        for term in old:
            if not self._has(doc, term):
                self._drop(term, ticket.id)
        for term in (*doc.title, *doc.description):
            self._postings.setdefault(term, set()).add(ticket.id)

    def _drop(self, term: str, ticket_id: int) -> None:
        holders = self._postings[term]
        holders.discard(ticket_id)
        if not holders:
            del self._postings[term]

    def add_comment(self, comment: Comment) -> None:
        doc = self._docs.setdefault(comment.ticket_id, _Doc())
        found = terms(comment.body)
        doc.comments.update(found)
        doc.length += len(found)
        self._total += len(found)
        for term in found:
            self._postings.setdefault(term, set()).add(comment.ticket_id)

    def remove_comment(self, comment: Comment) -> None:
        """Forget the words of a comment's body (before it is replaced)."""
        doc = self._docs[comment.ticket_id]
        found = terms(comment.body)
        doc.comments.subtract(found)
        doc.comments = +doc.comments  # drop the words counted down to zero
        doc.length -= len(found)
        self._total -= len(found)
        for term in set(found):
            if not self._has(doc, term):
                self._drop(term, comment.ticket_id)

    def search(
        self, text: str, limit: int, keep: Callable[[int], bool] | None = None
    ) -> list[tuple[int, float]]:
        count = len(self._docs)
        scores: dict[int, float] = {}
        for term in {w.casefold() for w in words(text)}:
            holders = self._postings.get(term)
            if not holders:
                continue
            idf = max(math.log((count - len(holders) + 0.5) / (len(holders) + 0.5)), 1e-6)
            average = self._total / count
            for ticket_id in holders:
                if keep is not None and not keep(ticket_id):
                    continue
                doc = self._docs[ticket_id]
                f = doc.frequency(term)
                norm = _K1 * (1 - _B + _B * doc.length / average)
                scores[ticket_id] = scores.get(ticket_id, 0.0) + idf * f * (_K1 + 1) / (f + norm)
        return heapq.nsmallest(limit, scores.items(), key=lambda hit: (-hit[1], hit[0]))


class _State:
    """Everything a memory store holds; a transaction stages changes to it."""

    def __init__(self) -> None:
        self.tickets: dict[int, Ticket] = {}
        self.ids_by_key: dict[str, int] = {}
        self.counters: dict[str, int] = {}
        self.events: dict[int, list[Event]] = {}
        self.comments: dict[int, list[Comment]] = {}
        self.attachments: dict[int, Attachment] = {}
        self.content: dict[int, bytes] = {}
        self.attachments_by_ticket: dict[int, list[int]] = {}
        self.references: dict[str, int] = {}  # external reference -> ticket id
        self.denials: list[Denial] = []
        self.last_ids: dict[str, int] = {
            "ticket": 0,
            "event": 0,
            "comment": 0,
            "attachment": 0,
            "denial": 0,
        }
        self.search = _SearchIndex()
        self.automation = AutomationState()
        self.kb = KBState()


class _MemoryTransaction(MemoryAutomationTransaction, MemoryKBTransaction):
    """Stages writes; :meth:`_apply` makes them visible all at once."""

    def __init__(self, state: _State) -> None:
        self._state = state
        self._tickets: dict[int, Ticket] = {}
        self._ids_by_key: dict[str, int] = {}
        self._counters: dict[str, int] = {}
        self._events: list[Event] = []
        self._comments: list[Comment] = []
        self._attachments: list[tuple[Attachment, bytes]] = []
        self._references: dict[str, int] = {}
        self._denials: list[Denial] = []
        self._changed_comments: dict[int, Comment] = {}  # stored comments, by id
        self._changed_events: dict[int, Event] = {}  # stored events, by id
        self._changed_attachments: dict[int, Attachment] = {}  # stored attachments, by id
        self._renames: list[tuple[str, str, str]] = []  # (person, alias, tenant) in denials
        self._last_ids = dict(state.last_ids)
        self._start_automation(state.automation)
        self._start_kb(state.kb)

    def _next_id(self, kind: str) -> int:
        self._last_ids[kind] += 1
        return self._last_ids[kind]

    def create_ticket(self, draft: Ticket, prefix: str) -> Ticket:
        number = self._counters.get(prefix, self._state.counters.get(prefix, 0)) + 1
        self._counters[prefix] = number
        ticket = evolve(draft, id=self._next_id("ticket"), key=f"{prefix}-{number}")
        self._tickets[ticket.id] = ticket
        self._ids_by_key[ticket.key] = ticket.id
        return ticket

    def get_ticket(self, ref: int | str, *, tenant: str | None = None) -> Ticket | None:
        if isinstance(ref, str):
            found = self._ids_by_key.get(ref, self._state.ids_by_key.get(ref))
            if found is None:
                return None
            ref = found
        ticket = self._tickets.get(ref) or self._state.tickets.get(ref)
        return ticket if ticket is None or tenant is None or ticket.tenant == tenant else None

    def update_ticket(self, ticket: Ticket, expected_version: int) -> None:
        current = self.get_ticket(ticket.id)
        if current is None or current.version != expected_version:
            actual = -1 if current is None else current.version
            raise ConflictError.stale(ticket.key, expected_version, actual)
        self._tickets[ticket.id] = ticket

    def add_events(self, events: Sequence[Event]) -> list[Event]:
        stored = [evolve(e, id=self._next_id("event")) for e in events]
        self._events.extend(stored)
        return stored

    def add_comment(self, comment: Comment) -> Comment:
        stored = evolve(comment, id=self._next_id("comment"))
        self._comments.append(stored)
        return stored

    def add_attachment(self, attachment: Attachment, content: bytes) -> Attachment:
        stored = evolve(attachment, id=self._next_id("attachment"))
        self._attachments.append((stored, bytes(content)))
        return stored

    def add_reference(self, ticket_id: int, reference: str) -> None:
        holder = self._references.get(reference, self._state.references.get(reference))
        if holder is not None:
            existing = self.get_ticket(holder)
            key = None if existing is None else existing.key
            raise DuplicateReference(
                f"reference {reference!r} already belongs to {key or f'ticket {holder}'}",
                reference=reference,
                key=key,
            )
        self._references[reference] = ticket_id

    def get_comment(self, ticket_id: int, comment_id: int) -> Comment | None:
        found = self._changed_comments.get(comment_id)
        if found is None:
            found = next(
                (c for c in self._comments if c.id == comment_id),
                next(
                    (c for c in self._state.comments.get(ticket_id, ()) if c.id == comment_id),
                    None,
                ),
            )
        return found if found is not None and found.ticket_id == ticket_id else None

    def update_comment(self, comment: Comment) -> None:
        stored = self.get_comment(comment.ticket_id, comment.id)
        if stored is None:
            raise NotFound(f"no comment with id {comment.id} on ticket {comment.ticket_key}")
        new = evolve(
            stored,
            author=comment.author,
            body=comment.body,
            redacted_at=comment.redacted_at,
            redacted_by=comment.redacted_by,
        )
        staged = [i for i, c in enumerate(self._comments) if c.id == comment.id]
        if staged:
            self._comments[staged[0]] = new
        else:
            self._changed_comments[comment.id] = new

    def rewrite_event(self, event: Event) -> None:
        stored = self._changed_events.get(event.id)
        if stored is None:
            stored = next(
                (e for e in self._events if e.id == event.id),
                next(
                    (e for e in self._state.events.get(event.ticket_id, ()) if e.id == event.id),
                    None,
                ),
            )
        if stored is None or stored.ticket_id != event.ticket_id:
            raise NotFound(f"no event with id {event.id} on ticket {event.ticket_key}")
        new = evolve(stored, actor=event.actor, old=event.old, new=event.new, data=event.data)
        staged = [i for i, e in enumerate(self._events) if e.id == event.id]
        if staged:
            self._events[staged[0]] = new
        else:
            self._changed_events[event.id] = new

    def update_attachment(self, attachment: Attachment) -> None:
        stored = self._changed_attachments.get(attachment.id)
        if stored is None:
            stored = next(
                (a for a, _ in self._attachments if a.id == attachment.id),
                self._state.attachments.get(attachment.id),
            )
        if stored is None or stored.ticket_id != attachment.ticket_id:
            raise NotFound(
                f"no attachment with id {attachment.id} on ticket {attachment.ticket_key}"
            )
        new = evolve(stored, uploaded_by=attachment.uploaded_by)
        staged = [i for i, (a, _) in enumerate(self._attachments) if a.id == attachment.id]
        if staged:
            self._attachments[staged[0]] = (new, self._attachments[staged[0]][1])
        else:
            self._changed_attachments[attachment.id] = new

    def add_denial(self, denial: Denial) -> Denial:
        stored = evolve(denial, id=self._next_id("denial"))
        self._denials.append(stored)
        return stored

    def rename_in_denials(self, person: str, alias: str, *, tenant: str) -> None:
        self._denials = [renamed_denial(d, person, alias, tenant) for d in self._denials]
        self._renames.append((person, alias, tenant))

    def _staged_events_for(self, ticket_id: int) -> list[Event]:
        """The ticket's events, stored and staged, as this transaction sees them."""
        stored = [self._changed_events.get(e.id, e) for e in self._state.events.get(ticket_id, ())]
        return stored + [e for e in self._events if e.ticket_id == ticket_id]

    def _apply(self) -> None:
        state = self._state
        self._apply_automation()
        self._apply_kb()
        state.tickets.update(self._tickets)
        for ticket in self._tickets.values():
            state.search.put_ticket(ticket)
        state.ids_by_key.update(self._ids_by_key)
        state.counters.update(self._counters)
        state.references.update(self._references)
        for event in self._events:
            state.events.setdefault(event.ticket_id, []).append(event)
        for comment in self._comments:
            state.comments.setdefault(comment.ticket_id, []).append(comment)
            state.search.add_comment(comment)
        for attachment, content in self._attachments:
            state.attachments[attachment.id] = attachment
            state.content[attachment.id] = content
            state.attachments_by_ticket.setdefault(attachment.ticket_id, []).append(attachment.id)
        for new in self._changed_comments.values():
            held = state.comments[new.ticket_id]
            at = next(i for i, c in enumerate(held) if c.id == new.id)
            state.search.remove_comment(held[at])
            held[at] = new
            state.search.add_comment(new)
        for event in self._changed_events.values():
            held_events = state.events[event.ticket_id]
            held_events[next(i for i, e in enumerate(held_events) if e.id == event.id)] = event
        for attachment in self._changed_attachments.values():
            state.attachments[attachment.id] = attachment
        for person, alias, tenant in self._renames:
            state.denials = [renamed_denial(d, person, alias, tenant) for d in state.denials]
        state.denials.extend(self._denials)
        state.last_ids = self._last_ids


class MemoryStore(MemoryAutomationReads, MemoryKBReads):
    """Keeps everything in process memory; thread-safe; lost when the process ends.

    Transactions are serialised by a lock and staged, so a failure inside one
    leaves the store exactly as it was.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._state = _State()

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        with self._lock:
            tx = _MemoryTransaction(self._state)
            yield tx
            tx._apply()

    def _automation_state(self) -> AutomationState:
        return self._state.automation

    def _kb_state(self) -> KBState:
        return self._state.kb

    def _tickets(self) -> dict[int, Ticket]:
        return self._state.tickets

    def _ticket(self, ticket_id: int, tenant: str | None) -> Ticket | None:
        """The ticket with this id if ``tenant`` may see it (call with the lock held)."""
        ticket = self._state.tickets.get(ticket_id)
        if ticket is None or (tenant is not None and ticket.tenant != tenant):
            return None
        return ticket

    def get_ticket(self, ref: int | str, *, tenant: str | None = None) -> Ticket | None:
        with self._lock:
            if isinstance(ref, str):
                found = self._state.ids_by_key.get(ref)
                if found is None:
                    return None
                ref = found
            return self._ticket(ref, tenant)

    def ticket_for_reference(self, reference: str, *, tenant: str | None = None) -> Ticket | None:
        with self._lock:
            found = self._state.references.get(reference)
            return None if found is None else self._ticket(found, tenant)

    def events(
        self, ticket_id: int, *, until: datetime | None = None, tenant: str | None = None
    ) -> list[Event]:
        with self._lock:
            if tenant is not None and self._ticket(ticket_id, tenant) is None:
                return []
            events = list(self._state.events.get(ticket_id, ()))
        if until is not None:
            events = [e for e in events if e.at <= until]
        return events

    def events_for(
        self, ticket_ids: Sequence[int], *, tenant: str | None = None
    ) -> dict[int, list[Event]]:
        """Each ticket's events, oldest first; tickets not there (or not in ``tenant``) left out."""
        with self._lock:
            return {
                i: list(self._state.events.get(i, ()))
                for i in ticket_ids
                if self._ticket(i, tenant) is not None
            }

    def comments(self, ticket_id: int, *, tenant: str | None = None) -> list[Comment]:
        with self._lock:
            if tenant is not None and self._ticket(ticket_id, tenant) is None:
                return []
            return list(self._state.comments.get(ticket_id, ()))

    def attachments(self, ticket_id: int, *, tenant: str | None = None) -> list[Attachment]:
        with self._lock:
            if tenant is not None and self._ticket(ticket_id, tenant) is None:
                return []
            ids = self._state.attachments_by_ticket.get(ticket_id, ())
            return [self._state.attachments[i] for i in ids]

    def get_attachment(self, attachment_id: int, *, tenant: str | None = None) -> Attachment | None:
        with self._lock:
            found = self._state.attachments.get(attachment_id)
            if found is None or (
                tenant is not None and self._ticket(found.ticket_id, tenant) is None
            ):
                return None
            return found

    def attachment_content(self, attachment_id: int, *, tenant: str | None = None) -> bytes | None:
        with self._lock:
            if tenant is not None and self.get_attachment(attachment_id, tenant=tenant) is None:
                return None
            return self._state.content.get(attachment_id)

    def query(self, query: Query, *, tenant: str | None = None) -> Page:
        with self._lock:
            tickets = list(self._state.tickets.values())
        hits = sorted(
            (t for t in tickets if (tenant is None or t.tenant == tenant) and matches(t, query)),
            key=lambda t: sort_key(t, query.order_by),
        )
        after = cursor_of(query)
        start = (
            0
            if after is None
            else bisect.bisect_right(hits, after, key=lambda t: sort_key(t, query.order_by))
        )
        items = tuple(hits[start : start + query.limit])
        more = start + query.limit < len(hits)
        return Page(items, encode_cursor(query, items[-1]) if more and items else None)

    def search(
        self, text: str, *, limit: int, tenant: str | None = None, where: Query | None = None
    ) -> list[tuple[Ticket, float]]:
        with self._lock:
            tickets = self._state.tickets

            def wanted(i: int) -> bool:
                ticket = tickets[i]
                if tenant is not None and ticket.tenant != tenant:
                    return False
                return where is None or matches(ticket, where)

            keep = None if tenant is None and where is None else wanted
            found = self._state.search.search(text, limit, keep)
            return [(tickets[i], score) for i, score in found]

    def events_by_actor(self, actor: str, *, tenant: str | None = None) -> list[Event]:
        with self._lock:
            found = [
                e
                for ticket_id, events in self._state.events.items()
                if self._ticket(ticket_id, tenant) is not None
                for e in events
                if e.actor == actor
            ]
        return sorted(found, key=lambda e: e.id)

    def comments_by_author(self, author: str, *, tenant: str | None = None) -> list[Comment]:
        with self._lock:
            found = [
                c
                for ticket_id, comments in self._state.comments.items()
                if self._ticket(ticket_id, tenant) is not None
                for c in comments
                if c.author == author
            ]
        return sorted(found, key=lambda c: c.id)

    def denials(self, *, tenant: str | None = None, limit: int = 100) -> list[Denial]:
        limit = check_denials_limit(limit)
        with self._lock:
            held = self._state.denials
            found = [d for d in reversed(held) if tenant is None or d.tenant == tenant]
        return found[:limit]

    def close(self) -> None:
        """Nothing to release; present so every store can be closed alike."""

    def __repr__(self) -> str:
        return f"<MemoryStore tickets={len(self._state.tickets)}>"
