"""Importing ticketkit is cheap and has no side effects; its public names are in order."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ticketkit

#: Modules that ``import ticketkit`` must leave alone: optional extras, the
#: converter (imported on demand) and test tools.
HEAVY = (
    "sqlalchemy",
    "sentry_sdk",
    "ticketkit.serde",
    "cattrs",
    "hypothesis",
    "pytest",
    "matplotlib",
    "ticketkit.reports",
)

PROBE = """
import json, sys, threading
threads_before = {t.ident for t in threading.enumerate()}
import ticketkit
{extra}
loaded = sorted(
    name for name in sys.modules
    if any(name == heavy or name.startswith(heavy + ".") for heavy in HEAVY)
)
new_threads = [t.name for t in threading.enumerate() if t.ident not in threads_before]
print(json.dumps({"loaded": loaded, "threads": new_threads, "count": threading.active_count()}))
"""


def _run_probe(extra: str = "") -> dict[str, object]:
    """What a fresh interpreter saw after ``import ticketkit`` (and ``extra``)."""
    code = f"HEAVY = {HEAVY!r}\n" + PROBE.replace("{extra}", extra)
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def fresh_import() -> dict[str, object]:
    return _run_probe()


def test_probe_sees_what_is_imported() -> None:
    """The probe notices the converter and cattrs once they are imported on purpose."""
    loaded = _run_probe("import ticketkit.serde")["loaded"]
    assert isinstance(loaded, list)
    assert {"ticketkit.serde", "cattrs"} <= set(loaded)


def test_import_loads_no_optional_or_test_dependency(fresh_import: dict[str, object]) -> None:
    """``import ticketkit`` imports neither SQLAlchemy, sentry-sdk, the converter nor test tools."""
    assert fresh_import["loaded"] == []


def test_import_starts_no_thread(fresh_import: dict[str, object]) -> None:
    """``import ticketkit`` leaves the interpreter with only its main thread."""
    assert fresh_import["threads"] == []
    assert fresh_import["count"] == 1


def _isort_style(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then everything else, each alphabetical."""
    if name.isupper():
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


def test_all_is_sorted_and_unique() -> None:
    """``ticketkit.__all__`` is sorted the way ruff sorts it and names each export once."""
    assert ticketkit.__all__ == sorted(ticketkit.__all__, key=_isort_style)
    assert len(set(ticketkit.__all__)) == len(ticketkit.__all__)


def test_every_name_in_all_exists() -> None:
    """Every name in ``ticketkit.__all__`` can be imported from the package."""
    missing = [name for name in ticketkit.__all__ if not hasattr(ticketkit, name)]
    assert missing == []


def test_names_load_on_first_use_from_the_module_that_defines_them() -> None:
    """``import ticketkit`` loads only the errors; each other name loads its module when read."""
    probe = (
        "import sys, json, ticketkit\n"
        "before = 'ticketkit._tracker' in sys.modules\n"
        "tracker_cls = ticketkit.Tracker\n"
        "after = 'ticketkit._tracker' in sys.modules\n"
        "metadata = 'importlib.metadata' in sys.modules\n"
        "print(json.dumps([before, after, tracker_cls.__module__, metadata]))"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, True, "ticketkit._tracker", False]


def test_version_and_unknown_names() -> None:
    """``__version__`` is read when asked for; an unknown name is an AttributeError."""
    assert isinstance(ticketkit.__version__, str)
    assert ticketkit.__version__
    with pytest.raises(AttributeError, match="no attribute 'Trackr'"):
        ticketkit.Trackr  # noqa: B018
    assert set(ticketkit.__all__) <= set(dir(ticketkit))
