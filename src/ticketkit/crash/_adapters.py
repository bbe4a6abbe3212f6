"""What the sentry-sdk integration and the web middleware share.

* :func:`resolve_reporter`: the :class:`Reporter` to file through, from a
  tracker and ``install()``-like options, an installed :class:`CrashHandle`,
  a reporter, or nothing (the active installation, looked up on each crash).
  Reporters made here write their held-back counts at exit (within
  :data:`EXIT_FLUSH_SECONDS`) and start afresh in a forked child, as
  ``install()``'s do.

Reports built outside :meth:`Reporter.report` (from a Sentry event, or with a
request's secrets added to the scrubber) go through
:meth:`Reporter.file_once`: once per exception object and tracker, however
many hooks see it.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from .._errors import ValidationError
from ._install import EXIT_FLUSH_SECONDS, CrashHandle, active_handle, build_reporter
from ._log import log_once
from ._reporter import Reporter

if TYPE_CHECKING:
    from .._tracker import Tracker

__all__ = ["current_reporter", "make_reporter", "resolve_reporter"]

_lock = threading.Lock()
_reporters: weakref.WeakSet[Reporter] = weakref.WeakSet()
_hooked = False


def make_reporter(tracker: Tracker, **options: Any) -> Reporter:
    """A reporter for ``tracker`` configured like :func:`ticketkit.crash.install`, without hooks.

    Raises :class:`~ticketkit.ValidationError` for a bad option.
    """
    reporter = build_reporter(tracker, **options)
    _register(reporter)
    return reporter


def resolve_reporter(target: object, options: dict[str, Any]) -> Reporter | None:
    """The reporter ``target`` stands for; ``None`` means "the active installation".

    Options are only accepted with a tracker: a handle or a reporter is
    already configured.
    """
    from .._tracker import Tracker

    if isinstance(target, Tracker):
        return make_reporter(target, **options)
    if options:
        raise ValidationError(
            f"options {sorted(options)} only apply when a Tracker is given; "
            f"{type(target).__name__} is configured already"
        )
    if target is None:
        return None
    if isinstance(target, CrashHandle):
        return target.reporter
    if isinstance(target, Reporter):
        return target
    raise ValidationError(
        f"expected a Tracker, a CrashHandle from ticketkit.crash.install() or None, got {target!r}"
    )


def current_reporter(reporter: Reporter | None) -> Reporter | None:
    """``reporter``, or the active installation's when it is ``None``."""
    if reporter is not None:
        return reporter
    handle = active_handle()
    return handle.reporter if handle is not None and handle.active else None


# -- exit and fork ---------------------------------------------------------------


def _register(reporter: Reporter) -> None:
    global _hooked
    with _lock:
        _reporters.add(reporter)
        if _hooked:
            return
        _hooked = True
    atexit.register(_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _at_exit() -> None:
    """Write held-back counts within :data:`EXIT_FLUSH_SECONDS`; start no thread."""
    deadline = time.monotonic() + EXIT_FLUSH_SECONDS
    for reporter in list(_reporters):
        reporter.flush(max(deadline - time.monotonic(), 0.0), spool=False)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    for reporter in list(_reporters):
        reporter.reset_after_fork()
        engine = getattr(reporter.tracker.store, "engine", None)
        dispose = getattr(engine, "dispose", None)
        if callable(dispose):
            try:
                dispose(close=False)  # SQLAlchemy: the parent's connections stay the parent's
            except Exception as exc:
                log_once("fork", "could not reset the store's connections after fork", exc)
