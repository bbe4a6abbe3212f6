"""Rules and rule sets: building, checking against a configuration, and plain data."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit._builtin_workflows import helpdesk
from ticketkit._errors import ValidationError
from ticketkit._events import Event, EventType
from ticketkit._fields import FieldDef, FieldType
from ticketkit._workflow_data import toml_document
from ticketkit.rules._actions import (
    AddTag,
    Assign,
    Escalate,
    Note,
    Notify,
    RemoveTag,
    Reply,
    SetField,
    SetPriority,
    Transition,
)
from ticketkit.rules._conditions import All, FieldIs, HasTag, Not, TextMatches
from ticketkit.rules._conditions import Any as AnyOf
from ticketkit.rules._rule import Rule, RuleSet
from ticketkit.rules._triggers import Anchor, Elapsed, OnEvent

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WORKFLOW = helpdesk()
FIELDS = {
    "team": FieldDef("team", FieldType.CHOICE, choices=("blue", "red")),
    "seats": FieldDef("seats", FieldType.INT),
}

#: The example of the design, as a user would write it in JSON.
EXAMPLE: dict[str, Any] = {
    "name": "angry customer",
    "trigger": {"event": ["commented"], "by": "customer"},
    "when": {
        "all": [
            {"field": "priority", "op": "ge", "value": "P2"},
            {"any": [{"has_tag": "vip"}, {"field": "fields.seats", "op": "gt", "value": 100}]},
            {"not": {"field": "category", "op": "in", "value": ["resolved", "closed"]}},
            {"text": "refund|cancel", "where": ["comment"], "regex": True},
        ]
    },
    "actions": [
        {"set_priority": "P1"},
        {"assign": "alice"},
        {"add_tag": "vip"},
        {"reply": "We are on it, $reporter."},
        {"note": "Escalated by a rule ($priority)"},
        {"transition": "start"},
        {"notify": "sla_warning", "to": ["assignee"]},
        {"escalate": None},
    ],
}


def event(kind: EventType) -> Event:
    return Event(1, "HD-1", 1, kind, "carol", NOW)


def note_rule(name: str, trigger: Any, *, enabled: bool = True) -> Rule:
    return Rule(name, trigger, [Note("hello")], enabled=enabled)


class TestRule:
    def test_from_the_design_example(self) -> None:
        """The documented data form builds the rule it describes."""
        rule = Rule.from_data(EXAMPLE)
        assert rule.trigger == OnEvent({EventType.COMMENTED}, "customer")
        assert rule.actions[0] == SetPriority("P1")
        assert rule.actions[-1] == Escalate()
        assert isinstance(rule.when, All)
        assert rule.enabled is True
        again = rule.to_data()
        assert again["actions"][-1] == {"escalate": True}
        assert Rule.from_data(again) == rule

    def test_defaults(self) -> None:
        """A rule's condition defaults to All() (always) and it is enabled."""
        rule = Rule("tag", OnEvent({"opened"}), AddTag("new"))
        assert rule.when == All()
        assert rule.actions == (AddTag("new"),)
        assert rule.to_data() == {
            "name": "tag",
            "trigger": {"event": ["opened"], "by": "anyone"},
            "actions": [{"add_tag": "new"}],
        }

    def test_disabled_is_recorded(self) -> None:
        """A disabled rule says so in its data."""
        rule = note_rule("off", OnEvent({"opened"}), enabled=False)
        assert rule.to_data()["enabled"] is False
        assert Rule.from_data(rule.to_data()) == rule

    @pytest.mark.parametrize(
        ("build", "message"),
        [
            (lambda: Rule("r", OnEvent({"opened"}), []), "rule 'r' has no actions"),
            (lambda: Rule("r", {"event": ["opened"]}, [Note("x")]), "must be OnEvent or Elapsed"),
            (lambda: Rule("r", OnEvent({"opened"}), ["note"]), "is not a rule action"),
            (
                lambda: Rule("r", OnEvent({"opened"}), [Note("x")], when="vip"),  # type: ignore[arg-type]
                "not a condition",
            ),
            (lambda: Rule(" ", OnEvent({"opened"}), [Note("x")]), "rule name must not be empty"),
            (lambda: Rule("r", OnEvent({"opened"}), [Note("x")], enabled=1), "enabled must be"),
        ],
    )
    def test_refused(self, build: Any, message: str) -> None:
        """A rule without actions or with parts of the wrong kind is refused."""
        with pytest.raises(ValidationError, match=message):
            build()


