"""Breadcrumbs and the logging handler: what happened before, and errors that were logged."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketkit import Tracker
from ticketkit.crash import (
    MAX_BREADCRUMBS,
    REPORT_FILENAME,
    CrashHandle,
    CrashLogHandler,
    active_handle,
    breadcrumb,
    clear_breadcrumbs,
    install,
)
from ticketkit.crash._filing import define_crash_fields
from ticketkit.crash._logging import current_breadcrumbs


@pytest.fixture
def handle(tmp_path: Path) -> Iterator[CrashHandle]:
    saved = sys.excepthook
    clear_breadcrumbs()
    tracker = Tracker.in_memory()
    installed = install(tracker, app="test", spool_dir=tmp_path, excepthook=True, threads=False)
    try:
        yield installed
    finally:
        while (current := active_handle()) is not None:
            current.uninstall()
        sys.excepthook = saved
        clear_breadcrumbs()


@pytest.fixture
def log(handle: CrashHandle) -> Iterator[logging.Logger]:
    logger = logging.getLogger("shop.checkout")
    handler = CrashLogHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def tickets(handle: CrashHandle) -> list[dict[str, object]]:
    tracker = handle.tracker
    define_crash_fields(tracker)
    return [dict(t.fields) for t in tracker.query({"tags": {"contains": "crash"}})]


def attached_report(handle: CrashHandle) -> dict[str, object]:
    tracker = handle.tracker
    (ticket,) = tracker.query({"tags": {"contains": "crash"}})
    (attachment,) = [a for a in tracker.attachments(ticket.key) if a.filename == REPORT_FILENAME]
    data: dict[str, object] = json.loads(tracker.attachment_content(attachment.id))
    return data


class TestBreadcrumbs:
    def test_info_and_above_are_kept(self, log: logging.Logger) -> None:
        """INFO, WARNING and ERROR records become breadcrumbs; DEBUG does not."""
        log.debug("noise")
        log.info("opened basket %s", 42)
        log.warning("slow payment")
        crumbs = current_breadcrumbs()
        assert [(c.level, c.message) for c in crumbs] == [
            ("info", "opened basket 42"),
            ("warning", "slow payment"),
        ]
        assert crumbs[0].category == "log"
        assert crumbs[0].data["logger"] == "shop.checkout"

    def test_only_the_last_hundred(self, log: logging.Logger) -> None:
        """Older breadcrumbs are forgotten."""
        for i in range(MAX_BREADCRUMBS + 20):
            log.info("step %d", i)
        crumbs = current_breadcrumbs()
        assert len(crumbs) == MAX_BREADCRUMBS
        assert crumbs[0].message == "step 20"

    def test_breadcrumbs_reach_the_report(self, handle: CrashHandle, log: logging.Logger) -> None:
        """A crash report carries the breadcrumbs before it, scrubbed."""
        breadcrumb("clicked pay", category="ui", data={"basket": 42, "password": "hunter2"})
        log.info("charging card")
        try:
            raise ValueError("declined")
        except ValueError as exc:
            handle.capture_exception(exc)
        report = attached_report(handle)
        crumbs = report["breadcrumbs"]
        assert isinstance(crumbs, list)
        assert [c["message"] for c in crumbs] == ["clicked pay", "charging card"]
        assert "hunter2" not in json.dumps(report)

    def test_bad_records_break_nothing(self, handle: CrashHandle) -> None:
        """A record whose arguments do not fit its format is still kept, and nothing raises."""
        record = logging.LogRecord("shop", logging.INFO, __file__, 1, "%d items", ("many",), None)
        CrashLogHandler().emit(record)
        assert current_breadcrumbs()[-1].message == "%d items"


class TestFiling:
    def test_errors_with_exc_info_are_filed(self, handle: CrashHandle, log: logging.Logger) -> None:
        """logger.exception files the exception; an ERROR without one does not."""
        log.error("no exception here")
        try:
            raise KeyError("sku")
        except KeyError:
            log.exception("lookup failed")
        (fields,) = tickets(handle)
        assert fields["crash_exception_type"] == "builtins.KeyError"
        report = attached_report(handle)
        assert report["handled"] is True
        assert report["mechanism"] == "logging"

    def test_logged_then_uncaught_counts_once(
        self, handle: CrashHandle, log: logging.Logger
    ) -> None:
        """The same exception object, logged and then uncaught, is one occurrence."""
        try:
            raise RuntimeError("payment service down")
        except RuntimeError as exc:
            log.exception("giving up")
            error = exc
        sys.excepthook(type(error), error, error.__traceback__)
        (fields,) = tickets(handle)
        assert fields["crash_count"] == 1

    def test_ticketkits_own_records_are_ignored(self, handle: CrashHandle) -> None:
        """Records of ticketkit.crash are neither breadcrumbs nor filed."""
        own = logging.getLogger("ticketkit.crash")
        handler = CrashLogHandler()
        own.addHandler(handler)
        try:
            try:
                raise OSError("spool full")
            except OSError:
                own.exception("trouble")
        finally:
            own.removeHandler(handler)
        assert current_breadcrumbs() == ()
        assert tickets(handle) == []
