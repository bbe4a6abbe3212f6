"""``install()``: hook a process's crashes into a tracker, and the handle that undoes it."""

from __future__ import annotations

import atexit
import functools
import inspect
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import attrs

from .._errors import ValidationError
from ._filing import ACTOR, define_crash_fields
from ._hooks import AsyncioHandler, ExceptHook, IPythonHandler, ThreadingHook, UnraisableHook, swap
from ._log import LOGGER_NAME, log_once
from ._reporter import Consent, Reporter
from ._spool import Spool, default_spool_dir

if TYPE_CHECKING:
    import asyncio

    from .._tracker import Tracker

__all__ = [
    "EXIT_FLUSH_SECONDS",
    "Capturing",
    "CrashHandle",
    "active_handle",
    "capture_exception",
    "capturing",
    "default_app",
    "install",
    "install_asyncio",
]

#: How long the exit flush may talk to the store before leaving the rest spooled.
EXIT_FLUSH_SECONDS = 2.0

F = TypeVar("F", bound=Callable[..., Any])

_registry_lock = threading.Lock()
_handles: list[CrashHandle] = []
_process_hooks_installed = False


def default_app() -> str:
    """The application name when none is given: the script's (or package's) name."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if argv0 in ("", "-c", "-m"):
        return "python"
    path = Path(argv0)
    if path.stem == "__main__":
        return path.parent.name or "python"
    return path.stem or "python"


class CrashHandle:
    """What :func:`install` returns: the reporter and the hooks it put in place."""

    def __init__(self, reporter: Reporter, *, always: bool) -> None:
        self.reporter = reporter
        self.always = always
        self.active = True
        self._restores: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def tracker(self) -> Tracker:
        return self.reporter.tracker

    def __repr__(self) -> str:
        state = "installed" if self.active else "uninstalled"
        return f"<CrashHandle {state} app={self.reporter.app!r}>"

    def __enter__(self) -> CrashHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def _hook(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        _, restore = swap(owner, name, make)
        self._restores.append(restore)

    def uninstall(self) -> None:
        """Stop filing crashes: restore each hook if ours is still on top, else make
        ours a pass-through. Held-back counts are written first. Calling it twice
        is harmless."""
        with self._lock:
            if not self.active:
                return
            self.active = False
            restores, self._restores = self._restores, []
        self.reporter.flush(EXIT_FLUSH_SECONDS, spool=False)
        for restore in reversed(restores):
            try:
                restore()
            except Exception as exc:
                log_once("uninstall", "could not restore a hook", exc)
        with _registry_lock:
            if self in _handles:
                _handles.remove(self)

    def flush(self, timeout: float | None = EXIT_FLUSH_SECONDS) -> None:
        """Write held-back counts and file what waits in the spool. Never raises."""
        self.reporter.flush(timeout)

    def capture_exception(
        self,
        exc: BaseException | None = None,
        *,
        tags: Mapping[str, str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> str | None:
        """File ``exc`` (by default the exception being handled); return the ticket key."""
        if exc is None:
            exc = sys.exc_info()[1]
        if exc is None or not self.active:
            return None
        return self.reporter.report(
            exc, mechanism="capture", handled=True, tags=tags, context=context
        )

    def install_asyncio(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """File what an event loop reports (task errors never retrieved, callback errors),
        then hand it to the loop's previous handler. Default: the running loop."""
        if loop is None:
            import asyncio

            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise ValidationError(
                    "install_asyncio() needs a loop: call it inside a coroutine that the "
                    "loop runs (for example first thing in main()), or pass loop="
                ) from None
        target = loop
        previous = target.get_exception_handler()
        handler = AsyncioHandler(self, previous, target)
        target.set_exception_handler(handler)

        def restore() -> None:
            if target.get_exception_handler() is handler:
                target.set_exception_handler(previous)
            handler.active = False

        with self._lock:
            self._restores.append(restore)

    def install_ipython(self, shell: Any = None) -> None:
        """File exceptions in an IPython shell (which bypasses ``sys.excepthook``)."""
        if shell is None:
            try:
                from IPython import get_ipython  # type: ignore[import-not-found, unused-ignore]
            except ImportError:
                raise ImportError(
                    "install_ipython() needs IPython; pass the shell or install ipython"
                ) from None
            shell = get_ipython()
            if shell is None:
                raise ValidationError("install_ipython(): not running inside IPython")
        previous_types = getattr(shell, "custom_exceptions", ())
        previous_tb = getattr(shell, "CustomTB", None)
        handler = IPythonHandler(self, previous_tb)
        shell.set_custom_exc((Exception,), handler)

        def restore() -> None:
            handler.active = False
            if previous_types:
                shell.CustomTB, shell.custom_exceptions = previous_tb, previous_types
            else:
                shell.set_custom_exc((), None)

        with self._lock:
            self._restores.append(restore)


