"""The workflow engine: building, validating, planning transitions, data round-trips."""

from __future__ import annotations

import itertools
import json
import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit._errors import InvalidWorkflow, TransitionNotAllowed, ValidationError
from ticketkit._guards import (
    ActorIsAssignee,
    ClearField,
    Effect,
    Guard,
    GuardContext,
    HasAssignee,
    RequireComment,
    RequireField,
    RequireResolution,
    SetField,
    TransitionInputs,
    WithinDays,
)
from ticketkit._model import Ticket
from ticketkit._priority import Priority
from ticketkit._workflow import Action, Category, State, Workflow

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def ticket(status: str = "new", **changes: Any) -> Ticket:
    base = Ticket(
        id=3,
        key="HD-3",
        title="t",
        description="",
        status=status,
        priority=Priority.P3,
        reporter="r",
        queue="default",
        created=NOW - timedelta(days=30),
        updated=NOW - timedelta(days=30),
        version=1,
    )
    return attrs.evolve(base, **changes)


def is_vip(ctx: GuardContext) -> str | None:
    return None if ctx.ticket.queue == "vip" else "only VIP tickets may be escalated"


def refuse_always(ctx: GuardContext) -> str | None:
    return "the moon is in the wrong phase"


def explode(ctx: GuardContext) -> str | None:
    raise RuntimeError("guard bug")


def two_state(*extra: Action, **kwargs: Any) -> Workflow:
    """open -> closed via close, closed -> open via reopen, plus ``extra``."""
    return Workflow(
        name=kwargs.pop("name", "tiny"),
        states=(State("open", Category.ACTIVE), State("closed", Category.CLOSED)),
        actions=(Action("close", {"open"}, "closed"), Action("reopen", {"closed"}, "open"), *extra),
        initial="open",
        **kwargs,
    )


def with_effects(*effects: Effect, guards: tuple[Guard, ...] = ()) -> Workflow:
    return two_state(Action("act", {"open"}, "open", effects=effects, guards=guards))


class TestStateAndAction:
    @pytest.mark.parametrize("bad", ["Open", "1st", "in progress", "", "open-now"])
    def test_bad_state_name(self, bad: str) -> None:
        """A state name that is not lower_snake_case is refused, naming it."""
        with pytest.raises(InvalidWorkflow, match=f"state name '{bad}' is not valid"):
            State(bad, Category.NEW)

    def test_bad_action_name(self) -> None:
        """An action name that is not lower_snake_case is refused, naming it."""
        with pytest.raises(InvalidWorkflow, match="action name 'Close!' is not valid"):
            Action("Close!", {"open"}, "closed")

    def test_unknown_category(self) -> None:
        """An unknown category is refused, listing the categories."""
        with pytest.raises(InvalidWorkflow, match=r"unknown state category 'done'.*new, active"):
            State("done", "done")

    def test_category_from_string(self) -> None:
        """A category can be given by its value."""
        assert State("open", "active").category is Category.ACTIVE

    def test_empty_sources(self) -> None:
        """An action with no source states is refused."""
        with pytest.raises(InvalidWorkflow, match="action 'close' has no source states"):
            Action("close", set(), "closed")

    def test_single_source_string(self) -> None:
        """A single state name is accepted as the sources."""
        assert Action("close", "open", "closed").sources == frozenset({"open"})

    def test_star_means_every_state(self) -> None:
        """Sources '*' become every state of the workflow once built."""
        wf = two_state(Action("note", "*", "open"))
        assert wf.action("note").sources == frozenset({"open", "closed"})

    def test_guard_not_callable(self) -> None:
        """A guard that is not callable is refused, naming the action."""
        with pytest.raises(InvalidWorkflow, match="guard 'nope' on action 'close' is not callable"):
            Action("close", {"open"}, "closed", guards=("nope",))  # type: ignore[arg-type]

    def test_effect_of_wrong_type(self) -> None:
        """Something that is not an effect is refused, naming the action."""
        with pytest.raises(InvalidWorkflow, match="effect 'x' on action 'close' is not an effect"):
            Action("close", {"open"}, "closed", effects=("x",))  # type: ignore[arg-type]

    def test_two_effects_on_one_field(self) -> None:
        """Two effects on the same field are refused, naming the field."""
        with pytest.raises(InvalidWorkflow, match="two effects on 'resolution'"):
            Action(
                "close",
                {"open"},
                "closed",
                effects=(ClearField("resolution"), RequireResolution(("fixed",))),
            )

    def test_titles(self) -> None:
        """Title is the label, or else the readable name."""
        assert State("pending_customer", Category.PENDING).title == "Pending customer"
        assert Action("close", {"open"}, "closed", "Close it").title == "Close it"


