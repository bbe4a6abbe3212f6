"""What the parts of the store contract suite share: a failing transaction,
a ticket draft, and threads started together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ._model import Ticket
from ._priority import Priority

__all__ = ["Boom", "draft", "run_threads"]


class Boom(Exception):
    """Raised inside a transaction to make it fail."""


def draft(*, title: str, tenant: str, reporter: str, at: datetime, **changes: Any) -> Ticket:
    """A new ticket for ``Transaction.create_ticket`` (``id=0``, no key yet)."""
    values: dict[str, Any] = {
        "id": 0,
        "key": "",
        "title": title,
        "description": "",
        "status": "new",
        "priority": Priority.P3,
        "reporter": reporter,
        "queue": "default",
        "created": at,
        "updated": at,
        "version": 1,
        "tenant": tenant,
    }
    values.update(changes)
    return Ticket(**values)


def run_threads(count: int, work: Callable[[int], None], timeout: float = 120) -> None:
    """Run ``work(i)`` in ``count`` threads started together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            work(i)
        except BaseException as exc:  # handed to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a worker thread did not finish"
    if errors:
        raise errors[0]
