"""The store contract's tests of tenants, redaction, erasure support and the access log.

:class:`TenantContract` is mixed into :class:`ticketkit.testing.StoreContract`,
whose fixtures (``store``, ``tracker``, ``clock``) it uses; it is not run on
its own. A ticket of another tenant must be exactly as absent as a missing
one for every scoped read: ``None`` or an empty list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from attrs import evolve

from ._access_log import Denial
from ._clock import FrozenClock
from ._errors import DuplicateReference, NotFound, ValidationError
from ._events import Event, EventType
from ._model import Attachment, Comment, Ticket
from ._query import Condition, Op, Query, check_query
from ._testing_support import Boom as _Boom
from ._testing_support import draft
from ._tracker import Tracker
from ._values import REDACTED
from .storage import Store

__all__ = ["TenantContract"]

_AT = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)
_TENANTS = ("acme", "beta", "default")


def _draft(title: str, tenant: str, **changes: Any) -> Ticket:
    return draft(
        title=title, tenant=tenant, reporter=f"customer@{tenant}.example", at=_AT, **changes
    )


class _World:
    """Two tickets of tenant ``acme`` and one of ``beta``, each with everything a ticket has."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.tickets: dict[str, Ticket] = {}
        self.comments: dict[str, Comment] = {}
        self.attachments: dict[str, Attachment] = {}
        self.events: dict[str, list[Event]] = {}
        for name, tenant in (("a1", "acme"), ("a2", "acme"), ("b1", "beta")):
            self._add(name, tenant)

    def _add(self, name: str, tenant: str) -> None:
        content = f"bytes of {name}".encode()
        with self.store.transaction() as tx:
            ticket = tx.create_ticket(
                _draft(
                    f"Printer {name} jams",
                    tenant,
                    organisation=f"{tenant} ltd",
                    watchers=frozenset({f"watcher@{tenant}.example"}),
                ),
                "TK",
            )
            self.events[name] = tx.add_events(
                [
                    Event(
                        ticket.id,
                        ticket.key,
                        1,
                        EventType.OPENED,
                        f"agent@{tenant}.example",
                        _AT,
                        data={"n": name},
                    )
                ]
            )
            self.comments[name] = tx.add_comment(
                Comment(0, ticket.id, ticket.key, f"agent@{tenant}.example", f"Toner {name}", _AT)
            )
            self.attachments[name] = tx.add_attachment(
                Attachment(
                    0,
                    ticket.id,
                    ticket.key,
                    f"{name}.txt",
                    "text/plain",
                    len(content),
                    hashlib.sha256(content).hexdigest(),
                    f"agent@{tenant}.example",
                    _AT,
                ),
                content,
            )
            tx.add_reference(ticket.id, f"ref:{name}")
        self.tickets[name] = ticket


def _reads(world: _World, name: str) -> dict[str, Callable[[str | None], Any]]:
    """Every scoped read of ticket ``name``'s data, as a function of the tenant."""
    store = world.store
    ticket = world.tickets[name]
    attachment = world.attachments[name]
    author = world.comments[name].author
    reads: dict[str, Callable[[str | None], Any]] = {
        "get_ticket by id": lambda t: store.get_ticket(ticket.id, tenant=t),
        "get_ticket by key": lambda t: store.get_ticket(ticket.key, tenant=t),
        "ticket_for_reference": lambda t: store.ticket_for_reference(f"ref:{name}", tenant=t),
        "events": lambda t: store.events(ticket.id, tenant=t),
        "events until": lambda t: store.events(ticket.id, until=_AT, tenant=t),
        "comments": lambda t: store.comments(ticket.id, tenant=t),
        "attachments": lambda t: store.attachments(ticket.id, tenant=t),
        "get_attachment": lambda t: store.get_attachment(attachment.id, tenant=t),
        "attachment_content": lambda t: store.attachment_content(attachment.id, tenant=t),
        "events_by_actor": lambda t: [
            e for e in store.events_by_actor(author, tenant=t) if e.ticket_id == ticket.id
        ],
        "comments_by_author": lambda t: [
            c for c in store.comments_by_author(author, tenant=t) if c.ticket_id == ticket.id
        ],
        "query": lambda t: [
            x for x in store.query(check_query(Query(limit=100), {}), tenant=t) if x.id == ticket.id
        ],
        "search": lambda t: [
            x for x, _ in store.search(f"printer {name}", limit=100, tenant=t) if x.id == ticket.id
        ],
    }

    def in_transaction(ref: int | str) -> Callable[[str | None], Any]:
        def read(t: str | None) -> Any:
            with store.transaction() as tx:
                return tx.get_ticket(ref, tenant=t)

        return read

    reads["Transaction.get_ticket by id"] = in_transaction(ticket.id)
    reads["Transaction.get_ticket by key"] = in_transaction(ticket.key)
    by_key = getattr(store, "events_by_key", None)
    if by_key is not None:  # the SQL store's one-statement history read
        reads["events_by_key"] = lambda t: by_key(ticket.key, tenant=t)
    return reads


