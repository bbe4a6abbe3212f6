"""Dry runs of rules over recorded history: what would have fired, and nothing written."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ticketkit import (
    Automation,
    EventType,
    FrozenClock,
    Notifications,
    Tracker,
    ValidationError,
)
from ticketkit.rules import (
    AddTag,
    Anchor,
    DraftComment,
    DraftNotification,
    DryRun,
    Elapsed,
    FieldChange,
    FieldIs,
    Firing,
    HasTag,
    Note,
    Notify,
    OnEvent,
    Reply,
    Rule,
    RuleSet,
    RuleSummary,
    SetField,
    SetPriority,
    SkippedAction,
    StatusChange,
    TextMatches,
    Transition,
    dry_run,
)
from ticketkit.sla import BusinessCalendar, SLAPolicy, Target

#: Monday 5 January 2026, 09:00 UTC.
MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENT = "alice@example.com"
CUSTOMER = "carol@example.com"
VIP = "dave@example.com"
OFFICE = BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC")


def monday_plus(days: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY.replace(day=5 + days, hour=hour, minute=minute)


def automation() -> Automation:
    policy = SLAPolicy(targets=(Target("first_response", "4h"),), calendar=OFFICE)
    return Automation(sla=policy, notifications=Notifications())


@contextmanager
def tracker_on(backend: str, tmp_path: Path) -> Iterator[tuple[Tracker, FrozenClock]]:
    clock = FrozenClock(MONDAY)
    if backend == "memory":
        with Tracker.in_memory(clock=clock, automation=automation()) as tracker:
            yield tracker, clock
        return
    url = f"sqlite:///{tmp_path / 'dry-run.db'}"
    with Tracker.from_url(url, clock=clock, automation=automation()) as tracker:
        yield tracker, clock


def record_history(tracker: Tracker, clock: FrozenClock) -> None:
    """TK-1: carol's mail, worked on by alice; TK-2: dave's (a VIP) laptop."""
    first = tracker.open("Mail is down", actor=CUSTOMER, assignee=AGENT)
    clock.advance(minutes=30)  # 09:30
    tracker.transition(first.key, "start", actor=AGENT, comment="Looking.")
    clock.advance(minutes=30)  # 10:00
    tracker.comment(first.key, "Still down!", actor=CUSTOMER)
    clock.advance(minutes=15)  # 10:15
    tracker.open("New laptop", actor=VIP, tags=["vip"])
    clock.advance(hours=5, minutes=45)  # 16:00
    tracker.comment(first.key, "Any news?", actor=CUSTOMER)
    clock.advance(hours=18)  # Tuesday 10:00
    tracker.transition(first.key, "wait_for_customer", actor=AGENT)
    clock.advance(hours=5)  # Tuesday 15:00
    tracker.transition(first.key, "customer_replied", actor=AGENT)
    clock.advance(hours=18)  # Wednesday 09:00


RULES = RuleSet(
    [
        Rule(
            "urgent",
            OnEvent({"commented"}, by="customer"),
            [SetPriority("P1"), Notify("rule", ["assignee"], "$key needs you")],
        ),
        # The status is "new" only before the write that adds the first comment.
        Rule(
            "early", OnEvent({"commented"}), [AddTag("early")], when=FieldIs("status", "eq", "new")
        ),
        Rule(
            "resolve vip",
            OnEvent({"opened"}),
            [Transition("resolve"), AddTag("handled")],
            when=HasTag("vip"),
        ),
        Rule(
            "restart",
            OnEvent({"commented"}, by="customer"),
            [Transition("start"), AddTag("chased")],
        ),
        Rule(
            "chase",
            Elapsed(Anchor.CUSTOMER_REPLY, timedelta(hours=4)),  # business hours
            [Note("$reporter waits")],
            when=FieldIs("category", "eq", "active"),
        ),
    ]
)

URGENT = (FieldChange("priority", "P3", "P1"),)
TOLD = (DraftNotification("email", "rule", (AGENT,), "[TK-1] Mail is down"),)
NOT_NOW = SkippedAction(
    "Transition",
    "cannot 'start' TK-1: it is 'open'; from 'open' you can: wait_for_customer, resolve",
)
CHASED = (FieldChange("tags", [], ["chased"]),)


def expected_firings(comments: tuple[int, int], opened: int) -> list[Firing]:
    """The firings of RULES on the recorded history; event ids vary with the store."""
    still_down, any_news = comments
    waits = (DraftComment("carol@example.com waits", internal=True),)
    return [
        Firing("TK-1", "urgent", "commented", monday_plus(0, 10), still_down, CUSTOMER,
               changes=URGENT, notifications=TOLD),
        Firing("TK-1", "restart", "commented", monday_plus(0, 10), still_down, CUSTOMER,
               changes=CHASED, skipped=(NOT_NOW,)),
        Firing("TK-2", "resolve vip", "opened", monday_plus(0, 10, 15), opened, VIP,
               changes=(FieldChange("tags", ["vip"], ["handled", "vip"]),),
               transitions=(StatusChange("resolve", "new", "resolved"),)),
        # Four business hours after the 10:00 reply; the reply of 16:00 came later.
        Firing("TK-1", "chase", "elapsed", monday_plus(0, 14), anchor=monday_plus(0, 10),
               comments=waits),
        # In real history priority stayed P3: the rule's own change does not feed back.
        Firing("TK-1", "urgent", "commented", monday_plus(0, 16), any_news, CUSTOMER,
               changes=URGENT, notifications=TOLD),
        Firing("TK-1", "restart", "commented", monday_plus(0, 16), any_news, CUSTOMER,
               changes=CHASED, skipped=(NOT_NOW,)),
        # Due Tuesday 12:00 (1 h on Monday, 3 h on Tuesday) while the ticket waited
        # for the customer; it held again after alice's change at 15:00.
        Firing("TK-1", "chase", "elapsed", monday_plus(1, 15), anchor=monday_plus(0, 16),
               comments=waits),
    ]  # fmt: skip


def event_ids(tracker: Tracker) -> tuple[tuple[int, int], int]:
    replies = [
        e.id
        for e in tracker.history("TK-1")
        if e.type is EventType.COMMENTED and e.actor == CUSTOMER
    ]
    return (replies[0], replies[1]), tracker.history("TK-2")[0].id


def store_contents(tracker: Tracker) -> dict[str, Any]:
    """Everything a dry run could have written, as plain values."""
    keys = [t.key for t in tracker.query(limit=100).items]
    return {
        "tickets": [tracker.get(k) for k in keys],
        "events": [tracker.history(k) for k in keys],
        "comments": [tracker.comments(k) for k in keys],
        "outbox": tracker.store.outbox(limit=1000),
        "next_due": tracker.store.next_due(),
    }


def sqlite_rows(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


@pytest.fixture(params=["memory", "sqlite"])
def recorded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    with tracker_on(request.param, tmp_path) as (tracker, clock):
        record_history(tracker, clock)
        yield tracker


class TestFirings:
    def test_exact_firings_on_a_hand_built_history(self, recorded: Tracker) -> None:
        """Each rule fires where its trigger, its `by` and its condition held, in time order."""
        run = dry_run(recorded, RULES)
        comments, opened = event_ids(recorded)
        assert list(run.firings) == expected_firings(comments, opened)
        assert run.tickets == 2
        assert run.since is None
        assert run.until == monday_plus(2, 9)

    def test_summary_per_rule(self, recorded: Tracker) -> None:
        """One summary per rule, in the rules' order, those that never fired included."""
        run = dry_run(recorded, RULES)
        assert run.summary == (
            RuleSummary("urgent", 1, 2),
            RuleSummary("early", 0, 0),
            RuleSummary("resolve vip", 1, 1),
            RuleSummary("restart", 1, 2),
            RuleSummary("chase", 1, 2),
        )

    def test_describe(self, recorded: Tracker) -> None:
        """Readable lines: one per firing, then how often each rule fired."""
        lines = dry_run(recorded, RULES).describe()
        assert lines[0] == (
            "TK-1 2026-01-05 10:00 'urgent' on commented by carol@example.com: "
            "priority P3 -> P1; notify 'rule' to alice@example.com"
        )
        assert lines[2] == (
            "TK-2 2026-01-05 10:15 'resolve vip' on opened by dave@example.com: "
            'resolve: new -> resolved; tags ["vip"] -> ["handled", "vip"]'
        )
        assert lines[3] == (
            "TK-1 2026-01-05 14:00 'chase' due since 2026-01-05 10:00: "
            "note 'carol@example.com waits'"
        )
        assert lines[7:] == [
            "'urgent' would have fired 2 times on 1 ticket",
            "'early' would not have fired",
            "'resolve vip' would have fired once on 1 ticket",
            "'restart' would have fired 2 times on 1 ticket",
            "'chase' would have fired 2 times on 1 ticket",
        ]

    def test_period(self, recorded: Tracker) -> None:
        """Only events and due instants in [since, until) count."""
        run = dry_run(recorded, RULES, since=monday_plus(0, 10, 15), until=monday_plus(0, 16))
        assert [(f.rule, f.at) for f in run.firings] == [
            ("resolve vip", monday_plus(0, 10, 15)),
            ("chase", monday_plus(0, 14)),
        ]
        assert run.tickets == 1  # TK-1 has a rule due then, but no events
        later = dry_run(recorded, RULES, since=monday_plus(1, 0))
        assert [(f.rule, f.at) for f in later.firings] == [("chase", monday_plus(1, 15))]
        assert later.tickets == 1  # TK-2 has no events on Tuesday

    def test_where_and_tenant(self, recorded: Tracker) -> None:
        """`where` and `tenant` choose the tickets as a query does."""
        run = dry_run(recorded, RULES, where={"tags": {"contains": "vip"}})
        assert [f.ticket for f in run.firings] == ["TK-2"]
        assert run.tickets == 1
        assert dry_run(recorded, RULES, tenant="elsewhere").firings == ()

    def test_to_data_is_json(self, recorded: Tracker) -> None:
        """to_data() is plain JSON-ready data."""
        data = dry_run(recorded, RULES).to_data()
        assert json.loads(json.dumps(data)) == data
        assert data["firings"][3] == {
            "ticket": "TK-1",
            "rule": "chase",
            "trigger": "elapsed",
            "at": "2026-01-05T14:00:00+00:00",
            "event": None,
            "actor": None,
            "anchor": "2026-01-05T10:00:00+00:00",
            "changes": [],
            "transitions": [],
            "comments": [{"text": "carol@example.com waits", "internal": True}],
            "notifications": [],
            "escalations": [],
            "skipped": [],
        }
        assert data["summary"][0] == {"rule": "urgent", "tickets": 1, "times": 2}

    def test_lookups_and_progress(self, recorded: Tracker) -> None:
        """for_ticket / for_rule pick firings; progress is told how far the run is."""
        seen: list[tuple[int, int]] = []
        run = dry_run(recorded, RULES, progress=lambda done, total: seen.append((done, total)))
        assert seen == [(2, 2)]
        assert [f.rule for f in run.for_ticket("TK-2")] == ["resolve vip"]
        assert len(run.for_rule("chase")) == 2

    def test_a_list_of_rules(self, recorded: Tracker) -> None:
        """A list of Rule is taken as a RuleSet."""
        assert dry_run(recorded, list(RULES.rules)) == dry_run(recorded, RULES)

    def test_disabled_rules_do_not_fire(self, recorded: Tracker) -> None:
        """A disabled rule never fires, and is summarised as such."""
        off = Rule("off", OnEvent({"opened"}), [AddTag("x")], enabled=False)
        run = dry_run(recorded, [off])
        assert run.firings == ()
        assert run.summary == (RuleSummary("off"),)

    def test_text_condition_reads_the_triggering_comment(self, recorded: Tracker) -> None:
        """TextMatches on `comment` sees the comment whose event is looked at."""
        rule = Rule(
            "down",
            OnEvent({"commented"}),
            [AddTag("down")],
            when=TextMatches("down", where="comment"),
        )
        run = dry_run(recorded, [rule])
        assert [f.at for f in run.firings] == [monday_plus(0, 10)]


