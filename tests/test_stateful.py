"""Random sequences of tracker operations keep the tracker consistent.

:class:`TrackerMachine` drives a tracker through opens, edits, workflow
transitions, comments, attachments, links, merges, watchers, stale writes and
clock moves. It predicts which operations must be refused and by how much
each ticket's version must grow, and after every step checks that

* every status is a state of the workflow,
* every version is what the model expects (+1 per change, +0 when refused),
* replaying a ticket's history gives the stored ticket,
* keys are ``PREFIX-1``, ``PREFIX-2``, … in order, with no gaps,
* every event has an actor and an aware time, and times never go back,
* links are symmetric and parent links form a forest.

The tracker comes from :meth:`TrackerMachine.make_tracker`, so another store
can run the same machine by overriding that one method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from ticketkit import (
    DEFAULT_MATRIX,
    ConflictError,
    FieldDef,
    FieldType,
    FrozenClock,
    Impact,
    Link,
    LinkKind,
    Priority,
    RequireComment,
    RequireField,
    RequireResolution,
    Ticket,
    TicketkitError,
    Tracker,
    TransitionNotAllowed,
    Urgency,
    ValidationError,
)
from ticketkit._history import replay

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

FIELDS = (
    FieldDef("count", FieldType.INT),
    FieldDef("cost", FieldType.DECIMAL),
    FieldDef("billable", FieldType.BOOL),
    FieldDef("due", FieldType.DATE),
    FieldDef("severity", FieldType.CHOICE, choices=("minor", "major", "critical")),
    FieldDef("platforms", FieldType.MULTI_CHOICE, choices=("linux", "mac", "windows")),
    FieldDef("notes", FieldType.TEXT),
    FieldDef("owner", FieldType.USER),
)

# -- strategies for valid input ------------------------------------------------------

users = st.sampled_from(["alice", "bob", "carol", "dave", "erin"])
_words = st.text(st.characters(categories=["L", "N", "P", "Zs"], max_codepoint=0x2FFF), max_size=40)
_padding = st.sampled_from(["", " ", "\u00a0", "  "])
#: Titles: a letter, then anything printable; sometimes padded with white space.
titles = st.builds(
    lambda pad, head, tail: f"{pad}{head}{tail}{pad}",
    _padding,
    st.characters(categories=["L"], max_codepoint=0x2FFF),
    _words,
)
#: Bodies may also hold line breaks.
bodies = st.builds(
    lambda head, lines: head + "\n".join(lines),
    st.characters(categories=["L", "N"], max_codepoint=0x2FFF),
    st.lists(_words, max_size=3),
)
tag_sets = st.frozensets(st.sampled_from(["printer", "vpn", "urgent", "mail", "vip"]), max_size=3)
priorities = st.sampled_from(list(Priority))
impacts = st.sampled_from(list(Impact))
urgencies = st.sampled_from(list(Urgency))
link_kinds = st.sampled_from(list(LinkKind))

FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "count": st.integers(-1000, 1000),
    "cost": st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
    "billable": st.booleans(),
    "due": st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    "severity": st.sampled_from(["minor", "major", "critical"]),
    "platforms": st.sets(st.sampled_from(["linux", "mac", "windows"])).map(
        lambda chosen: tuple(c for c in ("linux", "mac", "windows") if c in chosen)
    ),
    "notes": bodies,
    "owner": users,
}


def field_values(*, clearing: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Custom-field values (``None`` clears a field when ``clearing``)."""
    return st.fixed_dictionaries(
        {},
        optional={
            name: (values | st.none()) if clearing else values
            for name, values in FIELD_VALUES.items()
        },
    )