class TestEffects:
    @pytest.mark.parametrize("make", [SetField, lambda f: ClearField(f), RequireField])
    @pytest.mark.parametrize("bad", ["status", "title", "fields.", "fields.Bad", "reporter"])
    def test_unknown_field(self, make: Any, bad: str) -> None:
        """An effect on a field other than the allowed ones is refused, naming it."""
        args = (bad, "x") if make is SetField else (bad,)
        with pytest.raises(InvalidWorkflow, match=f"cannot change the field '{bad}'"):
            make(*args)

    @pytest.mark.parametrize("ok", ["assignee", "resolution", "priority", "queue", "fields.sev"])
    def test_allowed_fields(self, ok: str) -> None:
        """The four plain fields and any custom field path are allowed."""
        assert ClearField(ok).field == ok

    @pytest.mark.parametrize("bad", [None, float("nan"), [1], {"a": 1}])
    def test_set_field_value(self, bad: object) -> None:
        """SetField refuses values that are not strings, numbers or booleans."""
        with pytest.raises(InvalidWorkflow, match="SetField value"):
            SetField("priority", bad)  # type: ignore[arg-type]

    def test_resolution_choices_required(self) -> None:
        """RequireResolution needs at least one choice."""
        with pytest.raises(InvalidWorkflow, match="at least one choice"):
            RequireResolution(())

    def test_resolution_choice_duplicated(self) -> None:
        """A choice listed twice is refused."""
        with pytest.raises(InvalidWorkflow, match="lists a choice twice"):
            RequireResolution(("fixed", "fixed"))

    def test_resolution_choice_blank(self) -> None:
        """A blank choice is refused, naming it."""
        with pytest.raises(InvalidWorkflow, match="resolution choice ' ' is not valid"):
            RequireResolution(("fixed", " "))


