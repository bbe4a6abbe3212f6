"""The ``console`` examples of docs/cli.md run, in order, and print what the page shows."""

from __future__ import annotations

import shlex
from pathlib import Path

from cli.support import Run

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def sessions(text: str) -> list[tuple[str, list[str]]]:
    """``(command, expected lines)`` for each ``$ ticketkit …`` line of the console blocks."""
    found: list[tuple[str, list[str]]] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```console"
            continue
        if not inside:
            continue
        if line.startswith("$ "):
            found.append((line[2:], []))
        else:
            found[-1][1].append(line)
    return found


def test_console_examples_print_what_the_page_shows(run: Run) -> None:
    """Each command's stdout (stderr when it fails) is the text under it on the page."""
    steps = sessions(PAGE.read_text(encoding="utf-8"))
    assert len(steps) >= 10
    for command, expected in steps:
        words = shlex.split(command)
        assert words[0] == "ticketkit", command
        result = run(*words[1:])
        shown = result.stdout if result.exit_code == 0 else result.stderr
        assert shown.splitlines() == expected, command
