"""The environment recorded with a crash: useful, private by default, cheap after the first call."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ticketkit.crash import _environment
from ticketkit.crash._capture import CaptureOptions
from ticketkit.crash._environment import (
    MAX_DISTRIBUTIONS,
    collect_environment,
    hash_identifier,
    redact_home,
)

SECRET = "env-Secret-7Hq2Lp"


@pytest.fixture
def options() -> CaptureOptions:
    return CaptureOptions(app="shop", release="2.1.0")


class TestContents:
    def test_platform_interpreter_and_process(self, options: CaptureOptions) -> None:
        """OS, Python, process and application are recorded."""
        environment = collect_environment(options)
        assert environment["app"] == "shop"
        assert environment["release"] == "2.1.0"
        assert environment["pid"] == os.getpid()
        assert environment["thread"] == threading.current_thread().name
        os_info = environment["os"]
        assert isinstance(os_info, dict)
        assert os_info["name"] == platform.system()
        assert os_info["machine"] == platform.machine()
        python = environment["python"]
        assert isinstance(python, dict)
        assert python["version"] == platform.python_version()
        assert python["implementation"] == platform.python_implementation()
        assert isinstance(python["executable"], str)
        json.dumps(environment)

    def test_installed_distributions_are_listed(self, options: CaptureOptions) -> None:
        """Installed distributions map their normalised names to versions, sorted."""
        from importlib.metadata import version

        distributions = collect_environment(options)["distributions"]
        assert isinstance(distributions, dict)
        assert distributions["attrs"] == version("attrs")
        assert distributions["ticketkit"] == version("ticketkit")
        assert list(distributions) == sorted(distributions)
        assert len(distributions) <= MAX_DISTRIBUTIONS

    def test_thread_name_can_be_given(self, options: CaptureOptions) -> None:
        """A hook reporting for another thread names that thread."""
        assert collect_environment(options, thread_name="worker-2")["thread"] == "worker-2"

    def test_thread_is_the_calling_thread(self, options: CaptureOptions) -> None:
        """Without a name the current thread is recorded."""
        seen: list[object] = []
        thread = threading.Thread(
            target=lambda: seen.append(collect_environment(options)["thread"]), name="mailer"
        )
        thread.start()
        thread.join()
        assert seen == ["mailer"]


class TestPrivacy:
    def test_environment_variables_are_never_read(
        self, options: CaptureOptions, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A value only present in ``os.environ`` appears nowhere."""
        monkeypatch.setenv("SHOP_SETTING", SECRET)
        assert SECRET not in json.dumps(collect_environment(options))

    def test_host_and_user_are_hashed_by_default(self, options: CaptureOptions) -> None:
        """Host and user names are ``sha256:`` plus 16 hex digits unless allowed."""
        environment = collect_environment(options)
        assert environment["hostname"] == hash_identifier(platform.node())
        hostname = environment["hostname"]
        assert isinstance(hostname, str)
        assert hostname.startswith("sha256:")
        assert len(hostname) == len("sha256:") + 16
        allowed = collect_environment(CaptureOptions(allow_hostname=True, allow_username=True))
        assert allowed["hostname"] == platform.node()
        user = environment["user"]
        assert user is None or (isinstance(user, str) and user.startswith("sha256:"))
        if allowed["user"] is not None:
            assert user == hash_identifier(str(allowed["user"]))

    def test_argv_is_scrubbed(
        self, options: CaptureOptions, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Secrets in ``sys.argv`` are scrubbed."""
        monkeypatch.setattr(
            sys, "argv", ["shop", "--api-key", SECRET, f"--db=mysql://u:{SECRET}@h/db"]
        )
        assert collect_environment(options)["argv"] == [
            "shop",
            "--api-key",
            "[scrubbed]",
            "--db=mysql://[scrubbed]@h/db",
        ]

    def test_home_directory_is_written_as_tilde(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """Paths under the home directory start with ``~`` unless user names are allowed."""
        home = str(Path.home())
        monkeypatch.setattr(sys, "argv", [f"{home}/shop/run.py", f"--out={home}/x"])
        argv = collect_environment(CaptureOptions())["argv"]
        assert argv == ["~/shop/run.py", "--out=~/x"]
        allowed = collect_environment(CaptureOptions(allow_username=True))["argv"]
        assert allowed == [f"{home}/shop/run.py", f"--out={home}/x"]

    def test_redact_home_only_replaces_whole_directories(self) -> None:
        """A sibling directory whose name starts like the home directory is left alone."""
        home = str(Path.home())
        assert redact_home(f"open {home}/a.txt") == "open ~/a.txt"
        assert redact_home(f"{home}2/a.txt") == f"{home}2/a.txt"
        assert redact_home("") == ""


class TestCost:
    def test_what_cannot_change_is_collected_once(
        self, options: CaptureOptions, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Distributions and platform are read once per process; pid and thread each time."""
        collect_environment(options)
        calls: list[int] = []
        monkeypatch.setattr(_environment, "_distributions", lambda: calls.append(1) or {})
        for _ in range(3):
            environment = collect_environment(options)
        assert calls == []
        assert environment["pid"] == os.getpid()

    def test_a_forked_child_reports_its_own_pid(self) -> None:
        """Cached facts survive a fork; the process id is the child's."""
        if not hasattr(os, "fork"):
            pytest.skip("no fork on this platform")
        code = (
            "import json, os\n"
            "from ticketkit.crash._capture import CaptureOptions\n"
            "from ticketkit.crash._environment import collect_environment\n"
            "options = CaptureOptions()\n"
            "parent = collect_environment(options)\n"
            "read, write = os.pipe()\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    os.write(write, json.dumps(collect_environment(options)).encode())\n"
            "    os._exit(0)\n"
            "os.close(write)\n"
            "child = json.loads(os.fdopen(read).read())\n"
            "os.waitpid(pid, 0)\n"
            "same = child == {**parent, 'pid': pid}\n"
            "print(json.dumps([parent['pid'], pid, child['pid'], same]))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        parent, forked, child, same_otherwise = json.loads(done.stdout)
        assert child == forked != parent
        assert same_otherwise

    def test_importing_loads_no_optional_dependency(self) -> None:
        """Building reports imports neither SQLAlchemy nor sentry-sdk."""
        code = (
            "import sys\n"
            "from ticketkit.crash._capture import CaptureOptions, build_report\n"
            "build_report(ValueError('x'), options=CaptureOptions(), mechanism='capture',"
            " handled=True).describe()\n"
            "print([m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sentry_sdk')])\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[]"


class TestDistributions:
    def test_metadata_directories_are_read(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """dist-info and egg-info directory names give versions; the first on sys.path wins."""
        first, second = tmp_path / "first", tmp_path / "second"
        for directory, names in (
            (first, ["Shop_Utils-1.2.0.dist-info", "zope.interface-6.0.dist-info", "x.txt"]),
            (second, ["shop_utils-0.9.dist-info", "legacy-3.1-py3.11.egg-info", "bare.egg-info"]),
        ):
            directory.mkdir()
            for name in names:
                (directory / name).mkdir()
        (second / "bare.egg-info" / "PKG-INFO").write_text("Name: bare\nVersion: 0.4\n\nbody")
        monkeypatch.setattr(sys, "path", ["", str(first), str(second), str(tmp_path / "missing")])
        assert _environment._distributions() == {
            "shop-utils": "1.2.0",
            "zope-interface": "6.0",
            "legacy": "3.1",
            "bare": "0.4",
        }

    def test_the_list_is_capped(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Beyond ``MAX_DISTRIBUTIONS`` the rest are counted, not listed."""
        for index in range(MAX_DISTRIBUTIONS + 7):
            (tmp_path / f"pkg{index:04d}-1.0.dist-info").mkdir()
        monkeypatch.setattr(sys, "path", [str(tmp_path)])
        _environment._static.cache_clear()
        try:
            environment = collect_environment(CaptureOptions())
        finally:
            _environment._static.cache_clear()
        distributions = environment["distributions"]
        assert isinstance(distributions, dict)
        assert len(distributions) == MAX_DISTRIBUTIONS
        assert list(distributions)[-1] == f"pkg{MAX_DISTRIBUTIONS - 1:04d}"
        assert environment["distributions_omitted"] == 7
