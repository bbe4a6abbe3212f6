"""Crashes of multiprocessing children, which run neither ``sys.excepthook`` nor atexit.

``Process(target=wrap_target(work, url=URL, app="billing"))`` runs ``work`` in
the child; an exception escaping it is filed and re-raised, so the child still
prints its traceback and exits with code 1. A forked child files through the
installation it inherited from its parent; a spawned one (or a fork without an
installation) opens a tracker on ``url`` and installs with the options given.
Counts the rate limit held back are written before the child exits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ._log import log_once

__all__ = ["CrashReportingTarget", "wrap_target"]


class CrashReportingTarget:
    """A picklable callable that runs ``target`` and files what escapes it."""

    def __init__(
        self, target: Callable[..., Any], url: str | None, options: dict[str, Any]
    ) -> None:
        self.target = target
        self.url = url
        self.options = options

    def __repr__(self) -> str:
        return f"<CrashReportingTarget {self.target!r}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from ._install import CrashHandle, active_handle, install

        handle: CrashHandle | None = active_handle()
        own = None
        if handle is None and self.url is not None:
            try:
                from .._tracker import Tracker

                own = Tracker.from_url(self.url)
                handle = install(own, **self.options)
            except Exception as exc:  # the child's work must still run
                log_once("child", "cannot report crashes of this child process", exc)
                handle = None
        elif handle is None:
            log_once(
                "child",
                "a multiprocessing child has no crash installation; pass url= to wrap_target",
            )
        try:
            return self.target(*args, **kwargs)
        except BaseException as exc:
            if handle is not None:
                handle.reporter.report(exc, mechanism="multiprocessing", handled=False)
            raise
        finally:
            if handle is not None:
                handle.reporter.flush(spool=False)
            if own is not None:
                if handle is not None:
                    handle.uninstall()
                own.close()


def wrap_target(
    target: Callable[..., Any], *, url: str | None = None, **options: Any
) -> CrashReportingTarget:
    """Wrap a multiprocessing ``target`` so that its crash is filed from the child.

    ``url`` (and ``options``, as for :func:`install`) are used in a child that
    has no installation of its own, such as every child of the ``spawn`` and
    ``forkserver`` start methods; ``target`` must be picklable there.
    """
    if not callable(cast(object, target)):
        from .._errors import ValidationError

        raise ValidationError(f"wrap_target needs a callable, got {target!r}")
    return CrashReportingTarget(target, url, options)