class TestNothingWritten:
    def test_memory_store_unchanged(self, tmp_path: Path) -> None:
        """Tickets, versions, events, comments, outbox and schedule are as before."""
        with tracker_on("memory", tmp_path) as (tracker, clock):
            record_history(tracker, clock)
            before = store_contents(tracker)
            dry_run(tracker, RULES)
            assert store_contents(tracker) == before

    def test_sqlite_unchanged_row_for_row(self, tmp_path: Path) -> None:
        """Every row of every table of the SQLite file is as before."""
        with tracker_on("sqlite", tmp_path) as (tracker, clock):
            record_history(tracker, clock)
            before, contents = sqlite_rows(tmp_path / "dry-run.db"), store_contents(tracker)
            dry_run(tracker, RULES)
            assert sqlite_rows(tmp_path / "dry-run.db") == before
            assert store_contents(tracker) == contents

    def test_same_answer_on_memory_and_sqlite(self, tmp_path: Path) -> None:
        """The two stores give the same dry run."""
        runs: list[DryRun] = []
        for backend in ("memory", "sqlite"):
            with tracker_on(backend, tmp_path) as (tracker, clock):
                record_history(tracker, clock)
                runs.append(dry_run(tracker, RULES))
        assert runs[0] == runs[1]

    def test_active_rules_left_alone(self, tmp_path: Path) -> None:
        """A dry run neither sets nor uses the tracker's own rules."""
        with tracker_on("memory", tmp_path) as (tracker, clock):
            record_history(tracker, clock)
            own = tracker.automation
            dry_run(tracker, RULES)
            assert tracker.automation is own


