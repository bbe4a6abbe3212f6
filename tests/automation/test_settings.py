"""Automation as data: every part round-trips, bad settings are refused by name."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from ticketkit import AutoClose, Automation, EventType, Notifications, Priority, ValidationError
from ticketkit._workflow_data import toml_document
from ticketkit.notify import Templates
from ticketkit.rules import (
    AddTag,
    Agent,
    Anchor,
    Elapsed,
    Escalate,
    EscalationLevel,
    EscalationPolicy,
    FieldIs,
    HasTag,
    Not,
    Note,
    Notify,
    OnEvent,
    Route,
    Router,
    Rule,
    RuleSet,
    SetPriority,
    Strategy,
)
from ticketkit.sla import BusinessCalendar, SLAPolicy, Target, TargetKind
from ticketkit.worker import tracker_from_config

FULL = Automation(
    sla=SLAPolicy(
        targets=(
            Target(TargetKind.FIRST_RESPONSE, timedelta(hours=1), priority=Priority.P1),
            Target(TargetKind.RESOLUTION, timedelta(days=2)),
        ),
        calendar=BusinessCalendar.weekdays("08:00", "18:00", timezone="Europe/Berlin"),
        warn_at=(0.5, 0.9),
    ),
    rules=RuleSet(
        (
            Rule(
                name="vip",
                trigger=OnEvent(frozenset({EventType.OPENED})),
                when=Not(HasTag("spam")),
                actions=(SetPriority(Priority.P1), Notify("rule", to=("assignee",), text="VIP")),
            ),
            Rule(
                name="stale",
                trigger=Elapsed(Anchor.UPDATED, timedelta(hours=8)),
                when=FieldIs("category", "eq", "active"),
                actions=(Note("Nobody touched $key for a day"), AddTag("stale"), Escalate()),
            ),
        ),
        max_depth=3,
    ),
    router=Router(
        agents=(Agent("ann", skills=frozenset({"linux"})), Agent("ben")),
        routes=(Route("all", strategy=Strategy.FEWEST_OPEN),),
    ),
    escalation=EscalationPolicy(levels=(EscalationLevel("lead", assign_to="lea"),)),
    auto_close=AutoClose(resolved_after=timedelta(days=5), business=True),
    notifications=Notifications(
        channel="mail", agents=("desk@example.com",), domain="help.example.com"
    ),
    templates=Templates().with_template("created", "[$key] received", "We have $title."),
    actor="helpdesk-bot",
    deliver_inline=False,
)


class TestData:
    def test_every_part_round_trips(self) -> None:
        """to_data and from_data give back an equal Automation."""
        assert Automation.from_data(FULL.to_data()) == FULL

    def test_json_and_toml(self) -> None:
        """The data survives JSON and TOML, so a host can keep it in a file."""
        data = FULL.to_data()
        assert Automation.from_data(json.loads(json.dumps(data))) == FULL
        assert Automation.from_data(tomllib.loads(toml_document(data))) == FULL

    def test_defaults_round_trip(self) -> None:
        assert Automation.from_data(Automation().to_data()) == Automation()

    def test_a_worker_config_builds_the_same_automation(self, tmp_path: Path) -> None:
        """A configuration file gives the worker the host's tracker and automation."""
        config = {"tracker": {"prefix": "HD"}, "automation": FULL.to_data()}
        with tracker_from_config(config, "memory://") as tracker:
            assert tracker.automation == FULL
            assert tracker.config.prefix == "HD"

    def test_a_worker_config_reads_field_and_workflow_tables(self) -> None:
        """Custom fields as tables and a workflow as a table, as ticketkit init's file has."""
        from ticketkit import simple

        config = {
            "tracker": {
                "prefix": "HD",
                "fields": [{"name": "os", "type": "choice", "choices": ["linux", "mac"]}],
                "workflow": simple().to_data(),
            },
            "automation": FULL.to_data(),
        }
        with tracker_from_config(config, "memory://") as tracker:
            assert tracker.config.fields["os"].choices == ("linux", "mac")
            assert tracker.workflow == simple()
            assert tracker.open("Mail", actor="ann", fields={"os": "mac"}).fields["os"] == "mac"


class TestRefused:
    @pytest.mark.parametrize(
        ("data", "named"),
        [
            ({"sla": {"targets": []}, "surprise": 1}, "surprise"),
            ({"auto_close": {"resolved_after": "-1h"}}, "resolved_after"),
            ({"auto_close": {"wait": "1h"}}, "wait"),
            ({"notifications": {"send": ["gossip"]}}, "gossip"),
            ({"sla": {"targets": [{"kind": "resolution", "within": "0s"}]}}, "positive length"),
            ({"sla": {"targets": [{"kind": "resolution", "within": "1h"}]}, "actor": ""}, "actor"),
        ],
    )
    def test_bad_data_names_the_problem(self, data: dict, named: str) -> None:
        with pytest.raises(ValidationError, match=named):
            Automation.from_data(data)

    def test_an_escalating_rule_needs_a_policy(self) -> None:
        from ticketkit import Tracker

        rule = Rule(
            name="up", trigger=OnEvent(frozenset({EventType.OPENED})), actions=(Escalate(),)
        )
        with pytest.raises(ValidationError, match="escalation"):
            Tracker.in_memory(automation=Automation(rules=[rule]))

    def test_a_routing_rule_needs_a_router(self) -> None:
        from ticketkit import Tracker
        from ticketkit.rules import Assign

        rule = Rule(
            name="route",
            trigger=OnEvent(frozenset({EventType.OPENED})),
            actions=(Assign(route=True),),
        )
        with pytest.raises(ValidationError, match="router"):
            Tracker.in_memory(automation=Automation(rules=[rule]))

    def test_automation_must_be_an_automation(self) -> None:
        from ticketkit import Tracker

        with pytest.raises(ValidationError, match="Automation"):
            Tracker.in_memory(automation={"sla": None})  # type: ignore[arg-type]