def with_changes(**changes: Any) -> dict[str, Any]:
    return {**EXAMPLE, **changes}


class TestFromDataErrors:
    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (with_changes(actions=[{"sned": "x"}]), r"rule 'angry customer', actions\[0\] has"),
            (
                with_changes(actions=[{"note": "ok"}, {"reply": "$who"}]),
                r"rule 'angry customer', actions\[1\]: reply uses the unknown placeholder \$who",
            ),
            (
                with_changes(when={"field": "priority", "op": "around"}),
                "rule 'angry customer', when: unknown condition operator 'around'",
            ),
            (
                with_changes(when={"any": [{"text": "[", "regex": True}]}),
                r"rule 'angry customer', when\.any\[0\]: the regular expression '\[' is not valid",
            ),
            (
                with_changes(when={"colour": "red"}),
                "rule 'angry customer', when must have exactly one of the keys",
            ),
            (
                with_changes(trigger={"event": ["commentd"]}),
                "rule 'angry customer', trigger: unknown event type 'commentd'",
            ),
            (
                with_changes(trigger={"elapsed": "-1h", "since": "created"}),
                "rule 'angry customer', trigger: after '-1h' is not a length of time",
            ),
            (with_changes(actions=[]), "^rule 'angry customer' has no actions"),
            (with_changes(actions={"note": "x"}), "actions must be a list"),
            (with_changes(priority=1), "rule 'angry customer' has the unknown key 'priority'"),
            ({"name": "x", "actions": []}, "rule 'x' needs the key 'trigger'"),
            ("rule", "must be a table"),
        ],
    )
    def test_names_rule_and_item(self, data: Any, message: str) -> None:
        """Errors from data name the rule and the item at fault."""
        with pytest.raises(ValidationError, match=message):
            Rule.from_data(data)


class TestCheck:
    @pytest.mark.parametrize(
        ("rule", "message"),
        [
            (
                Rule("a", OnEvent({"opened"}), [Note("x")], when=FieldIs("fields.colour", "eq", 1)),
                "rule 'a', when: unknown custom field 'fields.colour'",
            ),
            (
                Rule("b", OnEvent({"opened"}), [Note("x")], when=FieldIs("fields.team", "eq", "x")),
                "rule 'b', when: custom field 'team' must be one of blue, red",
            ),
            (
                Rule("c", OnEvent({"opened"}), [Note("x")], when=FieldIs("status", "eq", "gone")),
                "rule 'c', when: unknown state 'gone'",
            ),
            (
                Rule("d", OnEvent({"opened"}), [Note("x"), SetField("fields.size", 3)]),
                r"rule 'd', actions\[1\] \(set_field\): unknown custom field 'fields.size'",
            ),
            (
                Rule("e", OnEvent({"opened"}), [Transition("shut")]),
                r"rule 'e', actions\[0\] \(transition\): unknown action 'shut'",
            ),
        ],
    )
    def test_unknown_references(self, rule: Rule, message: str) -> None:
        """check refuses unknown fields, states and workflow actions, naming rule and item."""
        with pytest.raises(ValidationError, match=message):
            rule.check(FIELDS, WORKFLOW)
        with pytest.raises(ValidationError, match=message):
            RuleSet([note_rule("fine", OnEvent({"opened"})), rule]).check(FIELDS, WORKFLOW)

    def test_known_references(self) -> None:
        """A rule that refers only to what exists passes."""
        RuleSet.from_data(
            [
                with_changes(
                    actions=[
                        {"set_field": "fields.team", "value": "red"},
                        {"transition": "resolve"},
                    ]
                ),
            ]
        ).check(FIELDS, WORKFLOW)

    def test_priority_is_checked_when_built(self) -> None:
        """An unknown priority is refused already when the rule is read."""
        with pytest.raises(ValidationError, match=r"actions\[0\]: unknown priority 'P0'"):
            Rule.from_data(with_changes(actions=[{"set_priority": "P0"}]))


