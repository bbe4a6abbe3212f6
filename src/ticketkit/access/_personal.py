"""Personal data: redaction, erasure and export of one person's data, and the access log.

Each operation is carried out for a :class:`~ticketkit.access.Session` and is
checked by its policy first (``redact``, ``erase``, ``export``). Redaction and
erasure change the stored past as well as the present: the text or address is
replaced in the ticket, in every event that recorded it (old and new values,
the ``opened`` snapshot) and in the comments, so the store keeps it nowhere.
What remains is the fact: a ``redacted`` or ``erased`` event says who did it
and when, never what was removed.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from attrs import evolve

from .._clock import ensure_utc
from .._errors import ConflictError, NotFound, ValidationError
from .._events import Event, EventType, ticket_event
from .._fields import FieldType
from .._model import Comment, Ticket
from .._query import Query
from .._text import check_name
from .._values import REDACTED, REDACTED_TEXT

if TYPE_CHECKING:
    from .._tracker import Ref
    from ..kb._article import Article, ArticleRevision, Solution
    from ._session import Session

__all__ = [
    "erase_person",
    "export_person",
    "record_denial",
    "redact_comment",
    "redact_field",
]

logger = logging.getLogger("ticketkit")

_RETRIES = 5
_PAGE = 500
_BUILTIN_TEXT = ("title", "description")


def record_denial(session: Session, permission: str, target: str, reason: str) -> None:
    """Add one refusal to the store's access log; a failing log is logged, never raised."""
    from .._access_log import Denial

    principal = session.principal
    try:
        denial = Denial(
            at=ensure_utc(session.tracker.clock.now(), "clock.now()"),
            principal=principal.id,
            role=str(principal.role),
            tenant=principal.tenant,
            permission=permission,
            target=target[:200],
            reason=reason[:500],
        )
        with session.tracker.store.transaction() as tx:
            tx.add_denial(denial)
    except Exception:
        logger.exception(
            "ticketkit could not record the refused %s of %s on %s",
            permission,
            principal.id,
            target,
        )


def _now(session: Session) -> Any:
    return ensure_utc(session.tracker.clock.now(), "clock.now()")


def _retrying(write: Callable[[], Any]) -> Any:
    for attempt in range(_RETRIES):
        try:
            return write()
        except ConflictError:
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# -- redaction -------------------------------------------------------------------------


def redact_comment(session: Session, ref: Ref, comment_id: int) -> Comment:
    """Blank one comment's body in the store (and its search index); record who and when."""
    tracker = session.tracker
    missing = NotFound(f"no comment with id {comment_id!r} on this ticket")
    if not isinstance(comment_id, int) or isinstance(comment_id, bool):
        raise missing

    def write() -> Comment:
        ticket = session._find(ref, "redact")
        session._require("redact", ticket, f"comment {comment_id}")
        found = [
            c
            for c in tracker.store.comments(ticket.id, tenant=session.tenant)
            if c.id == comment_id
        ]
        if not found:
            raise missing
        now = _now(session)
        redacted = evolve(found[0], body="", redacted_at=now, redacted_by=session.principal.id)
        with tracker.store.transaction() as tx:
            new = evolve(ticket, version=ticket.version + 1, updated=now)
            tx.update_ticket(new, ticket.version)
            tx.update_comment(redacted)
            stored = tx.add_events(
                [
                    ticket_event(
                        new, EventType.REDACTED, session.principal.id, now, comment_id=comment_id
                    )
                ]
            )
        tracker._publish(stored)
        return redacted

    result: Comment = _retrying(write)
    return result


