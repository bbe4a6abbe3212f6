"""ticketkit's own trouble while reporting crashes: logged once, never filed, never raised."""

from __future__ import annotations

import logging
import threading

__all__ = ["LOGGER_NAME", "log_once", "logger", "reset_after_fork"]

LOGGER_NAME = "ticketkit.crash"
logger = logging.getLogger(LOGGER_NAME)

_lock = threading.Lock()
_seen: set[str] = set()
_MAX_KEYS = 256


def log_once(key: str, message: str, exc: BaseException | None = None) -> None:
    """Log ``message`` (with ``exc``) the first time ``key`` comes up; later only at DEBUG.

    The key is combined with the exception's type, so a new kind of trouble is
    logged again. Never raises.
    """
    try:
        full = key if exc is None else f"{key}:{type(exc).__qualname__}"
        with _lock:
            first = full not in _seen
            if first and len(_seen) < _MAX_KEYS:
                _seen.add(full)
        detail = "" if exc is None else f": {type(exc).__name__}: {exc}"
        if first:
            logger.warning("%s%s", message, detail, exc_info=exc)
        else:
            logger.debug("%s%s", message, detail)
    except Exception:  # logging must not break the crash path
        pass


def reset_after_fork() -> None:
    """A forked child gets a fresh lock (the parent's may have been held at fork)."""
    global _lock
    _lock = threading.Lock()