class TestValidation:
    def test_no_states(self) -> None:
        """A workflow without states is refused."""
        with pytest.raises(InvalidWorkflow, match="workflow 'w' has no states"):
            Workflow("w", (), (), "new")

    def test_bad_workflow_name(self) -> None:
        """A workflow name that is not lower_snake_case is refused."""
        with pytest.raises(InvalidWorkflow, match="workflow name 'Help Desk' is not valid"):
            two_state(name="Help Desk")

    def test_duplicate_state(self) -> None:
        """A state defined twice is refused, naming it."""
        with pytest.raises(InvalidWorkflow, match="defines the state 'open' twice"):
            Workflow(
                "w",
                (State("open", Category.ACTIVE), State("open", Category.CLOSED)),
                (Action("close", {"open"}, "open"),),
                "open",
            )

    def test_duplicate_action(self) -> None:
        """An action defined twice is refused, naming it."""
        with pytest.raises(InvalidWorkflow, match="defines the action 'close' twice"):
            two_state(Action("close", {"closed"}, "closed"))

    def test_unknown_initial(self) -> None:
        """An initial state that is not a state is refused, naming it."""
        with pytest.raises(InvalidWorkflow, match="initial state 'new' of workflow 'w'"):
            Workflow("w", (State("open", Category.CLOSED),), (), "new")

    def test_unknown_source(self) -> None:
        """An action from an unknown state is refused, naming action and state."""
        with pytest.raises(InvalidWorkflow, match=r"action 'fly' .* unknown state 'sky'"):
            two_state(Action("fly", {"sky"}, "open"))

    def test_unknown_target(self) -> None:
        """An action to an unknown state is refused, naming action and state."""
        with pytest.raises(InvalidWorkflow, match=r"action 'fly' .* unknown state 'moon'"):
            two_state(Action("fly", {"open"}, "moon"))

    def test_unreachable_state(self) -> None:
        """A state no action leads to is refused, naming it and the initial state."""
        with pytest.raises(
            InvalidWorkflow,
            match="state 'limbo' cannot be reached from the initial state 'new'",
        ):
            Workflow(
                "w",
                (
                    State("new", Category.NEW),
                    State("done", Category.CLOSED),
                    State("limbo", Category.ACTIVE),
                ),
                (Action("finish", {"new"}, "done"), Action("escape", {"limbo"}, "done")),
                "new",
            )

    def test_dead_end(self) -> None:
        """A state that is not closed and has no way out is refused, naming it."""
        with pytest.raises(InvalidWorkflow, match=r"state 'stuck' .* is a dead end"):
            Workflow(
                "w",
                (State("new", Category.NEW), State("stuck", Category.RESOLVED)),
                (Action("go", {"new"}, "stuck"),),
                "new",
            )

    def test_closed_state_may_be_final(self) -> None:
        """A closed state needs no action out of it."""
        wf = Workflow(
            "w",
            (State("new", Category.NEW), State("done", Category.CLOSED)),
            (Action("finish", {"new"}, "done"),),
            "new",
        )
        assert wf.actions_from("done") == []

    def test_not_a_state(self) -> None:
        """Something other than a State among the states is refused."""
        with pytest.raises(InvalidWorkflow, match="'open' is not a State"):
            Workflow("w", ("open",), (), "open")  # type: ignore[arg-type]

    def test_registry_shadowing_builtin(self) -> None:
        """A custom guard may not take a built-in guard's name."""
        with pytest.raises(InvalidWorkflow, match="custom guard name 'has_assignee'"):
            two_state(guard_registry={"has_assignee": is_vip})


class TestLookups:
    def test_state_and_category(self) -> None:
        """States and their categories are found by name."""
        wf = two_state()
        assert wf.state("closed") == State("closed", Category.CLOSED)
        assert wf.category("open") is Category.ACTIVE

    def test_unknown_state(self) -> None:
        """An unknown state raises ValidationError listing the known ones."""
        with pytest.raises(ValidationError, match=r"unknown state 'gone'.*open, closed") as info:
            two_state().category("gone")
        assert info.value.field == "status"

    def test_unknown_action(self) -> None:
        """An unknown action raises ValidationError listing the known ones."""
        with pytest.raises(ValidationError, match=r"unknown action 'fly'.*close, reopen") as info:
            two_state().action("fly")
        assert info.value.field == "action"