def active_handle() -> CrashHandle | None:
    """The most recently installed handle that is still installed."""
    with _registry_lock:
        return _handles[-1] if _handles else None


def _check_ignore(ignore: object) -> tuple[type[BaseException], ...]:
    items = (ignore,) if isinstance(ignore, type) else ignore
    if not isinstance(items, Iterable) or isinstance(items, str):
        raise ValidationError(f"ignore must be exception classes, got {ignore!r}")
    result = tuple(items)
    for item in result:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise ValidationError(
                f"ignore must hold exception classes such as KeyboardInterrupt, got {item!r}"
            )
    return result


def _check_count(name: str, value: object, *, allow_none: bool, least: int) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        more = " or None for no limit" if allow_none else ""
        raise ValidationError(
            f"{name} must be a whole number of at least {least}{more}, got {value!r}"
        )


def build_reporter(
    tracker: Tracker,
    *,
    app: str | None = None,
    release: str | None = None,
    ignore: Iterable[type[BaseException]] = (KeyboardInterrupt, SystemExit),
    consent: Consent | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    rate_limit: int | None = 10,
    max_samples: int = 5,
    queue: str | None = None,
    actor: str = ACTOR,
    **capture: Any,
) -> Reporter:
    """A :class:`Reporter` configured as :func:`install` configures its own, without hooks.

    Checks every option (:class:`~ticketkit.ValidationError` for a bad one) and
    defines the crash fields on ``tracker``.
    """
    from ._capture import CaptureOptions

    ignored = _check_ignore(ignore)
    _check_count("rate_limit", rate_limit, allow_none=True, least=1)
    _check_count("max_samples", max_samples, allow_none=False, least=0)
    if consent is not None and not callable(consent):
        raise ValidationError(f"consent must be a callable taking a report, got {consent!r}")
    name = app if app is not None else default_app()
    unknown = sorted(set(capture) - set(attrs.fields_dict(CaptureOptions)))
    if unknown:
        raise ValidationError(
            f"unknown option {unknown[0]!r}; the options are those of ticketkit.crash.install() "
            "and CaptureOptions"
        )
    options = CaptureOptions(app=name, release=release, **capture)
    define_crash_fields(tracker)
    return Reporter(
        tracker,
        options=options,
        spool=Spool(spool_dir if spool_dir is not None else default_spool_dir(name)),
        consent=consent,
        rate_limit=rate_limit,
        max_samples=max_samples,
        actor=actor,
        queue=queue,
        ignore=ignored,
    )


def install(
    tracker: Tracker,
    *,
    app: str | None = None,
    release: str | None = None,
    excepthook: bool = True,
    threads: bool = True,
    unraisable: bool = False,
    always: bool = False,
    ignore: Iterable[type[BaseException]] = (KeyboardInterrupt, SystemExit),
    consent: Consent | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    rate_limit: int | None = 10,
    max_samples: int = 5,
    queue: str | None = None,
    actor: str = ACTOR,
    **capture: Any,
) -> CrashHandle:
    """Turn this process's crashes into tickets in ``tracker``; see docs/crash-reports.md.

    Hooks ``sys.excepthook`` and ``threading.excepthook`` (``excepthook``,
    ``threads``) and, with ``unraisable``, ``sys.unraisablehook``; each chains to
    the hook it replaces. A REPL files nothing unless ``always``. ``ignore``d
    exceptions are never filed (nor ``sys.exit(0)``). ``consent(report)`` can
    veto a report. Reports go through the spool in ``spool_dir`` (default: per
    ``app`` under the user cache directory) and at most ``rate_limit`` per
    fingerprint per minute are filed (the others are counted). Other keyword
    arguments are :class:`CaptureOptions`. Waiting spooled reports are filed now.
    """
    reporter = build_reporter(
        tracker,
        app=app,
        release=release,
        ignore=ignore,
        consent=consent,
        spool_dir=spool_dir,
        rate_limit=rate_limit,
        max_samples=max_samples,
        queue=queue,
        actor=actor,
        **capture,
    )
    handle = CrashHandle(reporter, always=always)
    _install_process_hooks()
    if excepthook:
        handle._hook(sys, "excepthook", lambda prev: ExceptHook(handle, prev))
    if threads:
        handle._hook(threading, "excepthook", lambda prev: ThreadingHook(handle, prev))
    if unraisable:
        handle._hook(sys, "unraisablehook", lambda prev: UnraisableHook(handle, prev))
    with _registry_lock:
        _handles.append(handle)
    reporter.flush_spool()
    return handle