class TestBadInput:
    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"rules": "urgent"}, "rules"),
            ({"rules": [RULES.rules[0], "x"]}, "rules"),
            ({"rules": RULES.rules[0]}, "rules"),
            ({"since": datetime(2026, 1, 5)}, "since"),
            ({"until": "2026-01-05"}, "until"),
            ({"since": monday_plus(1, 0), "until": monday_plus(0, 0)}, "since"),
            ({"tenant": ""}, "tenant"),
            ({"where": 3}, "where"),
            ({"progress": 3}, "progress"),
        ],
    )
    def test_refused(self, recorded: Tracker, kwargs: dict[str, Any], field: str) -> None:
        """Bad arguments raise ValidationError naming the argument."""
        arguments: dict[str, Any] = {"rules": RULES, **kwargs}
        with pytest.raises(ValidationError) as caught:
            dry_run(recorded, **arguments)
        assert caught.value.field == field
        assert field in str(caught.value)

    def test_unknown_field_for_this_tracker(self, recorded: Tracker) -> None:
        """A rule naming a custom field the tracker lacks is refused, naming rule and field."""
        rule = Rule("team", OnEvent({"opened"}), [SetField("fields.team", "blue")])
        with pytest.raises(ValidationError, match=r"rule 'team'.*fields\.team"):
            dry_run(recorded, [rule])

    def test_unknown_workflow_action(self, recorded: Tracker) -> None:
        """A rule naming a workflow action the tracker lacks is refused."""
        rule = Rule("fly", OnEvent({"opened"}), [Transition("fly")])
        with pytest.raises(ValidationError, match=r"rule 'fly'.*'fly'"):
            dry_run(recorded, [rule])


