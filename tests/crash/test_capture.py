"""Turning exceptions into crash reports: chains, groups, frames, in-app, limits, never raising."""

from __future__ import annotations

import importlib.util
import itertools
import json
import subprocess
import sys
import textwrap
import threading
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketkit import ValidationError
from ticketkit.crash._capture import (
    CAPTURE_ERRORS,
    MAX_BREADCRUMBS,
    CaptureOptions,
    build_report,
    finish_report,
    is_in_app,
    make_title,
    scrub_report,
)
from ticketkit.crash._fingerprint import FINGERPRINT_VERSION, compute_fingerprint
from ticketkit.crash._report import (
    Breadcrumb,
    CrashReport,
    ExceptionInfo,
    Frame,
    freeze_json,
)
from ticketkit.crash._truncate import MIN_REPORT_BYTES, limit_report_size

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SECRET = "hunter2-Zq8Xv4Lm"

Loader = Callable[..., types.ModuleType]


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Loader]:
    """Write a module into a directory (``tmp_path`` by default) and import it."""
    names: list[str] = []
    counter = itertools.count()

    def load(source: str, *, directory: Path | None = None, name: str | None = None) -> Any:
        name = name or f"crash_helper_{next(counter)}"
        path = (directory or tmp_path) / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        names.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in names:
        sys.modules.pop(name, None)


def caught(call: Callable[[], object]) -> BaseException:
    """The exception ``call`` raises."""
    try:
        call()
    except BaseException as exc:
        return exc
    raise AssertionError("expected an exception")


def report_of(exc: BaseException, **options: Any) -> CrashReport:
    options.setdefault("project_root", str(HERE))
    return build_report(
        exc, options=CaptureOptions(**options), mechanism="capture", handled=True, now=NOW
    )


# -- helpers raising real exceptions from this file ---------------------------------


def fail(message: str = "boom") -> None:
    raise ValueError(message)


def fail_with_cause() -> None:
    try:
        fail("inner")
    except ValueError as exc:
        raise KeyError("outer") from exc


def fail_in_handler() -> None:
    try:
        fail("first")
    except ValueError:
        raise RuntimeError("second")  # noqa: B904


def fail_suppressed() -> None:
    try:
        fail("hidden")
    except ValueError:
        raise RuntimeError("shown") from None


def fail_group() -> None:
    def member(kind: type[Exception], text: str) -> Exception:
        return caught(lambda: fail_as(kind, text))  # type: ignore[return-value]

    raise ExceptionGroup(
        "outer",
        [
            member(ValueError, "a"),
            ExceptionGroup("inner", [member(TypeError, "b"), member(KeyError, "c")]),
            member(OSError, "d"),
        ],
    )


def fail_as(kind: type[Exception], text: str) -> None:
    raise kind(text)


def recurse(depth: int) -> None:
    if depth == 0:
        raise ValueError("bottom")
    recurse(depth - 1)