class TestRuleSet:
    def test_unique_names(self) -> None:
        """Two rules with one name are refused."""
        with pytest.raises(ValidationError, match="two rules are named 'same'"):
            RuleSet([note_rule("same", OnEvent({"opened"})), note_rule("same", OnEvent("merged"))])

    @pytest.mark.parametrize("depth", [0, 51, -1, True, "5"])
    def test_max_depth_range(self, depth: Any) -> None:
        """max_depth is a whole number from 1 to 50."""
        with pytest.raises(ValidationError, match="max_depth"):
            RuleSet([], depth)

    def test_for_event(self) -> None:
        """for_event gives the enabled event rules that take the event's type, in order."""
        a = note_rule("a", OnEvent({"opened", "commented"}))
        b = note_rule("b", OnEvent({"commented"}, "customer"))
        c = note_rule("c", OnEvent({"commented"}), enabled=False)
        d = note_rule("d", Elapsed(Anchor.CREATED, timedelta(hours=1)))
        rules = RuleSet([a, b, c, d])
        assert rules.for_event(event(EventType.COMMENTED)) == (a, b)
        assert rules.for_event(event(EventType.OPENED)) == (a,)
        assert rules.for_event(event(EventType.ASSIGNED)) == ()

    def test_timed(self) -> None:
        """timed gives the enabled time-based rules, in order."""
        a = note_rule("a", Elapsed("created", "1h"))
        b = note_rule("b", OnEvent({"opened"}))
        c = note_rule("c", Elapsed("last_customer_reply", "8h"), enabled=False)
        d = note_rule("d", Elapsed("updated", "2d"))
        assert RuleSet([a, b, c, d]).timed() == (a, d)

    def test_rule_by_name(self) -> None:
        """rule(name) finds a rule; an unknown name is refused."""
        a = note_rule("a", OnEvent({"opened"}))
        assert RuleSet([a]).rule("a") is a
        with pytest.raises(ValidationError, match="no rule named 'b'; the rules: a"):
            RuleSet([a]).rule("b")

    def test_data_forms(self) -> None:
        """A rule set is read from a list or a table, and written as a table."""
        a = note_rule("a", OnEvent({"opened"}))
        assert RuleSet.from_data([a.to_data()]) == RuleSet([a])
        data = {"max_depth": 3, "rules": [a.to_data()]}
        assert RuleSet.from_data(data) == RuleSet([a], 3)
        assert RuleSet([a], 3).to_data() == data
        assert RuleSet.from_data({}) == RuleSet()
        with pytest.raises(ValidationError, match="unknown key 'depth'"):
            RuleSet.from_data({"depth": 3})
        with pytest.raises(ValidationError, match="must be a list of rules"):
            RuleSet.from_data({"rules": "a"})


# -- Hypothesis: any rule round-trips through JSON and TOML -------------------------

_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda s: "$" not in s and s.strip())
_template = st.builds(
    lambda pre, name: f"{pre} ${name}",
    _texts,
    st.sampled_from(["key", "title", "status", "priority", "assignee", "reporter"]),
)