# -- the dry run of a tracker's own rules predicts what they recorded -----------------

LIVE = RuleSet(
    [
        Rule(
            "urgent",
            OnEvent({"commented"}, by="customer"),
            [SetPriority("P1")],
            when=TextMatches("down", where="comment"),
        ),
        Rule("ack", OnEvent({"opened"}), [Reply("On it, $reporter.")], when=HasTag("vip")),
        # Notes are comments by the rule (staff), so they set this rule off again.
        Rule("seen", OnEvent({"commented"}, by="agent"), [Note("seen")]),
        Rule("closed", OnEvent({"status_changed"}), [SetField("queue", "done")],
             when=FieldIs("category", "in", ["resolved", "closed"])),
    ],
    max_depth=2,
)  # fmt: skip

operation = st.one_of(
    st.tuples(st.just("open"), st.booleans()),
    st.tuples(st.just("comment"), st.integers(0, 3), st.booleans(), st.booleans()),
    st.tuples(st.just("priority"), st.integers(0, 3), st.sampled_from(["P2", "P3"])),
    st.tuples(st.just("act"), st.integers(0, 3), st.sampled_from(["start", "resolve", "reopen"])),
)


def play(
    tracker: Tracker, clock: FrozenClock, operations: list[tuple[Any, ...]], *, due: bool = False
) -> None:
    """Carry out ``operations`` 7 minutes apart; with ``due``, run the scheduler before each."""
    keys: list[str] = []
    for op in operations:
        clock.advance(minutes=7)
        if due:
            tracker.run_due()
        if op[0] == "open":
            tags = ["vip"] if op[1] else []
            keys.append(tracker.open("Printer", actor=CUSTOMER, tags=tags).key)
            continue
        if not keys:
            continue
        key = keys[op[1] % len(keys)]
        if op[0] == "comment":
            text = "It is down again" if op[3] else "Thanks"
            tracker.comment(key, text, actor=CUSTOMER if op[2] else AGENT)
        elif op[0] == "priority":
            tracker.update(key, actor=AGENT, priority=op[2])
        elif op[2] in {a.name for a in tracker.workflow.actions_from(tracker.get(key).status)}:
            tracker.transition(key, op[2], actor=AGENT)
    if due:
        clock.advance(minutes=7)
        tracker.run_due()