class TestPlan:
    def test_plan(self) -> None:
        """A plan names the action, source and target."""
        plan = two_state().plan(ticket("open"), "close", actor="a", now=NOW)
        assert (plan.action.name, plan.source, plan.target) == ("close", "open", "closed")
        assert dict(plan.changes) == {}

    def test_unknown_action(self) -> None:
        """An unknown action is a ValidationError, not a refused transition."""
        with pytest.raises(ValidationError, match="unknown action 'fly'"):
            two_state().plan(ticket("open"), "fly", actor="a", now=NOW)

    def test_wrong_status(self) -> None:
        """From the wrong status the error says what is possible instead."""
        wf = Workflow(
            "w",
            (State("new", Category.NEW), State("open", Category.ACTIVE), State("x", "closed")),
            (
                Action("start", {"new"}, "open"),
                Action("resolve", {"new", "open"}, "x"),
                Action("close", {"open"}, "x"),
            ),
            "new",
        )
        with pytest.raises(TransitionNotAllowed) as info:
            wf.plan(ticket("new"), "close", actor="a", now=NOW)
        err = info.value
        assert str(err) == "cannot 'close' HD-3: it is 'new'; from 'new' you can: start, resolve"
        assert (err.key, err.status, err.action, err.reason) == ("HD-3", "new", "close", None)

    def test_status_not_in_workflow(self) -> None:
        """A ticket whose status the workflow lacks is refused, naming the status."""
        with pytest.raises(TransitionNotAllowed, match="it is 'weird', a status workflow"):
            two_state().plan(ticket("weird"), "close", actor="a", now=NOW)

    def test_guard_refusal(self) -> None:
        """A refusing guard's reason surfaces in TransitionNotAllowed.reason."""
        wf = with_effects(guards=(refuse_always,))
        with pytest.raises(TransitionNotAllowed, match="cannot 'act' HD-3: the moon") as info:
            wf.plan(ticket("open"), "act", actor="a", now=NOW)
        assert info.value.reason == "the moon is in the wrong phase"
        assert info.value.status == "open"

    def test_guard_context(self) -> None:
        """A guard sees the ticket, actor, time, action and inputs."""
        seen: list[GuardContext] = []

        def spy(ctx: GuardContext) -> None:
            seen.append(ctx)

        t = ticket("open")
        inputs = TransitionInputs(comment="hi")
        with_effects(guards=(spy,)).plan(t, "act", actor="amy", now=NOW, inputs=inputs)
        assert seen == [GuardContext(t, "amy", NOW, "act", inputs)]

    def test_set_field(self) -> None:
        """SetField sets its value; '$actor' becomes the acting user."""
        wf = with_effects(SetField("assignee", "$actor"), SetField("priority", "P1"))
        plan = wf.plan(ticket("open"), "act", actor="amy", now=NOW)
        assert dict(plan.changes) == {"assignee": "amy", "priority": "P1"}

    def test_clear_field(self) -> None:
        """ClearField maps the field to None."""
        plan = with_effects(ClearField("fields.sev")).plan(
            ticket("open"), "act", actor="a", now=NOW
        )
        assert dict(plan.changes) == {"fields.sev": None}

    def test_changes_in_effect_order(self) -> None:
        """Changes follow the order of the effects."""
        wf = with_effects(ClearField("queue"), RequireField("assignee"), SetField("priority", 2))
        inputs = TransitionInputs(fields={"assignee": "bo"})
        plan = wf.plan(ticket("open"), "act", actor="a", now=NOW, inputs=inputs)
        assert list(plan.changes.items()) == [("queue", None), ("assignee", "bo"), ("priority", 2)]

    def test_changes_are_read_only(self) -> None:
        """The changes of a plan cannot be altered."""
        plan = with_effects(ClearField("queue")).plan(ticket("open"), "act", actor="a", now=NOW)
        with pytest.raises(TypeError):
            plan.changes["queue"] = "x"  # type: ignore[index]

    @pytest.mark.parametrize("comment", [None, "", "   \n"])
    def test_require_comment_missing(self, comment: str | None) -> None:
        """RequireComment refuses a missing or blank comment."""
        with pytest.raises(ValidationError, match="'act' needs a comment") as info:
            with_effects(RequireComment()).plan(
                ticket("open"), "act", actor="a", now=NOW, inputs=TransitionInputs(comment)
            )
        assert info.value.field == "comment"

    def test_require_comment_given(self) -> None:
        """With a comment the action is planned and changes nothing by itself."""
        plan = with_effects(RequireComment()).plan(
            ticket("open"), "act", actor="a", now=NOW, inputs=TransitionInputs("because")
        )
        assert dict(plan.changes) == {}

    @pytest.mark.parametrize(("given", "what"), [(None, "needs a resolution"), ("meh", "'meh'")])
    def test_require_resolution_bad(self, given: str | None, what: str) -> None:
        """A missing or unknown resolution is refused, naming the choices."""
        wf = with_effects(RequireResolution(("fixed", "invalid")))
        with pytest.raises(ValidationError, match=f"{what}.*one of fixed, invalid") as info:
            wf.plan(ticket("open"), "act", actor="a", now=NOW, inputs=TransitionInputs(None, given))
        assert info.value.field == "resolution"

    def test_require_resolution_given(self) -> None:
        """A listed resolution (surrounding space ignored) goes into the changes."""
        wf = with_effects(RequireResolution(("fixed", "invalid")))
        inputs = TransitionInputs(resolution=" fixed ")
        plan = wf.plan(ticket("open"), "act", actor="a", now=NOW, inputs=inputs)
        assert dict(plan.changes) == {"resolution": "fixed"}

    def test_resolution_not_taken(self) -> None:
        """A resolution given to an action that takes none is refused."""
        with pytest.raises(ValidationError, match=r"'close' sets no resolution.*'fixed'") as info:
            two_state().plan(
                ticket("open"), "close", actor="a", now=NOW, inputs=TransitionInputs(None, "fixed")
            )
        assert info.value.field == "resolution"

    @pytest.mark.parametrize("fields", [{}, {"assignee": None}])
    def test_require_field_missing(self, fields: dict[str, object]) -> None:
        """RequireField refuses a missing value, naming the field."""
        with pytest.raises(ValidationError, match="needs a value for 'assignee'") as info:
            with_effects(RequireField("assignee")).plan(
                ticket("open"), "act", actor="a", now=NOW, inputs=TransitionInputs(fields=fields)
            )
        assert info.value.field == "assignee"

    def test_require_field_given(self) -> None:
        """A required custom field's value flows into the changes."""
        inputs = TransitionInputs(fields={"fields.sev": "high"})
        plan = with_effects(RequireField("fields.sev")).plan(
            ticket("open"), "act", actor="a", now=NOW, inputs=inputs
        )
        assert dict(plan.changes) == {"fields.sev": "high"}

    def test_field_not_taken(self) -> None:
        """A field the action does not ask for is refused, naming it."""
        with pytest.raises(ValidationError, match="takes no field 'queue'") as info:
            two_state().plan(
                ticket("open"),
                "close",
                actor="a",
                now=NOW,
                inputs=TransitionInputs(fields={"queue": "x"}),
            )
        assert info.value.field == "queue"


