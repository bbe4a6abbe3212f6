"""Actions of automation rules: every data form, text templates, and refusals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from ticketkit._builtin_workflows import helpdesk
from ticketkit._errors import ValidationError
from ticketkit._fields import FieldDef, FieldType
from ticketkit._model import Ticket
from ticketkit._priority import Priority
from ticketkit.rules._action_data import action_from_data
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
    check_template,
    render_text,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FIELDS = {
    "team": FieldDef("team", FieldType.CHOICE, choices=("blue", "red")),
    "seats": FieldDef("seats", FieldType.INT, required=True),
    "renewal": FieldDef("renewal", FieldType.DATE),
    "skills": FieldDef("skills", FieldType.MULTI_CHOICE, choices=("de", "en")),
}


def ticket(**changes: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": 7,
        "key": "HD-7",
        "title": "Mail is down",
        "description": "",
        "status": "open",
        "priority": Priority.P2,
        "reporter": "carol",
        "queue": "support",
        "created": NOW,
        "updated": NOW,
        "version": 3,
        "assignee": "alice",
    }
    values.update(changes)
    return Ticket(**values)


FORMS: list[tuple[Any, dict[str, Any]]] = [
    (SetField("fields.team", "blue"), {"set_field": "fields.team", "value": "blue"}),
    (
        SetField("fields.skills", ["de", "en"]),
        {"set_field": "fields.skills", "value": ["de", "en"]},
    ),
    (SetField("queue", "billing"), {"set_field": "queue", "value": "billing"}),
    (SetField("impact", "HIGH"), {"set_field": "impact", "value": "high"}),
    (
        SetField("fields.renewal", date(2027, 1, 1)),
        {"set_field": "fields.renewal", "value": "2027-01-01"},
    ),
    (SetField("fields.team"), {"clear_field": "fields.team"}),
    (SetField("assignee", None), {"clear_field": "assignee"}),
    (SetPriority("p1"), {"set_priority": "P1"}),
    (SetPriority(Priority.P4), {"set_priority": "P4"}),
    (Assign("alice"), {"assign": "alice"}),
    (Assign(), {"unassign": True}),
    (Assign(route=True), {"route": True}),
    (AddTag("VIP"), {"add_tag": "vip"}),
    (RemoveTag("vip"), {"remove_tag": "vip"}),
    (Reply("Hello $reporter, we look at $key."), {"reply": "Hello $reporter, we look at $key."}),
    (Note("Priority was $priority"), {"note": "Priority was $priority"}),
    (Transition("close"), {"transition": "close"}),
    (Notify("sla_warning", ("assignee",)), {"notify": "sla_warning", "to": ["assignee"]}),
    (
        Notify("rule", "boss@example.com", "About $key"),
        {"notify": "rule", "to": ["boss@example.com"], "text": "About $key"},
    ),
    (Notify("created"), {"notify": "created", "to": ["reporter"]}),
    (Escalate(), {"escalate": True}),
    (Escalate("manager"), {"escalate": "manager"}),
]


class TestDataForms:
    @pytest.mark.parametrize(("action", "data"), FORMS, ids=lambda v: repr(v)[:40])
    def test_form(self, action: Any, data: dict[str, Any]) -> None:
        """Each action writes its documented form and reads back equal, through JSON."""
        assert action.to_data() == data
        assert action_from_data(json.loads(json.dumps(data))) == action

    @pytest.mark.parametrize(("action", "data"), FORMS, ids=lambda v: repr(v)[:40])
    def test_forms_hold_no_null(self, action: Any, data: dict[str, Any]) -> None:
        """No form holds a null, so every one can be written as TOML."""
        assert None not in data.values()

    @pytest.mark.parametrize(
        ("data", "action"),
        [
            ({"assign": None}, Assign()),
            ({"escalate": None}, Escalate()),
            ({"set_field": "fields.team", "value": None}, SetField("fields.team")),
            ({"set_field": "fields.team"}, SetField("fields.team")),
            ({"notify": "created", "to": "assignee"}, Notify("created", ("assignee",))),
        ],
    )
    def test_other_accepted_forms(self, data: dict[str, Any], action: Any) -> None:
        """Nulls (as JSON writes them) and a single recipient are read too."""
        assert action_from_data(data) == action

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"sned": "x"}, r"actions\[0\] has the unknown action 'sned'"),
            ({}, "has no action"),
            ({"reply": "a", "note": "b"}, "several actions"),
            ({"reply": "a", "to": ["x"]}, "reply has the unknown key 'to'"),
            ({"notify": "x", "cc": ["x"]}, "notify has the unknown key 'cc'"),
            ({"set_priority": "P7"}, r"actions\[0\]: unknown priority 'P7'"),
            ({"unassign": False}, "'unassign' takes true"),
            ({"route": "yes"}, "'route' takes true"),
            ({"escalate": 3}, "escalate takes a level name"),
            ({"set_field": "status", "value": "x"}, "use transition"),
            ("reply", "must be a table"),
        ],
    )
    def test_bad_data(self, data: Any, message: str) -> None:
        """Unknown kinds and keys, and bad values, are refused naming where they are."""
        with pytest.raises(ValidationError, match=message):
            action_from_data(data, "rule 'r', actions[0]")


class TestRefused:
    @pytest.mark.parametrize(
        ("build", "message"),
        [
            (lambda: SetField("priority", "P1"), "use set_priority"),
            (lambda: SetField("tags", ["a"]), "use add_tag or remove_tag"),
            (lambda: SetField("colour", "red"), "cannot set the field 'colour'"),
            (lambda: SetField("title", None), "title must be a string"),
            (lambda: SetField("title", "a\nb"), "control character"),
            (lambda: SetField("queue", None), "queue must be a string"),
            (lambda: SetField("queue", ["a"]), "takes one value"),
            (lambda: SetField("urgency", "extreme"), "unknown urgency 'extreme'"),
            (lambda: SetField("fields.when", datetime(2026, 1, 1)), "not a datetime"),
            (lambda: SetPriority("urgent"), "unknown priority 'urgent'"),
            (lambda: Assign("alice", route=True), "not both"),
            (lambda: Assign(""), "must not be empty"),
            (lambda: Assign(route=1), "route must be true or false"),
            (lambda: AddTag("two words"), "is not valid"),
            (lambda: Reply(""), "must not be empty"),
            (lambda: Reply("Dear $customer"), r"unknown placeholder \$customer"),
            (lambda: Note("costs 5$"), "write \\$\\$ for a dollar sign"),
            (lambda: Notify("x", to=()), "at least one recipient"),
            (lambda: Notify("x", to=("a", "a")), "recipient twice"),
            (lambda: Notify("x", text="${nope}"), r"unknown placeholder \$nope"),
            (lambda: Transition(" "), "must not be empty"),
            (lambda: Escalate(""), "must not be empty"),
        ],
    )
    def test_refused(self, build: Any, message: str) -> None:
        """Bad actions are refused when built, naming the value."""
        with pytest.raises(ValidationError, match=message):
            build()


class TestCheck:
    def test_custom_fields(self) -> None:
        """SetField checks the custom field exists and can hold the value."""
        SetField("fields.team", "red").check(FIELDS)
        SetField("fields.skills", ["en"]).check(FIELDS)
        SetField("queue", "x").check(FIELDS)
        with pytest.raises(ValidationError, match=r"unknown custom field 'fields\.colour'"):
            SetField("fields.colour", "x").check(FIELDS)
        with pytest.raises(ValidationError, match="must be one of blue, red"):
            SetField("fields.team", "green").check(FIELDS)
        with pytest.raises(ValidationError, match=r"'fields\.seats' is required"):
            SetField("fields.seats").check(FIELDS)

    def test_transition(self) -> None:
        """Transition checks the workflow has the action."""
        Transition("close").check(helpdesk())
        with pytest.raises(ValidationError, match="unknown action 'shut'"):
            Transition("shut").check(helpdesk())


class TestTemplates:
    def test_render(self) -> None:
        """render_text fills in the ticket's key, title, status, priority and people."""
        text = "$key [$priority/$status] ${title} for $reporter by $assignee, costs $$5"
        assert render_text(text, ticket()) == (
            "HD-7 [P2/open] Mail is down for carol by alice, costs $5"
        )

    def test_unassigned(self) -> None:
        """An unassigned ticket's $assignee reads "unassigned"."""
        assert render_text("$assignee", ticket(assignee=None)) == "unassigned"

    def test_values_are_not_templates(self) -> None:
        """A $ inside a ticket value is not expanded again."""
        assert render_text("$title", ticket(title="Costs $key")) == "Costs $key"

    def test_render_refuses_unknown(self) -> None:
        """render_text refuses a template with unknown placeholders."""
        with pytest.raises(ValidationError, match=r"unknown placeholder \$due"):
            render_text("due $due", ticket())

    def test_check_template_names_what(self) -> None:
        """The error names the text it was found in."""
        with pytest.raises(ValidationError, match=r"^reply uses the unknown placeholder \$x") as e:
            check_template("$x", "reply")
        assert e.value.field == "reply"


class TestValues:
    def test_actions_are_frozen_values(self) -> None:
        """Actions compare by value and cannot be changed."""
        assert AddTag("VIP") == AddTag("vip")
        assert SetField("fields.x", ["a"]) == SetField("fields.x", ("a",))
        assert SetField("fields.x", Decimal("1.5")).value == "1.5"
        with pytest.raises(AttributeError):
            AddTag("x").tag = "y"  # type: ignore[misc]