def redact_field(session: Session, ref: Ref, field: str) -> Ticket:
    """Clear a custom field (``"name"`` or ``"fields.name"``) or the description, and its past."""
    tracker = session.tracker
    if not isinstance(field, str):
        raise ValidationError(f"field must be a name, got {field!r}", field="field")
    name = field.removeprefix("fields.")
    if name in _BUILTIN_TEXT and not field.startswith("fields."):
        path = name
    elif name in tracker.config.fields:
        path = f"fields.{name}"
    else:
        known = ", ".join([*_BUILTIN_TEXT, *sorted(tracker.config.fields)])
        raise ValidationError(
            f"cannot redact {field!r}; redact a custom field or one of: {known}", field="field"
        )
    marker = REDACTED

    def write() -> Ticket:
        ticket = session._find(ref, "redact")
        session._require("redact", ticket, path)
        events = tracker.store.events(ticket.id, tenant=session.tenant)
        now = _now(session)
        if path == "title":
            cleared = evolve(ticket, title=REDACTED_TEXT)
        elif path == "description":
            cleared = evolve(ticket, description=REDACTED_TEXT)
        else:
            cleared = evolve(ticket, fields={k: v for k, v in ticket.fields.items() if k != name})
        new = evolve(cleared, version=ticket.version + 1, updated=now)
        with tracker.store.transaction() as tx:
            tx.update_ticket(new, ticket.version)
            for event in events:
                changed = _without_field(event, path, name, marker)
                if changed is not None:
                    tx.rewrite_event(changed)
            redaction = evolve(
                ticket_event(new, EventType.REDACTED, session.principal.id, now),
                field=path,
                old=marker,
                new=marker,
            )
            stored = tx.add_events([redaction])
        tracker._publish(stored)
        return new

    return session._view(_retrying(write))


def _without_field(event: Event, path: str, name: str, marker: Any) -> Event | None:
    """The event with the value of ``path`` replaced by the marker, or None if it has none."""
    if event.type is EventType.OPENED:
        snap = dict(event.data.get("ticket", {}))
        if path in _BUILTIN_TEXT:
            snap[path] = marker
        else:
            values = dict(snap.get("fields") or {})
            if name not in values:
                return None
            values[name] = marker
            snap["fields"] = values
        return evolve(event, data={**event.data, "ticket": snap})
    if event.field == path and event.type is not EventType.REDACTED:
        return evolve(
            event,
            old=None if event.old is None else marker,
            new=None if event.new is None else marker,
        )
    return None


# -- erasure -------------------------------------------------------------------------------


def _tickets(session: Session) -> list[Ticket]:
    """Every ticket of the session's tenant, unfiltered (erasure and export are tenant-wide)."""
    store = session.tracker.store
    found: list[Ticket] = []
    cursor: str | None = None
    while True:
        page = store.query(
            Query(limit=_PAGE, cursor=cursor, order_by=("id",)), tenant=session.tenant
        )
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


def _swap(value: Any, person: str, alias: str) -> Any:
    """``value`` with every string equal to ``person`` replaced by ``alias``, recursively."""
    if isinstance(value, str):
        return alias if value == person else value
    if isinstance(value, list | tuple):
        return type(value)(_swap(v, person, alias) for v in value)
    if isinstance(value, dict) or (hasattr(value, "items") and hasattr(value, "keys")):
        return {k: _swap(v, person, alias) for k, v in value.items()}
    return value


def _mentions(value: Any, person: str) -> bool:
    if isinstance(value, str):
        return value == person
    if isinstance(value, list | tuple | frozenset | set):
        return any(_mentions(v, person) for v in value)
    if hasattr(value, "items"):
        return any(_mentions(v, person) for v in value.values())
    return False


def _erase_ticket(ticket: Ticket, person: str, alias: str, user_fields: set[str]) -> Ticket:
    fields = {
        k: (alias if k in user_fields and v == person else v) for k, v in ticket.fields.items()
    }
    return evolve(
        ticket,
        reporter=alias if ticket.reporter == person else ticket.reporter,
        assignee=alias if ticket.assignee == person else ticket.assignee,
        watchers=frozenset(alias if w == person else w for w in ticket.watchers),
        fields=fields,
    )


def erase_person(session: Session, person: str) -> str:
    """Replace ``person`` by a new pseudonym everywhere in the tenant, access log included."""
    person = check_name(person, "person")
    session._require("erase", None, person)
    tracker = session.tracker
    alias = f"erased-{secrets.token_hex(8)}"
    user_fields = {n for n, fd in tracker.config.fields.items() if fd.type is FieldType.USER}
    actor = session.principal.id
    for ticket in _tickets(session):

        def erase(ticket_id: int = ticket.id) -> None:
            _erase_one(session, ticket_id, person, alias, user_fields, actor)

        _retrying(erase)
    with tracker.store.transaction() as tx:
        tx.rename_in_denials(person, alias, tenant=session.tenant)
        # Notifications waiting (or kept after sending) name their recipients.
        tx.rename_in_outbox(person, alias, tenant=session.tenant)
        # Knowledge-base articles and revisions they wrote, solutions they linked.
        tx.rename_in_articles(person, alias, tenant=session.tenant)
    return alias


