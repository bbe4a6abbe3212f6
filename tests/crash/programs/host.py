"""A host application that crashes in the way its first argument names.

    python host.py SCENARIO

``CRASH_DB`` is the tracker's URL (``pg-down`` for a PostgreSQL server that
refuses connections), ``CRASH_SPOOL`` the spool directory, and
``CRASH_INSTALL=0`` runs the same program without ticketkit, so a test can
compare the two: exit code and stderr must be the same. Each scenario ends in
the crash it is about; the call on the last line of this file is where it
escapes.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
import sys
import threading
from typing import Any

INSTALL = os.environ.get("CRASH_INSTALL", "1") == "1"


def tracker() -> Any:
    from ticketkit import Tracker

    url = os.environ["CRASH_DB"]
    if url == "pg-down":
        from ticketkit.storage.sql import SQLStore

        # The database went away after the application started: nothing listens on port 1.
        return Tracker(SQLStore.from_url("postgresql+psycopg://postgres@127.0.0.1:1/test"))
    return Tracker.from_url(url, create=False)


def setup(**options: Any) -> Any:
    if not INSTALL:
        return None
    import ticketkit.crash

    options.setdefault("release", "1.0.0")
    return ticketkit.crash.install(
        tracker(), app="host", spool_dir=os.environ["CRASH_SPOOL"], **options
    )


def watch_threads() -> None:
    """Say so on stdout if anything starts a thread (ticketkit never should)."""
    start = threading.Thread.start

    def announce(self: threading.Thread) -> None:
        print(f"a thread was started: {self.name}", flush=True)
        start(self)

    threading.Thread.start = announce  # type: ignore[method-assign]


# -- the scenarios ---------------------------------------------------------------------


def charge(amount: int) -> None:
    raise ValueError(f"card declined for {amount} EUR")


def main_thread() -> None:
    """An uncaught error on the main thread, on the script's last line; no thread started."""
    watch_threads()
    setup()
    charge(12)


def in_thread() -> None:
    """A worker thread crashes; the host's own threading hook must still run."""

    def host_hook(args: threading.ExceptHookArgs) -> None:
        print(f"host hook saw {args.exc_type.__name__} in {args.thread.name}", flush=True)
        threading.__excepthook__(args)

    threading.excepthook = host_hook
    setup()
    worker = threading.Thread(target=charge, args=(7,), name="payment-worker")
    worker.start()
    worker.join()


async def fetch() -> None:
    raise ConnectionError("upstream closed the connection")


async def forgotten() -> None:
    raise LookupError("nobody awaited this task")


def in_asyncio() -> None:
    """A task error nobody retrieved, then an error escaping asyncio.run."""
    handle = setup()

    async def main() -> None:
        if handle is not None:
            handle.install_asyncio()
        done = asyncio.Event()
        asyncio.get_running_loop().create_task(forgotten()).add_done_callback(lambda _: done.set())
        await done.wait()
        await fetch()

    asyncio.run(main())


def at_shutdown() -> None:
    """An atexit callback fails while the interpreter shuts down; no thread started."""
    watch_threads()
    setup(unraisable=True)

    def close_connections() -> None:
        raise RuntimeError("could not close the connection pool")

    atexit.register(close_connections)
    print("main done", flush=True)


def chained() -> None:
    """An error raised from another, while handling a third."""
    setup()
    try:
        {}["sku"]
    except KeyError:
        try:
            int("x")
        except ValueError as cause:
            raise RuntimeError("order import failed") from cause


def group() -> None:
    """An ExceptionGroup of two failures, one of them a group itself."""
    setup()
    raise ExceptionGroup(
        "sync failed",
        [ValueError("bad row 3"), ExceptionGroup("retries", [TimeoutError("slow")])],
    )


def recurse(n: int) -> int:
    return recurse(n + 1) + 1


def recursion() -> None:
    """Unbounded recursion under a high recursion limit."""
    sys.setrecursionlimit(20_000)
    setup()
    recurse(0)


def forked() -> None:
    """A raw os.fork child crashes; the parent's held-back counts are not the child's."""
    handle = setup(rate_limit=1)
    for _ in range(3):  # one filed, two held back by the rate limit, for the parent to write
        try:
            charge(1)
        except ValueError:
            if handle is not None:
                handle.capture_exception()
    pid = os.fork()
    if pid == 0:
        raise OSError("child could not open its socket")
    _, status = os.waitpid(pid, 0)
    print(f"child exit code {os.waitstatus_to_exitcode(status)}", flush=True)


def crash_loop() -> None:
    """10,000 identical errors in a loop, then a normal exit."""
    handle = setup()
    for _ in range(10_000):
        try:
            charge(5)
        except ValueError:
            if handle is not None:
                handle.capture_exception()
    print("loop done", flush=True)


def keyboard_interrupt() -> None:
    setup()
    raise KeyboardInterrupt


def clean_exit() -> None:
    setup()
    sys.exit(0)


def exit_code() -> None:
    setup()
    sys.exit(3)


def child_work(barrier: Any = None) -> None:
    if barrier is not None:
        barrier.wait()
    raise PermissionError("child cannot write the export")


def child_threads(barrier: Any) -> None:
    threads = [threading.Thread(target=child_work, args=(barrier,), name=f"t{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def simultaneous() -> None:
    """12 crashes at once: 3 processes with 4 threads each, released by one barrier."""
    import ticketkit.crash

    setup()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(12)
    children = [
        context.Process(target=ticketkit.crash.wrap_target(child_threads), args=(barrier,))
        for _ in range(3)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
    print("exit codes", [child.exitcode for child in children], flush=True)


def multiprocessing_children() -> None:
    """Children that crash, started with fork and with spawn."""
    import ticketkit.crash

    setup()
    codes = []
    for method in ("fork", "spawn"):
        context = multiprocessing.get_context(method)
        target = ticketkit.crash.wrap_target(
            child_work,
            url=os.environ["CRASH_DB"],
            app="host",
            release="1.0.0",
            spool_dir=os.environ["CRASH_SPOOL"],
        )
        child = context.Process(target=target if INSTALL else child_work)
        child.start()
        child.join()
        codes.append(child.exitcode)
    print("exit codes", codes, flush=True)


SCENARIOS = {
    f.__name__: f
    for f in (
        main_thread,
        in_thread,
        in_asyncio,
        at_shutdown,
        chained,
        group,
        recursion,
        forked,
        crash_loop,
        keyboard_interrupt,
        clean_exit,
        exit_code,
        simultaneous,
        multiprocessing_children,
    )
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
