"""Breadcrumbs (what happened before a crash) and the logging handler that collects them.

The last :data:`MAX_BREADCRUMBS` breadcrumbs are kept in memory, for the whole
process: those added with :func:`breadcrumb` and, with :class:`CrashLogHandler`
on a logger, every log record at INFO or above. Each crash report carries the
breadcrumbs as they were when it was captured (the capture scrubs them).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._log import LOGGER_NAME

if TYPE_CHECKING:
    from ._install import CrashHandle
    from ._report import Breadcrumb

__all__ = [
    "MAX_BREADCRUMBS",
    "CrashLogHandler",
    "breadcrumb",
    "clear_breadcrumbs",
    "current_breadcrumbs",
    "reset_after_fork",
]

#: How many breadcrumbs are kept; older ones are forgotten.
MAX_BREADCRUMBS = 100
_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "fatal",
}

_lock = threading.Lock()
_crumbs: deque[Breadcrumb] = deque(maxlen=MAX_BREADCRUMBS)


def _level_name(levelno: int) -> str:
    for number in sorted(_LEVELS, reverse=True):
        if levelno >= number:
            return _LEVELS[number]
    return "debug"


def breadcrumb(
    message: str,
    *,
    category: str = "default",
    level: str = "info",
    data: Mapping[str, Any] | None = None,
) -> None:
    """Remember that something happened, for the next crash report to show.

    ``breadcrumb("opened the invoice", category="ui", data={"invoice": 42})``.
    Never raises; values are scrubbed when a report is built.
    """
    try:
        from ._report import Breadcrumb

        crumb = Breadcrumb(
            at=datetime.now(UTC),
            category=str(category),
            level=str(level),
            message=str(message),
            data=dict(data or {}),
        )
        with _lock:
            _crumbs.append(crumb)
    except Exception as exc:  # never break the host
        from ._log import log_once

        log_once("breadcrumb", "cannot record a breadcrumb", exc)


def current_breadcrumbs() -> tuple[Breadcrumb, ...]:
    """The breadcrumbs kept now, oldest first."""
    with _lock:
        return tuple(_crumbs)


def clear_breadcrumbs() -> None:
    """Forget every breadcrumb."""
    with _lock:
        _crumbs.clear()


def reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()


def _is_own(name: str) -> bool:
    return name == LOGGER_NAME or name.startswith(LOGGER_NAME + ".")


class CrashLogHandler(logging.Handler):
    """Keeps log records as breadcrumbs and files records that carry an exception.

    Records at ``level`` (INFO) or above become breadcrumbs; records at
    ``file_level`` (ERROR) or above with ``exc_info`` file their exception, once
    per exception object, however many hooks also see it. ``handle`` is the
    installation to file through; by default, the most recent active one.
    ticketkit's own log records (``ticketkit.crash``) are neither kept nor filed.
    """

    def __init__(
        self,
        level: int = logging.INFO,
        *,
        file_level: int = logging.ERROR,
        handle: CrashHandle | None = None,
    ) -> None:
        super().__init__(level)
        self.file_level = file_level
        self.crash_handle = handle

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if _is_own(record.name):
                return
            try:
                message = record.getMessage()
            except Exception:  # a bad format string must not hide the record
                message = str(record.msg)
            exc = record.exc_info[1] if record.exc_info else None
            if record.levelno >= self.file_level and isinstance(exc, BaseException):
                from ._install import active_handle

                handle = self.crash_handle or active_handle()
                if handle is not None and handle.active:
                    handle.reporter.report(
                        exc,
                        mechanism="logging",
                        handled=True,
                        context={"log": {"logger": record.name, "message": message}},
                    )
            breadcrumb(
                message,
                category="log",
                level=_level_name(record.levelno),
                data={"logger": record.name},
            )
        except Exception as exc:  # never break the host's logging
            from ._log import log_once

            log_once("log-handler", "the crash log handler failed", exc)
