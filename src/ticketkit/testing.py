"""The contract every ticketkit store must meet, as a reusable pytest suite.

Subclass :class:`StoreContract` in a test module and say how to make a fresh,
empty store; pytest then runs every contract test against it::

    from ticketkit.storage.memory import MemoryStore
    from ticketkit.testing import StoreContract

    class TestMemoryStore(StoreContract):
        def make_store(self) -> MemoryStore:
            return MemoryStore()

The suite talks to the store only through the public
:class:`~ticketkit.storage.Store` and :class:`~ticketkit.storage.Transaction`
protocols and through a :class:`~ticketkit.Tracker` built on it, and closes
every store it makes. :class:`FrozenClock` is re-exported for tests that need
to control time. This module needs pytest (the ``test`` extra).

pytest rewrites ``assert`` statements only in test modules; for its detailed
failure messages in this suite too, call
``pytest.register_assert_rewrite("ticketkit.testing", "ticketkit._testing_tenants",
"ticketkit._testing_personal", "ticketkit._testing_automation",
"ticketkit._testing_kb", "ticketkit._testing_support")`` in your ``conftest.py``
before anything imports this module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

try:
    import pytest
except ImportError as exc:  # pragma: no cover - exercised only without the test extra
    raise ImportError(
        "ticketkit.testing needs pytest; install the test extra: pip install 'ticketkit[test]'"
    ) from exc

from attrs import evolve

from ._clock import FrozenClock
from ._errors import ConflictError, DuplicateReference, InvalidCursor, NotFound
from ._events import Event, EventType
from ._fields import FieldDef, FieldType
from ._history import replay
from ._model import Attachment, Comment, Link, LinkKind, Ticket
from ._priority import Impact, Priority, Urgency
from ._query import Query
from ._testing_automation import AutomationContract
from ._testing_kb import KnowledgeBaseContract
from ._testing_personal import PersonalDataContract
from ._testing_support import Boom as _Boom
from ._testing_support import draft
from ._testing_support import run_threads as _run_threads
from ._testing_tenants import TenantContract
from ._tracker import Tracker
from .storage import Store

__all__ = ["CONTRACT_FIELDS", "FrozenClock", "StoreContract"]


def _choices(*choices: str) -> dict[str, Any]:
    # Passed as keywords: attrs' generic ``converter=tuple`` confuses mypy otherwise.
    return {"choices": choices}


#: The custom fields of the contract's tracker: one of each type.
CONTRACT_FIELDS = (
    FieldDef("note", FieldType.TEXT),
    FieldDef("points", FieldType.INT),
    FieldDef("cost", FieldType.DECIMAL),
    FieldDef("billable", FieldType.BOOL),
    FieldDef("due", FieldType.DATE),
    FieldDef("severity", FieldType.CHOICE, **_choices("minor", "major", "critical")),
    FieldDef("components", FieldType.MULTI_CHOICE, **_choices("api", "db", "ui")),
    FieldDef("owner", FieldType.USER),
)

#: Where the contract's clock starts; the microseconds catch stores that drop them.
START = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)


def _draft(now: datetime, title: str = "A ticket", **changes: Any) -> Ticket:
    return draft(title=title, tenant="default", reporter="reporter@example.com", at=now, **changes)


def _create(store: Store, prefix: str = "TK", **changes: Any) -> Ticket:
    with store.transaction() as tx:
        return tx.create_ticket(_draft(START, **changes), prefix)


def _update(store: Store, ticket: Ticket, **changes: Any) -> Ticket:
    new = evolve(ticket, version=ticket.version + 1, **changes)
    with store.transaction() as tx:
        tx.update_ticket(new, ticket.version)
    return new


def _event(ticket: Ticket, at: datetime, **changes: Any) -> Event:
    values: dict[str, Any] = {
        "ticket_id": ticket.id,
        "ticket_key": ticket.key,
        "version": ticket.version,
        "type": EventType.FIELD_CHANGED,
        "actor": "alice",
        "at": at,
    }
    values.update(changes)
    return Event(**values)


def _comment(ticket: Ticket, body: str, *, internal: bool = False) -> Comment:
    return Comment(0, ticket.id, ticket.key, "alice", body, START, internal)


def _attachment(ticket: Ticket, filename: str, content: bytes) -> Attachment:
    return Attachment(
        id=0,
        ticket_id=ticket.id,
        ticket_key=ticket.key,
        filename=filename,
        media_type="application/octet-stream",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by="alice",
        created=START,
    )


# -- the query catalogue --------------------------------------------------------------
#
# Eight tickets, t1 … t8 (keys TK-1 … TK-8, opened in that order, a minute
# apart), with values chosen so that comparisons, None handling, ties and
# LIKE-style wildcards all show. Expected results below name them by number.

_CATALOGUE: tuple[dict[str, Any], ...] = (
    {
        "title": "Mail is down",
        "description": "Outlook cannot connect to the server",
        "priority": "P1",
        "assignee": "alice",
        "tags": ["email", "urgent"],
        "fields": {
            "note": "vip",
            "points": 3,
            "cost": "10",
            "billable": True,
            "due": "2026-02-01",
            "severity": "critical",
            "components": ["db", "api"],
            "owner": "olga",
        },
    },
    {
        "title": "Printer jam",
        "description": "Third floor printer",
        "priority": "P3",
        "assignee": "bob",
        "tags": ["hardware"],
        "fields": {
            "points": -2,
            "cost": "9.5",
            "billable": False,
            "due": "2026-01-15",
            "severity": "minor",
            "components": ["ui"],
        },
    },
    {
        "title": "VPN drops 50% of the time",
        "priority": "P2",
        "tags": ["network", "urgent"],
        "fields": {"points": 10, "cost": "100.25", "severity": "major"},
    },
    {
        "title": "Password reset",
        "description": "User forgot the PASSWORD again",
        "priority": "P3",
        "assignee": "alice",
        "fields": {"cost": "9.50", "due": "2026-03-01"},
    },
    {
        "title": "Café menu broken",
        "description": "The Ünicode page shows boxes",
        "priority": "P4",
        "assignee": "Zed",
        "reporter": "customer@example.com",
        "tags": ["web"],
        "fields": {"points": 3, "severity": "minor"},
    },
    {
        "title": "Slow laptop",
        "description": "500 ms input lag",
        "impact": "high",
        "urgency": "high",
    },
    {
        "title": "Disk full",
        "description": "Server disk",
        "priority": "P5",
        "assignee": "carol",
        "watchers": ["dave"],
    },
    {"title": "Keyboard_missing key", "priority": "P3"},
)

#: ``where`` conditions on built-in fields and the tickets they select.
_BUILTIN_CASES: tuple[tuple[str, Mapping[str, Any], set[int]], ...] = (
    ("status eq", {"status": "new"}, {1, 2, 4, 5, 8}),
    ("status ne", {"status": {"ne": "new"}}, {3, 6, 7}),
    ("status in", {"status": {"in": ["open", "resolved"]}}, {3, 6, 7}),
    ("status not_in", {"status": {"not_in": ["new"]}}, {3, 6, 7}),
    ("priority eq", {"priority": "P3"}, {2, 4, 8}),
    ("priority eq lower case", {"priority": "p1"}, {1, 6}),
    ("priority lt", {"priority": {"lt": "P3"}}, {1, 3, 6}),
    ("priority le", {"priority": {"le": "P3"}}, {1, 2, 3, 4, 6, 8}),
    ("priority gt", {"priority": {"gt": "P3"}}, {5, 7}),
    ("priority ge", {"priority": {"ge": "P4"}}, {5, 7}),
    ("priority range", {"priority": {"ge": "P2", "le": "P3"}}, {2, 3, 4, 8}),
    ("assignee eq", {"assignee": "alice"}, {1, 4}),
    ("assignee ne keeps None", {"assignee": {"ne": "alice"}}, {2, 3, 5, 6, 7, 8}),
    ("assignee in", {"assignee": {"in": ["bob", "carol"]}}, {2, 7}),
    ("assignee not_in keeps None", {"assignee": {"not_in": ["alice", "bob"]}}, {3, 5, 6, 7, 8}),
    ("assignee lt skips None", {"assignee": {"lt": "bob"}}, {1, 4, 5}),
    ("assignee is_null", {"assignee": {"is_null": True}}, {3, 6, 8}),
    ("assignee is not null", {"assignee": {"is_null": False}}, {1, 2, 4, 5, 7}),
    ("resolved_at is not null", {"resolved_at": {"is_null": False}}, {6, 7}),
    ("impact eq", {"impact": "high"}, {6}),
    ("impact ne keeps None", {"impact": {"ne": "high"}}, {1, 2, 3, 4, 5, 7, 8}),
    ("urgency is_null", {"urgency": {"is_null": True}}, {1, 2, 3, 4, 5, 7, 8}),
    ("resolution is_null", {"resolution": {"is_null": True}}, {1, 2, 3, 4, 5, 6, 7, 8}),
    ("merged_into is not null", {"merged_into": {"is_null": False}}, set()),
    ("id in", {"id": {"in": [2, 4, 99]}}, {2, 4}),
    ("id gt", {"id": {"gt": 6}}, {7, 8}),
    ("key eq", {"key": "TK-3"}, {3}),
    ("version gt", {"version": {"gt": 1}}, {3, 6, 7}),
    ("reporter eq", {"reporter": "customer@example.com"}, {5}),
    ("queue eq", {"queue": "default"}, {1, 2, 3, 4, 5, 6, 7, 8}),
    ("title contains ignores case", {"title": {"contains": "DOWN"}}, {1}),
    ("description contains", {"description": {"contains": "printer"}}, {2}),
    ("title contains percent", {"title": {"contains": "%"}}, {3}),
    ("title contains underscore", {"title": {"contains": "_"}}, {8}),
    ("tags contains", {"tags": {"contains": "urgent"}}, {1, 3}),
    ("tags contains normalised", {"tags": {"contains": "URGENT"}}, {1, 3}),
    ("watchers contains", {"watchers": {"contains": "dave"}}, {7}),
    ("two fields", {"assignee": "alice", "priority": "P3"}, {4}),
)

#: ``where`` conditions on custom fields and the tickets they select.
_CUSTOM_CASES: tuple[tuple[str, Mapping[str, Any], set[int]], ...] = (
    ("int eq", {"fields.points": 3}, {1, 5}),
    ("int ne keeps None", {"fields.points": {"ne": 3}}, {2, 3, 4, 6, 7, 8}),
    ("int lt", {"fields.points": {"lt": 3}}, {2}),
    ("int le", {"fields.points": {"le": 3}}, {1, 2, 5}),
    ("int gt is numeric", {"fields.points": {"gt": 3}}, {3}),
    ("int ge negative", {"fields.points": {"ge": -2}}, {1, 2, 3, 5}),
    ("int in", {"fields.points": {"in": [10, -2]}}, {2, 3}),
    ("int is_null", {"fields.points": {"is_null": True}}, {4, 6, 7, 8}),
    ("decimal eq is numeric", {"fields.cost": "9.5"}, {2, 4}),
    ("decimal gt is numeric", {"fields.cost": {"gt": "9.5"}}, {1, 3}),
    ("decimal lt", {"fields.cost": {"lt": 10}}, {2, 4}),
    ("decimal le", {"fields.cost": {"le": Decimal("10.00")}}, {1, 2, 4}),
    ("decimal not_in", {"fields.cost": {"not_in": ["9.5", "100.25"]}}, {1, 5, 6, 7, 8}),
    ("date lt", {"fields.due": {"lt": "2026-02-01"}}, {2}),
    ("date ge", {"fields.due": {"ge": date(2026, 2, 1)}}, {1, 4}),
    ("date eq", {"fields.due": date(2026, 3, 1)}, {4}),
    ("choice eq", {"fields.severity": "minor"}, {2, 5}),
    ("choice in", {"fields.severity": {"in": ["critical", "major"]}}, {1, 3}),
    ("choice not_in keeps None", {"fields.severity": {"not_in": ["minor"]}}, {1, 3, 4, 6, 7, 8}),
    ("multi-choice contains", {"fields.components": {"contains": "db"}}, {1}),
    ("multi-choice contains other", {"fields.components": {"contains": "ui"}}, {2}),
    ("multi-choice is_null", {"fields.components": {"is_null": True}}, {3, 4, 5, 6, 7, 8}),
    ("bool eq true", {"fields.billable": True}, {1}),
    ("bool eq false", {"fields.billable": False}, {2}),
    ("user eq", {"fields.owner": "olga"}, {1}),
    ("text eq", {"fields.note": "vip"}, {1}),
    ("text is not null", {"fields.note": {"is_null": False}}, {1}),
)

#: Text searches (title or description, ignoring case) and the tickets found.
_TEXT_CASES: tuple[tuple[str, Mapping[str, Any] | None, set[int]], ...] = (
    ("mail", None, {1}),
    ("PASSWORD", None, {4}),
    ("server", None, {1, 7}),
    ("server", {"priority": "P5"}, {7}),
    ("50%", None, {3}),
    ("%", None, {3}),
    ("_", None, {8}),
    ("CAFÉ", None, {5}),
    ("ünicode", None, {5}),
    ("no such words", None, set()),
)

#: Orderings and the complete order of the catalogue under each.
_ORDER_CASES: tuple[tuple[Sequence[str], list[int]], ...] = (
    (["id"], [1, 2, 3, 4, 5, 6, 7, 8]),
    (["-id"], [8, 7, 6, 5, 4, 3, 2, 1]),
    (["priority"], [1, 6, 3, 2, 4, 8, 5, 7]),
    (["-priority"], [7, 5, 2, 4, 8, 3, 1, 6]),
    (["assignee"], [5, 1, 4, 2, 7, 3, 6, 8]),
    (["-assignee"], [3, 6, 8, 7, 2, 1, 4, 5]),
    (["resolved_at"], [6, 7, 1, 2, 3, 4, 5, 8]),
    (["-resolved_at"], [1, 2, 3, 4, 5, 8, 7, 6]),
    (["fields.points"], [2, 1, 5, 3, 4, 6, 7, 8]),
    (["-fields.points"], [4, 6, 7, 8, 3, 1, 5, 2]),
    (["fields.cost", "-id"], [4, 2, 1, 3, 8, 7, 6, 5]),
    (["-fields.due"], [3, 5, 6, 7, 8, 4, 1, 2]),
    (["updated"], [1, 2, 4, 5, 8, 3, 6, 7]),
    (["-created"], [8, 7, 6, 5, 4, 3, 2, 1]),
    (["status", "-priority"], [5, 2, 4, 8, 1, 3, 7, 6]),
    (["title"], [5, 7, 8, 1, 4, 2, 6, 3]),
)


def _label(order: Sequence[str]) -> str:
    return ",".join(order)


def _keys(numbers: Sequence[int] | set[int]) -> list[str]:
    return [f"TK-{n}" for n in numbers]


def _mismatches(
    tracker: Tracker, cases: Sequence[tuple[str, Mapping[str, Any], set[int]]]
) -> list[str]:
    """The cases whose query does not select exactly the expected tickets, in id order."""
    wrong = []
    for name, where, expected in cases:
        page = tracker.query(where, limit=100)
        got = [t.key for t in page]
        if got != _keys(sorted(expected)) or page.next_cursor is not None:
            wrong.append(f"{name} {dict(where)}: got {got}, want {sorted(expected)}")
    return wrong


def _walk(tracker: Tracker, limit: int, **query: Any) -> list[list[str]]:
    """Every page of a query, as lists of keys, following ``next_cursor`` to the end."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = tracker.query(limit=limit, cursor=cursor, **query)
        pages.append([t.key for t in page])
        cursor = page.next_cursor
        if cursor is None:
            return pages
        assert len(pages) <= 50, "pagination does not end"