class TestGuards:
    def ctx(self, **changes: Any) -> GuardContext:
        actor = changes.pop("actor", "amy")
        now = changes.pop("now", NOW)
        return GuardContext(ticket("resolved", **changes), actor, now, "reopen", TransitionInputs())

    def test_within_days_never_resolved(self) -> None:
        """A ticket never resolved is within any window."""
        assert WithinDays(7)(self.ctx()) is None

    def test_within_days_boundary(self) -> None:
        """Exactly the limit is allowed; a second more is refused."""
        resolved = NOW - timedelta(days=7)
        assert WithinDays(7)(self.ctx(resolved_at=resolved)) is None
        reason = WithinDays(7)(self.ctx(resolved_at=resolved - timedelta(seconds=1)))
        assert reason is not None
        assert "resolved 7 days ago" in reason
        assert "only within 7 days" in reason

    def test_within_days_reason(self) -> None:
        """The reason says how long ago the ticket was resolved and the limit."""
        reason = WithinDays(3)(self.ctx(resolved_at=NOW - timedelta(days=10, hours=2)))
        assert reason is not None
        assert "resolved 10 days 2 h ago" in reason
        assert "'reopen' is allowed only within 3 days" in reason

    @pytest.mark.parametrize("bad", [-1, 1.5, True, "7"])
    def test_within_days_bad(self, bad: object) -> None:
        """WithinDays needs a non-negative whole number of days."""
        with pytest.raises(InvalidWorkflow, match=f"got {bad!r}"):
            WithinDays(bad)  # type: ignore[arg-type]

    def test_has_assignee(self) -> None:
        """HasAssignee refuses an unassigned ticket."""
        assert HasAssignee()(self.ctx(assignee="bo")) is None
        assert HasAssignee()(self.ctx()) == "it has no assignee; assign it before 'reopen'"

    def test_actor_is_assignee(self) -> None:
        """ActorIsAssignee allows only the assignee and names them when refusing."""
        assert ActorIsAssignee()(self.ctx(assignee="amy")) is None
        reason = ActorIsAssignee()(self.ctx(assignee="bo"))
        assert reason is not None
        assert "only its assignee 'bo'" in reason
        assert "not 'amy'" in reason
        assert "no assignee" in (ActorIsAssignee()(self.ctx()) or "")


