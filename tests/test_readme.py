"""Every ```python block of the README runs, in order, as one session."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_readme_code_blocks_run(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's Python snippets run as one session and print the conflict message."""
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "HD-1 is at version 4, not 1" in out
    assert "status_changed" in out


def test_readme_commands_match_ci() -> None:
    """.ci/run runs exactly the test command the README gives."""
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"^```sh\n(.*?)\n```", text, re.S | re.M)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert f'run "{test_command}"' in ci
