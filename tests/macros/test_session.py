"""Macros through sessions: staff only, and only what the policy allows at every step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from databases import fresh_database
from ticketkit import ConflictError, FieldDef, NotFound, PermissionDenied, Tracker
from ticketkit._macros import ME, Macro
from ticketkit.access import DEFAULT_POLICY, Principal, Role, RolePolicy

CAROL = Principal("carol@example.com", Role.CUSTOMER, "default")
ANN = Principal("ann", Role.AGENT, "default", queues={"support"})
BEA = Principal("bea", Role.AGENT, "default", queues={"billing"})
LEAD = Principal("lee", Role.TEAM_LEAD, "default", queues={"support"})
ROOT = Principal("root", Role.ADMIN, "default")

MACROS = [
    Macro("thanks", reply="Thanks, $reporter!"),
    Macro("take", assignee=ME, action="start", reply="On it."),
    Macro("to-lee", assignee="lee", internal=True, reply="For Lee."),
    Macro("blue-team", set_fields={"team": "blue"}, add_tags=["blue"]),
    Macro("solve", priority="P4", action="resolve", reply="Solved."),
    Macro("close", action="close"),
]


@contextmanager
def tracker_on(backend: str, tmp_path: Path) -> Iterator[Tracker]:
    settings: dict[str, Any] = {
        "fields": [FieldDef("team", "choice", choices=("blue", "red"))],
        "queues": {"support": "HD", "billing": "BIL"},
        "default_queue": "support",
        "macros": MACROS,
    }
    if backend == "memory":
        with Tracker.in_memory(**settings) as tracker:
            yield tracker
        return
    with fresh_database(backend, tmp_path) as url, Tracker.from_url(url, **settings) as tracker:
        yield tracker


@pytest.fixture(params=("memory", "sqlite"))
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    with tracker_on(str(request.param), tmp_path) as tracker:
        yield tracker


def opened(tracker: Tracker) -> str:
    return tracker.session(CAROL).open("Printer jams").key


def names(macros: list[Macro]) -> list[str]:
    return [m.name for m in macros]


def state(tracker: Tracker, key: str) -> tuple[Any, ...]:
    return tracker.get(key), tracker.history(key), tracker.comments(key)


class TestAvailable:
    def test_agent(self, tracker: Tracker) -> None:
        """An agent gets the macros whose every step the default policy allows them:
        not one that assigns to someone else."""
        key = opened(tracker)
        assert names(tracker.session(ANN).available_macros(key)) == [
            "thanks",
            "take",
            "blue-team",
            "solve",
        ]

    def test_team_lead(self, tracker: Tracker) -> None:
        """A team lead may assign to anyone."""
        key = opened(tracker)
        assert "to-lee" in names(tracker.session(LEAD).available_macros(key))

    def test_customers_get_none(self, tracker: Tracker) -> None:
        """Macros are a staff tool: a customer gets none, not even a reply-only macro."""
        key = opened(tracker)
        assert tracker.session(CAROL).available_macros(key) == []

    def test_by_status(self, tracker: Tracker) -> None:
        key = opened(tracker)
        tracker.session(ANN).apply_macro(key, "solve")
        assert names(tracker.session(ANN).available_macros(key)) == [
            "thanks",
            "blue-team",
            "close",
        ]

    def test_a_policy_that_forbids_one_field(self, tracker: Tracker) -> None:
        """A RolePolicy limiting agents' fields leaves out the macros that set others."""
        rules = DEFAULT_POLICY.to_dict()
        rules["agent"]["fields"] = ["priority", "tags"]
        tracker.policy = RolePolicy.from_dict(rules)
        key = opened(tracker)
        assert names(tracker.session(ANN).available_macros(key)) == ["thanks", "take", "solve"]

    def test_hidden_ticket(self, tracker: Tracker) -> None:
        """A ticket outside the principal's scope is not found, as for every session call."""
        key = opened(tracker)
        with pytest.raises(NotFound, match=f"no ticket {key}"):
            tracker.session(BEA).available_macros(key)