def _erase_one(
    session: Session, ticket_id: int, person: str, alias: str, user_fields: set[str], actor: str
) -> None:
    tracker = session.tracker
    store = tracker.store
    ticket = store.get_ticket(ticket_id, tenant=session.tenant)
    if ticket is None:
        return
    events = store.events(ticket.id, tenant=session.tenant)
    comments = store.comments(ticket.id, tenant=session.tenant)
    changed_events = [
        e
        for e in events
        if e.actor == person
        or _mentions(e.old, person)
        or _mentions(e.new, person)
        or _mentions(dict(e.data), person)
    ]
    theirs = [c for c in comments if c.author == person]
    uploads = [
        a for a in store.attachments(ticket.id, tenant=session.tenant) if a.uploaded_by == person
    ]
    erased = _erase_ticket(ticket, person, alias, user_fields)
    if not changed_events and not theirs and not uploads and erased == ticket:
        return
    now = _now(session)
    new = evolve(erased, version=ticket.version + 1, updated=now)
    with store.transaction() as tx:
        tx.update_ticket(new, ticket.version)
        for event in changed_events:
            tx.rewrite_event(
                evolve(
                    event,
                    actor=alias if event.actor == person else event.actor,
                    old=_swap(event.old, person, alias),
                    new=_swap(event.new, person, alias),
                    data=_without_their_text(event, person, _swap(dict(event.data), person, alias)),
                )
            )
        for comment in theirs:
            tx.update_comment(
                evolve(comment, author=alias, body="", redacted_at=now, redacted_by=actor)
            )
        for attachment in uploads:
            tx.update_attachment(evolve(attachment, uploaded_by=alias))
        stored = tx.add_events([ticket_event(new, EventType.ERASED, actor, now, pseudonym=alias)])
    tracker._publish(stored)


#: Free text a person writes into an event's data: a rating's comment, a time entry's note.
_FREE_TEXT = {
    EventType.CSAT_RATED: "comment",
    EventType.TIME_LOGGED: "note",
    EventType.TIME_REMOVED: "note",
}


def _without_their_text(event: Event, person: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the text ``person`` wrote in the event blanked, as their comments are."""
    key = _FREE_TEXT.get(event.type)
    if key is not None and event.actor == person and data.get(key) is not None:
        data[key] = None
    return data


# -- export ----------------------------------------------------------------------------------


def export_person(session: Session, person: str) -> dict[str, Any]:
    """``person``'s tickets (reported, assigned or watched), comments and events, as JSON data."""
    from ..serde import unstructure

    person = check_name(person, "person")
    session._require("export", None, person)
    store = session.tracker.store
    tickets = [
        t for t in _tickets(session) if person in (t.reporter, t.assignee) or person in t.watchers
    ]
    comments = store.comments_by_author(person, tenant=session.tenant)
    events = store.events_by_actor(person, tenant=session.tenant)
    articles, revisions, solutions = _knowledge_of(session, person)
    return {
        "person": person,
        "tenant": session.tenant,
        "tickets": [unstructure(t) for t in tickets],
        "comments": [unstructure(c) for c in comments if c.redacted_at is None],
        "events": [unstructure(e) for e in events],
        "articles": [{"key": a.key, **unstructure(a)} for a in articles],
        "article_revisions": [unstructure(r) for r in revisions],
        "solutions": [unstructure(s) for s in solutions],
    }


def _knowledge_of(
    session: Session, person: str
) -> tuple[list[Article], list[ArticleRevision], list[Solution]]:
    """The tenant's articles ``person`` wrote or last edited, their revisions and links."""
    store = session.tracker.store
    articles: list[Article] = []
    revisions: list[ArticleRevision] = []
    solutions: list[Solution] = []
    after = 0
    while page := store.articles(tenant=session.tenant, after=after, limit=500):
        for article in page:
            theirs = [
                r
                for r in store.article_revisions(article.id, tenant=session.tenant)
                if r.author == person
            ]
            if theirs or person in (article.author, article.updated_by):
                articles.append(article)
            revisions.extend(theirs)
            solutions.extend(
                s
                for s in store.solutions(article_id=article.id, tenant=session.tenant)
                if s.linked_by == person
            )
        after = page[-1].id
    return articles, revisions, solutions