class TestAvailableActions:
    def test_by_status_in_order(self) -> None:
        """Actions from the status come in definition order."""
        wf = two_state(Action("note", "*", "open"), Action("ping", {"open"}, "open"))
        names = [a.name for a in wf.available_actions(ticket("open"), "a", NOW)]
        assert names == ["close", "note", "ping"]

    def test_refusing_guard_hides_action(self) -> None:
        """An action whose guard refuses is not offered."""
        wf = two_state(Action("ping", {"open"}, "open", guards=(refuse_always,)))
        assert [a.name for a in wf.available_actions(ticket("open"), "a", NOW)] == ["close"]

    def test_raising_guard_counts_as_refusal(self) -> None:
        """A guard that raises hides its action instead of breaking the listing."""
        wf = two_state(Action("ping", {"open"}, "open", guards=(explode,)))
        assert [a.name for a in wf.available_actions(ticket("open"), "a", NOW)] == ["close"]

    def test_required_inputs_do_not_hide(self) -> None:
        """Actions needing inputs are still offered; inputs are checked by plan."""
        wf = with_effects(RequireComment())
        assert [a.name for a in wf.available_actions(ticket("open"), "a", NOW)] == ["close", "act"]


FULL_ACTION = Action(
    "escalate",
    {"open"},
    "open",
    "Escalate \"now\" \\ 'quick'\n\t\x01 ünïcødé",
    guards=(WithinDays(3), HasAssignee(), ActorIsAssignee(), is_vip),
    effects=(
        SetField("assignee", "$actor"),
        SetField("priority", 1),
        SetField("fields.urgent", True),
        SetField("fields.score", 2.5),
        ClearField("queue"),
        RequireComment(),
        RequireResolution(("fixed", "won't fix")),
        RequireField("fields.sev"),
    ),
)


