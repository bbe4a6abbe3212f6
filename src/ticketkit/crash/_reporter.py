"""The Reporter: from an exception (or a report built elsewhere) to a ticket, never raising.

For each occurrence: skip what is ignored or already reported, build the
report (scrubbed), ask for consent, apply the per-fingerprint rate limit,
write the report to the spool, file it, delete it from the spool. Everything
that fails inside is logged once through ``logging.getLogger("ticketkit.crash")``
and swallowed; the report then stays in the spool.

Past the rate limit only a counter rises, in memory; it is written with the
next report of the same fingerprint that is let through, by :meth:`Reporter.flush`
and at exit. A crash loop therefore costs one dictionary update per
occurrence once its fingerprint is known (a cheap key of type, message and
frame positions maps the exception to its fingerprint without building a
report).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from attrs import define

from .._errors import StorageError
from ._filing import ACTOR, file_report
from ._log import log_once
from ._logging import current_breadcrumbs
from ._spool import Spool, flush_spool

if TYPE_CHECKING:
    from .._tracker import Tracker
    from ._capture import CaptureOptions
    from ._report import CrashReport

__all__ = ["Consent", "RateLimiter", "Reporter"]

#: ``consent(report) -> bool``: return False to drop a report before it is stored.
Consent = Callable[["CrashReport"], bool]

_MARK = "__ticketkit_crash_reported__"
_MAX_KEYS = 1024
_MAX_CHEAP = 256
_MAX_FRAMES = 200


class RateLimiter:
    """At most ``per_minute`` samples per key in any fixed one-minute window."""

    def __init__(self, per_minute: int | None, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._windows: OrderedDict[str, list[float]] = OrderedDict()

    def allow(self, key: str, now: float, *, consume: bool = True) -> bool:
        if self.per_minute is None:
            return True
        slot = self._windows.get(key)
        if slot is None or now - slot[0] >= self.window:
            slot = [now, 0.0]
            self._windows[key] = slot
            self._windows.move_to_end(key)
            while len(self._windows) > _MAX_KEYS:
                self._windows.popitem(last=False)
        if slot[1] >= self.per_minute:
            return False
        if consume:
            slot[1] += 1
        return True

    def clear(self) -> None:
        self._windows.clear()


@define
class _Pending:
    """Occurrences held back by the rate limit, and the report to count them with."""

    report: CrashReport
    count: int
    last_seen: datetime


class Reporter:
    """Files crashes into one tracker. Thread-safe; every method is safe to call anywhere.

    ``options`` are the capture options (what goes into a report);
    ``rate_limit`` is the number of samples filed per fingerprint per minute
    (``None``: no limit); ``max_samples`` the number of ``crash-report.json``
    attachments kept per ticket.
    """

    def __init__(
        self,
        tracker: Tracker,
        *,
        options: CaptureOptions,
        spool: Spool | None,
        consent: Consent | None = None,
        rate_limit: int | None = 10,
        max_samples: int = 5,
        actor: str = ACTOR,
        queue: str | None = None,
        ignore: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit),
    ) -> None:
        self.tracker = tracker
        self.options = options
        self.spool = spool
        self.consent = consent
        self.max_samples = max_samples
        self.actor = actor
        self.queue = queue
        self.ignore = ignore
        self.app: str | None = getattr(options, "app", None)
        self._limiter = RateLimiter(rate_limit)
        self._reset_state()

    def _reset_state(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._pending: dict[str, _Pending] = {}
        self._keys: OrderedDict[str, str] = OrderedDict()
        self._cheap: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._templates: dict[str, CrashReport] = {}
        self._flushing = False
        self._fallback_seen: OrderedDict[int, BaseException] = OrderedDict()

    def reset_after_fork(self) -> None:
        """In a forked child: fresh locks; the parent's held-back counts stay the parent's."""
        self._reset_state()
        self._limiter.clear()

    def __repr__(self) -> str:
        return f"<Reporter app={self.app!r} tracker={self.tracker!r}>"

    # -- deciding -------------------------------------------------------------------

    def wants(self, exc: BaseException) -> bool:
        """Is ``exc`` something to file? ``sys.exit(0)`` and ``sys.exit()`` never are."""
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            return False
        return not isinstance(exc, self.ignore)

    def _claim(self, exc: BaseException) -> tuple[bool, str | None]:
        """Mark ``exc`` as reported by this tracker; ``(True, None)`` if it is new."""
        target = id(self.tracker)
        try:
            marks = exc.__dict__.setdefault(_MARK, {})
        except (AttributeError, TypeError):
            with self._lock:
                if id(exc) in self._fallback_seen:
                    return False, None
                self._fallback_seen[id(exc)] = exc
                while len(self._fallback_seen) > 32:
                    self._fallback_seen.popitem(last=False)
            return True, None
        if target in marks:
            return False, marks[target]
        marks[target] = None
        return True, None

    @staticmethod
    def _remember(exc: BaseException, target: int, key: str | None) -> None:
        with contextlib.suppress(AttributeError, TypeError, KeyError):
            exc.__dict__[_MARK][target] = key

    def _cheap_key(self, exc: BaseException) -> tuple[Any, ...] | None:
        """Type, message and frame positions of the chain: same key, same fingerprint."""
        if callable(getattr(self.options, "fingerprint", None)):
            return None
        parts: list[Any] = []
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and len(parts) < 8 and id(current) not in seen:
            if isinstance(current, BaseExceptionGroup):
                return None
            seen.add(id(current))
            try:
                message = str(current)[:200]
            except Exception:  # a raising __str__
                return None
            frames = []
            tb = current.__traceback__
            while tb is not None:
                code = tb.tb_frame.f_code
                frames.append((code.co_filename, code.co_name, tb.tb_lineno))
                tb = tb.tb_next
            if len(frames) > _MAX_FRAMES:
                frames = [*frames[:100], ("…", "", len(frames)), *frames[-100:]]
            kind = type(current)
            parts.append((kind.__module__, kind.__qualname__, message, tuple(frames)))
            if current.__cause__ is not None:
                current = current.__cause__
            else:
                current = None if current.__suppress_context__ else current.__context__
        return tuple(parts)

    # -- reporting ------------------------------------------------------------------

    def report(
        self,
        exc: BaseException,
        *,
        mechanism: str = "generic",
        handled: bool = True,
        thread_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> str | None:
        """File one occurrence of ``exc``; return the ticket key (``None`` if not filed now).

        An exception object is filed once per tracker, however many hooks see it.
        Never raises.
        """
        if getattr(self._local, "busy", False):
            return None  # ticketkit's own trouble while filing is never filed
        self._local.busy = True
        try:
            if not isinstance(exc, BaseException) or not self.wants(exc):
                return None
            new, key = self._claim(exc)
            if not new:
                return key
            key = self._report(exc, mechanism, handled, thread_name, tags, context)
            self._remember(exc, id(self.tracker), key)
            return key
        except Exception as error:  # never raise into the host
            log_once("report", "ticketkit could not report a crash", error)
            return None
        finally:
            self._local.busy = False

    def _report(
        self,
        exc: BaseException,
        mechanism: str,
        handled: bool,
        thread_name: str | None,
        tags: Mapping[str, str] | None,
        context: Mapping[str, Any] | None,
    ) -> str | None:
        cheap = None if tags or context else self._cheap_key(exc)
        if cheap is not None:
            with self._lock:
                fingerprint = self._cheap.get(cheap)
                template = self._templates.get(fingerprint) if fingerprint else None
                if (
                    fingerprint is not None
                    and template is not None
                    and self.consent is None
                    and not self._limiter.allow(fingerprint, time.monotonic(), consume=False)
                ):
                    self._hold(template, 1, datetime.now(UTC))
                    return self._keys.get(fingerprint)
        from ._capture import build_report

        report = build_report(
            exc,
            options=self.options,
            mechanism=mechanism,
            handled=handled,
            breadcrumbs=current_breadcrumbs(),
            tags=tags,
            context=context,
            thread_name=thread_name,
        )
        if cheap is not None:
            with self._lock:
                self._cheap[cheap] = report.fingerprint
                while len(self._cheap) > _MAX_CHEAP:
                    self._cheap.popitem(last=False)
        return self._submit(report, 1)

    def file(self, report: CrashReport, *, count: int = 1) -> str | None:
        """File a report built elsewhere (from a Sentry event, say). Never raises."""
        if getattr(self._local, "busy", False):
            return None
        self._local.busy = True
        try:
            return self._submit(report, count)
        except Exception as error:
            log_once("report", "ticketkit could not file a crash report", error)
            return None
        finally:
            self._local.busy = False

    def file_once(self, exc: BaseException, build: Callable[[], CrashReport]) -> str | None:
        """File the report ``build()`` makes for ``exc``, unless ``exc`` was filed already.

        For integrations that build their own report (from a Sentry event, a web
        request): an exception object counts once per tracker whether this, or
        :meth:`report` through ticketkit's own hooks, sees it first. Returns the
        ticket key (the earlier filing's for a repeat) or ``None``. Never raises.
        """
        try:
            if not self.wants(exc):
                return None
            new, key = self._claim(exc)
            if not new:
                return key
            key = self.file(build())
            self._remember(exc, id(self.tracker), key)
            return key
        except Exception as error:  # never raise into the host
            log_once("adapter", "ticketkit could not report a crash", error)
            return None

    def _hold(self, report: CrashReport, count: int, seen: datetime) -> None:
        """Count occurrences the rate limit held back (caller holds the lock)."""
        held = self._pending.get(report.fingerprint)
        if held is None:
            self._pending[report.fingerprint] = _Pending(report, count, seen)
        else:
            held.count += count
            held.last_seen = max(held.last_seen, seen)

    def _submit(self, report: CrashReport, count: int) -> str | None:
        if self.consent is not None:
            try:
                if not self.consent(report):
                    return None
            except Exception as error:  # a failing consent is a no
                log_once("consent", "the consent callable raised; the report was dropped", error)
                return None
        fingerprint = report.fingerprint
        with self._lock:
            self._templates[fingerprint] = report
            if len(self._templates) > _MAX_KEYS:
                self._templates.pop(next(iter(self._templates)))
            if not self._limiter.allow(fingerprint, time.monotonic()):
                self._hold(report, count, report.occurred_at)
                return self._keys.get(fingerprint)
            held = self._pending.pop(fingerprint, None)
        total = count + (held.count if held else 0)
        last_seen = max(report.occurred_at, held.last_seen) if held else report.occurred_at
        key, _ = self._deliver(report, total, True, last_seen)
        return key

    def _deliver(
        self,
        report: CrashReport,
        count: int,
        sample: bool,
        last_seen: datetime,
        *,
        then_flush: bool = True,
    ) -> tuple[str | None, bool]:
        """Spool, file, unspool; then (``then_flush``) file what else waits in the spool.

        Returns the key and whether the store answered.
        """
        path = None
        if self.spool is not None:
            try:
                path = self.spool.put(report, count=count, sample=sample, last_seen=last_seen)
            except OSError as error:
                log_once("spool-write", f"cannot write to the crash spool {self.spool}", error)
        try:
            filed = file_report(
                self.tracker,
                report,
                count=count,
                sample=sample,
                last_seen=last_seen,
                actor=self.actor,
                queue=self.queue,
                max_samples=self.max_samples,
                app=self.app,
            )
        except Exception as error:  # the report stays in the spool
            down = isinstance(error, StorageError)
            where = "kept in the crash spool" if path else "lost (no room in the spool)"
            if path is not None and self.spool is not None:
                self.spool.release(path, failed=not down)
            elif self.spool is not None:
                self._overflow(report, count, last_seen)
            log_once(
                "store" if down else "file",
                f"cannot file a crash report in the tracker; it is {where}",
                error,
            )
            return self._keys.get(report.fingerprint), not down
        if path is not None and self.spool is not None:
            self.spool.remove(path)
        with self._lock:
            self._keys[report.fingerprint] = filed.key
            while len(self._keys) > _MAX_KEYS:
                self._keys.popitem(last=False)
        if then_flush:
            self._flush_spool_after_success()
        return filed.key, True

    def _overflow(self, report: CrashReport, count: int, seen: datetime) -> None:
        try:
            assert self.spool is not None
            self.spool.count_overflow(report, count, seen, self.app)
        except Exception as error:
            log_once("overflow", "cannot count a crash report the spool had no room for", error)

    # -- flushing -------------------------------------------------------------------

    def _flush_spool_after_success(self) -> None:
        if self.spool is None or self._flushing or not self.spool.has_ready():
            return
        self._flushing = True
        try:
            self.flush_spool()
        finally:
            self._flushing = False

    def flush_spool(self, deadline: float | None = None) -> int:
        """File what waits in this reporter's spool; return how many entries. Never raises."""
        if self.spool is None:
            return 0
        return flush_spool(
            self.tracker,
            self.spool,
            app=self.app,
            actor=self.actor,
            queue=self.queue,
            max_samples=self.max_samples,
            deadline=deadline,
        )

    def flush(self, timeout: float | None = 2.0, *, spool: bool = True) -> None:
        """Write the counts the rate limit held back; then, with ``spool``, file the spool.

        Stops talking to the store once ``timeout`` seconds have passed or the
        store has failed; what is left goes to the spool. Never raises.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pid = os.getpid()
        try:
            with self._lock:
                held = list(self._pending.values())
                self._pending.clear()
            store_ok = True
            for item in held:
                late = deadline is not None and time.monotonic() > deadline
                if store_ok and not late:
                    _, store_ok = self._deliver(
                        item.report, item.count, False, item.last_seen, then_flush=spool
                    )
                elif self.spool is not None:
                    self._spool_only(item)
            if spool and store_ok and os.getpid() == pid:
                self.flush_spool(deadline)
        except Exception as error:
            log_once("flush", "ticketkit could not flush crash reports", error)

    def _spool_only(self, item: _Pending) -> None:
        assert self.spool is not None
        try:
            path = self.spool.put(
                item.report, count=item.count, sample=False, last_seen=item.last_seen
            )
        except OSError as error:
            log_once("spool-write", f"cannot write to the crash spool {self.spool}", error)
            return
        if path is None:
            self._overflow(item.report, item.count, item.last_seen)
        else:
            self.spool.release(path)

    def held_back(self) -> int:
        """Occurrences counted in memory, not yet written."""
        with self._lock:
            return sum(item.count for item in self._pending.values())
