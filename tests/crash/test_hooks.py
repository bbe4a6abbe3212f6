"""install(): the hooks chain, never raise, file once, and come out cleanly."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ticketkit import Tracker, ValidationError
from ticketkit.crash import (
    CrashHandle,
    CrashReport,
    Spool,
    _log,
    active_handle,
    capture_exception,
    capturing,
    clear_breadcrumbs,
    install,
    install_asyncio,
)
from ticketkit.crash._filing import define_crash_fields

from .test_filing import make_report
from .test_spool import entries, read_only_tracker


class Recorder:
    """A host's own hook: records what it was called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)


@pytest.fixture
def hooks() -> Iterator[dict[str, Recorder]]:
    """The host's hooks in place of the interpreter's; everything restored afterwards."""
    saved = (sys.excepthook, threading.excepthook, sys.unraisablehook)
    recorders = {"sys": Recorder(), "threading": Recorder(), "unraisable": Recorder()}
    sys.excepthook = recorders["sys"]
    threading.excepthook = recorders["threading"]
    sys.unraisablehook = recorders["unraisable"]
    clear_breadcrumbs()
    _log._seen.clear()  # each test sees ticketkit's first complaint
    try:
        yield recorders
    finally:
        while (handle := active_handle()) is not None:
            handle.uninstall()
        sys.excepthook, threading.excepthook, sys.unraisablehook = saved


@pytest.fixture
def tracker() -> Tracker:
    return Tracker.in_memory()


@pytest.fixture
def setup(
    hooks: dict[str, Recorder], tracker: Tracker, tmp_path: Path
) -> Callable[..., CrashHandle]:
    def make(**options: Any) -> CrashHandle:
        options.setdefault("spool_dir", tmp_path / "spool")
        return install(tracker, app="test", **options)

    return make


def crash(message: str = "boom") -> BaseException:
    """An exception with a real traceback, as a hook receives it."""
    try:
        raise ValueError(message)
    except ValueError as exc:
        return exc


def counts(tracker: Tracker) -> list[int]:
    define_crash_fields(tracker)
    return [t.fields["crash_count"] for t in tracker.query({"tags": {"contains": "crash"}})]


def uncaught(exc: BaseException) -> None:
    """What the interpreter does with an exception nobody caught."""
    sys.excepthook(type(exc), exc, exc.__traceback__)


