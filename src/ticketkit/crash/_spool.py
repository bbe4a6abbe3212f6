"""The local spool: every report is on disk before ticketkit talks to the store.

A report is written atomically (temporary file, ``fsync``, rename, ``fsync`` of
the directory) as an *in-flight* entry owned by the writing process, filed,
then deleted. When the store is unavailable it becomes a *ready* entry, and
:func:`flush_spool` files it later, from any process: an entry is claimed by
renaming it, so exactly one process files it. In-flight entries of a live
process are never touched by another (a forked child leaves its parent's
alone); those of a process that died are picked up.

The spool is bounded (entries and bytes). A report that does not fit is not
lost silently: its occurrences are added to ``overflow.json``, per ticket
reference, and counted onto the ticket once it exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import frozen

from .._errors import StorageError
from ._filing import ACTOR, add_count, file_report, iso, reference_for
from ._log import log_once

if TYPE_CHECKING:
    from .._tracker import Tracker
    from ._report import CrashReport

__all__ = ["Spool", "SpoolEntry", "default_spool_dir", "flush_spool"]

_READY = ".crash"
_INFLIGHT = ".inflight"
_OVERFLOW = "overflow.json"
_LOCK = "spool.lock"
_FAILED = "failed"
#: An entry that failed this often for a reason other than the store being down
#: moves to ``failed/`` (kept for a human, out of the way of the next flush).
MAX_ATTEMPTS = 5
_MAX_FAILED = 50
_MAX_OVERFLOW_REFS = 200
#: An in-flight entry this old is abandoned even if its pid looks alive (reuse).
_STALE_SECONDS = 3600.0


def default_spool_dir(app: str) -> Path:
    """``$XDG_CACHE_HOME/ticketkit/crash-spool/<app>`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base and sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
    if base:
        root = Path(base)
    else:
        try:
            root = Path.home() / ".cache"
        except (RuntimeError, KeyError):  # no home directory to be found
            import tempfile

            root = Path(tempfile.gettempdir())
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", app).strip("._")[:64] or "app"
    return root / "ticketkit" / "crash-spool" / safe


@frozen
class SpoolEntry:
    """One spooled report: ``count`` occurrences, the last at ``last_seen``."""

    path: Path
    report: CrashReport
    count: int
    sample: bool
    last_seen: datetime | None
    attempts: int


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # no safe probe; age decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class Spool:
    """A bounded directory of reports waiting to be filed."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_entries: int = 200,
        max_bytes: int = 20 * 1024 * 1024,
    ) -> None:
        self.directory = Path(directory)
        self.max_entries = max_entries
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"<Spool {str(self.directory)!r}>"

    # -- writing ----------------------------------------------------------------------

    def put(
        self,
        report: CrashReport,
        *,
        count: int = 1,
        sample: bool = True,
        last_seen: datetime | None = None,
    ) -> Path | None:
        """Write an in-flight entry owned by this process; ``None`` when the spool is full.

        When the report then cannot be filed either, :meth:`count_overflow` keeps
        its occurrences. Raises ``OSError`` when the directory cannot be written.
        """
        header = {
            "v": 1,
            "count": count,
            "sample": sample,
            "last_seen": None if last_seen is None else iso(last_seen),
        }
        body = json.dumps(header, separators=(",", ":")).encode() + b"\n" + report.to_json()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self._has_room(len(body)):
            return None
        stem = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        path = self.directory / f"{stem}.0.{os.getpid()}{_INFLIGHT}"
        self._write_atomic(path, body)
        return path

    def _has_room(self, size: int) -> bool:
        entries = 0
        total = size
        with os.scandir(self.directory) as found:
            for item in found:
                if item.name.endswith((_READY, _INFLIGHT)):
                    entries += 1
                    with contextlib.suppress(OSError):
                        total += item.stat().st_size
        return entries < self.max_entries and total <= self.max_bytes

    def _write_atomic(self, path: Path, body: bytes) -> None:
        temp = self.directory / f".tmp-{secrets.token_hex(6)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        self._sync_directory()

    def _sync_directory(self) -> None:
        if os.name != "posix":
            return
        with contextlib.suppress(OSError):
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # -- moving entries -----------------------------------------------------------------

    @staticmethod
    def _parts(path: Path) -> tuple[str, int, int | None]:
        """``(stem, attempts, owner pid or None)`` of an entry's file name."""
        name = path.name
        if name.endswith(_INFLIGHT):
            stem, attempts, pid = name[: -len(_INFLIGHT)].rsplit(".", 2)
            return stem, int(attempts), int(pid)
        if not name.endswith(_READY):
            raise ValueError(f"{name!r} is not a spool entry")
        stem, attempts = name[: -len(_READY)].rsplit(".", 1)
        return stem, int(attempts), None

    def remove(self, path: Path) -> None:
        """Forget an entry once it is filed."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def release(self, path: Path, *, failed: bool = False) -> None:
        """Give an in-flight entry back as ready; ``failed`` counts an attempt against it."""
        try:
            stem, attempts, _ = self._parts(path)
        except ValueError:
            return
        attempts += int(failed)
        if attempts >= MAX_ATTEMPTS:
            self._set_aside(path)
            return
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, self.directory / f"{stem}.{attempts}{_READY}")
            self._sync_directory()

    def _set_aside(self, path: Path) -> None:
        failed = self.directory / _FAILED
        with contextlib.suppress(OSError):
            failed.mkdir(exist_ok=True, mode=0o700)
            if len(os.listdir(failed)) < _MAX_FAILED:
                os.replace(path, failed / path.name.replace(_INFLIGHT, _READY))
                return
        with contextlib.suppress(OSError):
            path.unlink()

    def claim(self) -> Iterator[Path]:
        """Claim waiting entries for this process, oldest first, one at a time."""
        if not self.directory.is_dir():
            return
        me = os.getpid()
        now = time.time()
        for name in sorted(os.listdir(self.directory)):
            path = self.directory / name
            if name.startswith(".tmp-"):
                self._forget_stale_temp(path, now)
                continue
            if not name.endswith((_READY, _INFLIGHT)):
                continue
            try:
                stem, attempts, owner = self._parts(path)
                if owner is not None:
                    if owner == me:
                        continue  # ours, being filed right now
                    stale = now - path.stat().st_mtime > _STALE_SECONDS
                    if _alive(owner) and not stale:
                        continue
            except (ValueError, OSError):
                continue
            claimed = self.directory / f"{stem}.{attempts}.{me}{_INFLIGHT}"
            try:
                os.rename(path, claimed)
            except OSError:
                continue  # another process took it first
            yield claimed

    @staticmethod
    def _forget_stale_temp(path: Path, now: float) -> None:
        """A temporary file left by a process that died while writing it."""
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > _STALE_SECONDS:
                path.unlink()

    def read(self, path: Path) -> SpoolEntry:
        """Parse an entry (``ValueError`` when it is damaged)."""
        from ._report import CrashReport

        raw = path.read_bytes()
        head, _, body = raw.partition(b"\n")
        header = json.loads(head)
        report = CrashReport.from_dict(json.loads(body))
        last = header.get("last_seen")
        _, attempts, _ = self._parts(path)
        return SpoolEntry(
            path=path,
            report=report,
            count=int(header.get("count", 1)),
            sample=bool(header.get("sample", True)),
            last_seen=datetime.fromisoformat(last.replace("Z", "+00:00")) if last else None,
            attempts=attempts,
        )

    def pending(self) -> int:
        """How many entries wait (ready or in flight)."""
        if not self.directory.is_dir():
            return 0
        return sum(1 for n in os.listdir(self.directory) if n.endswith((_READY, _INFLIGHT)))

    def has_ready(self) -> bool:
        """Is anything waiting that this process could file now? (cheap)"""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return False
        me = f".{os.getpid()}{_INFLIGHT}"
        return (
            any(n.endswith(_READY) or (n.endswith(_INFLIGHT) and not n.endswith(me)) for n in names)
            or _OVERFLOW in names
        )

    # -- overflow -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        with open(self.directory / _LOCK, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _read_overflow(self) -> dict[str, Any]:
        try:
            data = json.loads((self.directory / _OVERFLOW).read_bytes())
        except (OSError, ValueError):
            return {"dropped": 0, "refs": {}}
        if not isinstance(data, dict) or not isinstance(data.get("refs"), dict):
            return {"dropped": 0, "refs": {}}
        return data

    def _save_overflow(self, data: dict[str, Any]) -> None:
        path = self.directory / _OVERFLOW
        if not data["refs"] and not data.get("dropped"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return
        self._write_atomic(path, json.dumps(data, sort_keys=True).encode())

    def count_overflow(
        self, report: CrashReport, count: int, seen: datetime, app: str | None = None
    ) -> None:
        """Count occurrences that found no room, to add to their ticket later."""
        ref = reference_for(report, app)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._locked():
            data = self._read_overflow()
            refs: dict[str, Any] = data["refs"]
            if ref in refs or len(refs) < _MAX_OVERFLOW_REFS:
                item = refs.setdefault(ref, {"count": 0, "last_seen": iso(seen)})
                item["count"] += count
                item["last_seen"] = max(item["last_seen"], iso(seen))
            data["dropped"] = int(data.get("dropped", 0)) + count
            self._save_overflow(data)

    def overflow(self) -> dict[str, Any]:
        """``{"dropped": n, "refs": {reference: {"count": n, "last_seen": iso}}}``.

        ``dropped`` counts every occurrence that found no room; ``refs`` those
        still to be added to their ticket.
        """
        return self._read_overflow()

    def _apply_overflow(self, tracker: Tracker, actor: str) -> int:
        if not (self.directory / _OVERFLOW).exists():
            return 0
        counted = 0
        with self._locked():
            data = self._read_overflow()
            for ref, item in list(data["refs"].items()):
                seen = datetime.fromisoformat(str(item["last_seen"]).replace("Z", "+00:00"))
                if add_count(tracker, ref, int(item["count"]), seen, actor=actor):
                    counted += int(item["count"])
                    del data["refs"][ref]
            self._save_overflow(data)
        return counted


def flush_spool(
    tracker: Tracker,
    spool_dir: str | os.PathLike[str] | Spool | None = None,
    *,
    app: str | None = None,
    actor: str = ACTOR,
    queue: str | None = None,
    max_samples: int = 5,
    deadline: float | None = None,
) -> int:
    """File every report waiting in the spool; return how many entries were filed.

    ``spool_dir`` defaults to the spool of ``app`` (see :func:`default_spool_dir`).
    Entries stay when the store is still unavailable (filing stops at the first
    :class:`~ticketkit.storage.StorageError`); one that fails for another reason is
    retried a few times and then set aside in ``failed/``. ``deadline`` (a
    :func:`time.monotonic` value) stops the flush early. Never raises.
    """
    try:
        if isinstance(spool_dir, Spool):
            spool = spool_dir
        else:
            if spool_dir is None:
                from ._install import default_app

                spool_dir = default_spool_dir(app or default_app())
            spool = Spool(spool_dir)
    except Exception as exc:  # never raise from the crash path
        log_once("spool", "cannot use the crash spool", exc)
        return 0
    filed = 0
    for path in spool.claim():
        if deadline is not None and time.monotonic() > deadline:
            spool.release(path)
            break
        try:
            entry = spool.read(path)
        except Exception as exc:  # a damaged entry
            log_once("spool-read", f"cannot read the spooled report {path.name}", exc)
            spool.release(path, failed=True)
            continue
        try:
            file_report(
                tracker,
                entry.report,
                count=entry.count,
                sample=entry.sample,
                last_seen=entry.last_seen,
                actor=actor,
                queue=queue,
                max_samples=max_samples,
                app=app,
            )
        except StorageError as exc:
            log_once("store", "the store is still unavailable; crash reports stay spooled", exc)
            spool.release(path)
            return filed
        except Exception as exc:
            log_once("spool-file", "cannot file a spooled crash report", exc)
            spool.release(path, failed=True)
            continue
        spool.remove(path)
        filed += 1
    try:
        spool._apply_overflow(tracker, actor)
    except Exception as exc:
        log_once("overflow", "cannot count the crash reports the spool had no room for", exc)
    return filed