_conditions_leaf = st.one_of(
    st.builds(
        FieldIs,
        st.just("priority"),
        st.sampled_from(["lt", "ge", "eq"]),
        st.sampled_from(["P1", "P3", "P5"]),
    ),
    st.builds(
        FieldIs,
        st.just("queue"),
        st.sampled_from(["in", "not_in"]),
        st.lists(_words, min_size=1, max_size=3),
    ),
    st.builds(
        FieldIs,
        st.sampled_from(["assignee", "tags", "organisation"]),
        st.sampled_from(["is_set", "is_empty"]),
    ),
    st.builds(
        FieldIs, st.just("fields.seats"), st.sampled_from(["gt", "le"]), st.integers(-1000, 1000)
    ),
    st.builds(
        FieldIs,
        st.just("fields.rate"),
        st.just("eq"),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    st.builds(HasTag, _words),
    st.builds(
        TextMatches,
        _texts,
        st.sampled_from([("title",), ("comment",), ("title", "description", "comment")]),
    ),
)
_conditions = st.recursive(
    _conditions_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: All(*xs)),
        st.lists(inner, max_size=3).map(lambda xs: AnyOf(*xs)),
        inner.map(Not),
    ),
    max_leaves=6,
)
_actions = st.one_of(
    st.builds(SetField, st.just("fields.team"), st.one_of(st.none(), _words, st.integers())),
    st.builds(SetField, st.sampled_from(["queue", "assignee"]), _words),
    st.builds(SetPriority, st.sampled_from(["P1", "P2", "P3", "P4", "P5"])),
    st.builds(Assign, st.one_of(st.none(), _words)),
    st.just(Assign(route=True)),
    st.builds(AddTag, _words),
    st.builds(RemoveTag, _words),
    st.builds(Reply, _template),
    st.builds(Note, _texts),
    st.builds(Transition, _words),
    st.builds(
        Notify,
        _words,
        st.lists(_words, min_size=1, max_size=3, unique=True),
        st.one_of(st.just(""), _template),
    ),
    st.builds(Escalate, st.one_of(st.none(), _words)),
)
_triggers = st.one_of(
    st.builds(
        OnEvent,
        st.frozensets(st.sampled_from(list(EventType)), min_size=1),
        st.sampled_from(["anyone", "customer", "agent"]),
    ),
    st.builds(
        Elapsed,
        st.sampled_from(list(Anchor)),
        st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=400)),
        st.booleans(),
    ),
)
rules = st.builds(
    Rule,
    _texts.map(str.strip),
    _triggers,
    st.lists(_actions, min_size=1, max_size=4),
    _conditions,
    st.booleans(),
)
rule_sets = st.builds(
    RuleSet,
    st.lists(rules, max_size=4, unique_by=lambda r: r.name),
    st.integers(1, 50),
)


def _no_null(data: Any) -> bool:
    if isinstance(data, dict):
        return all(_no_null(v) for v in data.values())
    if isinstance(data, list):
        return all(_no_null(v) for v in data)
    return data is not None


class TestProperties:
    @given(rules)
    def test_rule_round_trip(self, rule: Rule) -> None:
        """Any rule survives to_data/from_data and a trip through JSON."""
        assert Rule.from_data(rule.to_data()) == rule
        assert Rule.from_data(json.loads(json.dumps(rule.to_data()))) == rule

    @given(rule_sets)
    def test_rule_set_round_trip_through_toml(self, rules: RuleSet) -> None:
        """Any rule set's data holds no null and survives a trip through TOML."""
        data = rules.to_data()
        assert _no_null(data)
        assert RuleSet.from_data(tomllib.loads(toml_document(data))) == rules
        assert RuleSet.from_data(json.loads(json.dumps(data))) == rules

    @given(rule_sets)
    def test_for_event_agrees_with_the_rules(self, rules: RuleSet) -> None:
        """for_event is exactly the enabled event rules that take the type, in order."""
        for kind in EventType:
            expected = tuple(
                r
                for r in rules.rules
                if r.enabled and isinstance(r.trigger, OnEvent) and kind in r.trigger.types
            )
            assert rules.for_event(event(kind)) == expected