class TestData:
    def test_to_data(self) -> None:
        """to_data is plain data in a documented shape."""
        data = two_state(Action("ping", "*", "open", "Ping", effects=(ClearField("queue"),)))
        assert data.to_data() == {
            "name": "tiny",
            "initial": "open",
            "states": [
                {"name": "open", "category": "active", "label": ""},
                {"name": "closed", "category": "closed", "label": ""},
            ],
            "actions": [
                {
                    "name": "close",
                    "sources": ["open"],
                    "target": "closed",
                    "label": "",
                    "guards": [],
                    "effects": [],
                },
                {
                    "name": "reopen",
                    "sources": ["closed"],
                    "target": "open",
                    "label": "",
                    "guards": [],
                    "effects": [],
                },
                {
                    "name": "ping",
                    "sources": ["open", "closed"],
                    "target": "open",
                    "label": "Ping",
                    "guards": [],
                    "effects": [{"effect": "clear_field", "field": "queue"}],
                },
            ],
        }

    def test_round_trips_with_every_guard_and_effect(self) -> None:
        """Every guard and effect survives dict, JSON and TOML, custom guards via the registry."""
        wf = two_state(FULL_ACTION, guard_registry={"vip": is_vip})
        guards = {"vip": is_vip}
        assert Workflow.from_data(wf.to_data(), guards=guards) == wf
        assert Workflow.from_json(wf.to_json(), guards=guards) == wf
        assert Workflow.from_toml(wf.to_toml(), guards=guards) == wf
        assert {"guard": "vip"} in wf.to_data()["actions"][2]["guards"]
        assert tomllib.loads(wf.to_toml()) == json.loads(wf.to_json())

    def test_custom_guard_named_by_function_name(self) -> None:
        """An unregistered custom guard is written under its __name__."""
        wf = two_state(FULL_ACTION)
        assert {"guard": "is_vip"} in wf.to_data()["actions"][2]["guards"]
        assert Workflow.from_toml(wf.to_toml(), guards={"is_vip": is_vip}) == wf

    def test_from_data_keeps_registry(self) -> None:
        """A workflow read with guards= writes them back under the same names."""
        data = two_state(FULL_ACTION, guard_registry={"vip": is_vip}).to_data()
        again = Workflow.from_data(data, guards={"vip": is_vip})
        assert again.to_data() == data

    def test_nameless_guard(self) -> None:
        """A lambda guard that is not registered cannot be written, and the error says why."""
        wf = two_state(Action("ping", {"open"}, "open", guards=(lambda ctx: None,)))
        with pytest.raises(InvalidWorkflow, match="on action 'ping' has no usable name"):
            wf.to_data()

    def test_unknown_guard(self) -> None:
        """Reading an unknown guard name is refused, naming it and the known ones."""
        data = two_state(FULL_ACTION).to_data()
        with pytest.raises(InvalidWorkflow, match=r"unknown guard 'is_vip'.*within_days"):
            Workflow.from_data(data)

    def test_unknown_effect(self) -> None:
        """Reading an unknown effect is refused, naming it."""
        data = two_state().to_data()
        data["actions"][0]["effects"] = [{"effect": "teleport"}]
        with pytest.raises(InvalidWorkflow, match="unknown effect 'teleport' on action 'close'"):
            Workflow.from_data(data)

    @pytest.mark.parametrize(
        ("mutate", "message"),
        [
            (lambda d: d.pop("initial"), "the workflow is missing the key 'initial'"),
            (lambda d: d.update(extra=1), "unknown key 'extra'"),
            (lambda d: d.update(states="open"), "'states' of the workflow must be a list"),
            (lambda d: d.update(name=5), "'name' of the workflow must be a string"),
            (lambda d: d["states"].append(3), r"states\[2\] must be a table"),
            (lambda d: d["states"][0].pop("category"), r"states\[0\] is missing the key 'cat"),
            (lambda d: d["actions"][0].update(sources=3), "sources of action 'close' must be"),
            (lambda d: d["actions"][0].update(guards={}), "'guards' of action 'close' must be"),
            (lambda d: d["actions"][0].update(guards=["x"]), "a guard on action 'close' must"),
            (lambda d: d["actions"][0].update(effects=[1]), "an effect on action 'close' must"),
            (
                lambda d: d["actions"][0].update(guards=[{"guard": "within_days"}]),
                "guard 'within_days' on action 'close' takes days",
            ),
            (
                lambda d: d["actions"][0].update(guards=[{"guard": "has_assignee", "x": 1}]),
                "guard 'has_assignee' on action 'close' takes no parameters",
            ),
            (
                lambda d: d["actions"][0].update(effects=[{"effect": "clear_field"}]),
                "effect 'clear_field' on action 'close' takes field",
            ),
            (
                lambda d: d["actions"][0].update(effects=[{"effect": "set_field", "field": "x"}]),
                "effect 'set_field' on action 'close' takes field, value",
            ),
            (lambda d: d["states"].pop(), "unknown state 'closed'"),
        ],
    )
    def test_malformed_data(self, mutate: Any, message: str) -> None:
        """Malformed data raises InvalidWorkflow naming the problem."""
        data = two_state().to_data()
        mutate(data)
        with pytest.raises(InvalidWorkflow, match=message):
            Workflow.from_data(data)

    def test_not_a_mapping(self) -> None:
        """Data that is not a mapping is refused."""
        with pytest.raises(InvalidWorkflow, match="the workflow must be a table"):
            Workflow.from_data([])  # type: ignore[arg-type]

    def test_custom_guard_params(self) -> None:
        """Custom guards take no parameters in data."""
        data = two_state().to_data()
        data["actions"][0]["guards"] = [{"guard": "vip", "level": 2}]
        with pytest.raises(InvalidWorkflow, match=r"custom guard 'vip' .* takes no parameters"):
            Workflow.from_data(data, guards={"vip": is_vip})

    def test_bad_json(self) -> None:
        """Malformed JSON raises InvalidWorkflow."""
        with pytest.raises(InvalidWorkflow, match="not valid JSON"):
            Workflow.from_json("{")

    def test_bad_toml(self) -> None:
        """Malformed TOML raises InvalidWorkflow."""
        with pytest.raises(InvalidWorkflow, match="not valid TOML"):
            Workflow.from_toml("name = ")

    def test_toml_layout(self) -> None:
        """TOML has the top-level keys first, then [[states]] and [[actions]] tables."""
        text = two_state().to_toml()
        assert text.startswith('name = "tiny"\ninitial = "open"\n\n[[states]]\nname = "open"\n')
        assert text.count("[[actions]]") == 2


