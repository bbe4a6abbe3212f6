"""Macros as values: checked when built, checked against a tracker, kept as data."""

from __future__ import annotations

import json
import string
import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit import FieldDef, Priority, Tracker, TrackerConfig, ValidationError
from ticketkit._macros import ME, NOBODY, Macro, macros_from_data, macros_to_data
from ticketkit._model import Ticket
from ticketkit.serde import structure, unstructure

FIELDS = [
    FieldDef("team", "choice", choices=("blue", "red")),
    FieldDef("seats", "int"),
    FieldDef("due", "date"),
    FieldDef("os", "multi_choice", choices=("linux", "mac", "windows")),
    FieldDef("product", "text", required=True),
]
CONFIG = TrackerConfig(
    fields=FIELDS, queues={"support": "HD", "billing": "BIL"}, default_queue="support"
)
BUGS = TrackerConfig(workflow="bugtracker")
CLOSE = Macro("close", action="close")


def ticket(**changes: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": 7,
        "key": "HD-7",
        "title": "Printer jams",
        "description": "",
        "status": "open",
        "priority": Priority.P2,
        "reporter": "carol@example.com",
        "queue": "support",
        "created": datetime(2026, 3, 2, tzinfo=UTC),
        "updated": datetime(2026, 3, 2, tzinfo=UTC),
        "version": 3,
    }
    values.update(changes)
    return Ticket(**values)