class StoreContract(
    TenantContract, PersonalDataContract, AutomationContract, KnowledgeBaseContract
):
    """The behaviour every store must show. Subclass it and implement :meth:`make_store`.

    The tests of tenant scoping, redaction support and the access log come
    from :class:`~ticketkit._testing_tenants.TenantContract`, those of what
    erasure needs from :class:`~ticketkit._testing_personal.PersonalDataContract`.

    Each test gets a fresh store from :meth:`make_store` and closes it
    afterwards. Stores must be safe to use from several threads at once; the
    concurrency tests run :attr:`threads` threads doing :attr:`writes_per_thread`
    writes each (a slow backend may lower them, never below 2 threads).
    """

    #: Threads in the concurrency tests.
    threads: int = 8
    #: Successful writes each thread makes in the concurrency tests.
    writes_per_thread: int = 50

    def make_store(self) -> Store:
        """A new, empty store. Subclasses must implement this."""
        raise NotImplementedError("a StoreContract subclass must implement make_store()")

    # -- fixtures --------------------------------------------------------------------

    @pytest.fixture
    def clock(self) -> FrozenClock:
        return FrozenClock(START)

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    @pytest.fixture
    def tracker(self, store: Store, clock: FrozenClock) -> Tracker:
        return Tracker(store, clock=clock, fields=CONTRACT_FIELDS)

    @pytest.fixture
    def catalogue(self, tracker: Tracker, clock: FrozenClock) -> Tracker:
        """The tracker with the eight catalogue tickets, some started or resolved."""
        for spec in _CATALOGUE:
            clock.advance(minutes=1, microseconds=1)
            tracker.open(actor=spec.get("reporter", "agent@example.com"), **spec)
        clock.advance(hours=1)
        tracker.transition("TK-3", "start", actor="alice")
        clock.advance(hours=1)
        tracker.transition("TK-6", "resolve", actor="alice")
        clock.advance(hours=1)
        tracker.transition("TK-7", "resolve", actor="carol")
        return tracker

    # -- keys and ids ----------------------------------------------------------------

    def test_keys_start_at_one_for_each_prefix(self, store: Store) -> None:
        """The first ticket of every prefix is PREFIX-1."""
        assert [_create(store, p).key for p in ("HD", "BUG", "A", "AA")] == [
            "HD-1",
            "BUG-1",
            "A-1",
            "AA-1",
        ]

    def test_keys_are_sequential_per_prefix(self, store: Store) -> None:
        """Keys of each prefix count up by one, whatever other prefixes do in between."""
        keys = [_create(store, p).key for p in ("HD", "BUG", "HD", "HD", "BUG", "A", "HD")]
        assert keys == ["HD-1", "BUG-1", "HD-2", "HD-3", "BUG-2", "A-1", "HD-4"]

    def test_tickets_created_in_one_transaction_get_consecutive_keys(self, store: Store) -> None:
        """Several tickets created in one transaction get consecutive keys and ids."""
        with store.transaction() as tx:
            made = [tx.create_ticket(_draft(START, f"t{i}"), "HD") for i in range(3)]
        assert [t.key for t in made] == ["HD-1", "HD-2", "HD-3"]
        assert [t.id for t in made] == sorted({t.id for t in made})
        assert _create(store, "HD").key == "HD-4"

    def test_keys_and_ids_are_never_given_out_twice(self, store: Store) -> None:
        """Across prefixes every ticket has its own id and key, and each finds its ticket."""
        made = [_create(store, prefix, title=f"n{i}") for i in range(10) for prefix in ("X", "Y")]
        assert len({t.key for t in made}) == len({t.id for t in made}) == 20
        for ticket in made:
            assert store.get_ticket(ticket.key) == ticket
            assert store.get_ticket(ticket.id) == ticket

    def test_failed_transaction_gives_out_no_key(self, store: Store) -> None:
        """A key drawn in a transaction that fails is not used up: the next ticket gets it."""
        _create(store, "HD")

        def fail() -> None:
            with store.transaction() as tx:
                assert tx.create_ticket(_draft(START), "HD").key == "HD-2"
                raise _Boom

        with pytest.raises(_Boom):
            fail()
        assert store.get_ticket("HD-2") is None
        assert _create(store, "HD").key == "HD-2"
        assert _create(store, "BUG").key == "BUG-1"

    def test_created_ticket_keeps_the_draft_values(self, store: Store) -> None:
        """create_ticket assigns id and key and keeps every other value of the draft."""
        draft = _draft(START, "Mail is down", description="It is")
        with store.transaction() as tx:
            made = tx.create_ticket(draft, "HD")
        assert made.id >= 1
        assert made == evolve(draft, id=made.id, key="HD-1")
        assert store.get_ticket("HD-1") == made

    # -- reading ---------------------------------------------------------------------

    def test_get_ticket_by_id_and_by_key(self, store: Store) -> None:
        """A ticket is found by its id (int) and by its key (str)."""
        first, second = _create(store, "HD"), _create(store, "HD")
        assert store.get_ticket(first.id) == first
        assert store.get_ticket("HD-2") == second
        assert store.get_ticket(second.id) == second

    def test_get_unknown_ticket_gives_none(self, store: Store) -> None:
        """An unknown id or key gives None, in a transaction too."""
        made = _create(store, "HD")
        for ref in (made.id + 1000, "HD-2", "BUG-1", "HD-10", "H-1"):
            assert store.get_ticket(ref) is None
            with store.transaction() as tx:
                assert tx.get_ticket(ref) is None

    def test_transaction_sees_its_own_writes(self, store: Store) -> None:
        """Inside a transaction get_ticket returns what the transaction created or updated."""
        existing = _create(store, "HD")
        with store.transaction() as tx:
            made = tx.create_ticket(_draft(START, "new"), "HD")
            assert tx.get_ticket(made.id) == made
            assert tx.get_ticket("HD-2") == made
            changed = evolve(existing, title="changed", version=2)
            tx.update_ticket(changed, 1)
            assert tx.get_ticket(existing.id) == changed
            assert tx.get_ticket("HD-1") == changed
        assert store.get_ticket("HD-1") == changed
        assert store.get_ticket("HD-2") == made

    def test_ticket_round_trips_every_value(self, store: Store) -> None:
        """Every attribute of a ticket, every custom-field type included, comes back equal."""
        draft = _draft(
            START,
            "Ünïcode “title” with 'quotes' and \"more\" 😀",
            description="line 1\nline 2\twith a tab\r\nand an emoji 😀",
            status="pending_customer",
            priority=Priority.P2,
            impact=Impact.HIGH,
            urgency=Urgency.MEDIUM,
            queue="support",
            assignee="alice@example.com",
            resolution="fixed",
            tags=frozenset({"email", "ünïcode"}),
            fields={
                "note": "multi\nline",
                "points": 9007199254740993,
                "cost": Decimal("1234.50"),
                "billable": False,
                "due": date(2028, 2, 29),
                "severity": "major",
                "components": ("api", "ui"),
                "owner": "olga",
            },
            watchers=frozenset({"carol", "dave"}),
            links=frozenset({Link(LinkKind.BLOCKS, "HD-7"), Link(LinkKind.CHILD_OF, "BUG-3")}),
            merged_into="HD-9",
            resolved_at=START + timedelta(days=1, microseconds=7),
            updated=START + timedelta(microseconds=1),
        )
        with store.transaction() as tx:
            made = tx.create_ticket(draft, "HD")
        loaded = store.get_ticket(made.id)
        assert loaded == made, f"stored {made!r}\nloaded {loaded!r}"
        assert loaded is not None
        for moment in (loaded.created, loaded.updated, loaded.resolved_at):
            assert moment is not None
            assert moment.utcoffset() == timedelta(0)
        assert loaded.fields["points"] == 9007199254740993
        assert isinstance(loaded.fields["cost"], Decimal)
        assert isinstance(loaded.fields["due"], date)
        assert not isinstance(loaded.fields["due"], datetime)
        assert loaded.fields["components"] == ("api", "ui")

    def test_optional_values_round_trip_as_none(self, store: Store) -> None:
        """A ticket with every optional value left empty comes back with them empty."""
        made = _create(store, "HD")
        loaded = store.get_ticket(made.id)
        assert loaded == made
        assert loaded is not None
        assert (loaded.assignee, loaded.impact, loaded.urgency, loaded.resolution) == (None,) * 4
        assert (loaded.merged_into, loaded.resolved_at) == (None, None)
        assert (loaded.tags, loaded.watchers, loaded.links) == (frozenset(),) * 3
        assert dict(loaded.fields) == {}

    # -- updates and optimistic concurrency ------------------------------------------

    def test_update_at_the_expected_version_replaces_the_ticket(self, store: Store) -> None:
        """update_ticket at the current version stores the new ticket, every value included."""
        made = _create(store, "HD")
        new = _update(
            store,
            made,
            title="new title",
            status="open",
            assignee="alice",
            tags=frozenset({"a"}),
            fields={"points": 2, "components": ("db",)},
            links=frozenset({Link(LinkKind.RELATES, "HD-5")}),
            updated=START + timedelta(minutes=1),
        )
        assert store.get_ticket(made.id) == new
        cleared = _update(store, new, assignee=None, tags=frozenset(), fields={})
        assert store.get_ticket("HD-1") == cleared

    @pytest.mark.parametrize("expected", [0, 2, 5])
    def test_update_at_a_stale_version_conflicts_and_changes_nothing(
        self, store: Store, expected: int
    ) -> None:
        """update_ticket at any other version raises ConflictError and stores nothing."""
        made = _create(store, "HD")

        def write() -> None:
            with store.transaction() as tx:
                tx.add_events([_event(made, START, version=expected + 1)])
                tx.update_ticket(evolve(made, title="lost", version=expected + 1), expected)

        with pytest.raises(ConflictError) as info:
            write()
        assert (info.value.key, info.value.expected, info.value.actual) == ("HD-1", expected, 1)
        assert store.get_ticket(made.id) == made
        assert store.events(made.id) == []

    def test_second_write_from_the_same_version_conflicts(self, store: Store) -> None:
        """Two writers starting from the same version: the second one gets ConflictError."""
        made = _create(store, "HD")
        first = _update(store, made, title="first")
        with pytest.raises(ConflictError):
            _update(store, made, title="second")
        assert store.get_ticket(made.id) == first

    # -- atomicity -------------------------------------------------------------------

    def test_failed_transaction_leaves_nothing_behind(self, store: Store) -> None:
        """An exception inside a transaction undoes every write made in it."""
        kept = _create(store, "HD")
        with store.transaction() as tx:
            kept_events = tx.add_events([_event(kept, START)])
            kept_comment = tx.add_comment(_comment(kept, "kept"))
            kept_file = tx.add_attachment(_attachment(kept, "kept.txt", b"kept"), b"kept")
        staged: dict[str, Any] = {}

        def fail() -> None:
            with store.transaction() as tx:
                staged["ticket"] = tx.create_ticket(_draft(START, "doomed"), "HD")
                staged["other"] = tx.create_ticket(_draft(START, "doomed"), "BUG")
                staged["events"] = tx.add_events(
                    [_event(staged["ticket"], START), _event(kept, START, version=2)]
                )
                staged["comment"] = tx.add_comment(_comment(kept, "doomed"))
                staged["file"] = tx.add_attachment(_attachment(kept, "d.bin", b"\x00d"), b"\x00d")
                tx.update_ticket(evolve(kept, title="doomed", version=2), 1)
                raise _Boom("fail after writing")

        with pytest.raises(_Boom, match="fail after writing"):
            fail()
        assert store.get_ticket(staged["ticket"].id) is None
        assert store.get_ticket("HD-2") is None
        assert store.get_ticket("BUG-1") is None
        assert store.get_ticket(kept.id) == kept
        assert store.events(kept.id) == kept_events
        assert store.events(staged["ticket"].id) == []
        assert store.comments(kept.id) == [kept_comment]
        assert store.attachments(kept.id) == [kept_file]
        assert store.get_attachment(staged["file"].id) is None
        assert store.attachment_content(staged["file"].id) is None
        assert store.attachment_content(kept_file.id) == b"kept"
        assert [_create(store, "HD").key, _create(store, "BUG").key] == ["HD-2", "BUG-1"]

    def test_conflict_inside_a_transaction_undoes_its_earlier_writes(self, store: Store) -> None:
        """When update_ticket conflicts, the transaction's other writes are undone too."""
        first, second = _create(store, "HD"), _create(store, "HD")
        _update(store, second, title="moved on")

        def write() -> None:
            with store.transaction() as tx:
                tx.update_ticket(evolve(first, title="half", version=2), 1)
                tx.add_comment(_comment(first, "half"))
                tx.update_ticket(evolve(second, title="stale", version=2), 1)

        with pytest.raises(ConflictError):
            write()
        assert store.get_ticket(first.id) == first
        assert store.comments(first.id) == []

    def test_store_is_usable_after_a_failed_transaction(self, store: Store) -> None:
        """After a transaction fails, the next one commits normally."""
        with pytest.raises(_Boom), store.transaction():
            raise _Boom
        made = _create(store, "HD")
        assert store.get_ticket("HD-1") == made

    # -- events ----------------------------------------------------------------------

    def test_added_events_get_increasing_ids_in_order(self, store: Store) -> None:
        """add_events returns the events in order, each with a larger id than the last."""
        made = _create(store, "HD")
        with store.transaction() as tx:
            stored = tx.add_events([_event(made, START, field=f"f{i}") for i in range(5)])
        assert [e.field for e in stored] == [f"f{i}" for i in range(5)]
        ids = [e.id for e in stored]
        assert ids == sorted(set(ids))
        assert ids[0] >= 1
        assert stored == [evolve(_event(made, START, field=f"f{i}"), id=ids[i]) for i in range(5)]

    def test_event_ids_increase_across_tickets_and_transactions(self, store: Store) -> None:
        """Event ids order all events, whichever ticket they belong to."""
        a, b = _create(store, "HD"), _create(store, "BUG")
        ids: list[int] = []
        for ticket in (a, b, a, b):
            with store.transaction() as tx:
                ids += [e.id for e in tx.add_events([_event(ticket, START)])]
        assert ids == sorted(set(ids))

    def test_events_round_trip_every_value(self, store: Store) -> None:
        """Every event attribute, JSON values of each kind included, comes back equal."""
        made = _create(store, "HD")
        events = [
            _event(
                made,
                START + timedelta(microseconds=3),
                type=EventType.OPENED,
                version=1,
                data={"ticket": {"title": "x", "tags": ["a", "b"], "assignee": None}},
            ),
            _event(
                made,
                START + timedelta(seconds=1),
                type=EventType.FIELD_CHANGED,
                version=2,
                field="fields.cost",
                old={"$decimal": "1.50"},
                new=None,
                data={"nested": {"list": [1, 2.5, None, True, "ü"], "empty": {}}, "n": -3},
            ),
            _event(
                made,
                START + timedelta(seconds=2),
                type=EventType.STATUS_CHANGED,
                version=3,
                field="status",
                old="new",
                new="open",
                actor="Ünïcode Üser",
                data={"action": "start", "resolved_at": None},
            ),
            _event(made, START, version=4, field="tags", old=[], new=["x"], data={}),
            _event(made, START, version=5, field="fields.points", old=True, new=2**40),
        ]
        with store.transaction() as tx:
            stored = tx.add_events(events)
        assert store.events(made.id) == stored, store.events(made.id)
        for got in store.events(made.id):
            assert got.at.utcoffset() == timedelta(0)
            assert isinstance(got.type, EventType)

    def test_events_come_back_oldest_first(self, store: Store) -> None:
        """A ticket's events come back in the order they were added, and only its own."""
        a, b = _create(store, "HD"), _create(store, "HD")
        expected: list[Event] = []
        for i in range(4):
            with store.transaction() as tx:
                expected += tx.add_events([_event(a, START, field=f"a{i}", version=i + 1)])
                tx.add_events([_event(b, START, field=f"b{i}")])
        assert store.events(a.id) == expected
        assert [e.field for e in store.events(b.id)] == ["b0", "b1", "b2", "b3"]
        assert store.events(a.id + b.id + 100) == []

    def test_events_until_keeps_those_at_or_before(self, store: Store) -> None:
        """events(until=t) keeps the events at or before t, oldest first."""
        made = _create(store, "HD")
        times = [START + timedelta(minutes=m) for m in (0, 0, 1, 2, 3)]
        with store.transaction() as tx:
            stored = tx.add_events([_event(made, at, version=i + 1) for i, at in enumerate(times)])
        assert store.events(made.id, until=times[2]) == stored[:3]
        assert store.events(made.id, until=times[0]) == stored[:2]
        assert store.events(made.id, until=times[2] - timedelta(microseconds=1)) == stored[:2]
        assert store.events(made.id, until=times[-1] + timedelta(days=1)) == stored
        assert store.events(made.id, until=START - timedelta(microseconds=1)) == []

    # -- comments --------------------------------------------------------------------

    def test_comments_come_back_oldest_first_with_ids(self, store: Store) -> None:
        """Comments keep every value, get increasing ids and come back oldest first."""
        a, b = _create(store, "HD"), _create(store, "HD")
        stored: list[Comment] = []
        for i, internal in enumerate((False, True, False)):
            with store.transaction() as tx:
                stored.append(tx.add_comment(_comment(a, f"reply {i}\n😀", internal=internal)))
                tx.add_comment(_comment(b, f"other {i}"))
        assert store.comments(a.id) == stored
        assert [c.internal for c in store.comments(a.id)] == [False, True, False]
        assert [c.id for c in stored] == sorted({c.id for c in stored})
        assert stored[0] == evolve(_comment(a, "reply 0\n😀"), id=stored[0].id)
        assert [c.body for c in store.comments(b.id)] == ["other 0", "other 1", "other 2"]
        assert store.comments(a.id + b.id + 100) == []

    def test_a_transaction_reads_one_comment_its_own_writes_included(self, store: Store) -> None:
        """get_comment finds committed and uncommitted comments, only on their own ticket."""
        a, b = _create(store, "HD"), _create(store, "HD")
        with store.transaction() as tx:
            old = tx.add_comment(_comment(a, "committed"))
        with store.transaction() as tx:
            new = tx.add_comment(_comment(a, "in this transaction", internal=True))
            assert tx.get_comment(a.id, new.id) == new
            assert tx.get_comment(a.id, old.id) == old
            assert tx.get_comment(b.id, old.id) is None
            assert tx.get_comment(a.id, new.id + old.id + 100) is None
            tx.update_comment(evolve(old, body="edited"))
            assert tx.get_comment(a.id, old.id) == evolve(old, body="edited")

    # -- attachments -----------------------------------------------------------------

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(b"", id="empty"),
            pytest.param(b"\x00", id="one-nul"),
            pytest.param(b"plain text\r\n", id="text"),
            pytest.param(bytes(range(256)) * 4, id="every-byte"),
            pytest.param(b"\x00\xff\x00" * 100_000, id="300k-binary"),
        ],
    )
    def test_attachment_bytes_round_trip_exactly(self, store: Store, content: bytes) -> None:
        """Attachment bytes come back exactly as given, metadata found by id."""
        made = _create(store, "HD")
        meta = _attachment(made, "file.bin", content)
        with store.transaction() as tx:
            stored = tx.add_attachment(meta, content)
        assert stored == evolve(meta, id=stored.id)
        assert store.attachment_content(stored.id) == content
        assert store.get_attachment(stored.id) == stored
        assert store.attachments(made.id) == [stored]

    def test_attachments_are_listed_in_order_per_ticket(self, store: Store) -> None:
        """A ticket's attachments come back in the order they were added, and only its own."""
        a, b = _create(store, "HD"), _create(store, "HD")
        stored = []
        with store.transaction() as tx:
            for i in range(3):
                stored.append(tx.add_attachment(_attachment(a, f"{i}.txt", b"%d" % i), b"%d" % i))
                tx.add_attachment(_attachment(b, "b.txt", b"b"), b"b")
        assert store.attachments(a.id) == stored
        assert [store.attachment_content(m.id) for m in stored] == [b"0", b"1", b"2"]
        assert len({m.id for m in stored}) == 3
        assert store.attachments(a.id + b.id + 100) == []

    def test_unknown_attachment_gives_none(self, store: Store) -> None:
        """An unknown attachment id gives None for metadata and content."""
        made = _create(store, "HD")
        with store.transaction() as tx:
            meta = tx.add_attachment(_attachment(made, "a.txt", b"a"), b"a")
        assert store.get_attachment(meta.id + 1000) is None
        assert store.attachment_content(meta.id + 1000) is None

    # -- queries ---------------------------------------------------------------------

    def test_query_on_builtin_fields(self, catalogue: Tracker) -> None:
        """Each operator on built-in fields selects exactly the matching tickets, by id."""
        wrong = _mismatches(catalogue, _BUILTIN_CASES)
        assert not wrong, "\n".join(wrong)

    def test_query_on_custom_fields(self, catalogue: Tracker) -> None:
        """Custom fields compare by their type: numbers numerically, dates as dates."""
        wrong = _mismatches(catalogue, _CUSTOM_CASES)
        assert not wrong, "\n".join(wrong)

    def test_text_search(self, catalogue: Tracker) -> None:
        """Text search finds a substring of title or description, ignoring case; % and _ are
        plain characters."""
        wrong = []
        for text, where, expected in _TEXT_CASES:
            got = [t.key for t in catalogue.query(where, text=text, limit=100)]
            if got != _keys(sorted(expected)):
                wrong.append(f"text {text!r} where {where}: got {got}, want {sorted(expected)}")
        assert not wrong, "\n".join(wrong)

    def test_query_on_times(self, catalogue: Tracker) -> None:
        """created, updated and resolved_at compare as instants, whatever the time zone."""
        t2, t4, t7 = (catalogue.get(k) for k in ("TK-2", "TK-4", "TK-7"))
        plus_five = timezone(timedelta(hours=5))

        def keys(where: Mapping[str, Any]) -> list[str]:
            return [t.key for t in catalogue.query(where, limit=100)]

        assert keys({"created": {"gt": t4.created}}) == _keys([5, 6, 7, 8])
        assert keys({"created": {"gt": t4.created.astimezone(plus_five)}}) == _keys([5, 6, 7, 8])
        assert keys({"created": {"le": t2.created}}) == _keys([1, 2])
        assert keys({"created": t2.created}) == _keys([2])
        assert keys({"updated": {"gt": t4.updated}}) == _keys([3, 5, 6, 7, 8])
        assert t7.resolved_at is not None
        assert keys({"resolved_at": {"lt": t7.resolved_at}}) == _keys([6])
        assert keys({"resolved_at": {"ge": t7.resolved_at}}) == _keys([7])

    def test_order_by(self, catalogue: Tracker) -> None:
        """Results are sorted by the given fields (ties by id); None sorts last ascending,
        first descending; text sorts by code point."""
        wrong = []
        for order_by, expected in _ORDER_CASES:
            got = [t.key for t in catalogue.query(order_by=order_by, limit=100)]
            if got != _keys(expected):
                wrong.append(f"order_by {_label(order_by)}: got {got}, want {expected}")
        assert not wrong, "\n".join(wrong)

    @pytest.mark.parametrize("limit", [1, 2, 3])
    def test_pages_visit_every_ticket_once(self, catalogue: Tracker, limit: int) -> None:
        """Following next_cursor visits every ticket exactly once, in order, despite ties."""
        wrong = []
        for order_by, expected in _ORDER_CASES:
            pages = _walk(catalogue, limit, order_by=order_by)
            flat = [key for page in pages for key in page]
            sizes_ok = all(len(p) == limit for p in pages[:-1]) and 1 <= len(pages[-1]) <= limit
            if flat != _keys(expected) or not sizes_ok:
                wrong.append(f"order_by {_label(order_by)}: pages {pages}, want {expected}")
        assert not wrong, "\n".join(wrong)

    def test_pages_of_a_filtered_query(self, catalogue: Tracker) -> None:
        """Paging a filtered query visits exactly the matching tickets, once each."""
        cases: list[tuple[Mapping[str, Any] | None, str | None, list[str]]] = [
            ({"status": "new"}, None, ["-priority"]),
            ({"assignee": {"ne": "alice"}}, None, ["assignee"]),
            ({"fields.points": {"ge": -2}}, None, ["-fields.points", "created"]),
            (None, "e", ["-resolved_at", "priority"]),
        ]
        for where, text, order_by in cases:
            page = catalogue.query(where, text=text, order_by=order_by, limit=100)
            full = [t.key for t in page]
            pages = _walk(catalogue, 2, where=where, text=text, order_by=order_by)
            assert [key for page in pages for key in page] == full, (where, text, order_by)
            assert 2 <= len(full) < 8

    def test_last_page_has_no_cursor_even_when_full(self, catalogue: Tracker) -> None:
        """The page holding the last match has no next_cursor, even when it is full."""
        assert [len(p) for p in _walk(catalogue, 4, order_by=["-priority"])] == [4, 4]
        only = catalogue.query(limit=8)
        assert (len(only), only.next_cursor) == (8, None)
        assert catalogue.query({"id": 99}).items == ()
        assert catalogue.query({"id": 99}).next_cursor is None

    def test_pages_continue_after_new_tickets_arrive(self, catalogue: Tracker) -> None:
        """A cursor stays valid while tickets are added; later pages include new ones."""
        first = catalogue.query(limit=5)
        catalogue.open("Arrived late", actor="bob")
        rest = catalogue.query(limit=100, cursor=first.next_cursor)
        assert [t.key for t in rest] == _keys([6, 7, 8, 9])

    def test_garbage_cursor_is_refused(self, catalogue: Tracker) -> None:
        """A cursor that is not one of ours raises InvalidCursor."""
        for bad in ("not-a-cursor!", "", "e30", base64.urlsafe_b64encode(b"[1,2]").decode()):
            with pytest.raises(InvalidCursor):
                catalogue.query(limit=2, cursor=bad)

    def test_cursor_of_another_query_is_refused(self, catalogue: Tracker) -> None:
        """A cursor only continues the query it came from: other filters or order refuse it."""
        cursor = catalogue.query({"status": "new"}, limit=2).next_cursor
        assert cursor is not None
        with pytest.raises(InvalidCursor):
            catalogue.query({"status": "open"}, limit=2, cursor=cursor)
        with pytest.raises(InvalidCursor):
            catalogue.query({"status": "new"}, order_by="-id", limit=2, cursor=cursor)
        with pytest.raises(InvalidCursor):
            catalogue.query({"status": "new"}, text="mail", limit=2, cursor=cursor)
        page = catalogue.query({"status": "new"}, limit=3, cursor=cursor)
        assert [t.key for t in page] == _keys([4, 5, 8])

    def test_tampered_cursor_is_refused(self, catalogue: Tracker) -> None:
        """A cursor whose sort values were changed to the wrong type raises InvalidCursor."""
        cursor = catalogue.query(order_by="-priority", limit=2).next_cursor
        assert cursor is not None
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        for values in (["P9", 3], ["P1"], ["P1", "three"], "P1"):
            payload["v"] = values
            forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
            with pytest.raises(InvalidCursor):
                catalogue.query(order_by="-priority", limit=2, cursor=forged)

    def test_store_refuses_a_foreign_cursor_itself(self, catalogue: Tracker, store: Store) -> None:
        """store.query raises InvalidCursor for a cursor of another query or a garbled one."""
        cursor = catalogue.query({"status": "new"}, limit=2).next_cursor
        for bad in (cursor, "garbage"):
            with pytest.raises(InvalidCursor):
                store.query(Query(order_by=("id",), limit=2, cursor=bad))

    # -- through the tracker ---------------------------------------------------------

    def test_open_stores_the_ticket_and_its_opened_event(self, tracker: Tracker) -> None:
        """tracker.open stores the ticket and one opened event at version 1."""
        ticket = tracker.open("Mail is down", actor="bob", fields={"cost": "1.50"})
        assert tracker.get(ticket.key) == ticket
        (event,) = tracker.history(ticket.key)
        assert (event.type, event.version, event.actor) == (EventType.OPENED, 1, "bob")
        assert replay([event]) == ticket

    def test_history_replays_to_the_stored_ticket(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """Replaying a ticket's stored events gives the stored ticket, whatever changed."""
        a = tracker.open(
            "Printer on fire",
            "smoke",
            actor="bob",
            impact="high",
            urgency="medium",
            tags=["hardware"],
            watchers=["carol"],
            fields={
                "note": "n",
                "points": 3,
                "cost": "1.50",
                "billable": True,
                "due": "2026-02-01",
                "severity": "major",
                "components": ["ui", "api"],
                "owner": "olga",
            },
        )
        b = tracker.open("Duplicate of the fire", actor="dave", watchers=["erin"])
        c = tracker.open("Child task", actor="erin")
        steps: list[Callable[[], object]] = [
            lambda: tracker.update(
                a.key,
                actor="alice",
                title="Printer on fire!",
                add_tags=["urgent"],
                remove_tags=["hardware"],
                fields={"points": 5, "cost": None, "due": date(2026, 3, 1)},
            ),
            lambda: tracker.assign(a.key, "alice", actor="lead"),
            lambda: tracker.transition(a.key, "start", actor="alice", comment="on it"),
            lambda: tracker.comment(a.key, "internal note", actor="alice", internal=True),
            lambda: tracker.attach(a.key, "log.bin", b"\x00log", actor="alice"),
            lambda: tracker.link(a.key, "parent_of", c.key, actor="alice"),
            lambda: tracker.link(c.key, "blocks", b.key, actor="alice"),
            lambda: tracker.watch(a.key, "frank", actor="frank"),
            lambda: tracker.unwatch(a.key, "carol", actor="carol"),
            lambda: tracker.update(a.key, actor="alice", urgency="high"),
            lambda: tracker.update(a.key, actor="alice", priority="P4"),
            lambda: tracker.merge(b.key, a.key, actor="alice"),
            lambda: tracker.transition(a.key, "resolve", actor="alice"),
            lambda: tracker.transition(a.key, "close", actor="alice"),
            lambda: tracker.transition(a.key, "reopen", actor="bob"),
            lambda: tracker.unlink(a.key, "parent_of", c.key, actor="alice"),
            lambda: tracker.assign(a.key, None, actor="lead"),
        ]
        for step in steps:
            clock.advance(minutes=1, microseconds=1)
            step()
        for key in (a.key, b.key, c.key):
            rebuilt, stored = replay(tracker.history(key)), tracker.get(key)
            assert rebuilt == stored, f"replayed {rebuilt!r}\nstored {stored!r}"
        assert tracker.get(a.key).version == 1 + len(steps) - 1
        versions = [e.version for e in tracker.history(a.key)]
        assert versions == sorted(versions)

    def test_as_of_gives_each_earlier_version(self, tracker: Tracker, clock: FrozenClock) -> None:
        """as_of(key, t) is the ticket as it was at t, for every moment it changed."""
        before = clock.now()
        clock.advance(seconds=1)
        ticket = tracker.open("Flaky test", actor="bob")
        seen = [(clock.now(), ticket)]
        steps: list[Callable[[], object]] = [
            lambda: tracker.assign(ticket.key, "alice", actor="lead"),
            lambda: tracker.update(ticket.key, actor="alice", fields={"cost": "2.5"}),
            lambda: tracker.transition(ticket.key, "resolve", actor="alice"),
        ]
        for step in steps:
            clock.advance(minutes=5, microseconds=1)
            step()
            seen.append((clock.now(), tracker.get(ticket.key)))
        for moment, expected in seen:
            assert tracker.as_of(ticket.key, moment) == expected
            assert tracker.as_of(ticket.key, moment + timedelta(minutes=1)) == expected
        with pytest.raises(NotFound):
            tracker.as_of(ticket.key, before)

    # -- concurrency -----------------------------------------------------------------

    def test_concurrent_read_modify_write_loses_no_update(self, store: Store) -> None:
        """Threads updating one ticket with expected_version and retrying lose no update."""
        threads, rounds = self.threads, self.writes_per_thread
        made = _create(store, "HD", fields={"points": 0})

        def work(_: int) -> None:
            for _ in range(rounds):
                while True:
                    current = store.get_ticket(made.id)
                    assert current is not None
                    points = current.fields["points"]
                    assert isinstance(points, int)
                    new = evolve(
                        current, version=current.version + 1, fields={"points": points + 1}
                    )
                    try:
                        with store.transaction() as tx:
                            tx.update_ticket(new, current.version)
                    except ConflictError:
                        continue
                    break

        _run_threads(threads, work)
        final = store.get_ticket(made.id)
        assert final is not None
        assert (final.version, final.fields["points"]) == (
            1 + threads * rounds,
            threads * rounds,
        ), final

    def test_concurrent_tracker_updates_lose_no_update(self, tracker: Tracker) -> None:
        """Tracker writers that pass expected_version and retry on ConflictError lose nothing."""
        threads, rounds = max(2, self.threads // 2), max(1, self.writes_per_thread // 2)
        ticket = tracker.open("Counter", actor="bob", fields={"points": 0})

        def work(i: int) -> None:
            for _ in range(rounds):
                while True:
                    current = tracker.get(ticket.key)
                    points = current.fields["points"]
                    assert isinstance(points, int)
                    try:
                        tracker.update(
                            ticket.key,
                            actor=f"worker{i}",
                            expected_version=current.version,
                            fields={"points": points + 1},
                        )
                    except ConflictError:
                        continue
                    break

        _run_threads(threads, work)
        final = tracker.get(ticket.key)
        assert (final.version, final.fields["points"]) == (1 + threads * rounds, threads * rounds)
        assert len(tracker.history(ticket.key)) == 1 + threads * rounds
        assert replay(tracker.history(ticket.key)) == final

    def test_concurrent_creates_get_distinct_keys(self, store: Store) -> None:
        """Threads creating tickets at once get distinct, gap-free keys per prefix."""
        threads, rounds = self.threads, 2 * max(1, self.writes_per_thread // 4)
        made: list[Ticket] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            for n in range(rounds):
                ticket = _create(store, "HD" if n % 2 else "BUG", title=f"{i}-{n}")
                with lock:
                    made.append(ticket)

        _run_threads(threads, work)
        keys = {t.key for t in made}
        per_prefix = threads * rounds // 2
        assert keys == {f"{p}-{n}" for p in ("HD", "BUG") for n in range(1, per_prefix + 1)}
        assert len({t.id for t in made}) == threads * rounds
        for ticket in made:
            assert store.get_ticket(ticket.key) == ticket

    # -- full-text search ------------------------------------------------------------
    #
    # Every word here has at least four letters and is no MariaDB stop word, since
    # InnoDB's FULLTEXT indexes skip shorter words and stop words.

    #: Search texts that hold query syntax of FTS5, tsquery or MariaDB's boolean mode.
    HOSTILE_SEARCHES = (
        "printer AND scanner",
        "printer OR",
        "NOT printer",
        "printer NOT scanner",
        "NEAR(printer scanner, 2)",
        '"printer',
        'printer"',
        '"printer scanner"',
        '"" OR ""',
        "printer*",
        "print*",
        "*",
        "title:printer",
        "comments : printer",
        "{title description}: scanner",
        "^printer",
        "(printer",
        ")(",
        "printer & !scanner",
        "printer | scanner:*",
        "scan:*",
        "!printer <-> scanner",
        "-printer +scanner",
        "+printer -scanner ~toner >tray <tray",
        "'; DROP TABLE tk_tickets; --",
        "\\",
        "%",
        "_",
        "\x00printer",
        "printer\u200b",
        "'",
    )

    @pytest.fixture
    def searchable(self, tracker: Tracker) -> Tracker:
        """Tickets TK-1 to TK-7 for the search tests (TK-4 to TK-7 mention no printer)."""
        for title, description in (
            ("Printer jams daily", "The office printer jams every morning"),
            ("Mailbox quota reached", "Outgoing mail waits in the queue"),
            ("Reprint invoices", "Blueprint drawings need reprinting"),
            ("Laptop battery drains", "Battery lasts barely twenty minutes"),
            ("Scanner NEAR window", "Scanner output looks faded"),
            ("Password reset", "Cannot reset password from home"),
            ("Toner cartridge empty", "Replace toner in tray"),
        ):
            tracker.open(title=title, description=description, actor="bob@example.com")
        tracker.comment("TK-2", "Perhaps the printer spooler holds the mail", actor="alice")
        tracker.comment("TK-4", "Replaced battery, waiting", actor="alice")
        tracker.comment("TK-6", "Password policy changed recently", actor="alice")
        return tracker

    @staticmethod
    def _found(tracker: Tracker, text: str, limit: int = 100) -> list[str]:
        return [hit.ticket.key for hit in tracker.search(text, limit=limit)]

    def test_search_ranks_title_and_description_above_a_comment(self, searchable: Tracker) -> None:
        """A ticket with the word in title and description outranks one with it in a comment."""
        hits = searchable.search("printer")
        assert [h.ticket.key for h in hits] == ["TK-1", "TK-2"]
        assert hits[0].score > hits[1].score, hits

    def test_search_ranks_more_matching_words_first(self, searchable: Tracker) -> None:
        """Any word may match; a ticket holding more of the words ranks higher."""
        hits = searchable.search("toner scanner cartridge")
        assert [h.ticket.key for h in hits] == ["TK-7", "TK-5"]
        assert hits[0].score > hits[1].score, hits

    def test_search_returns_the_stored_tickets(self, searchable: Tracker, store: Store) -> None:
        """Hits carry the tickets as stored, best first; the store returns them with scores."""
        hits = searchable.search("battery password")
        assert {h.ticket.key for h in hits} == {"TK-4", "TK-6"}
        for hit in hits:
            assert hit.ticket == searchable.get(hit.ticket.key)
            assert isinstance(hit.score, float)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        found = store.search("battery password", limit=5)
        assert [(t.key, s) for t, s in found] == [(h.ticket.key, h.score) for h in hits]

    def test_search_matches_whole_words_only(self, searchable: Tracker) -> None:
        """Words are not substrings nor stems: print finds neither printer nor reprint."""
        assert self._found(searchable, "print") == []
        assert self._found(searchable, "printers") == []
        assert self._found(searchable, "reprint") == ["TK-3"]
        assert self._found(searchable, "blueprint") == ["TK-3"]

    def test_search_ignores_case(self, searchable: Tracker) -> None:
        """Upper, lower and mixed case find the same tickets."""
        for text in ("printer", "PRINTER", "PrInTeR"):
            assert self._found(searchable, text) == ["TK-1", "TK-2"], text
        assert self._found(searchable, "CARTRIDGE") == ["TK-7"]

    def test_search_finds_comments_and_internal_notes(self, tracker: Tracker) -> None:
        """Public comments and internal notes are searched (access rules come later)."""
        public = tracker.open(title="Mailbox full", actor="bob")
        noted = tracker.open(title="Mailbox slow", actor="bob")
        tracker.open(title="Mailbox gone", actor="bob")
        tracker.comment(public.key, "Archived older messages", actor="alice")
        tracker.comment(noted.key, "Customer seems grumpy", actor="alice", internal=True)
        assert self._found(tracker, "archived") == [public.key]
        assert self._found(tracker, "grumpy") == [noted.key]

    def test_search_follows_updates(self, searchable: Tracker) -> None:
        """A changed title or description is searched as it is now; new comments count."""
        searchable.update("TK-1", actor="bob", title="Plotter jams daily")
        searchable.update("TK-1", actor="bob", description="The office plotter jams")
        assert self._found(searchable, "printer") == ["TK-2"]
        assert self._found(searchable, "plotter") == ["TK-1"]
        searchable.comment("TK-5", "Swapped the scanner glass", actor="alice")
        searchable.comment("TK-5", "Glass cleaned again", actor="alice")
        assert self._found(searchable, "glass") == ["TK-5"]
        assert self._found(searchable, "scanner") == ["TK-5"]

    def test_search_reads_query_syntax_as_plain_words(self, searchable: Tracker) -> None:
        """Operators, quotes and SQL in the text neither fail nor change what matches."""
        from ._search import terms

        vocabulary = {}
        for n in range(1, 8):
            ticket = searchable.get(f"TK-{n}")
            texts = [ticket.title, ticket.description]
            texts += [c.body for c in searchable.comments(ticket.key)]
            vocabulary[ticket.key] = set(terms(" ".join(texts)))
        wrong = []
        for text in self.HOSTILE_SEARCHES:
            wanted = set(terms(text))
            expected = {key for key, held in vocabulary.items() if held & wanted}
            got = self._found(searchable, text)
            if set(got) != expected or len(got) != len(set(got)):
                wrong.append(f"{text!r}: got {got}, want {sorted(expected)}")
        assert not wrong, "\n".join(wrong)
        assert self._found(searchable, "near") == ["TK-5"]
        assert searchable.get("TK-1").title == "Printer jams daily"

    def test_search_without_hits_is_empty(self, tracker: Tracker) -> None:
        """No ticket holds the words, or there are no tickets: an empty list."""
        assert tracker.search("printer") == []
        tracker.open(title="Printer jams", actor="bob")
        assert self._found(tracker, "zeppelin") == []
        assert self._found(tracker, "*** ()") == []

    def test_search_honours_the_limit(self, tracker: Tracker) -> None:
        """``limit`` keeps the best hits, in the order a larger limit gives them."""
        for n in range(1, 7):
            tracker.open(title=f"Printer number {'x' * n}", description="printer " * n, actor="bob")
            tracker.open(title=f"Unrelated {'y' * n}", actor="bob")
        everything = self._found(tracker, "printer")
        assert len(everything) == 6
        assert self._found(tracker, "printer", limit=3) == everything[:3]
        assert self._found(tracker, "printer", limit=1) == everything[:1]

    # -- external references ---------------------------------------------------------

    #: References that differ from each other only in ways that must count: case,
    #: trailing and leading spaces, composed and decomposed letters, case-folding
    #: pairs, LIKE wildcards, and the longest allowed (200 characters, with a
    #: character outside the Basic Multilingual Plane).
    DISTINCT_REFERENCES = (
        "a",
        "A",
        "a ",
        " a",
        "\u00e4",
        "a\u0308",
        "\u00df",
        "ss",
        "%",
        "_",
        "a%",
        "'; DROP TABLE tk_tickets; --",
        "crash:" + "\U0001f41b" + "f" * 193,
    )

    def test_open_with_a_reference_is_found_by_it(self, tracker: Tracker, store: Store) -> None:
        """A ticket opened with a reference is found by it, as stored, and its history says so."""
        ticket = tracker.open("Crash in parser", actor="crash", reference="crash:3f2a9c")
        assert tracker.by_reference("crash:3f2a9c") == ticket == tracker.get(ticket.key)
        assert store.ticket_for_reference("crash:3f2a9c") == ticket
        opened = tracker.history(ticket.key)[0]
        assert (opened.type, opened.data["reference"]) == (EventType.OPENED, "crash:3f2a9c")

    def test_unknown_reference_gives_none(self, tracker: Tracker, store: Store) -> None:
        """A reference no ticket has gives None, also when only similar ones exist."""
        assert tracker.by_reference("crash:3f2a9c") is None
        tracker.open("With", actor="bob", reference="crash:3f2a9c")
        tracker.open("Without", actor="bob")
        for other in ("crash:3f2a9", "crash:3f2a9cc", "CRASH:3F2A9C", "crash:3f2a9c ", "TK-1"):
            assert tracker.by_reference(other) is None, other
            assert store.ticket_for_reference(other) is None, other

    def test_references_match_exactly(self, tracker: Tracker) -> None:
        """References that differ only in case, spaces or normalisation are all distinct."""
        made = {
            ref: tracker.open(f"ticket {n}", actor="bob", reference=ref).key
            for n, ref in enumerate(self.DISTINCT_REFERENCES)
        }
        assert len(set(made.values())) == len(self.DISTINCT_REFERENCES)
        for ref, key in made.items():
            found = tracker.by_reference(ref)
            assert found is not None, ref
            assert found.key == key, ref

    def test_duplicate_reference_is_refused_and_stores_nothing(
        self, tracker: Tracker, store: Store
    ) -> None:
        """Opening with a taken reference raises DuplicateReference naming the holder; the
        store is as before: no ticket, no event, no key number used up."""
        first = tracker.open("First crash", actor="crash", reference="crash:3f2a9c")
        published: list[Event] = []
        tracker.subscribe(published.append)
        with pytest.raises(DuplicateReference) as info:
            tracker.open("Same crash", actor="crash", reference="crash:3f2a9c")
        assert (info.value.reference, info.value.key) == ("crash:3f2a9c", first.key)
        assert "'crash:3f2a9c'" in str(info.value)
        assert first.key in str(info.value)
        assert published == []
        assert store.get_ticket("TK-2") is None
        assert [t.key for t in tracker.query().items] == [first.key]
        assert tracker.by_reference("crash:3f2a9c") == first
        assert tracker.history(first.key) == store.events(first.id)
        assert len(tracker.history(first.key)) == 1
        assert tracker.open("Another", actor="bob").key == "TK-2"
        assert tracker.open("Next", actor="bob", reference="crash:3f2a9d").key == "TK-3"

    def test_store_refuses_a_taken_reference(self, store: Store) -> None:
        """add_reference of a taken reference raises DuplicateReference; the transaction it
        ends leaves nothing behind and gives out no key."""
        holder = _create(store, "HD")
        with store.transaction() as tx:
            tx.add_reference(holder.id, "mail:<1@example.com>")
        staged: dict[str, Ticket] = {}

        def claim() -> None:
            with store.transaction() as tx:
                staged["ticket"] = made = tx.create_ticket(_draft(START, "second"), "HD")
                tx.add_events([_event(made, START)])
                tx.add_comment(_comment(holder, "doomed"))
                tx.add_reference(made.id, "mail:<1@example.com>")

        with pytest.raises(DuplicateReference) as info:
            claim()
        assert info.value.reference == "mail:<1@example.com>"
        assert info.value.key in (None, "HD-1")
        assert store.get_ticket(staged["ticket"].id) is None
        assert store.events(staged["ticket"].id) == []
        assert store.comments(holder.id) == []
        assert store.ticket_for_reference("mail:<1@example.com>") == holder
        assert _create(store, "HD").key == "HD-2"

    def test_reference_of_a_failed_transaction_is_free(self, store: Store) -> None:
        """A reference added in a transaction that fails is not kept and can be used again."""
        made = _create(store)

        def fail() -> None:
            with store.transaction() as tx:
                tx.add_reference(made.id, "import:42")
                raise _Boom

        with pytest.raises(_Boom):
            fail()
        assert store.ticket_for_reference("import:42") is None
        with store.transaction() as tx:
            tx.add_reference(made.id, "import:42")
        assert store.ticket_for_reference("import:42") == made

    def test_a_ticket_may_have_several_references(self, store: Store) -> None:
        """One ticket can hold several references; each finds it, as currently stored."""
        made = _create(store)
        with store.transaction() as tx:
            tx.add_reference(made.id, "crash:1")
            tx.add_reference(made.id, "mail:<1@example.com>")
        changed = _update(store, made, title="renamed")
        assert store.ticket_for_reference("crash:1") == changed
        assert store.ticket_for_reference("mail:<1@example.com>") == changed

    def test_merged_ticket_keeps_its_reference(self, tracker: Tracker) -> None:
        """Merging leaves references where they are: the duplicate still answers to its own."""
        dupe = tracker.open("Crash A", actor="crash", reference="crash:a")
        survivor = tracker.open("Crash B", actor="crash", reference="crash:b")
        tracker.merge(dupe.key, survivor.key, actor="alice")
        found = tracker.by_reference("crash:a")
        assert found is not None
        assert (found.key, found.merged_into) == (dupe.key, survivor.key)
        assert tracker.by_reference("crash:b") == tracker.get(survivor.key)
        with pytest.raises(DuplicateReference) as info:
            tracker.open("Crash A again", actor="crash", reference="crash:a")
        assert info.value.key == dupe.key

    def test_concurrent_opens_with_one_reference_make_one_ticket(self, tracker: Tracker) -> None:
        """Threads opening with the same reference at once: one ticket, the rest refused."""
        won: list[Ticket] = []
        refused: list[DuplicateReference] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            try:
                ticket = tracker.open(f"crash seen by {i}", actor=f"w{i}", reference="crash:1")
            except DuplicateReference as exc:
                with lock:
                    refused.append(exc)
            else:
                with lock:
                    won.append(ticket)

        _run_threads(self.threads, work)
        assert len(won) == 1
        assert len(refused) == self.threads - 1
        assert {exc.key for exc in refused} == {won[0].key}
        assert [t.key for t in tracker.query().items] == [won[0].key] == ["TK-1"]
        assert tracker.by_reference("crash:1") == won[0]
        assert tracker.open("after", actor="bob").key == "TK-2"

    def test_concurrent_opens_in_several_queues_with_one_reference_make_one_ticket(
        self, store: Store, clock: FrozenClock
    ) -> None:
        """Racing openers whose key numbers do not queue them (other prefixes): one ticket."""
        queues = {f"q{i}": f"Q{i}" for i in range(self.threads)}
        tracker = Tracker(store, clock=clock, queues=queues, default_queue="q0")
        outcomes: list[Ticket | DuplicateReference] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            outcome: Ticket | DuplicateReference
            try:
                outcome = tracker.open(f"crash {i}", actor=f"w{i}", queue=f"q{i}", reference="x")
            except DuplicateReference as exc:
                outcome = exc
            with lock:
                outcomes.append(outcome)

        _run_threads(self.threads, work)
        won = [o for o in outcomes if isinstance(o, Ticket)]
        assert len(won) == 1
        assert won[0].key.endswith("-1")
        assert {o.key for o in outcomes if isinstance(o, DuplicateReference)} == {won[0].key}
        assert [t.key for t in tracker.query().items] == [won[0].key]
        assert [tracker.open("next", actor="bob", queue=q).key for q in queues] == [
            f"{p}-{2 if p == won[0].key.split('-')[0] else 1}" for p in queues.values()
        ]