def _absent(value: Any) -> bool:
    return value is None or value == []


class TenantContract:
    """Tenant scoping of every read, and the operations personal-data handling uses."""

    # -- tenants on tickets ------------------------------------------------------------

    def test_tenant_and_organisation_round_trip(self, store: Store) -> None:
        """A ticket keeps its tenant and organisation; by default it is of tenant 'default'."""
        with store.transaction() as tx:
            plain = tx.create_ticket(_draft("Plain", "default"), "TK")
            acme = tx.create_ticket(_draft("Acme", "acme", organisation="Acme Ltd"), "TK")
        assert store.get_ticket(plain.id) == plain
        assert (plain.tenant, plain.organisation) == ("default", None)
        assert store.get_ticket(acme.key) == acme
        assert (acme.tenant, acme.organisation) == ("acme", "Acme Ltd")

    def test_every_scoped_read_hides_another_tenants_ticket(self, store: Store) -> None:
        """Read as tenant B, A's ticket and all that hangs off it is absent: None or []."""
        world = _World(store)
        for what, read in _reads(world, "a1").items():
            assert _absent(read("beta")), f"{what} shows acme's ticket to beta"
            assert _absent(read("nobody")), f"{what} shows acme's ticket to an unknown tenant"
            assert not _absent(read("acme")), f"{what} hides acme's ticket from acme"
            assert read("acme") == read(None), f"{what} differs scoped and unscoped"

    def test_scoped_reads_of_a_missing_ticket_look_the_same(self, store: Store) -> None:
        """Another tenant's ticket and a ticket that does not exist give the same answer."""
        world = _World(store)
        ticket = world.tickets["a1"]
        missing = ticket.id + 1000
        assert store.get_ticket(ticket.id, tenant="beta") == store.get_ticket(missing)
        assert store.events(ticket.id, tenant="beta") == store.events(missing)
        assert store.comments(ticket.id, tenant="beta") == store.comments(missing)
        assert store.attachments(ticket.id, tenant="beta") == store.attachments(missing)

    def test_query_never_returns_another_tenants_tickets(self, tracker: Tracker) -> None:
        """Whatever the conditions, a scoped query keeps to its tenant."""
        store = tracker.store
        for n in range(12):
            tenant = _TENANTS[n % 3]
            tracker.open(
                f"Ticket {n}",
                actor="agent",
                priority=("P1", "P2", "P3", "P4")[n % 4],
                tenant=tenant,
                organisation=None if n % 2 else f"{tenant} ltd",
            )
        wheres: list[dict[str, Any]] = [
            {},
            {"priority": {"in": ["P1", "P2"]}},
            {"title": {"contains": "ticket"}},
            {"tenant": "beta"},  # asks for another tenant: gets nothing
            {"organisation": {"is_null": False}},
        ]
        for where in wheres:
            every = tracker.query(where, limit=100).items
            for tenant in _TENANTS:
                query = check_query(Query.build(where, limit=100), tracker.config.fields)
                found = store.query(query, tenant=tenant).items
                assert found == tuple(t for t in every if t.tenant == tenant), (where, tenant)

    def test_query_with_any_agrees_on_every_store(self, tracker: Tracker) -> None:
        """'any' matches when one alternative holds; scoped as every query is."""
        for n in range(6):
            tracker.open(
                f"Ticket {n}",
                actor="agent",
                reporter="carol" if n % 3 == 0 else "dave",
                watchers=["carol"] if n == 1 else [],
                tenant="acme" if n < 3 else "beta",
            )
        mine = Condition(
            "any",
            Op.ANY,
            (Condition("reporter", Op.EQ, "carol"), Condition("watchers", Op.CONTAINS, "carol")),
        )
        query = check_query(Query((mine,)), tracker.config.fields)
        assert [t.key for t in tracker.store.query(query)] == ["TK-1", "TK-2", "TK-4"]
        assert [t.key for t in tracker.store.query(query, tenant="acme")] == ["TK-1", "TK-2"]
        assert [t.key for t in tracker.store.query(query, tenant="beta")] == ["TK-4"]
        nothing = check_query(Query((Condition("any", Op.ANY, ()),)), tracker.config.fields)
        assert tracker.store.query(nothing).items == ()

    def test_cursor_of_one_tenant_never_shows_another(self, tracker: Tracker) -> None:
        """A's cursor used as B walks B's tickets only; pages of A visit A's tickets once."""
        store = tracker.store
        for n in range(10):
            tracker.open(f"Ticket {n}", actor="agent", tenant="acme" if n % 2 else "beta")
        query = check_query(Query(limit=2), tracker.config.fields)
        seen: list[str] = []
        page = store.query(query, tenant="acme")
        while True:
            seen.extend(t.key for t in page)
            assert {t.tenant for t in page} <= {"acme"}
            if page.next_cursor is None:
                break
            stolen = store.query(evolve(query, cursor=page.next_cursor), tenant="beta")
            assert {t.tenant for t in stolen} <= {"beta"}
            page = store.query(evolve(query, cursor=page.next_cursor), tenant="acme")
        assert seen == [f"TK-{n + 1}" for n in range(10) if n % 2]

    def test_scoped_search_applies_the_limit_to_the_tenants_tickets(self, tracker: Tracker) -> None:
        """Many better matches elsewhere do not push a tenant's own match out of its results."""
        for _ in range(5):
            tracker.open("Printer printer printer", "printer printer", actor="a", tenant="beta")
        mine = tracker.open("Old printer", actor="a", tenant="acme")
        found = tracker.store.search("printer", limit=1, tenant="acme")
        assert [t.key for t, _ in found] == [mine.key]
        assert {t.tenant for t, _ in tracker.store.search("printer", limit=100, tenant="beta")} == {
            "beta"
        }
        assert tracker.store.search("printer", limit=100, tenant="gamma") == []

    def test_search_where_filters_before_the_limit(self, tracker: Tracker) -> None:
        """With ``where``, better matches the query leaves out never crowd out one it keeps."""
        for n in range(5):
            tracker.open("Printer printer", "printer", actor=f"r{n}", tenant="acme")
        mine = tracker.open("Old printer", actor="bob", tenant="acme", watchers=["kim"])
        tracker.open("Old printer", actor="bob", tenant="beta", watchers=["kim"])
        fields = tracker.config.fields
        own = Condition(
            "any",
            Op.ANY,
            (Condition("reporter", Op.EQ, "kim"), Condition("watchers", Op.CONTAINS, "kim")),
        )
        where = check_query(Query(conditions=(own,)), fields)
        found = tracker.store.search("printer", limit=1, tenant="acme", where=where)
        assert [t.key for t, _ in found] == [mine.key]
        everywhere = tracker.store.search("printer", limit=10, where=where)
        assert [t.title for t, _ in everywhere] == ["Old printer", "Old printer"]
        some = check_query(Query(conditions=(Condition("reporter", Op.IN, {"r1", "r3"}),)), fields)
        found = tracker.store.search("printer", limit=1, where=some)
        assert [t.reporter for t, _ in found] == ["r1"]  # a tie: the lower id
        assert tracker.store.search("printer", limit=10, where=some, tenant="beta") == []
        text = check_query(Query(text="old"), fields)
        assert {t.id for t, _ in tracker.store.search("printer", limit=10, where=text)} == {
            mine.id,
            mine.id + 1,
        }

    def test_references_are_unique_per_store_across_tenants(self, store: Store) -> None:
        """An external reference belongs to one ticket of the whole store, whatever its tenant."""
        with store.transaction() as tx:
            acme = tx.create_ticket(_draft("Acme", "acme"), "TK")
            beta = tx.create_ticket(_draft("Beta", "beta"), "TK")
            tx.add_reference(acme.id, "mail:<1@example>")
        with pytest.raises(DuplicateReference), store.transaction() as tx:
            tx.add_reference(beta.id, "mail:<1@example>")
        assert store.ticket_for_reference("mail:<1@example>", tenant="beta") is None
        assert store.ticket_for_reference("mail:<1@example>", tenant="acme") == acme

    # -- the tracker -------------------------------------------------------------------

    def test_open_in_a_tenant_replays_and_cannot_move(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """tenant and organisation are in the opened snapshot; update refuses to change them."""
        ticket = tracker.open("Acme", actor="ann", tenant="acme", organisation="Acme Ltd")
        clock.advance(minutes=1)
        tracker.update(ticket.key, actor="ann", title="Acme printer", tenant="acme")
        stored = tracker.get(ticket.key)
        assert (stored.tenant, stored.organisation) == ("acme", "Acme Ltd")
        history = tracker.history(ticket.key)
        assert history[0].data["ticket"]["tenant"] == "acme"
        assert tracker.as_of(ticket.key, clock.now()) == stored
        for change in ({"tenant": "beta"}, {"organisation": "Beta Ltd"}, {"organisation": None}):
            with pytest.raises(ValidationError, match=next(iter(change))):
                tracker.update(ticket.key, actor="ann", **change)
        assert tracker.get(ticket.key) == stored

    @pytest.mark.parametrize("tenant", ["", "   ", "a\nb", 7, None, "x" * 255])
    def test_open_refuses_a_bad_tenant(self, tracker: Tracker, tenant: object) -> None:
        """A tenant is a non-empty, single-line name; nothing is stored otherwise."""
        with pytest.raises(ValidationError, match="tenant"):
            tracker.open("Bad", actor="ann", tenant=tenant)  # type: ignore[arg-type]
        assert tracker.store.get_ticket(1) is None

    # -- redaction and erasure support ---------------------------------------------

    def test_update_comment_replaces_body_and_marks(self, store: Store) -> None:
        """Body, author and redaction marks change; the rest stays; search forgets old words."""
        world = _World(store)
        old = world.comments["a1"]
        redacted = evolve(old, body="[redacted]", redacted_at=_AT, redacted_by="admin")
        with store.transaction() as tx:
            tx.update_comment(evolve(redacted, internal=True, created=_AT + timedelta(days=1)))
        assert store.comments(old.ticket_id) == [redacted]
        assert store.search("toner", limit=10) != []  # the other tickets' comments
        assert world.tickets["a1"].id not in [t.id for t, _ in store.search("toner", limit=10)]
        assert [t.id for t, _ in store.search("redacted", limit=10)] == [old.ticket_id]

    def test_update_comment_of_a_comment_added_in_the_same_transaction(self, store: Store) -> None:
        """A comment added and redacted in one transaction is stored redacted."""
        ticket = _World(store).tickets["b1"]
        with store.transaction() as tx:
            added = tx.add_comment(Comment(0, ticket.id, ticket.key, "bob", "secret", _AT))
            tx.update_comment(evolve(added, body="gone", redacted_at=_AT, redacted_by="admin"))
        assert store.comments(ticket.id)[-1].body == "gone"

    def test_update_comment_of_an_unknown_comment_changes_nothing(self, store: Store) -> None:
        """NotFound for an unknown id or another ticket's comment; the transaction rolls back."""
        world = _World(store)
        comment = world.comments["a1"]
        other = world.tickets["a2"]
        for bad in (evolve(comment, id=comment.id + 1000), evolve(comment, ticket_id=other.id)):

            def redact(bad: Comment = bad) -> None:
                with store.transaction() as tx:
                    tx.update_comment(evolve(world.comments["a2"], body="changed"))
                    tx.update_comment(evolve(bad, body="changed"))

            with pytest.raises(NotFound):
                redact()
        assert store.comments(comment.ticket_id) == [comment]
        assert store.comments(other.id) == [world.comments["a2"]]

    def test_rewrite_event_replaces_actor_and_values(self, store: Store) -> None:
        """actor, old, new and data change; ticket, version, type, time and field stay."""
        world = _World(store)
        ticket = world.tickets["a1"]
        with store.transaction() as tx:
            [changed] = tx.add_events(
                [
                    Event(
                        ticket.id,
                        ticket.key,
                        2,
                        EventType.FIELD_CHANGED,
                        "bob",
                        _AT + timedelta(seconds=1),
                        field="title",
                        old="Bob's secret",
                        new="Printer",
                    )
                ]
            )
        rewritten = evolve(changed, actor="erased-1", old=dict(REDACTED), data={"redacted": True})
        with store.transaction() as tx:
            tx.rewrite_event(evolve(rewritten, version=99, type=EventType.MERGED, field="x"))
        assert store.events(ticket.id) == [*world.events["a1"], rewritten]
        assert store.events_by_actor("bob") == []
        assert store.events_by_actor("erased-1") == [rewritten]

    def test_rewrite_event_of_an_unknown_event_changes_nothing(self, store: Store) -> None:
        """NotFound for an unknown id or an event of another ticket; nothing changes."""
        world = _World(store)
        event = world.events["a1"][0]
        before = store.events(event.ticket_id)
        for bad in (
            evolve(event, id=event.id + 1000),
            evolve(event, ticket_id=world.tickets["b1"].id),
        ):

            def rewrite(bad: Event = bad) -> None:
                with store.transaction() as tx:
                    tx.rewrite_event(evolve(event, actor="changed"))
                    tx.rewrite_event(evolve(bad, actor="changed"))

            with pytest.raises(NotFound):
                rewrite()
        assert store.events(event.ticket_id) == before

    def test_a_persons_events_and_comments_oldest_first(self, store: Store) -> None:
        """events_by_actor and comments_by_author cover every ticket, by id, scoped by tenant."""
        world = _World(store)
        tickets = [world.tickets[n] for n in ("b1", "a1", "a2")]
        with store.transaction() as tx:
            events = [
                tx.add_events([Event(t.id, t.key, 2, EventType.COMMENTED, "pat", _AT)])[0]
                for t in tickets
            ]
            comments = [
                tx.add_comment(Comment(0, t.id, t.key, "pat", f"note {i}", _AT))
                for i, t in enumerate(tickets)
            ]
        assert store.events_by_actor("pat") == events
        assert store.comments_by_author("pat") == comments
        assert store.events_by_actor("pat", tenant="acme") == events[1:]
        assert store.comments_by_author("pat", tenant="beta") == comments[:1]
        assert store.events_by_actor("nobody") == []
        assert store.comments_by_author("nobody") == []

    # -- the access log ----------------------------------------------------------------

    def test_denials_come_back_newest_first_per_tenant(self, store: Store) -> None:
        """Denied attempts are kept; newest first, filtered by tenant, at most ``limit``."""
        added = []
        for n in range(5):
            with store.transaction() as tx:
                added.append(
                    tx.add_denial(
                        Denial(
                            _AT + timedelta(minutes=n),
                            f"user{n}@example.com",
                            "customer",
                            "acme" if n % 2 else "beta",
                            "read",
                            f"TK-{n}" if n else None,
                            f"not theirs ({n})",
                        )
                    )
                )
        assert len({d.id for d in added}) == 5
        assert store.denials() == added[::-1]
        assert store.denials(tenant="acme") == [added[3], added[1]]
        assert store.denials(limit=2) == [added[4], added[3]]
        assert store.denials(tenant="gamma") == []
        with pytest.raises(ValidationError, match="limit"):
            store.denials(limit=0)

    def test_a_failed_transaction_records_no_denial(self, store: Store) -> None:
        """A denial belongs to its transaction like every other write."""

        def fail() -> None:
            with store.transaction() as tx:
                tx.add_denial(Denial(_AT, "bob", "agent", "acme", "merge", "TK-1", "no"))
                raise _Boom

        with pytest.raises(_Boom):
            fail()
        assert store.denials() == []
