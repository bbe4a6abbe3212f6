"""A real store with a hook in its transactions, to fail or pause a write part-way.

``HookedStore`` wraps any store (memory, SQLite, PostgreSQL, MariaDB) and
calls ``before(name)`` ahead of each method a transaction is asked for, with
the method's name. The hook may raise (the write then fails half done, and
the store must roll it all back) or wait (to hold transactions open side by
side). Everything else goes straight to the wrapped store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ticketkit import Tracker
from ticketkit._testing_support import Boom

__all__ = ["Boom", "FailOn", "Gate", "HookedStore", "hook"]

Hook = Callable[[str], None]


class _HookedTransaction:
    def __init__(self, tx: Any, before: Hook) -> None:
        self._tx = tx
        self._before = before

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._tx, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            self._before(name)
            return found(*args, **kwargs)

        return call


class HookedStore:
    """``store``, with ``before(method name)`` called inside each of its transactions."""

    def __init__(self, store: Any, before: Hook) -> None:
        self.wrapped = store
        self.before = before

    @contextmanager
    def transaction(self) -> Iterator[_HookedTransaction]:
        with self.wrapped.transaction() as tx:
            yield _HookedTransaction(tx, self.before)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def hook(tracker: Tracker, before: Hook) -> None:
    """Put ``before`` into every transaction of ``tracker`` from now on."""
    tracker.store = HookedStore(tracker.store, before)  # type: ignore[assignment]


class FailOn:
    """Raise :class:`Boom` at the ``nth`` call of the method ``name`` while armed."""

    def __init__(self, name: str, nth: int = 1) -> None:
        self.name = name
        self.nth = nth
        self.armed = True
        self.calls = 0
        self.failed = 0

    def __call__(self, name: str) -> None:
        if not self.armed or name != self.name:
            return
        self.calls += 1
        if self.calls == self.nth:
            self.failed += 1
            raise Boom(f"the store failed at {name} call {self.calls}")

    def disarm(self) -> None:
        self.armed = False


class Gate:
    """Hold the first ``count`` transactions after they read a ticket until all have.

    So that many writes have loaded the same version of a ticket before any
    of them goes on: their transactions really run side by side. Only for
    stores whose transactions may overlap (PostgreSQL, MariaDB).
    """

    def __init__(self, count: int, timeout: float = 30) -> None:
        self._barrier = threading.Barrier(count, timeout=timeout)
        self._left = count
        #: How many transactions have been held and let go.
        self.passed = 0
        self._lock = threading.Lock()
        self._passed = threading.local()

    def __call__(self, name: str) -> None:
        if name != "get_ticket" or getattr(self._passed, "done", False):
            return
        with self._lock:
            if self._left == 0:
                return
            self._left -= 1
        self._passed.done = True
        self._barrier.wait()
        with self._lock:
            self.passed += 1