class TestExcepthook:
    def test_files_and_chains(
        self, setup: Callable[..., CrashHandle], tracker: Tracker, hooks: dict[str, Recorder]
    ) -> None:
        """An uncaught error is filed, then the previous hook gets the very same arguments."""
        setup()
        exc = crash()
        uncaught(exc)
        assert counts(tracker) == [1]
        assert hooks["sys"].calls == [(ValueError, exc, exc.__traceback__)]

    def test_previous_hook_runs_when_filing_fails(
        self, hooks: dict[str, Recorder], tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """With the store read-only: no error escapes, the crash is spooled, logged once."""
        with read_only_tracker(tmp_path) as tracker:
            install(tracker, app="test", spool_dir=tmp_path / "spool")
            with caplog.at_level(logging.WARNING, logger="ticketkit.crash"):
                uncaught(crash("one"))
                uncaught(crash("two"))
            assert len(hooks["sys"].calls) == 2
            assert len(entries(tmp_path / "spool")) == 2
            warnings = [r for r in caplog.records if r.name == "ticketkit.crash"]
            assert len(warnings) == 1
            assert "read-only" in warnings[0].getMessage()

    def test_installing_twice_files_once(
        self, setup: Callable[..., CrashHandle], tracker: Tracker
    ) -> None:
        """Two installations on one tracker: one crash, one occurrence."""
        setup()
        setup()
        uncaught(crash())
        assert counts(tracker) == [1]

    def test_repl_files_nothing(
        self,
        setup: Callable[..., CrashHandle],
        tracker: Tracker,
        hooks: dict[str, Recorder],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """In an interactive session, typos are not crashes, unless always=True."""
        monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)
        handle = setup()
        uncaught(crash())
        assert counts(tracker) == []
        assert len(hooks["sys"].calls) == 1
        handle.uninstall()
        setup(always=True)
        uncaught(crash())
        assert counts(tracker) == [1]

    def test_keyboard_interrupt_is_ignored(
        self, setup: Callable[..., CrashHandle], tracker: Tracker, hooks: dict[str, Recorder]
    ) -> None:
        """Ctrl-C is not a crash; the previous hook still handles it."""
        setup()
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            uncaught(exc)
        assert counts(tracker) == []
        assert len(hooks["sys"].calls) == 1

    def test_consent_can_veto(
        self, setup: Callable[..., CrashHandle], tracker: Tracker, tmp_path: Path
    ) -> None:
        """consent(report) returning False stores nothing, not even in the spool."""
        seen: list[CrashReport] = []

        def consent(report: CrashReport) -> bool:
            seen.append(report)
            return "secret" not in report.title

        setup(consent=consent)
        uncaught(crash("secret project"))
        uncaught(crash("public"))
        assert len(seen) == 2
        assert counts(tracker) == [1]
        assert entries(tmp_path / "spool") == []

    def test_a_raising_consent_is_a_no(
        self, setup: Callable[..., CrashHandle], tracker: Tracker, hooks: dict[str, Recorder]
    ) -> None:
        """A consent callable that raises drops the report and breaks nothing."""
        setup(consent=lambda report: 1 / 0)
        uncaught(crash())
        assert counts(tracker) == []
        assert len(hooks["sys"].calls) == 1

    def test_spool_is_flushed_after_a_success(
        self, setup: Callable[..., CrashHandle], tracker: Tracker, tmp_path: Path
    ) -> None:
        """A report waiting in the spool is filed right after the next report gets through."""
        setup()
        spool = Spool(tmp_path / "spool")
        waiting = spool.put(make_report())
        assert waiting is not None
        spool.release(waiting)
        uncaught(crash())
        assert counts(tracker) == [1, 1]
        assert entries(tmp_path / "spool") == []

    def test_bad_options_are_refused(self, setup: Callable[..., CrashHandle]) -> None:
        """Misuse of install() itself raises, saying what is wrong."""
        with pytest.raises(ValidationError, match="rate_limit"):
            setup(rate_limit=0)
        with pytest.raises(ValidationError, match="ignore"):
            setup(ignore=("KeyboardInterrupt",))
        with pytest.raises(ValidationError, match="unknown option 'colour'"):
            setup(colour="red")


class TestUninstall:
    def test_restores_what_was_there(
        self, setup: Callable[..., CrashHandle], hooks: dict[str, Recorder]
    ) -> None:
        """With ours on top, uninstall puts the host's hooks back exactly."""
        handle = setup(unraisable=True)
        assert sys.excepthook is not hooks["sys"]
        handle.uninstall()
        handle.uninstall()
        assert sys.excepthook is hooks["sys"]
        assert threading.excepthook is hooks["threading"]
        assert sys.unraisablehook is hooks["unraisable"]
        assert active_handle() is None

    def test_a_later_hook_keeps_firing(
        self, setup: Callable[..., CrashHandle], tracker: Tracker, hooks: dict[str, Recorder]
    ) -> None:
        """A hook installed after ours stays; ours becomes a pass-through to the host's."""
        handle = setup()
        ours = sys.excepthook
        later = Recorder()

        def library_hook(*args: Any) -> None:
            later(*args)
            ours(*args)

        sys.excepthook = library_hook
        handle.uninstall()
        assert sys.excepthook is library_hook
        exc = crash()
        uncaught(exc)
        assert len(later.calls) == 1
        assert hooks["sys"].calls == [(ValueError, exc, exc.__traceback__)]
        assert counts(tracker) == []


class TestThreads:
    def test_thread_crash_names_the_thread(
        self, setup: Callable[..., CrashHandle], tracker: Tracker, hooks: dict[str, Recorder]
    ) -> None:
        """A crash in a thread files a ticket naming it; the host's threading hook runs."""
        setup()

        def work() -> None:
            raise RuntimeError("worker failed")

        thread = threading.Thread(target=work, name="worker-7")
        thread.start()
        thread.join()
        (ticket,) = tracker.query({"tags": {"contains": "crash"}})
        assert "thread: worker-7" in ticket.description
        ((args,),) = hooks["threading"].calls
        assert args.thread is thread
        assert isinstance(args.exc_value, RuntimeError)

    def test_system_exit_in_a_thread_files_nothing(
        self, setup: Callable[..., CrashHandle], tracker: Tracker
    ) -> None:
        """sys.exit() in a thread ends the thread; it is not a crash."""
        setup()
        thread = threading.Thread(target=sys.exit, args=(3,))
        thread.start()
        thread.join()
        assert counts(tracker) == []


class TestUnraisable:
    def test_opt_in(
        self, setup: Callable[..., CrashHandle], tracker: Tracker, hooks: dict[str, Recorder]
    ) -> None:
        """With unraisable=True an error in __del__ is filed, then passed on."""
        setup(unraisable=True)

        class Leaky:
            def __del__(self) -> None:
                raise OSError("cannot close")

        Leaky()
        gc.collect()
        assert counts(tracker) == [1]
        assert len(hooks["unraisable"].calls) == 1


class TestCapture:
    def test_capture_exception(self, setup: Callable[..., CrashHandle], tracker: Tracker) -> None:
        """capture_exception() files the exception being handled and returns its key."""
        assert capture_exception() is None
        setup()
        try:
            raise KeyError("basket")
        except KeyError:
            key = capture_exception()
        assert key is not None
        assert tracker.get(key).fields["crash_count"] == 1
        assert capture_exception(crash()) == capture_exception(crash())

    def test_without_installation(self, hooks: dict[str, Recorder]) -> None:
        """Nothing installed: nothing filed, nothing raised."""
        assert capture_exception(crash()) is None

    def test_capturing_block_reraises(
        self, setup: Callable[..., CrashHandle], tracker: Tracker
    ) -> None:
        """capturing() files what escapes the block and lets it go on; the hook then skips it."""
        setup()
        with pytest.raises(ValueError, match="inside") as info, capturing(tags={"job": "import"}):
            raise ValueError("inside")
        uncaught(info.value)
        (ticket,) = tracker.query({"tags": {"contains": "crash"}})
        assert ticket.fields["crash_count"] == 1
        assert "job: import" in ticket.description

    def test_capturing_decorates(self, setup: Callable[..., CrashHandle], tracker: Tracker) -> None:
        """As a decorator, bare or with arguments, on plain and async functions."""
        setup()

        @capturing
        def plain() -> None:
            raise ValueError("plain")

        @capturing(tags={"kind": "async"})
        async def coroutine() -> None:
            raise ValueError("async")

        assert plain.__name__ == "plain"
        with pytest.raises(ValueError, match="plain"):
            plain()
        with pytest.raises(ValueError, match="async"):
            asyncio.run(coroutine())
        assert counts(tracker) == [1, 1]

    def test_exit_codes(self, setup: Callable[..., CrashHandle], tracker: Tracker) -> None:
        """sys.exit(0) is never filed; other exit codes are, once SystemExit is not ignored."""
        setup(ignore=(KeyboardInterrupt,))
        for code in (0, None, 2):
            with pytest.raises(SystemExit), capturing():
                sys.exit(code)
        assert counts(tracker) == [1]


class TestRateLimit:
    def test_crash_loop(self, setup: Callable[..., CrashHandle], tracker: Tracker) -> None:
        """Past rate_limit per minute only a counter rises; flush writes it."""
        handle = setup(rate_limit=10, max_samples=3)
        for _ in range(25):
            try:
                raise ValueError("again")
            except ValueError:
                key = capture_exception()
        assert key is not None
        assert tracker.get(key).fields["crash_count"] == 10
        assert handle.reporter.held_back() == 15
        handle.flush()
        assert tracker.get(key).fields["crash_count"] == 25
        assert len(tracker.attachments(key)) == 3

    def test_held_back_counts_ride_with_the_next_report(
        self, setup: Callable[..., CrashHandle], tracker: Tracker
    ) -> None:
        """Uninstalling writes what the rate limit held back."""
        handle = setup(rate_limit=1)
        for _ in range(4):
            uncaught(crash())
        handle.uninstall()
        assert counts(tracker) == [4]


class TestAsyncio:
    def test_never_retrieved_task_errors(
        self, setup: Callable[..., CrashHandle], tracker: Tracker
    ) -> None:
        """A task whose exception nobody retrieves is filed; the previous handler still runs."""
        setup()
        previous: list[dict[str, Any]] = []

        async def boom() -> None:
            raise ConnectionError("lost")

        async def main() -> None:
            loop = asyncio.get_running_loop()
            loop.set_exception_handler(lambda loop, context: previous.append(context))
            install_asyncio()
            done = asyncio.Event()
            loop.create_task(boom()).add_done_callback(lambda _: done.set())
            await done.wait()
            gc.collect()

        asyncio.run(main())
        assert counts(tracker) == [1]
        assert "never retrieved" in previous[0]["message"]

    def test_needs_a_loop(self, setup: Callable[..., CrashHandle]) -> None:
        """Outside a running loop, install_asyncio says how to call it."""
        setup()
        with pytest.raises(ValidationError, match="loop"):
            install_asyncio()


class TestIPython:
    def test_custom_exception_handler(
        self, setup: Callable[..., CrashHandle], tracker: Tracker
    ) -> None:
        """IPython bypasses sys.excepthook; its custom exception handler files and shows."""

        class Shell:
            def __init__(self) -> None:
                self.custom_exceptions: tuple[type[BaseException], ...] = ()
                self.CustomTB: Any = None
                self.shown: list[Any] = []

            def set_custom_exc(self, types: Any, handler: Any) -> None:
                self.custom_exceptions, self.CustomTB = types, handler

            def showtraceback(self, exc_tuple: Any, tb_offset: Any = None) -> None:
                self.shown.append(exc_tuple)

        shell = Shell()
        handle = setup()
        handle.install_ipython(shell)
        exc = crash()
        shell.CustomTB(shell, ValueError, exc, exc.__traceback__)
        assert counts(tracker) == [1]
        assert shell.shown == [(ValueError, exc, exc.__traceback__)]
        handle.uninstall()
        assert shell.custom_exceptions == ()


def test_import_installs_nothing() -> None:
    """``import ticketkit.crash`` hooks nothing, starts no thread, loads no optional extra."""
    probe = (
        "import sys, threading; before = (sys.excepthook, threading.excepthook); "
        "import ticketkit.crash; "
        "assert (sys.excepthook, threading.excepthook) == before; "
        "assert threading.active_count() == 1; "
        "print(sorted(m for m in ('sqlalchemy', 'sentry_sdk') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