class TestBuilding:
    def test_defaults(self) -> None:
        """A macro with one step keeps every other setting empty, and reads as its name."""
        macro = Macro("ask-for-logs", reply="Please send the logs.")
        assert macro.label == ""
        assert macro.title == "Ask for logs"
        assert macro.steps == ("reply",)
        assert (macro.internal, macro.priority, macro.queue, macro.assignee) == (
            False,
            None,
            None,
            None,
        )
        assert dict(macro.set_fields) == {}
        assert macro.add_tags == macro.remove_tags == frozenset()

    def test_equal_macros_hash_alike(self) -> None:
        """Macros are values: equal ones are one in a set."""
        one = Macro("x", set_fields={"team": "red"})
        assert len({one, Macro("x", set_fields={"team": "red"}), Macro("y", reply="z")}) == 2

    def test_label_is_the_title(self) -> None:
        assert Macro("x", label="Close as duplicate", action="close").title == "Close as duplicate"

    def test_values_are_converted(self) -> None:
        """Priorities, tags, dates and decimals take their canonical forms."""
        macro = Macro(
            "triage",
            priority="p1",
            add_tags=["VIP", "urgent"],
            set_fields={"due": date(2026, 4, 1), "seats": Decimal("3"), "os": ["mac"]},
        )
        assert macro.priority is Priority.P1
        assert macro.add_tags == {"vip", "urgent"}
        assert dict(macro.set_fields) == {"due": "2026-04-01", "os": ("mac",), "seats": "3"}
        assert macro.steps == ("fields.due", "fields.os", "fields.seats", "priority", "tags")

    @pytest.mark.parametrize(
        "name", ["", "Ask", "ask for logs", "-x", "a" * 65, "ünï", 5, None, "x\n"]
    )
    def test_name_format(self, name: object) -> None:
        """Names are short slugs: lower-case letters, digits, '_', '.', '-'."""
        with pytest.raises(ValidationError, match="macro name") as caught:
            Macro(name, reply="hi")  # type: ignore[arg-type]
        assert caught.value.field == "name"

    @pytest.mark.parametrize("name", ["a", "ask-for-logs", "tier2.escalate", "x_1", "9"])
    def test_good_names(self, name: str) -> None:
        assert Macro(name, add_tags=["t"]).name == name

    def test_needs_a_step(self) -> None:
        """A macro that would do nothing is refused, naming it."""
        with pytest.raises(ValidationError, match="macro 'empty' does nothing"):
            Macro("empty", label="Empty")

    def test_resolution_needs_an_action(self) -> None:
        with pytest.raises(ValidationError, match="resolution but no action") as caught:
            Macro("x", reply="hi", resolution="fixed")
        assert caught.value.field == "resolution"

    def test_internal_needs_a_reply(self) -> None:
        with pytest.raises(ValidationError, match="internal=True without a reply"):
            Macro("x", internal=True, action="close")

    def test_a_tag_is_added_or_removed_not_both(self) -> None:
        with pytest.raises(ValidationError, match="both adds and removes the tag 'vip'"):
            Macro("x", add_tags=["vip"], remove_tags=["VIP"])

    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            ({"set_fields": {"fields.team": "blue"}}, "write 'team', without 'fields.'"),
            ({"set_fields": ["team"]}, "set_fields must be a table"),
            ({"set_fields": {"seats": float("nan")}}, "cannot be nan"),
            ({"set_fields": {"due": datetime(2026, 1, 1, tzinfo=UTC)}}, "not a datetime"),
            ({"set_fields": {"team": object()}}, "cannot be set to"),
            ({"set_fields": {"os": ["mac", None]}}, "list of plain values"),
            ({"priority": "P9"}, "unknown priority"),
            ({"add_tags": "vip"}, "add_tags must be a list"),
            ({"add_tags": ["two words"]}, "tag 'two words' is not valid"),
            ({"assignee": "  "}, "assignee must not be empty"),
            ({"queue": 3}, "queue must be a string"),
            ({"action": ""}, "action must not be empty"),
            ({"internal": "yes", "reply": "x"}, "internal must be true or false"),
            ({"label": "two\nlines", "reply": "x"}, "label contains the control character"),
            ({"label": "x" * 201, "reply": "x"}, "the limit is 200"),
        ],
    )
    def test_bad_settings(self, settings: dict[str, Any], message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            Macro("x", **settings)

    def test_steps_and_permissions_in_order(self) -> None:
        """Each step names the permission a principal needs for it (detail: what exactly)."""
        macro = Macro(
            "escalate",
            set_fields={"team": "red"},
            priority="P1",
            queue="billing",
            assignee=ME,
            add_tags=["escalated"],
            reply="Escalated by $agent.",
            internal=True,
            action="start",
        )
        assert macro.steps == (
            "fields.team",
            "priority",
            "queue",
            "assignee",
            "tags",
            "note",
            "action",
        )
        assert macro.permissions("ann") == (
            ("change_field", "fields.team"),
            ("change_field", "priority"),
            ("change_field", "queue"),
            ("assign", "ann"),
            ("change_field", "tags"),
            ("internal_note", None),
            ("transition", "start"),
        )

    def test_permissions_for_the_agents_own_comment(self) -> None:
        """A comment given when applying needs comment (or internal_note) even without a reply."""
        macro = Macro("close", action="close")
        assert macro.permissions("ann") == (("transition", "close"),)
        assert macro.permissions("ann", comment=True) == (
            ("comment", None),
            ("transition", "close"),
        )

    @pytest.mark.parametrize(("assignee", "result"), [(ME, "ann"), (NOBODY, None), ("bob", "bob")])
    def test_assignee_for(self, assignee: str, result: str | None) -> None:
        """'me' is the agent applying the macro and 'nobody' unassigns."""
        macro = Macro("x", assignee=assignee)
        assert macro.assignee_for("ann") == result
        assert macro.permissions("ann") == (("assign", result),)


class TestTemplates:
    def test_placeholders_are_filled_in(self) -> None:
        macro = Macro(
            "hello",
            reply="Hi $reporter, $agent here about ${key} ($title): $status, $priority, "
            "$assignee. Costs $$5.",
        )
        assert macro.render(ticket(), "ann") == (
            "Hi carol@example.com, ann here about HD-7 (Printer jams): open, P2, "
            "unassigned. Costs $5."
        )

    def test_values_are_not_templates(self) -> None:
        """A ticket value holding '$agent' or '{…}' is put in as it is, never filled in again."""
        macro = Macro("hello", reply="About $title")
        assert macro.render(ticket(title="$agent {ticket.__class__}"), "ann") == (
            "About $agent {ticket.__class__}"
        )

    def test_no_reply_renders_none(self) -> None:
        assert Macro("x", action="close").render(ticket(), "ann") is None

    @pytest.mark.parametrize(
        ("reply", "message"),
        [
            ("Hi $name", "unknown placeholder \\$name"),
            ("Hi ${ticket}", "unknown placeholder \\$ticket"),
            ("Costs 5$", "'\\$' at position 7 that starts no placeholder"),
            ("${ticket.__class__}", "starts no placeholder"),
            ("{ticket.__class__}", "reads as a str.format field"),
            ("Hi {reporter}", "reads as a str.format field"),
            ("{0}", "reads as a str.format field"),
            ("{reporter!r:>10}", "reads as a str.format field"),
            ("", "must not be empty"),
            ("x\x00", "control character"),
        ],
    )
    def test_unsafe_or_unknown_templates_are_refused(self, reply: str, message: str) -> None:
        """Only $placeholders are filled in; str.format fields and unknown names are refused."""
        with pytest.raises(ValidationError, match=message) as caught:
            Macro("x", reply=reply)
        assert caught.value.field == "reply"

    def test_format_field_hint(self) -> None:
        with pytest.raises(ValidationError, match=r"use one of \$key, \$title"):
            Macro("x", reply="Dear {reporter}")

    @pytest.mark.parametrize("reply", ['{"a": 1}', "{ }", "Use {{ and }}", "a { b } c"])
    def test_other_braces_are_text(self, reply: str) -> None:
        """Braces that str.format could not read as a field stay plain text."""
        assert Macro("x", reply=reply).render(ticket(), "ann") == reply


class TestCheck:
    def test_a_fitting_macro_passes(self) -> None:
        Macro(
            "all",
            set_fields={"team": "red", "seats": 3, "os": ["mac", "linux"], "due": "2026-04-01"},
            queue="billing",
            reply="Moved.",
            action="resolve",
        ).check(CONFIG)

    @pytest.mark.parametrize(
        ("macro", "message", "field"),
        [
            (
                Macro("m", set_fields={"colour": "red"}),
                "macro 'm' sets the unknown custom field 'colour'; known fields: due, os,",
                "fields.colour",
            ),
            (
                Macro("m", set_fields={"team": "green"}),
                "macro 'm': .*green",
                "fields.team",
            ),
            (Macro("m", set_fields={"seats": "many"}), "macro 'm': .*many", "fields.seats"),
            (
                Macro("m", set_fields={"product": None}),
                "clears the required custom field 'product'",
                "fields.product",
            ),
            (Macro("m", queue="sales"), "macro 'm': unknown queue 'sales'", "queue"),
            (Macro("m", action="escalate"), "macro 'm': unknown action 'escalate'", "action"),
            (
                Macro("m", action="close", resolution="fixed"),
                "action 'close' takes no resolution",
                "resolution",
            ),
        ],
    )
    def test_what_the_tracker_lacks_is_refused(
        self, macro: Macro, message: str, field: str
    ) -> None:
        """Unknown fields, values, queues and actions raise ValidationError naming them."""
        with pytest.raises(ValidationError, match=message) as caught:
            macro.check(CONFIG)
        assert caught.value.field == field

    def test_resolution_choices(self) -> None:
        """An action that needs a resolution gets one of its choices from the macro."""
        Macro("fixed", action="resolve", resolution="fixed").check(BUGS)
        with pytest.raises(ValidationError, match="needs a resolution; use one of fixed, "):
            Macro("m", action="resolve").check(BUGS)
        with pytest.raises(ValidationError, match="cannot use 'done'; use one of fixed"):
            Macro("m", action="resolve", resolution="done").check(BUGS)

    def test_required_inputs(self) -> None:
        """An action that needs a field is refused unless the macro sets it."""
        Macro("hand-over", assignee="bob", action="reassign").check(BUGS)
        with pytest.raises(ValidationError, match="needs a value for 'assignee'"):
            Macro("m", action="reassign").check(BUGS)

    def test_required_comment(self) -> None:
        from ticketkit import Action, Category, RequireComment, State, Workflow

        workflow = Workflow(
            name="why",
            states=(State("open", Category.ACTIVE), State("closed", Category.CLOSED)),
            actions=(
                Action("close", {"open"}, "closed", effects=(RequireComment(),)),
                Action("reopen", {"closed"}, "open"),
            ),
            initial="open",
        )
        config = TrackerConfig(workflow=workflow)
        Macro("m", reply="Done.", action="close").check(config)
        with pytest.raises(ValidationError, match="needs a comment; give the macro a reply"):
            Macro("m", action="close").check(config)

    def test_tracker_checks_what_it_is_given(self) -> None:
        """Setting tracker.macros checks every macro; a refusal keeps the macros as they were."""
        good = Macro("ok", action="resolve")
        tracker = Tracker.in_memory(macros=[good])
        assert tracker.macros == (good,)
        with pytest.raises(ValidationError, match="macro 'bad': unknown queue"):
            tracker.macros = [Macro("fine", reply="x"), Macro("bad", queue="nowhere")]
        assert tracker.macros == (good,)
        with pytest.raises(ValidationError, match="two macros are named 'ok'"):
            tracker.macros = [good, Macro("ok", reply="x")]
        with pytest.raises(ValidationError, match="is not a Macro"):
            tracker.macros = ["ok"]  # type: ignore[list-item]
        with pytest.raises(ValidationError, match="macro 'ok' does nothing"):
            tracker.macros = [{"name": "ok"}]
        with pytest.raises(ValidationError, match="unknown action"):
            Tracker.in_memory(macros=[Macro("x", action="fly")])
        tracker.macros = ()
        assert tracker.macros == ()


# -- data -----------------------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + " .,!?\n\t'\"\\éü€"),
    min_size=1,
    max_size=40,
).filter(str.strip)
_NAMES = st.from_regex(r"\A[a-z0-9][a-z0-9_.-]{0,20}\Z")
_PEOPLE = st.from_regex(r"\A[a-z]{1,8}(@example\.com)?\Z")
_TAGS = st.frozensets(st.from_regex(r"\A[a-z0-9_-]{1,10}\Z"), max_size=3)
_VALUES = st.one_of(
    st.none(),
    _TEXT,
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates().map(date.isoformat),
    st.lists(st.sampled_from(("a", "b", "c")), min_size=1, max_size=3, unique=True).map(tuple),
)
_PLACEHOLDER = st.sampled_from(["$key", "$title", "${reporter}", "$agent", "$$", "$status"])


