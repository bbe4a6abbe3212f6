"""Crash reports become tickets: one ticket per distinct bug, counted, reopened on regression.

    tracker = ticketkit.Tracker.from_url("sqlite:///helpdesk.db")
    handle = ticketkit.crash.install(tracker, app="shop", release="1.4.0")

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

if TYPE_CHECKING:
    from ._capture import CaptureOptions, build_report
    from ._filing import (
        ACTOR,
        FIELDS,
        REPORT_FILENAME,
        Filed,
        file_report,
        mark_fixed,
        reference_for,
    )
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
    from ._report import Breadcrumb, CrashReport
    from ._reporter import Reporter
    from ._scrub import Scrubber
    from ._spool import Spool, default_spool_dir, flush_spool

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

#: Every public name, loaded on first use, so that ``import ticketkit.crash`` costs
#: next to nothing on top of ``import ticketkit``.
_LAZY = {
    "ACTOR": "._filing",
    "FIELDS": "._filing",
    "MAX_BREADCRUMBS": "._logging",
    "REPORT_FILENAME": "._filing",
    "Breadcrumb": "._report",
    "CaptureOptions": "._capture",
    "Capturing": "._install",
    "CrashHandle": "._install",
    "CrashLogHandler": "._logging",
    "CrashReport": "._report",
    "Filed": "._filing",
    "Reporter": "._reporter",
    "Scrubber": "._scrub",
    "Spool": "._spool",
    "active_handle": "._install",
    "breadcrumb": "._logging",
    "build_report": "._capture",
    "capture_exception": "._install",
    "capturing": "._install",
    "clear_breadcrumbs": "._logging",
    "default_spool_dir": "._spool",
    "file_report": "._filing",
    "flush_spool": "._spool",
    "install": "._install",
    "install_asyncio": "._install",
    "mark_fixed": "._filing",
    "reference_for": "._filing",
    "wrap_target": "._multiprocessing",
}


#: Submodules that ``ticketkit.crash.<name>`` reaches without importing them first.
_SUBMODULES = frozenset({"sentry"})


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ticketkit.crash' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