class TestChain:
    def test_first_is_the_raised_exception(self) -> None:
        """exceptions[0] is the exception given, as ``raised``, at depth 0."""
        report = report_of(caught(fail))
        first = report.exceptions[0]
        assert (first.type, first.message, first.relation, first.depth) == (
            "builtins.ValueError",
            "boom",
            "raised",
            0,
        )
        assert report.exception_type == "builtins.ValueError"

    def test_explicit_cause_follows(self) -> None:
        """``raise ... from e`` lists e after the exception, as its ``cause``."""
        report = report_of(caught(fail_with_cause))
        assert [(e.type, e.relation) for e in report.exceptions] == [
            ("builtins.KeyError", "raised"),
            ("builtins.ValueError", "cause"),
        ]
        assert report.exceptions[1].message == "inner"

    def test_implicit_context_follows(self) -> None:
        """An exception raised while handling another lists that one as its ``context``."""
        report = report_of(caught(fail_in_handler))
        assert [(e.message, e.relation) for e in report.exceptions] == [
            ("second", "raised"),
            ("first", "context"),
        ]

    def test_suppressed_context_is_left_out(self) -> None:
        """``raise ... from None`` hides the context, as Python's own traceback does."""
        report = report_of(caught(fail_suppressed))
        assert [e.message for e in report.exceptions] == ["shown"]

    def test_cycles_end_the_chain(self) -> None:
        """Exceptions whose contexts point at each other are each listed once."""
        first, second = ValueError("first"), ValueError("second")
        first.__context__ = second
        second.__context__ = first
        report = report_of(first)
        assert [e.message for e in report.exceptions] == ["first", "second"]

    def test_group_members_in_depth_first_order(self) -> None:
        """Group members follow their group, one level deeper, nested groups expanded in place."""
        report = report_of(caught(fail_group))
        assert [(e.type.rpartition(".")[2], e.relation, e.depth) for e in report.exceptions] == [
            ("ExceptionGroup", "raised", 0),
            ("ValueError", "group", 1),
            ("ExceptionGroup", "group", 1),
            ("TypeError", "group", 2),
            ("KeyError", "group", 2),
            ("OSError", "group", 1),
        ]
        assert report.exceptions[3].frames[-1].function == "fail_as"

    def test_members_come_before_the_groups_own_chain(self) -> None:
        """A group's members are listed before the exception it was chained from."""

        def raise_group() -> None:
            try:
                fail("while handling")
            except ValueError:
                raise ExceptionGroup("g", [KeyError("m")])  # noqa: B904

        report = report_of(caught(raise_group))
        assert [(e.relation, e.depth) for e in report.exceptions] == [
            ("raised", 0),
            ("group", 1),
            ("context", 0),
        ]

    def test_group_depth_is_limited(self) -> None:
        """Members deeper than ``max_group_depth`` are left out, with a note saying so."""
        report = report_of(caught(fail_group), max_group_depth=1)
        assert max(e.depth for e in report.exceptions) == 1
        inner = next(e for e in report.exceptions if e.message.startswith("inner"))
        assert any("max_group_depth=1" in note for note in inner.notes)
        assert report.truncated

    def test_number_of_exceptions_is_limited(self) -> None:
        """No more than ``max_exceptions`` are listed; the first says that more were left out."""
        group = ExceptionGroup("many", [ValueError(str(i)) for i in range(500)])
        report = report_of(group, max_exceptions=10)
        assert len(report.exceptions) == 10
        assert "max_exceptions=10" in report.exceptions[0].notes[-1]
        assert report.truncated

    def test_notes_are_kept(self) -> None:
        """``__notes__`` go with their exception, non-strings as their repr."""
        exc = ValueError("x")
        exc.add_note("while importing orders.csv")
        exc.__notes__.append(42)  # type: ignore[arg-type]
        assert report_of(exc).exceptions[0].notes == ("while importing orders.csv", "42")

    def test_base_exceptions_are_reported(self) -> None:
        """KeyboardInterrupt and friends are reported like any other exception."""
        report = report_of(KeyboardInterrupt())
        assert report.exception_type == "builtins.KeyboardInterrupt"
        assert report.title == "KeyboardInterrupt"


class TestMessages:
    def test_unprintable_exception_gets_a_placeholder(self) -> None:
        """An exception whose ``__str__`` raises is reported with a placeholder message."""

        class Broken(ValueError):
            def __str__(self) -> str:
                raise RuntimeError("no")

        report = report_of(Broken())
        assert report.exceptions[0].message == "<unprintable Broken: RuntimeError in __str__>"

    def test_unprintable_key_error_argument(self) -> None:
        """A KeyError whose key has a raising ``__repr__`` is reported too."""

        class Key:
            def __repr__(self) -> str:
                raise RuntimeError("no")

        report = report_of(KeyError(Key()))
        assert report.exceptions[0].message.startswith("<unprintable KeyError")

    def test_huge_message_is_cut_with_a_marker(self) -> None:
        """Messages are cut at ``max_message`` characters and say how much went."""
        report = report_of(ValueError("x" * 1_000_000), max_message=1000)
        message = report.exceptions[0].message
        assert message.startswith("x" * 1000)
        assert message.endswith(" [truncated 999000 characters]")
        assert report.truncated

    def test_title_is_type_and_first_line(self) -> None:
        """The title is the short type and the first line of the message."""
        report = report_of(ValueError("bad basket\nsecond line"))
        assert report.title == "ValueError: bad basket"

    def test_title_without_message_names_the_culprit(self) -> None:
        """An exception without a message is titled by where it happened."""
        report = report_of(caught(lambda: fail_as(RuntimeError, "")))
        assert report.title == f"RuntimeError in {__name__}.fail_as"

    def test_title_is_short(self) -> None:
        """Titles are at most 200 characters."""
        assert len(report_of(ValueError("y" * 5000)).title) == 200

    def test_custom_exception_type_is_qualified(self) -> None:
        """Types outside builtins keep their module and qualified name."""

        class Refused(Exception):
            pass

        report = report_of(Refused("no"))
        assert (
            report.exception_type
            == f"{__name__}.TestMessages.test_custom_exception_type_is_qualified.<locals>.Refused"
        )
        assert report.title.startswith(f"{__name__}.TestMessages")