@st.composite
def macros(draw: st.DrawFn) -> Macro:
    reply = draw(
        st.none()
        | st.lists(_TEXT | _PLACEHOLDER, min_size=1, max_size=4).map(" ".join).filter(str.strip)
    )
    action = draw(st.none() | st.sampled_from(["resolve", "close", "start"]))
    add = draw(_TAGS)
    settings: dict[str, Any] = {
        "label": draw(st.just("") | _TEXT.map(lambda t: " ".join(t.split()))),
        "reply": reply,
        "internal": reply is not None and draw(st.booleans()),
        "set_fields": draw(
            st.dictionaries(st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z"), _VALUES, max_size=3)
        ),
        "priority": draw(st.none() | st.sampled_from(list(Priority))),
        "queue": draw(st.none() | _NAMES),
        "assignee": draw(st.none() | st.just(ME) | st.just(NOBODY) | _PEOPLE),
        "add_tags": add,
        "remove_tags": draw(_TAGS) - add,
        "action": action,
        "resolution": draw(st.none() | _NAMES) if action else None,
    }
    if not (reply or settings["set_fields"] or action or settings["priority"]):
        settings["add_tags"] = add | {"tagged"}
        settings["remove_tags"] -= {"tagged"}
    return Macro(draw(_NAMES), **settings)


def _no_nulls(value: object) -> bool:
    if isinstance(value, dict):
        return all(_no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return value is not None


def toml_value(value: object) -> str:
    """A TOML value for plain data (the test's own small writer; tomllib only reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(data: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for table in data["macros"]:
        lines.append("[[macros]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


class TestData:
    @given(macros())
    def test_round_trip(self, macro: Macro) -> None:
        """from_data(to_data(m)) == m, through JSON text too, with no nulls (TOML has none)."""
        data = macro.to_data()
        assert _no_nulls(data)
        assert Macro.from_data(data) == macro
        assert Macro.from_data(json.loads(json.dumps(data))) == macro

    @given(macros())
    def test_round_trip_through_the_converter(self, macro: Macro) -> None:
        """ticketkit.serde reads back what it writes, for front ends that send macros as JSON."""
        assert structure(json.loads(json.dumps(unstructure(macro))), Macro) == macro

    @given(st.lists(macros(), max_size=3, unique_by=lambda m: m.name))
    def test_round_trip_through_toml(self, found: list[Macro]) -> None:
        """A list of macros written as [[macros]] tables reads back the same."""
        text = toml_document(macros_to_data(found))
        assert macros_from_data(tomllib.loads(text)) == tuple(found)

    def test_data_form(self) -> None:
        macro = Macro(
            "close-duplicate",
            label="Close as duplicate",
            reply="Closed as a duplicate, $reporter.",
            set_fields={"team": "blue", "seats": None},
            priority="P4",
            assignee=ME,
            add_tags=["duplicate", "auto"],
            action="resolve",
        )
        assert macro.to_data() == {
            "name": "close-duplicate",
            "label": "Close as duplicate",
            "reply": "Closed as a duplicate, $reporter.",
            "set_fields": {"team": "blue"},
            "clear_fields": ["seats"],
            "priority": "P4",
            "assignee": "me",
            "add_tags": ["auto", "duplicate"],
            "action": "resolve",
        }

    def test_toml_file(self) -> None:
        """A help desk keeps its macros in a TOML file."""
        text = """
[[macros]]
name = "ask-for-logs"
label = "Ask for logs"
reply = "Hi $reporter, please attach the logs."
action = "wait_for_customer"
add_tags = ["needs-logs"]

[[macros]]
name = "fixed"
internal = true
reply = "Fixed by $agent."
set_fields = { team = "blue", seats = 3 }
clear_fields = ["due"]
action = "resolve"
"""
        found = macros_from_data(tomllib.loads(text))
        assert [m.name for m in found] == ["ask-for-logs", "fixed"]
        assert found[0].add_tags == {"needs-logs"}
        assert dict(found[1].set_fields) == {"due": None, "seats": 3, "team": "blue"}
        assert macros_from_data(macros_to_data(found)["macros"]) == found

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (
                {"name": "m", "reply": "x", "colour": "red"},
                "macro 'm' has the unknown key 'colour'",
            ),
            ({"reply": "x"}, "a macro needs the key 'name'"),
            ({"name": "m", "priority": "P9"}, "macro 'm': unknown priority"),
            (
                {"name": "m", "set_fields": {"team": "a"}, "clear_fields": ["team"]},
                "macro 'm' both sets and clears the field 'team'",
            ),
            ({"name": "m", "clear_fields": "team"}, "macro 'm': clear_fields must be a list"),
            ({"name": "m", "set_fields": "team"}, "set_fields must be a table"),
            ({"name": "m"}, "macro 'm' does nothing"),
            (["m"], "a macro must be a table"),
        ],
    )
    def test_bad_data(self, data: Any, message: str) -> None:
        """Errors name the macro and the key at fault."""
        with pytest.raises(ValidationError, match=message):
            Macro.from_data(data)

    def test_tracker_takes_data_tables(self) -> None:
        """Tracker(macros=...) reads data tables too: the worker's [[tracker.macros]]."""
        tracker = Tracker.in_memory(macros=[{"name": "solve", "action": "resolve"}, CLOSE])
        assert tracker.macros == (Macro("solve", action="resolve"), CLOSE)

    def test_worker_configuration_file(self, tmp_path: Path) -> None:
        from ticketkit.worker import load_config, tracker_from_config

        path = tmp_path / "helpdesk.toml"
        path.write_text(
            'url = "memory://"\n[tracker]\nprefix = "HD"\n'
            '[[tracker.macros]]\nname = "solve"\naction = "resolve"\nreply = "Done, $reporter."\n',
            encoding="utf-8",
        )
        with tracker_from_config(load_config(str(path))) as tracker:
            assert tracker.macro("solve").reply == "Done, $reporter."
            key = tracker.open("Broken", actor="carol").key
            assert tracker.apply_macro(key, "solve", actor="alice").status == "resolved"

    def test_many(self) -> None:
        """macros_from_data reads {"macros": [...]} or a plain list; names are unique."""
        one = {"name": "a", "reply": "x"}
        assert macros_from_data([one]) == macros_from_data({"macros": [one]})
        assert macros_from_data({}) == ()
        with pytest.raises(ValidationError, match="two macros are named 'a'"):
            macros_from_data([one, one])
        with pytest.raises(ValidationError, match="unknown key 'rules'"):
            macros_from_data({"rules": []})
        with pytest.raises(ValidationError, match="macros must be a list"):
            macros_from_data({"macros": "a"})
