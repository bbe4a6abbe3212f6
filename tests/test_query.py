"""The query language: building, checking, reference semantics and cursors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ticketkit import (
    Condition,
    FieldDef,
    InvalidCursor,
    Op,
    Priority,
    Query,
    Ticket,
    ValidationError,
)
from ticketkit._query import check_query, decode_cursor, encode_cursor, matches, sort_key

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DEFS = {
    "severity": FieldDef("severity", "int"),
    "cost": FieldDef("cost", "decimal"),
    "due": FieldDef("due", "date"),
    "os": FieldDef("os", "multi_choice", choices=("linux", "mac", "windows")),
}


def ticket(n: int, **changes: object) -> Ticket:
    values: dict[str, object] = {
        "id": n,
        "key": f"HD-{n}",
        "title": f"Ticket {n}",
        "description": "",
        "status": "new",
        "priority": Priority.P3,
        "reporter": "bob",
        "queue": "default",
        "created": T0,
        "updated": T0,
        "version": 1,
    }
    values.update(changes)
    return Ticket(**values)  # type: ignore[arg-type]


def checked(where: object = None, **kwargs: object) -> Query:
    return check_query(Query.build(where, **kwargs), DEFS)  # type: ignore[arg-type]


class TestBuild:
    def test_plain_values_mean_equality(self) -> None:
        """{"status": "open"} is the condition status eq "open"."""
        assert Query.build({"status": "open"}).conditions == (Condition("status", Op.EQ, "open"),)

    def test_operator_mappings(self) -> None:
        """{"priority": {"in": [...], "ne": ...}} gives one condition per operator."""
        query = Query.build({"priority": {"in": ["P1", "P2"], "ne": "P2"}})
        assert [c.op for c in query.conditions] == [Op.IN, Op.NE]

    def test_order_by_string(self) -> None:
        """A single order_by string is accepted."""
        assert Query.build(order_by="-updated").order_by == ("-updated",)


class TestCheck:
    def test_values_are_normalised(self) -> None:
        """Priorities, custom-field values and tags are turned into their canonical form."""
        query = checked(
            {
                "priority": {"in": ["p1", 2]},
                "fields.cost": {"ge": "1.5"},
                "tags": {"contains": "VIP"},
            }
        )
        assert query.conditions[0].value == frozenset({Priority.P1, Priority.P2})
        assert query.conditions[1].value == Decimal("1.5")
        assert query.conditions[2].value == "vip"

    def test_id_is_always_the_last_sort_key(self) -> None:
        """Sorting ends with id so that pages never overlap when values tie."""
        assert checked(order_by=["-priority"]).order_by == ("-priority", "id")
        assert checked(order_by=["-id"]).order_by == ("-id",)

    def test_naive_datetime_refused(self) -> None:
        """Comparing a time field with a naive datetime is refused."""
        with pytest.raises(ValidationError, match="naive"):
            checked({"created": {"gt": datetime(2026, 1, 1)}})

    def test_unknown_custom_field(self) -> None:
        """A custom field that is not defined cannot be queried; the error lists known ones."""
        with pytest.raises(ValidationError, match=r"fields\.nope.*fields\.severity"):
            checked({"fields.nope": 1})


class TestMatches:
    @pytest.mark.parametrize(
        ("where", "expected"),
        [
            ({"status": "new"}, True),
            ({"status": {"ne": "new"}}, False),
            ({"assignee": {"is_null": True}}, True),
            ({"assignee": {"ne": "x"}}, True),
            ({"assignee": "x"}, False),
            ({"priority": {"lt": "P4"}}, True),
            ({"priority": {"gt": "P3"}}, False),
            ({"tags": {"contains": "vip"}}, True),
            ({"tags": {"contains": "other"}}, False),
            ({"title": {"contains": "TICKET"}}, True),
            ({"fields.severity": {"ge": 2}}, True),
            ({"fields.severity": {"lt": 2}}, False),
            ({"fields.due": {"le": date(2026, 5, 1)}}, True),
            ({"fields.os": {"contains": "mac"}}, True),
            ({"fields.os": {"contains": "linux"}}, False),
            ({"fields.cost": {"is_null": True}}, True),
            ({"fields.cost": {"gt": 0}}, False),
        ],
    )
    def test_conditions(self, where: dict[str, object], expected: bool) -> None:
        """Each operator behaves as documented, missing values only match ne/not_in/is_null."""
        t = ticket(
            1,
            tags=frozenset({"vip"}),
            fields={"severity": 3, "due": date(2026, 4, 1), "os": ("mac",)},
        )
        assert matches(t, checked(where)) is expected

    def test_text_search_is_case_insensitive_over_title_and_description(self) -> None:
        """text= finds a word in the title or the description, whatever its case."""
        t = ticket(1, description="The PRINTER is on fire")
        assert matches(t, checked(text="printer"))
        assert not matches(t, checked(text="scanner"))


class TestSortKey:
    def test_none_sorts_last_ascending_and_first_descending(self) -> None:
        """Missing values sort after all others ascending, before all others descending."""
        tickets = [ticket(1, assignee="b"), ticket(2), ticket(3, assignee="a")]
        up = sorted(tickets, key=lambda t: sort_key(t, ("assignee", "id")))
        down = sorted(tickets, key=lambda t: sort_key(t, ("-assignee", "id")))
        assert [t.id for t in up] == [3, 1, 2]
        assert [t.id for t in down] == [2, 1, 3]


class TestCursor:
    def test_round_trip(self) -> None:
        """A cursor resumes after the ticket it was made from."""
        query = checked(order_by=["-priority", "created"])
        last = ticket(7, priority=Priority.P2)
        resumed = decode_cursor(
            checked(order_by=["-priority", "created"], cursor=encode_cursor(query, last))
        )
        assert resumed == sort_key(last, query.order_by)

    def test_cursor_of_another_query_refused(self) -> None:
        """A cursor cannot be replayed against a query with other filters."""
        cursor = encode_cursor(checked({"status": "new"}), ticket(1))
        with pytest.raises(InvalidCursor, match="different query"):
            checked({"status": "open"}, cursor=cursor)

    @pytest.mark.parametrize("cursor", ["", "!!!", "eyJxIjoxfQ", "bm90IGpzb24"])
    def test_garbage_refused(self, cursor: str) -> None:
        """Anything that is not a cursor we made raises InvalidCursor."""
        with pytest.raises(InvalidCursor):
            checked(cursor=cursor)


def any_of(*conditions: Condition) -> Condition:
    return Condition("any", Op.ANY, conditions)


class TestAny:
    def test_holds_when_one_inner_condition_holds(self) -> None:
        """reporter == me OR watchers contains me."""
        query = checked(
            [
                any_of(
                    Condition("reporter", Op.EQ, "carol"),
                    Condition("watchers", Op.CONTAINS, "carol"),
                )
            ]
        )
        assert matches(ticket(1, reporter="carol"), query)
        assert matches(ticket(2, watchers=frozenset({"carol"})), query)
        assert not matches(ticket(3), query)

    def test_empty_any_matches_nothing(self) -> None:
        """No alternatives: nothing matches."""
        assert not matches(ticket(1), checked([any_of()]))

    def test_inner_conditions_are_checked_and_normalised(self) -> None:
        """Inner values are normalised like top-level ones; custom fields get their types."""
        query = checked(
            [any_of(Condition("priority", Op.EQ, "p1"), Condition("fields.cost", Op.GT, 3))]
        )
        inner = query.conditions[0].value
        assert inner[0] == Condition("priority", Op.EQ, Priority.P1)
        assert query.field_types == (("cost", DEFS["cost"].type),)

    @pytest.mark.parametrize(
        ("bad", "message"),
        [
            (Condition("any", Op.ANY, "reporter"), "list of conditions"),
            (Condition("status", Op.ANY, ()), "field name 'any'"),
            (any_of(any_of()), "cannot hold another"),
            (any_of(Condition("nope", Op.EQ, 1)), "nope"),
            (Condition("any", Op.ANY, ({"field": "status"},)), "not a query condition"),
        ],
    )
    def test_bad_any_is_refused(self, bad: Condition, message: str) -> None:
        """Malformed 'any' conditions are a ValidationError naming the problem."""
        with pytest.raises(ValidationError, match=message):
            checked([bad])

    def test_fingerprint_covers_the_inner_conditions(self) -> None:
        """Two queries that differ only inside 'any' have different fingerprints."""
        a = checked([any_of(Condition("reporter", Op.EQ, "a"))])
        b = checked([any_of(Condition("reporter", Op.EQ, "b"))])
        assert a.fingerprint() != b.fingerprint()


class TestTenantFields:
    def test_tenant_and_organisation_are_queryable(self) -> None:
        """tenant and organisation are built-in fields; a missing organisation is null."""
        assert matches(ticket(1, tenant="acme"), checked({"tenant": "acme"}))
        assert not matches(ticket(1, tenant="acme"), checked({"tenant": "beta"}))
        assert matches(ticket(1), checked({"organisation": {"is_null": True}}))
        assert matches(ticket(1, organisation="Acme Ltd"), checked({"organisation": {"ne": "x"}}))
