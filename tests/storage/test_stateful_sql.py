"""The memory store and the SQL store, driven side by side, must agree.

(Checked to have teeth: making the SQL ``ne`` drop rows whose value is NULL,
a classic SQL-vs-Python difference, fails this test within a few examples.)

Every call the state machine of ``tests/test_stateful.py`` makes goes to two
trackers: one on the memory store (the reference) and one on SQLite. Each
call must give equal results on both, or fail on both with the same error and
message; the machine's own invariants then run on the reference.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from test_stateful import FIELDS, BugtrackerMachine, TrackerMachine, users
from ticketkit import FrozenClock, TicketkitError, Tracker
from ticketkit.storage.sql import SQLStore, upgrade


def _template(tmp: Path) -> Path:
    """A database file at the current schema, built once and copied for each example."""
    path = tmp / "template.db"
    if not path.exists():
        upgrade(f"sqlite:///{path}")
    return path


class Twin:
    """Forwards every call to both trackers and checks that the answers agree."""

    def __init__(self, reference: Tracker, candidate: Tracker) -> None:
        self._reference = reference
        self._candidate = candidate

    def close(self) -> None:
        self._reference.close()
        self._candidate.close()

    def __getattr__(self, name: str) -> Any:
        expected_attr = getattr(self._reference, name)
        if not callable(expected_attr):
            return expected_attr
        actual_attr: Callable[..., Any] = getattr(self._candidate, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            error: TicketkitError | None = None
            try:
                expected = expected_attr(*args, **kwargs)
            except TicketkitError as exc:
                error = exc
            if error is not None:
                with pytest.raises(type(error)) as caught:
                    actual_attr(*args, **kwargs)
                assert str(caught.value) == str(error), (name, args, kwargs)
                raise error
            actual = actual_attr(*args, **kwargs)
            assert actual == expected, (name, args, kwargs, actual, expected)
            return expected

        return call


_SORTS = [
    "id",
    "-id",
    "priority",
    "-priority",
    "assignee",
    "-assignee",
    "updated",
    "-created",
    "status",
    "title",
    "-resolved_at",
    "fields.count",
    "-fields.cost",
    "fields.due",
    "-fields.severity",
    "fields.notes",
    "-fields.billable",
    "fields.owner",
]
_FILTERS = st.sampled_from(
    [
        {"assignee": {"is_null": True}},
        {"assignee": {"ne": "alice"}},
        {"priority": {"in": ["P1", "P2"]}},
        {"priority": {"lt": "P3"}},
        {"resolution": {"not_in": ["fixed"]}},
        {"tags": {"contains": "vip"}},
        {"watchers": {"contains": "bob"}},
        {"fields.count": {"ge": 0}},
        {"fields.cost": {"ne": "1.5"}},
        {"fields.billable": True},
        {"fields.severity": {"in": ["major", "critical"]}},
        {"fields.platforms": {"contains": "mac"}},
        {"fields.platforms": {"is_null": True}},
        {"fields.notes": {"contains": "a"}},
        {"fields.due": {"is_null": False}},
        {"resolved_at": {"is_null": False}},
        {"title": {"contains": "e"}},
    ]
)


class _SideBySide:
    tmp: Path

    @rule(
        where=st.lists(_FILTERS, max_size=2),
        order=st.lists(st.sampled_from(_SORTS), min_size=1, max_size=3, unique=True),
        limit=st.integers(min_value=1, max_value=4),
        text=st.none() | st.sampled_from(["e", "A", "ß", "printer"]),
        actor=users,
    )
    def query_pages(
        self,
        where: list[dict[str, Any]],
        order: list[str],
        limit: int,
        text: str | None,
        actor: str,
    ) -> None:
        """Every page of a random query is the same on both stores (the twin compares)."""
        merged: dict[str, Any] = {}
        for item in where:
            merged.update(item)
        tracker: Any = self.tracker  # type: ignore[attr-defined]
        cursor = None
        for _ in range(50):
            page = tracker.query(merged, text=text, order_by=order, limit=limit, cursor=cursor)
            cursor = page.next_cursor
            if cursor is None:
                break

    def make_tracker(self, clock: FrozenClock) -> Tracker:
        workflow: str = self.workflow_name  # type: ignore[attr-defined]
        prefix: str = self.prefix  # type: ignore[attr-defined]
        path = self.tmp / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(_template(self.tmp), path)
        settings_ = {"workflow": workflow, "prefix": prefix, "fields": FIELDS}
        reference = Tracker.in_memory(clock=clock, **settings_)
        candidate = Tracker(SQLStore.from_url(f"sqlite:///{path}"), clock=clock, **settings_)
        return Twin(reference, candidate)  # type: ignore[return-value]


class HelpdeskSideBySide(_SideBySide, TrackerMachine):
    """The help-desk machine on memory and SQLite at once."""


class BugtrackerSideBySide(_SideBySide, BugtrackerMachine):
    """The bug-tracker machine on memory and SQLite at once."""


SETTINGS = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _scratch(tmp_path_factory: pytest.TempPathFactory) -> None:
    _SideBySide.tmp = tmp_path_factory.getbasetemp() / "side-by-side"
    _SideBySide.tmp.mkdir(exist_ok=True)


TestHelpdeskSideBySide = HelpdeskSideBySide.TestCase
TestHelpdeskSideBySide.settings = SETTINGS
TestBugtrackerSideBySide = BugtrackerSideBySide.TestCase
TestBugtrackerSideBySide.settings = SETTINGS