class TestFrames:
    def test_frames_run_outermost_first(self) -> None:
        """Frames run from the catching frame to where the error was raised, with source lines."""
        report = report_of(caught(lambda: fail("x")))
        frames = report.exceptions[0].frames
        assert [f.function for f in frames] == [
            "caught",
            "TestFrames.test_frames_run_outermost_first.<locals>.<lambda>",
            "fail",
        ]
        assert frames[-1].source == "raise ValueError(message)"
        assert frames[-1].module == __name__
        assert frames[-1].filename == __file__
        assert frames[-1].lineno == fail.__code__.co_firstlineno + 1

    def test_an_exception_that_was_never_raised_has_no_frames(self) -> None:
        """An exception object that never travelled has no frames."""
        assert report_of(ValueError("x")).exceptions[0].frames == ()

    def test_deep_stacks_keep_first_and_last_halves(self) -> None:
        """Beyond ``max_frames``, the first and last halves are kept and the rest counted."""

        def a(n: int) -> None:
            b(n) if n else fail()

        def b(n: int) -> None:
            a(n - 1)

        exc = caught(lambda: a(200))
        report = report_of(exc, max_frames=20)
        info = report.exceptions[0]
        assert len(info.frames) == 20
        total = sum(1 for _ in _walk(exc.__traceback__))
        assert info.omitted_frames == total - 20
        assert info.frames[0].function == "caught"
        assert info.frames[-1].function == "fail"

    def test_repeated_frames_are_collapsed(self) -> None:
        """A function calling itself from one line becomes one frame that counts the repeats."""
        report = report_of(caught(lambda: recurse(500)))
        frames = report.exceptions[0].frames
        repeated = [f for f in frames if f.function == "recurse"]
        assert [f.repeated for f in repeated] == [499, 0]
        assert report.exceptions[0].omitted_frames == 0

    def test_recursion_error_100k_deep_is_captured_quickly(self) -> None:
        """A RecursionError under a 100,000 frame limit is captured in well under a second."""
        code = textwrap.dedent(
            """
            import json, sys, time
            from ticketkit.crash._capture import CaptureOptions, build_report
            sys.setrecursionlimit(100_000)
            def down(n):
                return down(n + 1)
            def ping(n):
                return pong(n)
            def pong(n):
                return ping(n)
            results = []
            for start in (down, ping):
                try:
                    start(0)
                except RecursionError as exc:
                    error = exc
                began = time.process_time()
                report = build_report(error, options=CaptureOptions(), mechanism="excepthook",
                                      handled=False)
                results.append({
                    "seconds": time.process_time() - began,
                    "frames": len(report.exceptions[0].frames),
                    "repeated": max(f.repeated for f in report.exceptions[0].frames),
                    "omitted": report.exceptions[0].omitted_frames,
                    "bytes": len(report.to_json()),
                })
            print(json.dumps(results))
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        single, mutual = json.loads(done.stdout)
        assert single["frames"] == 2
        assert single["repeated"] > 99_000
        assert mutual["frames"] == 100
        assert mutual["omitted"] > 99_000
        assert single["seconds"] < 1.0
        assert mutual["seconds"] < 1.0
        assert mutual["bytes"] < 256 * 1024

    def test_frames_of_a_class_method_use_the_qualified_name(
        self, load: Loader, tmp_path: Path
    ) -> None:
        """``function`` is the qualified name: ``Class.method``."""
        module = load(
            """
            class Basket:
                def checkout(self):
                    raise ValueError("empty")
            """
        )
        report = report_of(caught(lambda: module.Basket().checkout()), project_root=str(tmp_path))
        assert report.exceptions[0].frames[-1].function == "Basket.checkout"
        assert report.culprit == f"{module.__name__}.Basket.checkout"


def _walk(tb: types.TracebackType | None) -> Iterator[types.TracebackType]:
    while tb is not None:
        yield tb
        tb = tb.tb_next


class TestInApp:
    def test_project_code_is_in_app(self, load: Loader, tmp_path: Path) -> None:
        """A module under the project root is in app; the stdlib is not."""
        module = load(
            """
            import json
            def parse(text):
                return json.loads(text)
            """
        )
        report = report_of(caught(lambda: module.parse("{")), project_root=str(tmp_path))
        flags = {f.module: f.in_app for f in report.exceptions[0].frames}
        assert flags[module.__name__] is True
        assert flags["json.decoder"] is False
        assert flags[__name__] is False  # this test file is outside tmp_path
        assert report.culprit == f"{module.__name__}.parse"

    def test_site_packages_under_the_root_is_not_in_app(self, load: Loader, tmp_path: Path) -> None:
        """A virtualenv inside the project does not make its libraries the host's code."""
        library = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
        module = load("def go():\n    raise ValueError('lib')\n", directory=library)
        report = report_of(caught(module.go), project_root=str(tmp_path))
        assert report.exceptions[0].frames[-1].in_app is False

    def test_include_and_exclude_prefixes_decide(self, load: Loader, tmp_path: Path) -> None:
        """``in_app_include`` and ``in_app_exclude`` override paths; the longest prefix wins."""
        library = tmp_path / "site-packages"
        module = load("def go():\n    raise ValueError()\n", directory=library, name="shoplib.pay")
        exc = caught(module.go)

        def in_app(**options: Any) -> bool:
            return report_of(exc, **options).exceptions[0].frames[-1].in_app

        assert in_app() is False
        assert in_app(in_app_include=["shoplib"]) is True
        assert in_app(in_app_include=["shoplib"], in_app_exclude=["shoplib.pay"]) is False
        assert in_app(in_app_include=["shoplib.pay"], in_app_exclude=["shoplib"]) is True
        assert in_app(in_app_include=["shop"]) is False  # a prefix is a whole module name

    def test_ticketkit_is_never_in_app(self) -> None:
        """ticketkit's own frames are never the host's code, even when asked for."""
        repo = HERE.parent.parent
        exc = caught(lambda: CrashReport.from_dict({}))
        report = report_of(exc, project_root=str(repo), in_app_include=["ticketkit"])
        flags = [(f.module, f.in_app) for f in report.exceptions[0].frames]
        assert (__name__, True) in flags
        assert ("ticketkit.crash._report", False) in flags

    def test_code_without_a_file(self) -> None:
        """``python -c`` code is in app when it is ``__main__``; frozen modules are not."""
        options = CaptureOptions(project_root="/nowhere")
        assert is_in_app("<string>", "__main__", options) is True
        assert is_in_app("<stdin>", "__main__", options) is True
        assert is_in_app("<frozen importlib._bootstrap>", "importlib._bootstrap", options) is False

    def test_default_root_is_the_scripts_directory(self, tmp_path: Path) -> None:
        """Without ``project_root`` the directory of the script being run is the project."""
        script = tmp_path / "app" / "run.py"
        script.parent.mkdir()
        script.write_text(
            textwrap.dedent(
                """
                import json
                from ticketkit.crash._capture import CaptureOptions, build_report
                def main():
                    raise ValueError("x")
                try:
                    main()
                except ValueError as exc:
                    report = build_report(exc, options=CaptureOptions(), mechanism="capture",
                                          handled=True)
                print(json.dumps([f.in_app for f in report.exceptions[0].frames]))
                """
            )
        )
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == [True, True]


class TestLocals:
    def test_locals_are_off_by_default(self) -> None:
        """Without ``include_locals`` no frame has locals."""
        report = report_of(caught(fail))
        assert all(f.locals is None for f in report.exceptions[0].frames)

    def test_locals_are_scrubbed_reprs(self) -> None:
        """Locals are shortened reprs; secret names and secret-looking values are scrubbed."""

        def work_keeping_locals() -> None:
            password = SECRET  # noqa: F841
            order = {"id": 7, "api_key": SECRET}  # noqa: F841
            url = f"https://bob:{SECRET}@db.example.com/shop"  # noqa: F841
            count = 3  # noqa: F841
            big = "z" * 100_000  # noqa: F841
            fail()

        report = report_of(caught(work_keeping_locals), include_locals=True)
        frame = next(f for f in report.exceptions[0].frames if "work_keeping" in f.function)
        assert frame.locals is not None
        assert frame.locals["password"] == "[scrubbed]"
        assert frame.locals["count"] == "3"
        assert frame.locals["order"] == "{'api_key': '[scrubbed]', 'id': 7}"
        assert frame.locals["url"] == "'https://[scrubbed]@db.example.com/shop'"
        assert len(frame.locals["big"]) <= 512
        assert SECRET.encode() not in report.to_json()

    def test_harmless_values_under_secret_names_are_shown(self) -> None:
        """``None`` and booleans reveal nothing, even under a secret-looking name."""

        def work() -> None:
            token = None  # noqa: F841
            use_password = True  # noqa: F841
            fail()

        report = report_of(caught(work), include_locals=True)
        frame = next(f for f in report.exceptions[0].frames if f.function.endswith("work"))
        assert frame.locals == {"token": "None", "use_password": "True"}

    def test_a_raising_repr_does_not_stop_capture(self) -> None:
        """A local whose ``__repr__`` raises is shown with a placeholder."""

        class Hostile:
            def __repr__(self) -> str:
                raise RuntimeError("no repr")

        def work() -> None:
            thing = Hostile()  # noqa: F841
            fail()

        report = report_of(caught(work), include_locals=True)
        frame = next(f for f in report.exceptions[0].frames if f.function.endswith("work"))
        assert frame.locals is not None
        assert "Hostile" in frame.locals["thing"]


class TestScrubbingEverywhere:
    def test_planted_secrets_appear_nowhere(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A secret in a local, a message, a note, argv, a breadcrumb, tags and context is gone."""
        monkeypatch.setattr(sys, "argv", ["shop", "--token", SECRET, f"--password={SECRET}"])

        def work() -> None:
            session_key = SECRET  # noqa: F841
            api = f"Bearer {SECRET}"  # noqa: F841
            raise ConnectionError(f"cannot reach https://admin:{SECRET}@db.internal/shop")

        exc = caught(work)
        exc.add_note(f"retrying with token={SECRET}")
        crumb = Breadcrumb(
            at=NOW,
            category="http",
            level="info",
            message=f"GET /orders?api_key={SECRET}",
            data={"headers": {"Authorization": f"Basic {SECRET}"}, "cookie": SECRET},
        )
        report = build_report(
            exc,
            options=CaptureOptions(include_locals=True, context={"dsn": SECRET}),
            mechanism="capture",
            handled=True,
            breadcrumbs=[crumb],
            tags={"session": SECRET, "where": f"password: {SECRET}"},
            context={"user": {"name": "bob", "password": SECRET}},
        )
        assert SECRET.encode() not in report.to_json()
        assert SECRET not in report.describe()
        assert "bob" in report.describe()
        assert report.environment["argv"] == (
            "shop",
            "--token",
            "[scrubbed]",
            "--password=[scrubbed]",
        )

    def test_home_directory_is_hidden(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without ``allow_username`` the home directory in messages is written ``~``."""
        import os

        home = os.path.expanduser("~")
        exc = FileNotFoundError(f"no such file: '{home}/orders.csv'")
        assert report_of(exc).exceptions[0].message == "no such file: '~/orders.csv'"
        assert home in report_of(exc, allow_username=True).exceptions[0].message

    def test_scrub_report_scrubs_a_report_built_elsewhere(self) -> None:
        """``scrub_report`` scrubs reports that did not come from ``build_report``."""
        report = _report(
            message=f"password={SECRET}",
            locals={"token": SECRET, "n": "1"},
            tags={"auth": SECRET},
            context={"secret": SECRET},
            argv=["run", "--token", SECRET],
        )
        assert SECRET.encode() in report.to_json()
        assert SECRET.encode() not in scrub_report(report, CaptureOptions().scrubber).to_json()


class TestNeverRaises:
    def test_hostile_exception_objects(self) -> None:
        """Odd exception objects still give a report."""

        class BadNotes(Exception):
            __notes__ = 5

        class BadGroup(ExceptionGroup):  # type: ignore[type-arg]
            @property
            def exceptions(self) -> Any:  # type: ignore[override]
                raise RuntimeError("no members")

        class WeirdType(Exception):
            pass

        WeirdType.__module__ = None  # type: ignore[assignment]
        hostile: list[BaseException] = [
            BadNotes("x"),
            BadGroup("g", [ValueError()]),
            WeirdType("w"),
            SystemExit(3),
            GeneratorExit(),
        ]
        for exc in hostile:
            report = report_of(exc)
            assert report.exceptions[0].relation == "raised"
            json.loads(report.to_json())
            report.describe()

    def test_a_failure_inside_capture_gives_a_minimal_report(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If building fails anyway, a report naming the type and the problem is returned."""
        from ticketkit.crash import _reading

        def explode(*args: object) -> None:
            raise MemoryError("simulated")

        monkeypatch.setattr(_reading.Reader, "exceptions", explode)
        report = report_of(caught(fail))
        assert report.exception_type == "builtins.ValueError"
        assert report.context[CAPTURE_ERRORS] == ("build_report: MemoryError",)
        assert report.fingerprint == compute_fingerprint(["type:builtins.ValueError"])
        assert report.truncated

    def test_unreadable_parts_are_left_out_and_named(self) -> None:
        """A breadcrumb that is not one, or tags that are not a mapping, are skipped and noted."""
        good = Breadcrumb(at=NOW, category="ui", level="info", message="kept")
        report = build_report(
            ValueError("x"),
            options=CaptureOptions(tags={"team": "a"}),
            mechanism="capture",
            handled=True,
            breadcrumbs=[good, "not a breadcrumb"],  # type: ignore[list-item]
            tags=["not", "a", "mapping"],  # type: ignore[arg-type]
        )
        assert [b.message for b in report.breadcrumbs] == ["kept"]
        assert dict(report.tags) == {"team": "a"}
        errors = report.context[CAPTURE_ERRORS]
        assert isinstance(errors, tuple)
        assert [e.split(":")[0] for e in errors] == ["breadcrumb", "tags"]

    def test_a_raising_fingerprint_callback_falls_back_to_the_default(self) -> None:
        """A fingerprint callback that raises gives the default fingerprint and a note."""

        def broken(report: CrashReport) -> list[str]:
            raise LookupError("oops")

        exc = caught(fail)
        report = report_of(exc, fingerprint=broken)
        assert report.fingerprint == report_of(exc).fingerprint
        errors = report.context[CAPTURE_ERRORS]
        assert isinstance(errors, tuple)
        assert "fingerprint: LookupError" in errors[0]


class TestReport:
    def test_options_and_arguments_are_recorded(self) -> None:
        """Mechanism, handled, time, app, release, tags, context and thread are recorded."""
        report = build_report(
            caught(fail),
            options=CaptureOptions(
                app="shop", release="1.2.0", tags={"team": "a", "tier": "1"}, context={"x": 1}
            ),
            mechanism="threading",
            handled=False,
            tags={"tier": "2"},
            context={"y": [1, 2]},
            thread_name="worker-3",
            now=NOW,
        )
        assert (report.mechanism, report.handled, report.occurred_at) == ("threading", False, NOW)
        assert (report.app, report.release) == ("shop", "1.2.0")
        assert dict(report.tags) == {"team": "a", "tier": "2"}
        assert dict(report.context) == {"x": 1, "y": (1, 2)}
        assert report.environment["thread"] == "worker-3"
        assert report.fingerprint_version == FINGERPRINT_VERSION
        assert len(report.fingerprint) == 32

    def test_thread_defaults_to_the_current_thread(self) -> None:
        """Without ``thread_name`` the report names the thread that built it."""
        names: list[object] = []

        def work() -> None:
            names.append(report_of(ValueError()).environment["thread"])

        thread = threading.Thread(target=work, name="importer")
        thread.start()
        thread.join()
        assert names == ["importer"]

    def test_newest_breadcrumbs_are_kept(self) -> None:
        """At most ``MAX_BREADCRUMBS`` breadcrumbs are kept, the newest, oldest first."""
        crumbs = [
            Breadcrumb(at=NOW + timedelta(seconds=i), category="log", level="info", message=str(i))
            for i in range(MAX_BREADCRUMBS + 20)
        ]
        report = build_report(
            ValueError(),
            options=CaptureOptions(),
            mechanism="capture",
            handled=True,
            breadcrumbs=crumbs,
        )
        assert [b.message for b in report.breadcrumbs] == [str(i) for i in range(20, 120)]

    def test_bad_options_say_what_to_do(self) -> None:
        """Out-of-range options raise ValidationError naming the option."""
        with pytest.raises(
            ValidationError, match="max_report_bytes must be an integer of at least 4096"
        ):
            CaptureOptions(max_report_bytes=100)
        with pytest.raises(ValidationError, match="max_frames"):
            CaptureOptions(max_frames=1)
        with pytest.raises(ValidationError, match=r"write \('shop',\)"):
            CaptureOptions(in_app_include="shop")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="fingerprint"):
            CaptureOptions(fingerprint=42)  # type: ignore[arg-type]

    def test_culprit_falls_back_to_the_innermost_frame(self) -> None:
        """Without in-app frames the culprit is the innermost frame."""
        report = report_of(caught(lambda: json.loads("{")), project_root="/nowhere")
        assert report.culprit == "json.decoder.JSONDecoder.raw_decode"
        assert report_of(ValueError()).culprit == ""

    def test_finish_report_fingerprints_scrubs_and_limits(self) -> None:
        """``finish_report`` makes a converted report like a built one."""
        raw = _report(message=f"token={SECRET} " + "x" * 10_000, title="")
        finished = finish_report(
            raw,
            options=CaptureOptions(max_report_bytes=MIN_REPORT_BYTES),
            fingerprint=["{{ default }}", "sentry"],
        )
        assert SECRET.encode() not in finished.to_json()
        assert len(finished.to_json()) <= MIN_REPORT_BYTES
        assert finished.title.startswith("ValueError: token=[scrubbed]")
        assert finished.fingerprint == compute_fingerprint(raw, ["{{ default }}", "sentry"])

    def test_make_title_of_an_empty_report(self) -> None:
        """A report without exceptions is titled ``Crash``."""
        assert make_title(attrs.evolve(_report(), exceptions=())) == "Crash"


# -- the report model -------------------------------------------------------------

texts = st.text(max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)
aware = st.datetimes(
    min_value=datetime(1970, 1, 2), timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])
)
frames = st.builds(
    Frame,
    filename=texts,
    lineno=st.integers(0, 10**6),
    function=texts,
    module=texts,
    source=st.none() | texts,
    in_app=st.booleans(),
    locals=st.none() | st.dictionaries(texts, texts, max_size=3),
    repeated=st.integers(0, 10**5),
)
exception_infos = st.builds(
    ExceptionInfo,
    type=texts,
    message=st.text(max_size=300),
    frames=st.lists(frames, max_size=6),
    relation=st.sampled_from(["raised", "cause", "context", "group"]),
    depth=st.integers(0, 3),
    omitted_frames=st.integers(0, 10**5),
    notes=st.lists(texts, max_size=3),
)
breadcrumbs = st.builds(
    Breadcrumb,
    at=aware,
    category=texts,
    level=st.sampled_from(["debug", "info", "warning", "error"]),
    message=texts,
    data=st.dictionaries(texts, json_values, max_size=3),
)
reports = st.builds(
    CrashReport,
    exceptions=st.lists(exception_infos, min_size=1, max_size=4),
    title=texts,
    fingerprint=st.text("0123456789abcdef", min_size=32, max_size=32),
    fingerprint_version=st.integers(1, 3),
    mechanism=st.sampled_from(["excepthook", "threading", "capture", "sentry"]),
    handled=st.booleans(),
    occurred_at=aware,
    app=st.none() | texts,
    release=st.none() | texts,
    environment=st.dictionaries(texts, json_values, max_size=4),
    breadcrumbs=st.lists(breadcrumbs, max_size=4),
    tags=st.dictionaries(texts, texts, max_size=3),
    context=st.dictionaries(texts, json_values, max_size=4),
    truncated=st.booleans(),
)


def _report(
    *,
    message: str = "bad basket",
    title: str = "ValueError: bad basket",
    locals: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    context: dict[str, Any] | None = None,
    argv: list[str] | None = None,
) -> CrashReport:
    frame = Frame("/srv/shop/basket.py", 12, "checkout", "shop.basket", "pay()", True, locals)
    return CrashReport(
        exceptions=(ExceptionInfo("builtins.ValueError", message, (frame,), "raised", 0),),
        title=title,
        fingerprint="0" * 32,
        fingerprint_version=1,
        mechanism="sentry",
        handled=False,
        occurred_at=NOW,
        app="shop",
        release="1.0",
        environment={"argv": argv or []},
        breadcrumbs=(),
        tags=tags or {},
        context=context or {},
    )


class TestModel:
    @given(reports)
    def test_to_dict_round_trips(self, report: CrashReport) -> None:
        """``from_dict`` of ``to_dict()``, and of ``to_json()`` parsed, gives the report back."""
        assert CrashReport.from_dict(report.to_dict()) == report
        assert CrashReport.from_dict(json.loads(report.to_json())) == report

    @given(reports)
    def test_describe_never_fails(self, report: CrashReport) -> None:
        """Any report can be described."""
        assert report.title in report.describe()

    def test_from_dict_refuses_other_data(self) -> None:
        """Data that is not a report raises ValidationError, not KeyError."""
        with pytest.raises(ValidationError, match="not a crash report"):
            CrashReport.from_dict({"exceptions": []})

    def test_text_is_made_safe_for_json_and_databases(self) -> None:
        """Lone surrogates and NUL characters become U+FFFD."""
        frame = Frame("a\udcffb.py", 1, "f\x00", "m", None, False)
        assert (frame.filename, frame.function) == ("a\ufffdb.py", "f\ufffd")

    def test_json_data_is_frozen(self) -> None:
        """JSON data is made immutable; odd values become JSON values."""
        data: dict[str, Any] = {
            "b": [1, {2}],
            "a": float("nan"),
            3: datetime(2026, 1, 1, tzinfo=UTC),
        }
        data["self"] = data
        frozen = freeze_json(data)
        assert frozen == {
            "3": "2026-01-01T00:00:00+00:00",
            "a": "nan",
            "b": (1, (2,)),
            "self": "[cycle]",
        }
        assert isinstance(frozen, types.MappingProxyType)
        assert list(frozen) == ["3", "a", "b", "self"]

    def test_datetimes_become_utc(self) -> None:
        """Breadcrumb times are stored in UTC, naive ones taken as local time."""
        eastern = datetime(2026, 3, 2, 4, 30, tzinfo=timezone(timedelta(hours=-5)))
        crumb = Breadcrumb(at=eastern, category="c", level="info", message="m")
        assert crumb.at == NOW
        assert crumb.at.tzinfo is UTC
        naive = datetime(2026, 3, 2, 9, 30)
        assert Breadcrumb(at=naive, category="c", level="info", message="m").at.tzinfo is UTC

    def test_to_json_is_compact_and_sorted(self) -> None:
        """``to_json()`` is compact UTF-8 with sorted keys."""
        encoded = _report(message="café").to_json()
        assert encoded.startswith(b'{"app":"shop","breadcrumbs":[]')
        assert "café".encode() in encoded

    def test_describe_reads_like_a_traceback(self, load: Loader, tmp_path: Path) -> None:
        """The description has the chain oldest first, in-app markers and every section."""
        exc = caught(fail_with_cause)
        crumb = Breadcrumb(
            at=NOW, category="ui", level="info", message="opened basket", data={"id": 7}
        )
        report = build_report(
            exc,
            options=CaptureOptions(project_root=str(HERE), app="shop", release="2.0"),
            mechanism="excepthook",
            handled=False,
            breadcrumbs=[crumb],
            tags={"tier": "gold"},
            context={"order": {"id": 7}},
            now=NOW,
        )
        text = report.describe()
        inner = text.index("ValueError: inner")
        separator = text.index(
            "The above exception was the direct cause of the following exception:"
        )
        outer = text.index("KeyError: 'outer'", separator)
        assert inner < separator < outer
        assert f'File "{__file__}", line' in text
        assert "in fail [in app]" in text
        assert "    raise ValueError(message)" in text
        assert "Unhandled crash, captured by excepthook at 2026-03-02 09:30:00 UTC." in text
        assert "Application: shop 2.0" in text
        for section in ("\nEnvironment\n", "\nTags\n  tier: gold", '\nContext\n  order: {"id": 7}'):
            assert section in text
        assert '2026-03-02 09:30:00.000 info     ui: opened basket {"id": 7}' in text

    def test_describe_shows_groups_repeats_and_omissions(self) -> None:
        """Group members are indented under their group; collapsed and omitted frames are named."""
        group_text = report_of(caught(fail_group)).describe()
        assert "Exception Group Traceback (most recent call last):" in group_text
        assert "+---------------- 2 of 3 ----------------" in group_text
        assert "| | TypeError: b" in group_text
        deep = report_of(caught(lambda: recurse(300)), max_frames=3).describe()
        assert "[Previous line repeated 299 more times]" in deep
        assert "[… 1 frame omitted …]" in deep


# -- size ---------------------------------------------------------------------------


def _nest(depth: int, message: str) -> None:
    if depth:
        _nest(depth - 1, message + "")
    else:
        raise ValueError(message)


class TestSizeLimit:
    @settings(max_examples=40)
    @given(
        message=st.integers(0, 300_000),
        depth=st.integers(0, 150),
        crumbs=st.integers(0, 150),
        crumb_size=st.integers(0, 5_000),
        context=st.integers(0, 200_000),
        chained=st.integers(0, 60),
        limit=st.integers(MIN_REPORT_BYTES, 400_000),
    )
    def test_built_reports_fit_their_limit(
        self,
        message: int,
        depth: int,
        crumbs: int,
        crumb_size: int,
        context: int,
        chained: int,
        limit: int,
    ) -> None:
        """Whatever is captured, ``to_json()`` stays within ``max_report_bytes``."""
        exc = caught(lambda: _nest(depth, "m" * message))
        for i in range(chained):
            newer = RuntimeError("c" * (message // 10) + str(i))
            newer.__context__ = exc
            exc = newer
        report = build_report(
            exc,
            options=CaptureOptions(
                max_report_bytes=limit,
                include_locals=True,
                max_message=10**6,
                project_root=str(HERE),
            ),
            mechanism="capture",
            handled=True,
            breadcrumbs=[
                Breadcrumb(at=NOW, category="log", level="info", message="b" * crumb_size)
                for _ in range(crumbs)
            ],
            context={"blob": "k" * context},
        )
        encoded = report.to_json()
        assert len(encoded) <= limit
        assert CrashReport.from_dict(json.loads(encoded)) == report
        assert (
            report.fingerprint
            == build_report(
                exc,
                options=CaptureOptions(project_root=str(HERE)),
                mechanism="capture",
                handled=True,
            ).fingerprint
        )

    @settings(max_examples=60)
    @given(reports, st.integers(MIN_REPORT_BYTES, 20_000), st.integers(0, 50_000))
    def test_any_report_can_be_made_to_fit(
        self, report: CrashReport, limit: int, grow: int
    ) -> None:
        """``limit_report_size`` makes any report fit, marking it truncated when it had to cut."""
        report = attrs.evolve(
            report,
            context={**report.context, "grow": "g" * grow},
            exceptions=[attrs.evolve(e, message=e.message * 50) for e in report.exceptions],
        )
        limited = limit_report_size(report, limit)
        assert len(limited.to_json()) <= limit
        if len(report.to_json()) <= limit:
            assert limited == report
        else:
            assert limited.truncated
            assert limited.fingerprint == report.fingerprint
            limited.describe()

    def test_details_go_in_the_documented_order(self) -> None:
        """Locals go first, then the oldest breadcrumbs, then middle frames, then message text."""

        def work() -> None:
            blob = "L" * 400  # noqa: F841
            recurse_pair(60)

        crumbs = [
            Breadcrumb(at=NOW, category="log", level="info", message=f"{i} " + "b" * 1000)
            for i in range(40)
        ]
        exc = caught(work)
        full = build_report(
            exc,
            options=CaptureOptions(include_locals=True, project_root=str(HERE)),
            mechanism="capture",
            handled=True,
            breadcrumbs=crumbs,
        )
        size = len(full.to_json())

        def limited(limit: int) -> CrashReport:
            return limit_report_size(full, limit)

        no_locals = limited(size - 10)
        assert all(f.locals is None for f in no_locals.exceptions[0].frames)
        assert len(no_locals.breadcrumbs) == 40
        fewer_crumbs = limited(size - 10_000)
        assert fewer_crumbs.breadcrumbs[0].message.startswith("[truncated: ")
        assert fewer_crumbs.breadcrumbs[-1].message.startswith("39 ")
        assert len(fewer_crumbs.exceptions[0].frames) == len(full.exceptions[0].frames)
        no_crumbs = limited(8_000)
        frames = no_crumbs.exceptions[0].frames
        assert len(frames) < len(full.exceptions[0].frames)
        assert frames[0] == attrs.evolve(full.exceptions[0].frames[0], locals=None)
        assert frames[-1] == attrs.evolve(full.exceptions[0].frames[-1], locals=None)
        dropped = len(full.exceptions[0].frames) - len(frames)
        assert no_crumbs.exceptions[0].omitted_frames == full.exceptions[0].omitted_frames + dropped
        assert no_crumbs.truncated
        assert not full.truncated


def recurse_pair(depth: int) -> None:
    if depth == 0:
        raise ValueError("deep")
    _pair(depth)


def _pair(depth: int) -> None:
    recurse_pair(depth - 1)
