"""Filing crash reports: one ticket per fingerprint, counted, reopened on regression."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from databases import BACKENDS, fresh_database
from ticketkit import EventType, FrozenClock, Tracker, bugtracker, simple
from ticketkit.crash import FIELDS, REPORT_FILENAME, CrashReport, file_report, mark_fixed
from ticketkit.crash._filing import define_crash_fields, reference_for
from ticketkit.crash._releases import is_older, release_key
from ticketkit.crash._report import ExceptionInfo, Frame

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_report(
    fingerprint: str = "f" * 32,
    *,
    app: str | None = "shop",
    release: str | None = "1.0.0",
    at: datetime = T0,
    title: str = "ValueError: bad basket",
    message: str = "bad basket",
) -> CrashReport:
    """A small report as build_report would make it, without raising anything."""
    frame = Frame(
        filename="/srv/shop/basket.py",
        lineno=12,
        function="checkout",
        module="shop.basket",
        source="raise ValueError('bad basket')",
        in_app=True,
    )
    return CrashReport(
        exceptions=(ExceptionInfo("builtins.ValueError", message, (frame,), "raised", 0),),
        title=title,
        fingerprint=fingerprint,
        fingerprint_version=1,
        mechanism="excepthook",
        handled=False,
        occurred_at=at,
        app=app,
        release=release,
        environment={"python": {"version": "3.11"}},
        breadcrumbs=(),
        tags={},
        context={},
    )


@pytest.fixture
def tracker() -> Tracker:
    return Tracker.in_memory(clock=FrozenClock(T0), prefix="BUG")


def the_ticket(tracker: Tracker, fingerprint: str = "f" * 32):  # type: ignore[no-untyped-def]
    page = tracker.query({"fields.crash_fingerprint": fingerprint})
    assert len(page) == 1
    return page.items[0]


class TestReleases:
    @pytest.mark.parametrize(
        ("older", "newer"),
        [
            ("1.9", "1.10"),
            ("1.2.3", "1.3"),
            ("v2.0.0", "2.0.1"),
            ("1.0rc1", "1.0"),
            ("1.0.0-beta.2", "1.0.0-rc.1"),
            ("1.0a1", "1.0b1"),
            ("1.0.dev3", "1.0a1"),
            ("1.0", "1.0.post1"),
            ("shop@1.4.0", "shop@1.5.0"),
        ],
    )
    def test_versions_order(self, older: str, newer: str) -> None:
        """Numbers compare as numbers and pre-releases come before the release."""
        assert is_older(older, newer)
        assert not is_older(newer, older)

    def test_equal_versions(self) -> None:
        """1.2 and 1.2.0 are the same release; neither is older."""
        assert release_key("1.2") == release_key("1.2.0")
        assert not is_older("1.2", "1.2.0")

    @pytest.mark.parametrize("name", [None, "", "nightly", "3f2a9c1"])
    def test_unknown_releases_are_never_older(self, name: str | None) -> None:
        """When a release is not a version, nothing is older: a crash after a fix regresses."""
        assert not is_older(name, "1.0")
        assert not is_older("1.0", name)


class TestFields:
    def test_defining_twice_changes_nothing(self, tracker: Tracker) -> None:
        """The crash fields can be defined on every start."""
        define_crash_fields(tracker)
        define_crash_fields(tracker)
        assert {fd.name for fd in FIELDS} <= set(tracker.config.fields)

    def test_fields_are_queryable_and_sortable(self, tracker: Tracker) -> None:
        """Count, times and fingerprint work in queries and in order_by."""
        file_report(tracker, make_report("a" * 32), count=3)
        file_report(tracker, make_report("b" * 32, at=T0 + timedelta(hours=1)), count=5)
        by_count = tracker.query(order_by="-fields.crash_count")
        assert [t.fields["crash_count"] for t in by_count] == [5, 3]
        recent = tracker.query({"fields.crash_last_seen": {"gt": "2026-03-02T09:30:00.000000Z"}})
        assert [t.fields["crash_fingerprint"] for t in recent] == ["b" * 32]


class TestFirstOccurrence:
    def test_opens_a_ticket(self, tracker: Tracker) -> None:
        """A new fingerprint opens a ticket titled from the report, tagged crash."""
        report = make_report()
        filed = file_report(tracker, report)
        ticket = tracker.get(filed.key)
        assert filed.created
        assert filed.count == 1
        assert not filed.regressed
        assert ticket.title == "ValueError: bad basket"
        assert ticket.description == report.describe()
        assert ticket.tags == {"crash"}
        assert ticket.fields["crash_count"] == 1
        assert ticket.fields["crash_app"] == "shop"
        assert ticket.fields["crash_exception_type"] == "builtins.ValueError"
        assert ticket.fields["crash_culprit"] == "shop.basket.checkout"
        assert ticket.fields["crash_first_seen"] == "2026-03-02T09:00:00.000000Z"
        assert ticket.fields["crash_release"] == ticket.fields["crash_first_release"] == "1.0.0"
        assert tracker.by_reference(reference_for(report)) == ticket

    def test_attaches_the_report(self, tracker: Tracker) -> None:
        """The whole report is attached as crash-report.json and reads back as the report."""
        report = make_report()
        key = file_report(tracker, report).key
        (attachment,) = tracker.attachments(key)
        assert attachment.filename == REPORT_FILENAME
        data = json.loads(tracker.attachment_content(attachment.id))
        assert CrashReport.from_dict(data) == report

    def test_report_is_stored_in_the_same_write(self, tracker: Tracker) -> None:
        """The ticket and its report are one write: both at version 1, sample counted."""
        key = file_report(tracker, make_report()).key
        history = tracker.history(key)
        assert [(e.type, e.version) for e in history] == [
            (EventType.OPENED, 1),
            (EventType.ATTACHMENT_ADDED, 1),
        ]
        assert tracker.get(key).version == 1
        assert tracker.get(key).fields["crash_samples"] == 1

    def test_report_over_the_size_limit_is_not_attached(self) -> None:
        """A report too big to attach still files the crash, with no sample counted."""
        tracker = Tracker.in_memory(clock=FrozenClock(T0), max_attachment_size=64)
        key = file_report(tracker, make_report()).key
        assert tracker.attachments(key) == []
        assert tracker.get(key).fields["crash_samples"] == 0

    def test_queue(self) -> None:
        """queue= files crash tickets in that queue, under its prefix."""
        tracker = Tracker.in_memory(
            queues={"support": "HD", "crashes": "CR"}, default_queue="support"
        )
        key = file_report(tracker, make_report(), queue="crashes").key
        assert key == "CR-1"

    def test_hostile_titles_are_made_safe(self, tracker: Tracker) -> None:
        """Control characters and over-long titles do not stop a crash from being filed."""
        report = make_report(title="Boom\x1b[31m\n" + "x" * 400)
        ticket = tracker.get(file_report(tracker, report).key)
        assert len(ticket.title) <= 255
        assert "\n" not in ticket.title
        assert "\x1b" not in ticket.title

    def test_apps_do_not_merge(self, tracker: Tracker) -> None:
        """Two apps sharing a tracker get a ticket each for the same fingerprint."""
        one = file_report(tracker, make_report(app="shop")).key
        two = file_report(tracker, make_report(app="admin")).key
        assert one != two


class TestRepeat:
    def test_counts_on_the_same_ticket(self, tracker: Tracker) -> None:
        """A repeat adds to the counter, moves last seen and the release, opens nothing."""
        first = file_report(tracker, make_report())
        later = make_report(release="1.1.0", at=T0 + timedelta(minutes=5))
        again = file_report(tracker, later, count=4)
        assert again.key == first.key
        assert not again.created
        assert again.count == 5
        ticket = tracker.get(first.key)
        assert ticket.fields["crash_count"] == 5
        assert ticket.fields["crash_last_seen"] == "2026-03-02T09:05:00.000000Z"
        assert ticket.fields["crash_first_seen"] == "2026-03-02T09:00:00.000000Z"
        assert ticket.fields["crash_release"] == "1.1.0"
        assert ticket.fields["crash_first_release"] == "1.0.0"
        assert len(tracker.query({"tags": {"contains": "crash"}})) == 1

    def test_samples_are_bounded(self, tracker: Tracker) -> None:
        """At most max_samples reports are attached, however often it crashes."""
        for _ in range(6):
            key = file_report(tracker, make_report(), max_samples=3).key
        assert len(tracker.attachments(key)) == 3
        assert tracker.get(key).fields["crash_samples"] == 3

    def test_count_only(self, tracker: Tracker) -> None:
        """sample=False counts without attaching anything."""
        key = file_report(tracker, make_report()).key
        file_report(tracker, make_report(), count=9, sample=False)
        assert len(tracker.attachments(key)) == 1
        assert tracker.get(key).fields["crash_count"] == 10

    def test_late_old_occurrence(self, tracker: Tracker) -> None:
        """An older occurrence filed late (from the spool) moves first seen, not last seen."""
        key = file_report(tracker, make_report(release="2.0", at=T0)).key
        file_report(tracker, make_report(release="1.9", at=T0 - timedelta(days=1)))
        fields = tracker.get(key).fields
        assert fields["crash_first_seen"] == "2026-03-01T09:00:00.000000Z"
        assert fields["crash_first_release"] == "1.9"
        assert fields["crash_last_seen"] == "2026-03-02T09:00:00.000000Z"
        assert fields["crash_release"] == "2.0"

    def test_merged_ticket(self, tracker: Tracker) -> None:
        """Occurrences of a crash whose ticket was merged count on the survivor."""
        crash = file_report(tracker, make_report()).key
        survivor = tracker.open("Checkout is broken", actor="alice").key
        tracker.merge(crash, survivor, actor="alice")
        tracker.define_fields(*FIELDS)
        filed = file_report(tracker, make_report())
        assert filed.key == survivor
        assert tracker.get(survivor).fields["crash_count"] == 1


class TestRegression:
    def resolve(self, tracker: Tracker, key: str, fixed_in: str | None = None) -> None:
        if fixed_in is None:
            tracker.transition(key, "resolve", actor="dev")
        else:
            mark_fixed(tracker, key, fixed_in, actor="dev", action="resolve")

    def test_newer_release_reopens(self, tracker: Tracker) -> None:
        """A crash in a release not older than the fix reopens the ticket as a regression."""
        key = file_report(tracker, make_report(release="1.0.0")).key
        self.resolve(tracker, key, fixed_in="1.1.0")
        filed = file_report(tracker, make_report(release="1.1.0"))
        ticket = tracker.get(key)
        assert filed.regressed
        assert ticket.status == "open"
        assert "regression" in ticket.tags
        assert ticket.fields["crash_regressed_in"] == "1.1.0"
        (note,) = [c for c in tracker.comments(key) if c.internal]
        assert "Regression" in note.body
        assert "1.1.0" in note.body
        changes = [e for e in tracker.history(key) if e.type is EventType.STATUS_CHANGED]
        assert changes[-1].new == "open"
        assert changes[-1].data["action"] == "reopen"

    def test_older_release_only_counts(self, tracker: Tracker) -> None:
        """A crash from a release older than the fix adds to the count, nothing else."""
        key = file_report(tracker, make_report(release="1.0.0")).key
        self.resolve(tracker, key, fixed_in="1.1.0")
        filed = file_report(tracker, make_report(release="1.0.5"))
        ticket = tracker.get(key)
        assert not filed.regressed
        assert ticket.status == "resolved"
        assert ticket.fields["crash_count"] == 2
        assert "regression" not in ticket.tags

    def test_no_release_information_regresses(self, tracker: Tracker) -> None:
        """Without a fix release (or a release on the crash), a new occurrence regresses."""
        key = file_report(tracker, make_report(release=None)).key
        self.resolve(tracker, key)
        assert file_report(tracker, make_report(release=None)).regressed
        assert tracker.get(key).fields["crash_regressed_in"] == "unknown"

    def test_other_workflows(self) -> None:
        """The reopening action comes from the tracker's own workflow."""
        for workflow, target in ((bugtracker(), "reopened"), (simple(), "open")):
            tracker = Tracker.in_memory(workflow=workflow)
            key = file_report(tracker, make_report()).key
            if workflow.name == "bugtracker":
                tracker.transition(key, "resolve", actor="dev", resolution="fixed")
            else:
                tracker.transition(key, "close", actor="dev")
            file_report(tracker, make_report(release="2.0"))
            assert tracker.get(key).status == target

    def test_refused_reopen_is_recorded(self) -> None:
        """When the workflow refuses to reopen, an internal note says so and why."""
        clock = FrozenClock(T0)
        tracker = Tracker.in_memory(clock=clock)
        key = file_report(tracker, make_report()).key
        tracker.transition(key, "resolve", actor="dev")
        clock.advance(timedelta(days=30))  # helpdesk reopens only within 7 days
        filed = file_report(tracker, make_report(release="2.0", at=T0 + timedelta(days=30)))
        ticket = tracker.get(key)
        assert filed.regressed
        assert ticket.status == "resolved"
        assert "regression" in ticket.tags
        (note,) = [c for c in tracker.comments(key) if c.internal]
        assert "could not reopen" in note.body

    def test_closed_tickets_regress_too(self, tracker: Tracker) -> None:
        """Closed is done as well as resolved."""
        key = file_report(tracker, make_report()).key
        tracker.transition(key, "resolve", actor="dev")
        tracker.transition(key, "close", actor="dev")
        file_report(tracker, make_report(release="1.0.1"))
        assert tracker.get(key).status == "open"


@pytest.mark.parametrize("backend", BACKENDS)
def test_simultaneous_occurrences_make_one_ticket(backend: str, tmp_path: Path) -> None:
    """12 threads filing the same crash at once: one ticket, count 12."""
    with fresh_database(backend, tmp_path) as url:
        trackers = [Tracker.from_url(url) for _ in range(3)]
        try:
            start = threading.Barrier(12)
            keys: list[str] = []
            errors: list[BaseException] = []

            def work(i: int) -> None:
                try:
                    start.wait()
                    keys.append(file_report(trackers[i % 3], make_report()).key)
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            assert len(set(keys)) == 1
            define_crash_fields(trackers[0])
            ticket = the_ticket(trackers[0])
            assert ticket.fields["crash_count"] == 12
        finally:
            for tracker in trackers:
                tracker.close()
