"""The hooks ``install`` puts in place: each chains to the one it replaced and never raises.

Every hook is an object (not a function copying the previous hook's name, which
broke other libraries' checks) that remembers the hook it replaced and calls it
with the same arguments after reporting, whatever happened while reporting.
``uninstall`` puts the previous hook back only when ours is still the one
installed; otherwise ours stays in the chain as a pass-through, so a hook
installed after it keeps working.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio
    from types import TracebackType

    from ._install import CrashHandle

__all__ = ["AsyncioHandler", "ExceptHook", "IPythonHandler", "ThreadingHook", "UnraisableHook"]


def _in_repl() -> bool:
    return hasattr(sys, "ps1") or bool(sys.flags.interactive)


def _safe_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # a raising __repr__
        return f"<{type(value).__name__} object (repr failed)>"
    return text if len(text) <= 200 else text[:199] + "…"


class _Hook:
    """Common parts: the handle to report through, the hook replaced, an on/off switch."""

    def __init__(self, handle: CrashHandle, previous: Any) -> None:
        self.handle = handle
        self.previous = previous
        self.active = True

    def _report(self, exc: object, **how: Any) -> None:
        try:
            if self.active and self.handle.active and isinstance(exc, BaseException):
                self.handle.reporter.report(exc, **how)
        except BaseException:  # the host's hook must still run
            pass

    def __repr__(self) -> str:
        state = "active" if self.active else "pass-through"
        return f"<ticketkit.crash {type(self).__name__} ({state}) chaining to {self.previous!r}>"


class ExceptHook(_Hook):
    """``sys.excepthook``: an uncaught exception on the main thread."""

    def __call__(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> Any:
        if self.handle.always or not _in_repl():
            self._report(exc, mechanism="excepthook", handled=False)
        previous = self.previous if callable(self.previous) else sys.__excepthook__
        return previous(exc_type, exc, tb)


class ThreadingHook(_Hook):
    """``threading.excepthook``: an uncaught exception in a thread, named in the report."""

    def __call__(self, args: threading.ExceptHookArgs) -> Any:
        thread = args.thread
        name = thread.name if thread is not None else None
        self._report(args.exc_value, mechanism="threading", handled=False, thread_name=name)
        previous = self.previous if callable(self.previous) else threading.__excepthook__
        return previous(args)


class UnraisableHook(_Hook):
    """``sys.unraisablehook``: errors in ``__del__``, atexit callbacks, finalizers."""

    def __call__(self, unraisable: Any) -> Any:
        message = getattr(unraisable, "err_msg", None) or "Exception ignored"
        self._report(
            getattr(unraisable, "exc_value", None),
            mechanism="unraisable",
            handled=False,
            context={
                "unraisable": {
                    "message": str(message),
                    "object": _safe_repr(getattr(unraisable, "object", None)),
                }
            },
        )
        previous = self.previous if callable(self.previous) else sys.__unraisablehook__
        return previous(unraisable)


class AsyncioHandler(_Hook):
    """An event loop's exception handler: task errors never retrieved, callback errors."""

    def __init__(self, handle: CrashHandle, previous: Any, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(handle, previous)
        self.loop = loop

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> Any:
        self._report(
            context.get("exception"),
            mechanism="asyncio",
            handled=False,
            context={"asyncio": {"message": str(context.get("message", ""))}},
        )
        if callable(self.previous):
            return self.previous(loop, context)
        return loop.default_exception_handler(context)


class IPythonHandler(_Hook):
    """IPython's custom exception handler (IPython does not call ``sys.excepthook``)."""

    def __call__(
        self,
        shell: Any,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
        tb_offset: int | None = None,
    ) -> Any:
        self._report(exc, mechanism="ipython", handled=False)
        shell.showtraceback((exc_type, exc, tb), tb_offset=tb_offset)


Restore = Callable[[], None]


def swap(owner: Any, name: str, make: Callable[[Any], _Hook]) -> tuple[_Hook, Restore]:
    """Put ``make(previous)`` in place of ``owner.name``; return it and its undo."""
    previous = getattr(owner, name)
    hook = make(previous)
    setattr(owner, name, hook)

    def restore() -> None:
        if getattr(owner, name, None) is hook:
            setattr(owner, name, hook.previous)
        hook.active = False  # a pass-through wherever it still sits in a chain

    return hook, restore