class TestApply:
    def test_agent_applies_in_one_write(self, tracker: Tracker) -> None:
        """The principal is the actor; 'me' is the principal."""
        key = opened(tracker)
        new = tracker.session(ANN).apply_macro(key, "take", comment="Back soon.")
        assert (new.assignee, new.status, new.version) == ("ann", "open", 2)
        events = [e for e in tracker.history(key) if e.version == 2]
        assert {(e.actor, e.data["macro"]) for e in events} == {("ann", "take")}
        assert [c.body for c in tracker.comments(key)] == ["On it.\n\nBack soon."]

    def test_customer_is_refused(self, tracker: Tracker) -> None:
        """A customer is refused before the macro is even looked up (names do not leak)."""
        key = opened(tracker)
        before = state(tracker, key)
        for name in ("thanks", "no-such-macro"):
            with pytest.raises(PermissionDenied, match="permission 'read_internal' \\(macros\\)"):
                tracker.session(CAROL).apply_macro(key, name)
        assert state(tracker, key) == before

    def test_each_step_is_checked(self, tracker: Tracker) -> None:
        """A step the policy forbids raises PermissionDenied naming it; nothing is stored."""
        key = opened(tracker)
        before = state(tracker, key)
        with pytest.raises(PermissionDenied, match="permission 'assign' \\(lee\\) denied to ann"):
            tracker.session(ANN).apply_macro(key, "to-lee")
        assert state(tracker, key) == before
        assert tracker.session(LEAD).apply_macro(key, "to-lee").assignee == "lee"

    def test_a_policy_that_forbids_one_field(self, tracker: Tracker) -> None:
        rules = DEFAULT_POLICY.to_dict()
        rules["agent"]["fields"] = ["priority", "tags"]
        tracker.policy = RolePolicy.from_dict(rules)
        key = opened(tracker)
        before = state(tracker, key)
        with pytest.raises(
            PermissionDenied, match=r"permission 'change_field' \(fields\.team\) denied to ann"
        ):
            tracker.session(ANN).apply_macro(key, "blue-team")
        assert state(tracker, key) == before
        assert tracker.session(ANN).apply_macro(key, "solve").status == "resolved"

    def test_the_agents_comment_needs_comment_permission(self, tracker: Tracker) -> None:
        """comment= on a macro without a reply asks for the comment permission too."""
        rules = DEFAULT_POLICY.to_dict()
        rules["agent"]["permissions"].remove("comment")
        tracker.policy = RolePolicy.from_dict(rules)
        key = opened(tracker)
        with pytest.raises(PermissionDenied, match="permission 'comment' denied to ann"):
            tracker.session(ANN).apply_macro(key, "blue-team", comment="Blue it is.")
        assert tracker.session(ANN).apply_macro(key, "blue-team").fields["team"] == "blue"

    def test_refusals_are_logged(self, tracker: Tracker) -> None:
        key = opened(tracker)
        with pytest.raises(PermissionDenied):
            tracker.session(ANN).apply_macro(key, "to-lee")
        [denial] = tracker.session(ROOT).denials()
        assert (denial.principal, denial.permission, denial.target) == (
            "ann",
            "assign",
            f"{key} lee",
        )

    def test_expected_version(self, tracker: Tracker) -> None:
        """A stale expected_version raises ConflictError and changes nothing."""
        key = opened(tracker)
        tracker.session(CAROL).comment(key, "Hello?")
        before = state(tracker, key)
        with pytest.raises(ConflictError):
            tracker.session(ANN).apply_macro(key, "thanks", expected_version=1)
        assert state(tracker, key) == before
        assert tracker.session(ANN).apply_macro(key, "thanks", expected_version=2).version == 3

    def test_hidden_ticket(self, tracker: Tracker) -> None:
        """A ticket outside the principal's scope is not found, and is left alone."""
        key = opened(tracker)
        before = state(tracker, key)
        with pytest.raises(NotFound, match=f"no ticket {key}"):
            tracker.session(BEA).apply_macro(key, "thanks")
        assert state(tracker, key) == before

    def test_unknown_macro_for_staff(self, tracker: Tracker) -> None:
        key = opened(tracker)
        with pytest.raises(NotFound, match="no macro named 'nope'"):
            tracker.session(ANN).apply_macro(key, "nope")

    def test_customer_view_of_the_result(self, tracker: Tracker) -> None:
        """The customer sees the reply and the change, not which macro made it."""
        key = opened(tracker)
        tracker.session(ANN).apply_macro(key, "solve")
        events = tracker.session(CAROL).history(key)
        assert events[-1].type.value == "status_changed"
        assert all("macro" not in e.data for e in events)
        assert [c.body for c in tracker.session(CAROL).comments(key)] == ["Solved."]