# -- properties -------------------------------------------------------------------------

_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_labels = st.text(max_size=12)
_values = st.one_of(
    st.text(max_size=10),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
_guards = st.lists(
    st.one_of(
        st.builds(WithinDays, st.integers(0, 10_000)),
        st.just(HasAssignee()),
        st.just(ActorIsAssignee()),
        st.just(is_vip),
    ),
    max_size=3,
)
_FIELD_POOL = ["assignee", "resolution", "priority", "queue", "fields.sev", "fields.x_1"]


@st.composite
def _effects(draw: st.DrawFn) -> list[Effect]:
    effects: list[Effect] = []
    for name in draw(st.lists(st.sampled_from(_FIELD_POOL), unique=True, max_size=4)):
        kinds = ["set", "clear", "require"] + (["resolution"] if name == "resolution" else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "set":
            effects.append(SetField(name, draw(_values)))
        elif kind == "clear":
            effects.append(ClearField(name))
        elif kind == "require":
            effects.append(RequireField(name))
        else:
            choices = draw(st.lists(st.text(min_size=1).map(str.strip).filter(bool), min_size=1))
            effects.append(RequireResolution(tuple(dict.fromkeys(choices))))
    if draw(st.booleans()):
        effects.insert(draw(st.integers(0, len(effects))), RequireComment())
    return effects


@st.composite
def workflows(draw: st.DrawFn) -> Workflow:
    """Valid workflows: a chain from the initial state, a way back, and random extras."""
    state_names = draw(st.lists(_names, min_size=1, max_size=6, unique=True))
    states = [State(n, draw(st.sampled_from(Category)), draw(_labels)) for n in state_names]
    action_names = iter(draw(st.lists(_names, min_size=12, max_size=12, unique=True)))
    actions = [Action(next(action_names), {a}, b) for a, b in itertools.pairwise(state_names)]
    if states[-1].category is not Category.CLOSED:
        actions.append(Action(next(action_names), {state_names[-1]}, state_names[0]))
    for _ in range(draw(st.integers(0, 4))):
        actions.append(
            Action(
                next(action_names),
                draw(st.sets(st.sampled_from(state_names), min_size=1)),
                draw(st.sampled_from(state_names)),
                draw(_labels),
                guards=tuple(draw(_guards)),
                effects=tuple(draw(_effects())),
            )
        )
    shuffled = draw(st.permutations(actions))
    return Workflow(draw(_names), states, shuffled, state_names[0])


class TestProperties:
    @given(workflows())
    def test_data_round_trip(self, wf: Workflow) -> None:
        """from_data(to_data(w)) == w for any valid workflow."""
        assert Workflow.from_data(wf.to_data(), guards={"is_vip": is_vip}) == wf

    @given(workflows())
    def test_json_round_trip(self, wf: Workflow) -> None:
        """from_json(to_json(w)) == w for any valid workflow."""
        assert Workflow.from_json(wf.to_json(), guards={"is_vip": is_vip}) == wf

    @given(workflows())
    def test_toml_round_trip(self, wf: Workflow) -> None:
        """from_toml(to_toml(w)) == w for any valid workflow, and TOML holds the same data."""
        text = wf.to_toml()
        assert Workflow.from_toml(text, guards={"is_vip": is_vip}) == wf
        assert tomllib.loads(text) == wf.to_data()

    @given(st.text())
    def test_toml_strings(self, label: str) -> None:
        """Any label survives TOML writing and reading unchanged."""
        wf = Workflow("w", (State("open", Category.CLOSED, label),), (), "open")
        assert Workflow.from_toml(wf.to_toml()).states[0].label == label