BAD_UPDATES: list[dict[str, Any]] = [
    {"title": ""},
    {"title": "two\nlines"},
    {"description": "nul\x00"},
    {"priority": "P9"},
    {"priority": "P1", "impact": "high"},
    {"impact": "huge"},
    {"tags": ["two words"]},
    {"tags": "single-string"},
    {"fields": {"count": "three"}},
    {"fields": {"cost": Decimal("NaN")}},
    {"fields": {"due": START}},
    {"fields": {"severity": "apocalyptic"}},
    {"fields": {"colour": "red"}},
    {"queue": "nowhere"},
]


class TrackerMachine(RuleBasedStateMachine):
    """Random tracker operations against a model of versions and refusals."""

    workflow_name = "helpdesk"
    prefix = "HD"

    tickets = Bundle("tickets")

    def make_tracker(self, clock: FrozenClock) -> Tracker:
        """The tracker under test; override to run the machine on another store."""
        return Tracker.in_memory(
            clock=clock, workflow=self.workflow_name, prefix=self.prefix, fields=FIELDS
        )

    @initialize(target=tickets, titles=st.lists(titles, min_size=1, max_size=3))
    def start(self, titles: list[str]) -> MultipleResults[str]:
        """A fresh tracker with a few tickets, so every rule has something to work on."""
        self.clock = FrozenClock(START)
        self.tracker = self.make_tracker(self.clock)
        self.workflow = self.tracker.workflow
        self.keys: list[str] = []
        self.versions: dict[str, int] = {}
        for title in titles:
            key = self.tracker.open(title, actor="setup").key
            self.keys.append(key)
            self.versions[key] = 1
        return multiple(*self.keys)

    def teardown(self) -> None:
        if hasattr(self, "tracker"):
            self.tracker.close()

    # -- helpers -------------------------------------------------------------------

    def _get(self, key: str) -> Ticket:
        return self.tracker.get(key)

    def _changed(self, bumps: Mapping[str, bool]) -> None:
        """Record that the last operation changed these tickets (or not)."""
        for key, changed in bumps.items():
            self.versions[key] += 1 if changed else 0

    def _version_arg(self, data: st.DataObject, ticket: Ticket) -> dict[str, int]:
        """Sometimes pass the current version as ``expected_version`` (always valid)."""
        return {"expected_version": ticket.version} if data.draw(st.booleans()) else {}

    @staticmethod
    def _refused(error: type[TicketkitError], call: Callable[[], object]) -> None:
        with pytest.raises(error) as caught:
            call()
        assert type(caught.value) is error, repr(caught.value)

    def _ancestors(self, key: str) -> list[str]:
        """``key`` and its ancestors, nearest first."""
        chain = [key]
        while True:
            parents = self._get(chain[-1]).linked(LinkKind.CHILD_OF)
            if not parents:
                return chain
            assert len(parents) == 1
            assert parents[0] not in chain, f"parent cycle through {chain}"
            chain.append(parents[0])

    # -- opening -------------------------------------------------------------------

    @rule(
        target=tickets,
        title=titles,
        actor=users,
        how=st.sampled_from(["default", "priority", "matrix"]),
        priority=priorities,
        impact=impacts,
        urgency=urgencies,
        tags=tag_sets,
        fields=field_values(clearing=False),
        assignee=st.none() | users,
        watchers=st.frozensets(users, max_size=2),
    )
    def open_ticket(
        self,
        title: str,
        actor: str,
        how: str,
        priority: Priority,
        impact: Impact,
        urgency: Urgency,
        tags: frozenset[str],
        fields: dict[str, Any],
        assignee: str | None,
        watchers: frozenset[str],
    ) -> str:
        kwargs: dict[str, Any] = {}
        if how == "priority":
            kwargs["priority"] = priority
        elif how == "matrix":
            kwargs.update(impact=impact, urgency=urgency)
        ticket = self.tracker.open(
            title,
            actor=actor,
            tags=tags,
            fields=fields,
            assignee=assignee,
            watchers=watchers,
            **kwargs,
        )
        self.keys.append(ticket.key)
        assert ticket.key == f"{self.prefix}-{len(self.keys)}"
        assert ticket.version == 1
        assert ticket.status == self.workflow.initial
        assert ticket.title == title.strip()
        expected_priority = (
            priority
            if how == "priority"
            else DEFAULT_MATRIX.priority(impact, urgency)
            if how == "matrix"
            else Priority.P3
        )
        assert ticket.priority is expected_priority
        self.versions[ticket.key] = 1
        return ticket.key

    # -- editing -------------------------------------------------------------------

    @rule(key=tickets, title=titles, actor=users, data=st.data())
    def update_title(self, key: str, title: str, actor: str, data: st.DataObject) -> None:
        before = self._get(key)
        after = self.tracker.update(
            key, actor=actor, title=title, **self._version_arg(data, before)
        )
        assert after.title == title.strip()
        self._changed({key: after.title != before.title})

    @rule(
        key=tickets,
        actor=users,
        how=st.sampled_from(["priority", "impact", "urgency", "both"]),
        priority=priorities,
        impact=impacts,
        urgency=urgencies,
    )
    def update_priority(
        self,
        key: str,
        actor: str,
        how: str,
        priority: Priority,
        impact: Impact,
        urgency: Urgency,
    ) -> None:
        before = self._get(key)
        if how == "priority":
            after = self.tracker.update(key, actor=actor, priority=priority.name)
            expected = (priority, None, None)
        else:
            kwargs: dict[str, Any] = {}
            imp = before.impact or Impact.MEDIUM
            urg = before.urgency or Urgency.MEDIUM
            if how in ("impact", "both"):
                kwargs["impact"] = impact.value
                imp = impact
            if how in ("urgency", "both"):
                kwargs["urgency"] = urgency.value
                urg = urgency
            after = self.tracker.update(key, actor=actor, **kwargs)
            expected = (DEFAULT_MATRIX.priority(imp, urg), imp, urg)
        assert (after.priority, after.impact, after.urgency) == expected
        self._changed({key: expected != (before.priority, before.impact, before.urgency)})

    @rule(key=tickets, actor=users, tags=st.none() | tag_sets, add=tag_sets, remove=tag_sets)
    def update_tags(
        self,
        key: str,
        actor: str,
        tags: frozenset[str] | None,
        add: frozenset[str],
        remove: frozenset[str],
    ) -> None:
        before = self._get(key)
        kwargs: dict[str, Any] = {} if tags is None else {"tags": sorted(tags)}
        after = self.tracker.update(
            key, actor=actor, add_tags=sorted(add), remove_tags=sorted(remove), **kwargs
        )
        expected = ((before.tags if tags is None else tags) | add) - remove
        assert after.tags == expected
        self._changed({key: expected != before.tags})

    @rule(key=tickets, actor=users, values=field_values(clearing=True))
    def update_fields(self, key: str, actor: str, values: dict[str, Any]) -> None:
        before = self._get(key)
        expected = dict(before.fields)
        for name, value in values.items():
            if value is None or value == ():  # an empty multi-choice means "not set"
                expected.pop(name, None)
            else:
                expected[name] = value
        after = self.tracker.update(key, actor=actor, fields=values)
        assert dict(after.fields) == expected
        self._changed({key: expected != dict(before.fields)})

    @rule(key=tickets, assignee=st.none() | users, actor=users, data=st.data())
    def assign(self, key: str, assignee: str | None, actor: str, data: st.DataObject) -> None:
        before = self._get(key)
        after = self.tracker.assign(key, assignee, actor=actor, **self._version_arg(data, before))
        assert after.assignee == assignee
        self._changed({key: assignee != before.assignee})

    @rule(key=tickets, actor=users, bad=st.sampled_from(BAD_UPDATES))
    def update_with_bad_input(self, key: str, actor: str, bad: dict[str, Any]) -> None:
        self._refused(ValidationError, lambda: self.tracker.update(key, actor=actor, **bad))

    # -- workflow ------------------------------------------------------------------

    @rule(key=tickets, actor=users, data=st.data())
    def transition(self, key: str, actor: str, data: st.DataObject) -> None:
        before = self._get(key)
        available = self.tracker.available_actions(key, actor)
        if before.merged_into is not None:  # a merged duplicate is done with
            assert available == []
            return
        if not available:  # only a guard can close every way out
            assert any(a.guards for a in self.workflow.actions_from(before.status))
            return
        action = data.draw(st.sampled_from(available), label="action")
        kwargs: dict[str, Any] = {}
        for effect in action.effects:
            if isinstance(effect, RequireResolution):
                kwargs["resolution"] = data.draw(st.sampled_from(effect.choices))
            elif isinstance(effect, RequireField):
                kwargs["fields"] = {effect.field: data.draw(users)}
            elif isinstance(effect, RequireComment):
                kwargs["comment"] = data.draw(bodies)
        if "comment" not in kwargs and data.draw(st.booleans(), label="with comment"):
            kwargs["comment"] = data.draw(bodies)
            kwargs["internal"] = data.draw(st.booleans())
        comments = len(self.tracker.comments(key))
        after = self.tracker.transition(
            key, action.name, actor=actor, **kwargs, **self._version_arg(data, before)
        )
        assert after.status == action.target
        if "resolution" in kwargs:
            assert after.resolution == kwargs["resolution"]
        done = self.workflow.category(after.status).value in ("resolved", "closed")
        assert (after.resolved_at is not None) == done
        assert len(self.tracker.comments(key)) == comments + ("comment" in kwargs)
        self._changed({key: True})

    @rule(key=tickets, actor=users, data=st.data())
    def transition_refused(self, key: str, actor: str, data: st.DataObject) -> None:
        before = self._get(key)
        available = {a.name for a in self.tracker.available_actions(key, actor)}
        refused = [a.name for a in self.workflow.actions if a.name not in available]
        needs_input = [
            a.name
            for a in self.workflow.actions
            if a.name in available
            and any(isinstance(e, RequireResolution | RequireField) for e in a.effects)
        ]
        choice = data.draw(st.sampled_from(["not allowed", "missing input", "unknown"]))
        if before.merged_into is not None:  # every action is refused, even unknown ones
            name = data.draw(st.sampled_from([a.name for a in self.workflow.actions]))
            with pytest.raises(TransitionNotAllowed) as caught:
                self.tracker.transition(key, name, actor=actor)
            assert before.merged_into in str(caught.value)
        elif choice == "not allowed" and refused:
            name = data.draw(st.sampled_from(refused))
            with pytest.raises(TransitionNotAllowed) as caught:
                self.tracker.transition(key, name, actor=actor)
            assert (caught.value.key, caught.value.status, caught.value.action) == (
                key,
                before.status,
                name,
            )
        elif choice == "missing input" and needs_input:
            name = data.draw(st.sampled_from(needs_input))
            self._refused(ValidationError, lambda: self.tracker.transition(key, name, actor=actor))
        else:
            self._refused(
                ValidationError, lambda: self.tracker.transition(key, "teleport", actor=actor)
            )

    # -- comments, attachments, watchers --------------------------------------------

    @rule(key=tickets, body=bodies, actor=users, internal=st.booleans(), data=st.data())
    def comment(self, key: str, body: str, actor: str, internal: bool, data: st.DataObject) -> None:
        before = self._get(key)
        comment = self.tracker.comment(
            key, body, actor=actor, internal=internal, **self._version_arg(data, before)
        )
        assert (comment.body, comment.author, comment.internal) == (body, actor, internal)
        assert self.tracker.comments(key)[-1] == comment
        self._changed({key: True})

    @rule(
        key=tickets,
        name=st.sampled_from(["log.txt", "screenshot.png", "trace", "data.json"]),
        content=st.binary(max_size=64),
        actor=users,
    )
    def attach(self, key: str, name: str, content: bytes, actor: str) -> None:
        attachment = self.tracker.attach(key, name, content, actor=actor)
        assert attachment.size == len(content)
        assert self.tracker.attachment_content(attachment.id) == content
        assert self.tracker.attachments(key)[-1] == attachment
        self._changed({key: True})

    @rule(key=tickets, who=users, actor=users, watch=st.booleans())
    def watch_or_unwatch(self, key: str, who: str, actor: str, watch: bool) -> None:
        before = self._get(key)
        if watch:
            after = self.tracker.watch(key, who, actor=actor)
            assert who in after.watchers
            self._changed({key: who not in before.watchers})
        else:
            after = self.tracker.unwatch(key, who, actor=actor)
            assert who not in after.watchers
            self._changed({key: who in before.watchers})

    # -- links and merges -------------------------------------------------------------

    @rule(source=tickets, kind=link_kinds, other=tickets, actor=users)
    def link(self, source: str, kind: LinkKind, other: str, actor: str) -> None:
        first = self._get(source)
        if source == other:
            self._refused(
                ValidationError, lambda: self.tracker.link(source, kind, other, actor=actor)
            )
            return
        if Link(kind, other) in first.links:
            after = self.tracker.link(source, kind, other, actor=actor)
            assert after == first
            return
        if kind in (LinkKind.PARENT_OF, LinkKind.CHILD_OF):
            parent, child = (source, other) if kind is LinkKind.PARENT_OF else (other, source)
            if self._get(child).linked(LinkKind.CHILD_OF) or child in self._ancestors(parent):
                self._refused(
                    ValidationError, lambda: self.tracker.link(source, kind, other, actor=actor)
                )
                return
        after = self.tracker.link(source, kind, other, actor=actor)
        assert Link(kind, other) in after.links
        assert Link(kind.inverse, source) in self._get(other).links
        self._changed({source: True, other: True})

    @rule(source=tickets, other=tickets, actor=users, data=st.data())
    def unlink(self, source: str, other: str, actor: str, data: st.DataObject) -> None:
        first = self._get(source)
        existing = [link.kind for link in first.links if link.key == other]
        missing = [kind for kind in LinkKind if kind not in existing]
        if existing and (not missing or data.draw(st.booleans(), label="unlink existing")):
            kind = data.draw(st.sampled_from(sorted(existing)))
            after = self.tracker.unlink(source, kind, other, actor=actor)
            assert Link(kind, other) not in after.links
            assert Link(kind.inverse, source) not in self._get(other).links
            self._changed({source: True, other: True})
            return
        kind = data.draw(st.sampled_from(missing))
        self._refused(
            ValidationError, lambda: self.tracker.unlink(source, kind, other, actor=actor)
        )

    @rule(source=tickets, other=tickets, actor=users)
    def merge(self, source: str, other: str, actor: str) -> None:
        first, second = self._get(source), self._get(other)
        if source == other or first.merged_into or second.merged_into:
            self._refused(ValidationError, lambda: self.tracker.merge(source, other, actor=actor))
            return
        survivor = self.tracker.merge(source, other, actor=actor)
        duplicate = self._get(source)
        assert survivor.key == other
        assert duplicate.merged_into == other
        assert duplicate.resolution == "duplicate"
        assert self.workflow.category(duplicate.status).value in ("resolved", "closed")
        assert duplicate.resolved_at is not None
        assert Link(LinkKind.DUPLICATES, other) in duplicate.links
        assert survivor.watchers >= first.watchers | {first.reporter}
        self._changed({source: True, other: True})

    # -- conflicts and time -----------------------------------------------------------

    @rule(key=tickets, other=tickets, actor=users, data=st.data())
    def stale_write(self, key: str, other: str, actor: str, data: st.DataObject) -> None:
        current = self._get(key).version
        wrong = data.draw(
            st.sampled_from([v for v in (current - 1, current + 1, 0) if v != current]),
            label="expected_version",
        )
        t = self.tracker
        writes: dict[str, Callable[[], object]] = {
            "update": lambda: t.update(key, actor=actor, title="stale", expected_version=wrong),
            "assign": lambda: t.assign(key, "bob", actor=actor, expected_version=wrong),
            "transition": lambda: t.transition(
                key, self.workflow.actions[0].name, actor=actor, expected_version=wrong
            ),
            "comment": lambda: t.comment(key, "late", actor=actor, expected_version=wrong),
            "attach": lambda: t.attach(key, "a.txt", b"a", actor=actor, expected_version=wrong),
            "link": lambda: t.link(key, "relates", other, actor=actor, expected_version=wrong),
            "unlink": lambda: t.unlink(key, "relates", other, actor=actor, expected_version=wrong),
            "merge": lambda: t.merge(key, other, actor=actor, expected_version=wrong),
            "watch": lambda: t.watch(key, "zed", actor=actor, expected_version=wrong),
            "unwatch": lambda: t.unwatch(key, "zed", actor=actor, expected_version=wrong),
        }
        name = data.draw(st.sampled_from(sorted(writes)), label="write")
        with pytest.raises(ConflictError) as caught:
            writes[name]()
        assert (caught.value.key, caught.value.expected, caught.value.actual) == (
            key,
            wrong,
            current,
        )

    @precondition(lambda self: len(self.keys) > 0)
    @rule(hours=st.integers(min_value=0, max_value=24 * 10))
    def advance_clock(self, hours: int) -> None:
        before = self.clock.now()
        assert self.clock.advance(hours=hours) == before + timedelta(hours=hours)

    # -- invariants -----------------------------------------------------------------

    @invariant()
    def keys_are_sequential(self) -> None:
        page = self.tracker.query(limit=1000)
        assert page.next_cursor is None
        assert [t.key for t in page.items] == [
            f"{self.prefix}-{n}" for n in range(1, len(self.keys) + 1)
        ]
        assert [t.id for t in page.items] == list(range(1, len(self.keys) + 1))

    @invariant()
    def tickets_agree_with_model_and_history(self) -> None:
        states = {s.name for s in self.workflow.states}
        all_events = []
        for key in self.keys:
            ticket = self._get(key)
            assert ticket.status in states
            assert ticket.version == self.versions[key], key
            history = self.tracker.history(key)
            assert replay(history) == ticket
            assert history[0].type.value == "opened"
            assert {e.version for e in history} == set(range(1, ticket.version + 1))
            assert [e.version for e in history] == sorted(e.version for e in history)
            for event in history:
                assert event.ticket_key == key
                assert isinstance(event.actor, str)
                assert event.actor.strip()
                assert event.at.utcoffset() == timedelta(0)
                assert START <= event.at <= self.clock.now()
            all_events.extend(history)
        all_events.sort(key=lambda e: e.id)
        assert len({e.id for e in all_events}) == len(all_events)
        times = [e.at for e in all_events]
        assert times == sorted(times)

    @invariant()
    def links_are_symmetric_and_parents_form_a_forest(self) -> None:
        tickets = {key: self._get(key) for key in self.keys}
        for key, ticket in tickets.items():
            for link in ticket.links:
                assert link.key != key
                assert Link(link.kind.inverse, key) in tickets[link.key].links, (key, link)
            assert len(ticket.linked(LinkKind.CHILD_OF)) <= 1
            self._ancestors(key)  # raises on a cycle


class BugtrackerMachine(TrackerMachine):
    """The same operations on Trac's bug-tracker workflow (resolutions, reassign)."""

    workflow_name = "bugtracker"
    prefix = "BUG"


SETTINGS = settings(
    max_examples=80,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestTrackerStateMachine = TrackerMachine.TestCase
TestTrackerStateMachine.settings = SETTINGS
TestBugtrackerStateMachine = BugtrackerMachine.TestCase
TestBugtrackerStateMachine.settings = SETTINGS
