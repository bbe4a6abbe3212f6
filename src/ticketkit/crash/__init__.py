"""Crash reports become tickets: one ticket per distinct bug, counted, reopened on regression.

>>> import ticketkit, ticketkit.crash
>>> tracker = ticketkit.Tracker.in_memory()
>>> handle = ticketkit.crash.install(tracker, app="shop", spool_dir=spool)  # doctest: +SKIP

``install`` hooks ``sys.excepthook`` and ``threading.excepthook`` (and, if asked,
``sys.unraisablehook``), chaining to the hooks it replaces; ``capture_exception``,
``capturing`` and :class:`CrashLogHandler` file handled errors. Every report goes
to a local spool before the store, so nothing is lost while the database is
down; :func:`flush_spool` files what waits. See docs/crash-reports.md.

Importing this package installs nothing and imports neither SQLAlchemy nor
sentry-sdk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._filing import ACTOR, FIELDS, REPORT_FILENAME, Filed, file_report, mark_fixed, reference_for
from ._install import (
    Capturing,
    CrashHandle,
    active_handle,
    capture_exception,
    capturing,
    install,
    install_asyncio,
)
from ._logging import MAX_BREADCRUMBS, CrashLogHandler, breadcrumb, clear_breadcrumbs
from ._multiprocessing import wrap_target
from ._reporter import Reporter
from ._spool import Spool, default_spool_dir, flush_spool

if TYPE_CHECKING:
    from ._capture import CaptureOptions, build_report
    from ._report import Breadcrumb, CrashReport
    from ._scrub import Scrubber

__all__ = [
    "ACTOR",
    "FIELDS",
    "MAX_BREADCRUMBS",
    "REPORT_FILENAME",
    "Breadcrumb",
    "CaptureOptions",
    "Capturing",
    "CrashHandle",
    "CrashLogHandler",
    "CrashReport",
    "Filed",
    "Reporter",
    "Scrubber",
    "Spool",
    "active_handle",
    "breadcrumb",
    "build_report",
    "capture_exception",
    "capturing",
    "clear_breadcrumbs",
    "default_spool_dir",
    "file_report",
    "flush_spool",
    "install",
    "install_asyncio",
    "mark_fixed",
    "reference_for",
    "wrap_target",
]

#: Names loaded on first use, so that ``import ticketkit.crash`` stays cheap.
_LAZY = {
    "Breadcrumb": "._report",
    "CaptureOptions": "._capture",
    "CrashReport": "._report",
    "Scrubber": "._scrub",
    "build_report": "._capture",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ticketkit.crash' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