Application = tuple[str, str, Any, tuple[Any, ...]]


def recorded_applications(tracker: Tracker) -> set[Application]:
    """(ticket, rule, triggering event or anchor, field changes) of each rule_applied."""
    found = set()
    for ticket in tracker.query(limit=100).items:
        history = tracker.history(ticket.key)
        for i, event in enumerate(history):
            if event.type is not EventType.RULE_APPLIED:
                continue
            write = [
                (e.field, json.dumps(e.old), json.dumps(e.new))
                for e in history[:i]
                if e.actor == event.actor and e.version == event.version and e.field is not None
            ]
            cause = event.data.get("event", event.data.get("anchor"))
            found.add((ticket.key, str(event.data["rule"]), cause, tuple(write)))
    return found


def predicted_applications(run: DryRun) -> set[Application]:
    found = set()
    for f in run.firings:
        cause = f.event if f.anchor is None else f.anchor.isoformat()
        changes = [(c.field, json.dumps(c.old), json.dumps(c.new)) for c in f.changes]
        found.add((f.ticket, f.rule, cause, tuple(changes)))
    return found


def rule_comments(tracker: Tracker) -> list[tuple[str, str]]:
    return sorted(
        (c.author, c.body)
        for t in tracker.query(limit=100).items
        for c in tracker.comments(t.key)
        if c.author.startswith("rule:")
    )


def drafted_comments(run: DryRun) -> list[tuple[str, str]]:
    return sorted((f"rule:{f.rule}", c.text) for f in run.firings for c in f.comments)


#: LIVE and a timed rule: a note 20 minutes after the customer's reply, while active.
LIVE_TIMED = RuleSet(
    [
        *LIVE.rules,
        Rule(
            "chase",
            Elapsed(Anchor.CUSTOMER_REPLY, timedelta(minutes=20), business=False),
            [Note("chased")],
            when=FieldIs("category", "eq", "active"),
        ),
    ],
    max_depth=LIVE.max_depth,
)


