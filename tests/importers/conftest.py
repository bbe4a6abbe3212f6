"""Real Trac and Roundup, installed from PyPI into a throwaway virtual environment.

The importer tests build their source data with the real programs, so they
check ticketkit against what Trac and Roundup actually write. The environment
is made once per pin set and Python version under
``$TICKETKIT_TEST_VENVS`` (default ``~/.cache/ticketkit-test-venvs``) and reused
by later runs. Without network access to PyPI the tests fail (they do not skip).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: What the source data is built with; both install and run on Python 3.11.
PINS = ("Trac==1.6", "roundup==2.4.0")
HERE = Path(__file__).resolve().parent


def _root() -> Path:
    default = Path.home() / ".cache" / "ticketkit-test-venvs"
    return Path(os.environ.get("TICKETKIT_TEST_VENVS", default))


def run(*command: str | Path, cwd: Path | None = None) -> str:
    """Run ``command``; fail the test with its output if it fails."""
    done = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited with {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}",
            pytrace=False,
        )
    return done.stdout


@pytest.fixture(scope="session")
def source_python() -> Path:
    """The Python of a virtual environment with Trac and Roundup installed."""
    key = hashlib.sha256(repr((sys.version_info[:2], PINS)).encode()).hexdigest()[:12]
    root = _root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / f"trac-roundup-py{sys.version_info[0]}{sys.version_info[1]}-{key}"
    python = venv / "bin" / "python"
    marker = venv / "installed"
    with open(root / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers wait for the first
        if marker.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        run(sys.executable, "-m", "venv", venv)
        done = subprocess.run(
            [python, "-m", "pip", "install", "--disable-pip-version-check", "-q", *PINS],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"could not install {', '.join(PINS)} from PyPI into {venv}: these tests "
                "build their data with the real programs and need network access to PyPI.\n"
                f"{done.stderr[-3000:]}",
                pytrace=False,
            )
        marker.write_text(" ".join(PINS), encoding="utf-8")
    return python
