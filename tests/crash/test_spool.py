"""The spool: reports are on disk before the store is asked, and filed later when it was down."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from ticketkit import Tracker
from ticketkit.crash import Spool, default_spool_dir, flush_spool
from ticketkit.crash._filing import define_crash_fields, reference_for
from ticketkit.crash._spool import MAX_ATTEMPTS

from .test_filing import T0, make_report


def entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith((".crash", ".inflight")))


def read_only_tracker(tmp_path: Path) -> Tracker:
    """A tracker whose SQLite file can be read but not written (as root, too)."""
    path = tmp_path / "ro.db"
    Tracker.from_url(f"sqlite:///{path}").close()
    return Tracker.from_url(f"sqlite:///file:{path}?mode=ro&uri=true", create=False)


class TestWriting:
    def test_put_is_atomic_and_private(self, tmp_path: Path) -> None:
        """An entry is one complete file, readable only by its owner; no temp file stays."""
        spool = Spool(tmp_path / "spool")
        path = spool.put(make_report(), count=3, last_seen=T0 + timedelta(seconds=5))
        assert path is not None
        assert path.name.endswith(f".{os.getpid()}.inflight")
        assert [p.name for p in (tmp_path / "spool").iterdir()] == [path.name]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        entry = spool.read(path)
        assert entry.report == make_report()
        assert entry.count == 3
        assert entry.sample
        assert entry.last_seen == T0 + timedelta(seconds=5)

    def test_release_and_claim(self, tmp_path: Path) -> None:
        """A released entry is ready; claiming it makes it ours again; remove forgets it."""
        spool = Spool(tmp_path)
        path = spool.put(make_report())
        assert path is not None
        assert list(spool.claim()) == []  # our own in-flight entry is not claimed
        spool.release(path)
        (ready,) = entries(tmp_path)
        assert ready.endswith(".0.crash")
        (claimed,) = list(spool.claim())
        assert claimed.name.endswith(f".{os.getpid()}.inflight")
        spool.remove(claimed)
        assert entries(tmp_path) == []

    def test_bounded(self, tmp_path: Path) -> None:
        """A full spool writes nothing more and says so; overflow is counted per ticket."""
        spool = Spool(tmp_path, max_entries=2)
        assert spool.put(make_report()) is not None
        assert spool.put(make_report()) is not None
        assert spool.put(make_report()) is None
        spool.count_overflow(make_report(), 5, T0)
        assert spool.overflow()["dropped"] == 5
        assert spool.overflow()["refs"][reference_for(make_report())]["count"] == 5

    def test_failing_entries_are_set_aside(self, tmp_path: Path) -> None:
        """An entry that keeps failing for another reason than the store moves to failed/."""
        spool = Spool(tmp_path)
        path = spool.put(make_report())
        assert path is not None
        for _ in range(MAX_ATTEMPTS):
            spool.release(path, failed=True)
            claimed = list(spool.claim())
            if not claimed:
                break
            (path,) = claimed
        assert entries(tmp_path) == []
        assert len(list((tmp_path / "failed").iterdir())) == 1

    def test_default_directory(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """Per application, under XDG_CACHE_HOME (or ~/.cache)."""
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        assert default_spool_dir("my shop/1") == tmp_path / "ticketkit/crash-spool/my_shop_1"


class TestOwnership:
    def test_live_processes_keep_their_entries(self, tmp_path: Path) -> None:
        """An in-flight entry of another live process (a parent, say) is never claimed."""
        spool = Spool(tmp_path)
        path = spool.put(make_report())
        assert path is not None
        theirs = path.with_name(path.name.replace(f".{os.getpid()}.", f".{os.getppid()}."))
        path.rename(theirs)
        assert list(spool.claim()) == []

    def test_dead_processes_entries_are_claimed(self, tmp_path: Path) -> None:
        """An in-flight entry whose process died is filed by the next flush."""
        spool = Spool(tmp_path)
        path = spool.put(make_report())
        assert path is not None
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        orphan = path.with_name(path.name.replace(f".{os.getpid()}.", f".{dead.stdout.strip()}."))
        path.rename(orphan)
        assert len(list(spool.claim())) == 1


class TestFlush:
    def test_flush_files_with_counts(self, tmp_path: Path) -> None:
        """Spooled entries become one ticket with every occurrence counted; the spool empties."""
        spool = Spool(tmp_path / "spool")
        for count in (1, 4):
            path = spool.put(make_report(), count=count)
            assert path is not None
            spool.release(path)
        tracker = Tracker.in_memory()
        assert flush_spool(tracker, tmp_path / "spool") == 2
        define_crash_fields(tracker)
        (ticket,) = tracker.query({"fields.crash_app": "shop"})
        assert ticket.fields["crash_count"] == 5
        assert entries(tmp_path / "spool") == []

    def test_store_down_keeps_entries(self, tmp_path: Path) -> None:
        """While the store cannot be written, entries stay ready for the next flush."""
        spool = Spool(tmp_path / "spool")
        path = spool.put(make_report())
        assert path is not None
        spool.release(path)
        with read_only_tracker(tmp_path) as tracker:
            assert flush_spool(tracker, spool) == 0
        (name,) = entries(tmp_path / "spool")
        assert name.endswith(".0.crash")  # not counted as a failure of the entry

    def test_overflow_is_counted_onto_the_ticket(self, tmp_path: Path) -> None:
        """Occurrences that found no room are added once the ticket exists."""
        spool = Spool(tmp_path)
        spool.count_overflow(make_report(), 7, T0)
        tracker = Tracker.in_memory()
        flush_spool(tracker, spool)  # no ticket yet: kept
        assert spool.overflow()["refs"]
        path = spool.put(make_report())
        assert path is not None
        spool.release(path)
        flush_spool(tracker, spool)
        define_crash_fields(tracker)
        (ticket,) = tracker.query({"fields.crash_app": "shop"})
        assert ticket.fields["crash_count"] == 8
        assert spool.overflow()["refs"] == {}

    def test_damaged_entries_do_not_stop_the_flush(self, tmp_path: Path) -> None:
        """A file that is not a report is set aside after a few tries; the rest are filed."""
        (tmp_path / f"{0:020d}-deadbeef.0.crash").write_bytes(b"not json")
        spool = Spool(tmp_path)
        path = spool.put(make_report())
        assert path is not None
        spool.release(path)
        tracker = Tracker.in_memory()
        assert flush_spool(tracker, spool) == 1