class TestPredictsLiveRules:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(operation, min_size=1, max_size=14))
    def test_dry_run_of_live_rules_predicts_their_records(
        self, operations: list[tuple[Any, ...]]
    ) -> None:
        """Over a history made with the rules live, the dry run finds each rule_applied."""
        clock = FrozenClock(MONDAY)
        with Tracker.in_memory(clock=clock, automation=Automation(rules=LIVE)) as tracker:
            play(tracker, clock, operations)
            run = dry_run(tracker, LIVE)
            assert predicted_applications(run) == recorded_applications(tracker)
            assert drafted_comments(run) == rule_comments(tracker)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(operation, min_size=1, max_size=14))
    @example(
        [
            ("open", False),
            ("act", 0, "start"),
            ("comment", 0, True, False),  # chased 20 minutes later
            ("priority", 0, "P2"),
            ("priority", 0, "P3"),
            ("act", 0, "resolve"),
            ("comment", 0, True, True),  # while resolved: not chased when due...
            ("priority", 0, "P2"),
            ("priority", 0, "P3"),
            ("priority", 0, "P2"),
            ("act", 0, "reopen"),  # ...but once it is active again
            ("priority", 0, "P3"),
        ]
    )
    def test_dry_run_of_live_timed_rules_predicts_their_records(
        self, operations: list[tuple[Any, ...]]
    ) -> None:
        """With the scheduler run as time passes, timed rules are predicted per anchor too."""
        clock = FrozenClock(MONDAY)
        with Tracker.in_memory(clock=clock, automation=Automation(rules=LIVE_TIMED)) as tracker:
            play(tracker, clock, operations, due=True)
            run = dry_run(tracker, LIVE_TIMED)
            assert predicted_applications(run) == recorded_applications(tracker)
            assert drafted_comments(run) == rule_comments(tracker)

    def test_depth_limit_as_recorded(self) -> None:
        """Rules an event set off max_depth deep are held back, as they were live."""
        clock = FrozenClock(MONDAY)
        with Tracker.in_memory(clock=clock, automation=Automation(rules=LIVE)) as tracker:
            ticket = tracker.open("Printer", actor=CUSTOMER)
            tracker.comment(ticket.key, "Try again", actor=AGENT)
            notes = [c.body for c in tracker.comments(ticket.key)]
            assert notes == ["Try again", "seen", "seen"]
            run = dry_run(tracker, LIVE)
            assert [f.rule for f in run.firings] == ["seen", "seen"]
            assert run.depth_limited == 1


class TestActions:
    def test_escalate_route_and_reply(self, tmp_path: Path) -> None:
        """Escalation, routing and reply texts come out as the tracker would do them."""
        from ticketkit.rules import (
            Agent,
            Assign,
            Escalate,
            EscalationLevel,
            EscalationPolicy,
            Router,
        )

        clock = FrozenClock(MONDAY)
        settings = Automation(
            router=Router((Agent("bob"), Agent("eve"))),
            escalation=EscalationPolicy(
                (EscalationLevel("lead", assign_to="lee", priority="P2"),), on=[]
            ),
        )
        with Tracker.in_memory(clock=clock, automation=settings) as tracker:
            ticket = tracker.open("Mail is down", actor=CUSTOMER, assignee="zed")
            clock.advance(hours=1)
            rules = [
                Rule(
                    "up",
                    OnEvent({"opened"}),
                    [Escalate(), Reply("Dear $reporter, $assignee has $key")],
                ),
                Rule("reroute", OnEvent({"opened"}), [Assign(route=True)]),
            ]
            up, reroute = dry_run(tracker, rules).firings
            assert up.escalations == ("lead",)
            assert up.changes == (
                FieldChange("assignee", "zed", "lee"),
                FieldChange("priority", "P3", "P2"),
            )
            # The reply is written after the escalation, so it names the new assignee.
            assert up.comments == (
                DraftComment(f"Dear {CUSTOMER}, lee has {ticket.key}", internal=False),
            )
            # The router's turns count from nought in a dry run: bob's turn first.
            assert reroute.changes == (FieldChange("assignee", "zed", "bob"),)
            assert tracker.get(ticket.key).assignee == "zed"
