"""Conditions of automation rules: every field, operator, tag and text test; all/any/not."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit._builtin_workflows import helpdesk
from ticketkit._errors import ValidationError
from ticketkit._events import Event, EventType
from ticketkit._fields import FieldDef, FieldType
from ticketkit._model import Comment, Ticket
from ticketkit._priority import Priority
from ticketkit._workflow import Category
from ticketkit.rules._conditions import (
    All,
    FieldIs,
    HasTag,
    Not,
    RuleContext,
    TextMatches,
    check_condition,
    condition_from_data,
)
from ticketkit.rules._conditions import Any as AnyOf

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WORKFLOW = helpdesk()
CTX = RuleContext(WORKFLOW, NOW)
FIELDS = {
    "team": FieldDef("team", FieldType.CHOICE, choices=("blue", "red")),
    "seats": FieldDef("seats", FieldType.INT),
    "budget": FieldDef("budget", FieldType.DECIMAL),
    "renewal": FieldDef("renewal", FieldType.DATE),
    "skills": FieldDef("skills", FieldType.MULTI_CHOICE, choices=("de", "en", "fr")),
    "notes": FieldDef("notes", FieldType.TEXT),
    "paying": FieldDef("paying", FieldType.BOOL),
    "owner": FieldDef("owner", FieldType.USER),
}


def ticket(**changes: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": 7,
        "key": "HD-7",
        "title": "Mail is down",
        "description": "Since 9:00 no mail arrives.",
        "status": "open",
        "priority": Priority.P2,
        "reporter": "carol",
        "queue": "support",
        "created": NOW,
        "updated": NOW,
        "version": 3,
        "assignee": "alice",
        "tags": frozenset({"vip", "mail"}),
        "organisation": "acme",
        "fields": {
            "team": "blue",
            "seats": 40,
            "budget": Decimal("12.50"),
            "renewal": date(2026, 6, 1),
            "skills": ("de", "en"),
            "notes": "Key account",
            "paying": True,
            "owner": "dave",
        },
    }
    values.update(changes)
    return Ticket(**values)


def holds(condition: Any, t: Ticket | None = None, ctx: RuleContext = CTX) -> bool:
    return bool(condition.matches(ticket() if t is None else t, ctx))


class TestFieldIsOperators:
    @pytest.mark.parametrize(
        ("op", "value", "expected"),
        [
            ("eq", "P2", True),
            ("eq", "P1", False),
            ("ne", "P1", True),
            ("lt", "P3", True),
            ("lt", "P2", False),
            ("le", "P2", True),
            ("gt", "P1", True),
            ("gt", "P2", False),
            ("ge", "P2", True),
            ("ge", "P3", False),
            ("in", ["P1", "P2"], True),
            ("in", ["P4"], False),
            ("not_in", ["P1", "P2"], False),
            ("not_in", ["P5"], True),
            ("is_set", None, True),
            ("is_empty", None, False),
        ],
    )
    def test_priority(self, op: str, value: Any, expected: bool) -> None:
        """Priorities compare by urgency: "lt P3" is P1 and P2."""
        assert holds(FieldIs("priority", op, value)) is expected

    def test_priority_lt_covers_exactly_the_more_urgent(self) -> None:
        """lt P3 matches P1 and P2 and nothing else."""
        cond = FieldIs("priority", "lt", "P3")
        matched = {p for p in Priority if holds(cond, ticket(priority=p))}
        assert matched == {Priority.P1, Priority.P2}

    @pytest.mark.parametrize(
        ("field", "op", "value", "expected"),
        [
            ("status", "eq", "open", True),
            ("status", "ne", "open", False),
            ("status", "in", ["new", "open"], True),
            ("status", "not_in", ["new", "open"], False),
            ("queue", "eq", "support", True),
            ("queue", "in", ["billing"], False),
            ("assignee", "eq", "alice", True),
            ("assignee", "ne", "bob", True),
            ("reporter", "eq", "carol", True),
            ("organisation", "eq", "acme", True),
            ("organisation", "not_in", ["acme"], False),
            ("title", "eq", "Mail is down", True),
            ("title", "contains", "MAIL", True),
            ("title", "contains", "printer", False),
            ("description", "contains", "no mail", True),
            ("description", "is_set", None, True),
            ("tags", "contains", "VIP", True),
            ("tags", "contains", "billing", False),
            ("tags", "is_set", None, True),
            ("tags", "is_empty", None, False),
        ],
    )
    def test_builtin_fields(self, field: str, op: str, value: Any, expected: bool) -> None:
        """Each built-in field compares with the operators it takes."""
        assert holds(FieldIs(field, op, value)) is expected

    @pytest.mark.parametrize(
        ("op", "value", "expected"),
        [
            ("eq", "active", True),
            ("eq", "pending", False),
            ("ne", "new", True),
            ("in", ["active", "pending"], True),
            ("not_in", ["resolved", "closed"], True),
        ],
    )
    def test_category_comes_from_the_workflow(self, op: str, value: Any, expected: bool) -> None:
        """category is the category of the ticket's status in the context's workflow."""
        assert holds(FieldIs("category", op, value)) is expected

    def test_category_of_pending_state(self) -> None:
        """pending_customer is in the pending category."""
        t = ticket(status="pending_customer")
        assert holds(FieldIs("category", "eq", Category.PENDING), t)

    def test_category_of_unknown_status_is_not_set(self) -> None:
        """A status the workflow does not know has no category: only ne/not_in/is_empty hold."""
        t = ticket(status="archived")
        assert not holds(FieldIs("category", "eq", "active"), t)
        assert holds(FieldIs("category", "ne", "active"), t)
        assert holds(FieldIs("category", "is_empty"), t)

    @pytest.mark.parametrize(
        ("op", "value", "expected"),
        [
            ("eq", "alice", False),
            ("ne", "alice", True),
            ("in", ["alice"], False),
            ("not_in", ["alice"], True),
            ("is_set", None, False),
            ("is_empty", None, True),
        ],
    )
    def test_unset_value_matches_only_negations(self, op: str, value: Any, expected: bool) -> None:
        """An unassigned ticket matches ne, not_in and is_empty on assignee."""
        assert holds(FieldIs("assignee", op, value), ticket(assignee=None)) is expected

    def test_no_tags_is_empty(self) -> None:
        """A ticket without tags is_empty on tags and contains nothing."""
        t = ticket(tags=frozenset())
        assert holds(FieldIs("tags", "is_empty"), t)
        assert not holds(FieldIs("tags", "contains", "vip"), t)


class TestFieldIsCustomFields:
    @pytest.mark.parametrize(
        ("field", "op", "value", "expected"),
        [
            ("fields.team", "eq", "blue", True),
            ("fields.team", "in", ["red"], False),
            ("fields.seats", "gt", 10, True),
            ("fields.seats", "le", 39, False),
            ("fields.budget", "eq", "12.5", True),
            ("fields.budget", "lt", 13, True),
            ("fields.budget", "ge", 12.51, False),
            ("fields.renewal", "lt", "2026-07-01", True),
            ("fields.renewal", "eq", "2026-06-01", True),
            ("fields.skills", "contains", "de", True),
            ("fields.skills", "contains", "fr", False),
            ("fields.skills", "eq", ["en", "de"], True),
            ("fields.skills", "ne", ["en"], True),
            ("fields.notes", "contains", "key", True),
            ("fields.paying", "eq", True, True),
            ("fields.paying", "ne", True, False),
            ("fields.owner", "eq", "dave", True),
            ("fields.missing", "is_empty", None, True),
            ("fields.team", "is_set", None, True),
        ],
    )
    def test_custom_field(self, field: str, op: str, value: Any, expected: bool) -> None:
        """Custom field values compare with the rule's JSON value in the field's own type."""
        assert holds(FieldIs(field, op, value)) is expected

    def test_python_values_are_kept_as_json(self) -> None:
        """A date or Decimal given in Python is kept as JSON text and still compares."""
        cond = FieldIs("fields.renewal", "eq", date(2026, 6, 1))
        assert cond.value == "2026-06-01"
        assert holds(cond)
        assert FieldIs("fields.budget", "eq", Decimal("12.50")).to_data()["value"] == "12.50"

    def test_contains_on_a_single_value_is_false(self) -> None:
        """contains on a field holding one number (not checked against definitions) is false."""
        assert not holds(FieldIs("fields.seats", "contains", "4"))
        assert not holds(FieldIs("fields.seats", "lt", "many"))

    def test_unset_custom_field(self) -> None:
        """A custom field the ticket does not have matches ne but not eq."""
        t = ticket(fields={})
        assert not holds(FieldIs("fields.team", "eq", "blue"), t)
        assert holds(FieldIs("fields.team", "ne", "blue"), t)


class TestFieldIsRefused:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("colour", "eq", "red"), "cannot look at the field 'colour'"),
            (("fields.", "eq", "red"), "cannot look at the field 'fields.'"),
            (("priority", "like", "P1"), "unknown condition operator 'like'"),
            (("status", "lt", "open"), "'lt' does not apply to 'status'"),
            (("tags", "eq", "vip"), "'eq' does not apply to 'tags'"),
            (("queue", "contains", "sup"), "'contains' does not apply to 'queue'"),
            (("priority", "eq", "P9"), "unknown priority 'P9'"),
            (("category", "eq", "waiting"), "unknown state category 'waiting'"),
            (("tags", "contains", "two words"), "tag 'two words' is not valid"),
            (("priority", "in", "P1"), "takes a list of values"),
            (("priority", "in", []), "needs at least one value"),
            (("assignee", "is_set", "alice"), "takes no value"),
            (("assignee", "eq", None), "compares with a string"),
            (("queue", "eq", ["a"]), "compares with one value"),
            (("fields.team", "eq", None), "use is_empty"),
            (("title", "contains", ""), "needs a non-empty string"),
        ],
    )
    def test_bad_condition(self, args: tuple[Any, ...], message: str) -> None:
        """Unknown fields, operators and values are refused when the condition is built."""
        with pytest.raises(ValidationError, match=message):
            FieldIs(*args)


class TestCheckAgainstDefinitions:
    @pytest.mark.parametrize(
        ("cond", "message"),
        [
            (FieldIs("fields.colour", "eq", "red"), "unknown custom field 'fields.colour'"),
            (FieldIs("fields.team", "eq", "green"), "must be one of blue, red"),
            (FieldIs("fields.seats", "eq", "many"), "expects a whole number"),
            (FieldIs("fields.team", "lt", "blue"), "'lt' does not apply to the choice field"),
            (FieldIs("fields.skills", "contains", "es"), "must be one of de, en, fr"),
            (FieldIs("fields.paying", "in", [True]), "'in' does not apply to the bool field"),
            (FieldIs("status", "eq", "archived"), "unknown state 'archived'"),
            (FieldIs("status", "in", ["open", "gone"]), "unknown state 'gone'"),
        ],
    )
    def test_refused(self, cond: FieldIs, message: str) -> None:
        """check refuses undefined fields, values a field cannot hold and unknown states."""
        with pytest.raises(ValidationError, match=message):
            check_condition(Not(All(cond)), FIELDS, WORKFLOW)

    def test_accepted(self) -> None:
        """Conditions that fit the definitions pass the check."""
        check_condition(
            All(
                FieldIs("fields.team", "in", ["blue", "red"]),
                FieldIs("fields.skills", "eq", ["de"]),
                FieldIs("fields.renewal", "lt", "2027-01-01"),
                FieldIs("status", "eq", "open"),
                FieldIs("fields.owner", "is_set"),
            ),
            FIELDS,
            WORKFLOW,
        )


class TestHasTag:
    def test_tag(self) -> None:
        """HasTag holds when the ticket has the tag, compared case-insensitively."""
        assert holds(HasTag("VIP"))
        assert not holds(HasTag("billing"))

    def test_bad_tag(self) -> None:
        """A tag with spaces is refused."""
        with pytest.raises(ValidationError, match="tag 'a b' is not valid"):
            HasTag("a b")


def comment_context(body: str) -> RuleContext:
    event = Event(7, "HD-7", 3, EventType.COMMENTED, "carol", NOW, data={"comment_id": 1})
    comment = Comment(1, 7, "HD-7", "carol", body, NOW)
    return RuleContext(WORKFLOW, NOW, event, comment, True)


class TestTextMatches:
    def test_plain_text_is_case_insensitive(self) -> None:
        """Plain text is a case-insensitive substring of title or description."""
        assert holds(TextMatches("MAIL IS"))
        assert holds(TextMatches("no mail arrives"))
        assert not holds(TextMatches("printer"))

    def test_where_limits_the_places(self) -> None:
        """where names the places searched."""
        assert not holds(TextMatches("no mail", where=("title",)))
        assert holds(TextMatches("no mail", where="description"))

    def test_comment_of_the_context(self) -> None:
        """The comment that triggered the rule is searched; without one it is not."""
        cond = TextMatches("refund", where=("comment",))
        assert holds(cond, ctx=comment_context("I want a REFUND now"))
        assert not holds(cond, ctx=comment_context("thanks"))
        assert not holds(cond)

    def test_regex(self) -> None:
        """regex=True searches a case-insensitive regular expression."""
        assert holds(TextMatches(r"^mail\s+is", regex=True))
        assert not holds(TextMatches(r"^is", regex=True))
        assert holds(TextMatches(r"invoice #\d+", regex=True), ctx=comment_context("Invoice #42"))

    def test_plain_text_is_not_a_regex(self) -> None:
        """Without regex, special characters are matched literally."""
        assert not holds(TextMatches("mail.is"))
        assert holds(TextMatches("9:00"))

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"pattern": "(", "regex": True}, r"regular expression '\(' is not valid"),
            ({"pattern": "  "}, "needs a non-empty pattern"),
            ({"pattern": "x", "where": ("subject",)}, "cannot be searched in 'subject'"),
            ({"pattern": "x", "where": ()}, "each at most once"),
            ({"pattern": "x", "where": ("title", "title")}, "each at most once"),
            ({"pattern": "x", "regex": "yes"}, "regex must be true or false"),
        ],
    )
    def test_refused(self, kwargs: dict[str, Any], message: str) -> None:
        """Bad patterns, places and flags are refused when built."""
        with pytest.raises(ValidationError, match=message):
            TextMatches(**kwargs)


class TestCombinators:
    def test_all(self) -> None:
        """All holds when every part holds; All() always holds."""
        assert holds(All(HasTag("vip"), FieldIs("queue", "eq", "support")))
        assert not holds(All(HasTag("vip"), HasTag("billing")))
        assert holds(All())

    def test_any(self) -> None:
        """Any holds when one part holds; Any() never holds."""
        assert holds(AnyOf(HasTag("billing"), HasTag("vip")))
        assert not holds(AnyOf(HasTag("billing"), HasTag("sales")))
        assert not holds(AnyOf())

    def test_not(self) -> None:
        """Not inverts its condition."""
        assert holds(Not(HasTag("billing")))
        assert not holds(Not(HasTag("vip")))

    def test_non_condition_refused(self) -> None:
        """Only conditions can be combined."""
        with pytest.raises(ValidationError, match="is not a condition"):
            All("vip")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="is not a condition"):
            Not({"has_tag": "vip"})  # type: ignore[arg-type]

    def test_equality(self) -> None:
        """Conditions are values: equal when built alike."""
        assert All(HasTag("vip"), Not(HasTag("x"))) == All(HasTag("VIP"), Not(HasTag("x")))
        assert All(HasTag("vip")) != AnyOf(HasTag("vip"))  # type: ignore[comparison-overlap]


class TestData:
    def test_forms(self) -> None:
        """Each condition has a plain-data form."""
        cond = All(
            FieldIs("priority", "lt", "P3"),
            FieldIs("assignee", "is_empty"),
            HasTag("vip"),
            AnyOf(TextMatches("refund", where=("comment",)), Not(FieldIs("queue", "in", ["a"]))),
        )
        assert cond.to_data() == {
            "all": [
                {"field": "priority", "op": "lt", "value": "P3"},
                {"field": "assignee", "op": "is_empty"},
                {"has_tag": "vip"},
                {
                    "any": [
                        {"text": "refund", "where": ["comment"], "regex": False},
                        {"not": {"field": "queue", "op": "in", "value": ["a"]}},
                    ]
                },
            ]
        }
        assert condition_from_data(cond.to_data()) == cond

    def test_op_defaults_to_eq(self) -> None:
        """A field condition without op compares for equality."""
        assert condition_from_data({"field": "queue", "value": "x"}) == FieldIs("queue", "eq", "x")

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"colour": "red"}, "exactly one of the keys"),
            ({"has_tag": "a", "text": "b"}, "exactly one of the keys"),
            ({"field": "queue", "value": "a", "extra": 1}, "unknown key 'extra'"),
            ({"all": {"has_tag": "a"}}, "must be a list of conditions"),
            ({"all": [{"has_tag": "a"}, {"nope": 1}]}, r"when\.all\[1\] must have exactly one"),
            ({"not": {"field": "queue", "op": "has"}}, r"when\.not: unknown condition operator"),
            ("vip", "must be a table"),
        ],
    )
    def test_bad_data(self, data: Any, message: str) -> None:
        """Unknown keys and malformed parts are refused, naming where they are."""
        with pytest.raises(ValidationError, match=message):
            condition_from_data(data, "when")


_SIMPLE = st.sampled_from(
    [
        FieldIs("priority", "lt", "P3"),
        FieldIs("category", "in", ["active", "pending"]),
        FieldIs("assignee", "is_set"),
        FieldIs("tags", "contains", "vip"),
        FieldIs("fields.skills", "eq", ["de", "en"]),
        FieldIs("fields.budget", "ge", "10.5"),
        FieldIs("fields.renewal", "lt", date(2027, 1, 1)),
        FieldIs("title", "contains", "mail"),
        HasTag("mail"),
        TextMatches("no mail"),
        TextMatches(r"\d+:\d+", where=("description",), regex=True),
    ]
)
conditions = st.recursive(
    _SIMPLE,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: All(*xs)),
        st.lists(inner, max_size=3).map(lambda xs: AnyOf(*xs)),
        inner.map(Not),
    ),
    max_leaves=8,
)


class TestProperties:
    @given(conditions)
    def test_round_trip_through_json(self, cond: Any) -> None:
        """Any condition survives to_data, JSON and from_data, and matches alike."""
        again = condition_from_data(json.loads(json.dumps(cond.to_data())))
        assert again == cond
        assert again.matches(ticket(), CTX) == cond.matches(ticket(), CTX)

    @given(conditions)
    def test_not_inverts(self, cond: Any) -> None:
        """Not(c) holds exactly when c does not."""
        assert Not(cond).matches(ticket(), CTX) is not cond.matches(ticket(), CTX)