# -- process-wide: exit and fork ------------------------------------------------------


def _install_process_hooks() -> None:
    global _process_hooks_installed
    with _registry_lock:
        if _process_hooks_installed:
            return
        _process_hooks_installed = True
    # Without a handler of its own, "ticketkit.crash" would print through logging's
    # last resort and change the host's stderr; hosts that configure logging see it.
    logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())
    atexit.register(_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _at_exit() -> None:
    """Write held-back counts, within :data:`EXIT_FLUSH_SECONDS`; start no thread."""
    deadline = time.monotonic() + EXIT_FLUSH_SECONDS
    with _registry_lock:
        handles = list(_handles)
    for handle in reversed(handles):
        left = deadline - time.monotonic()
        handle.reporter.flush(max(left, 0.0), spool=False)


def _after_fork_in_child() -> None:
    """Fresh locks everywhere; the parent's held-back counts and spool stay the parent's."""
    global _registry_lock
    from . import _log, _logging

    _registry_lock = threading.Lock()
    _log.reset_after_fork()
    _logging.reset_after_fork()
    for handle in list(_handles):
        handle._lock = threading.Lock()
        handle.reporter.reset_after_fork()
        engine = getattr(handle.reporter.tracker.store, "engine", None)
        dispose = getattr(engine, "dispose", None)
        if callable(dispose):
            try:
                dispose(close=False)  # SQLAlchemy: the parent's connections stay the parent's
            except Exception as exc:
                log_once("fork", "could not reset the store's connections after fork", exc)


# -- module-level conveniences ----------------------------------------------------------


def capture_exception(
    exc: BaseException | None = None,
    *,
    tags: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> str | None:
    """File ``exc`` (default: the exception being handled) through the active
    installation; return the ticket key, or ``None`` when nothing was filed."""
    if exc is None:
        exc = sys.exc_info()[1]
    handle = active_handle()
    if handle is None or exc is None:
        return None
    return handle.capture_exception(exc, tags=tags, context=context)


def install_asyncio(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """:meth:`CrashHandle.install_asyncio` on the active installation."""
    handle = active_handle()
    if handle is None:
        raise ValidationError("install_asyncio(): call ticketkit.crash.install(tracker) first")
    handle.install_asyncio(loop)


class Capturing:
    """The context manager and decorator :func:`capturing` returns."""

    def __init__(
        self,
        tags: Mapping[str, str] | None = None,
        context: Mapping[str, Any] | None = None,
        handle: CrashHandle | None = None,
    ) -> None:
        self.tags = tags
        self.context = context
        self.handle = handle

    def __enter__(self) -> Capturing:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            handle = self.handle or active_handle()
            if handle is not None and handle.active:
                handle.reporter.report(
                    exc, mechanism="capture", handled=False, tags=self.tags, context=self.context
                )

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]


@overload
def capturing(func: F, /) -> F: ...


@overload
def capturing(
    *,
    tags: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    handle: CrashHandle | None = None,
) -> Capturing: ...


def capturing(
    func: Callable[..., Any] | None = None,
    /,
    *,
    tags: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    handle: CrashHandle | None = None,
) -> Any:
    """File an exception that escapes a block or a function, then let it propagate.

    ``with capturing(): ...``, ``@capturing`` or ``@capturing(tags={...})``, on
    plain and ``async`` functions alike.
    """
    block = Capturing(tags, context, handle)
    return block if func is None else block(func)
