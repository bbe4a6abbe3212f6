"""What the ``ticketkit`` command's tests share: running it, and checking results."""

from __future__ import annotations

import json
from typing import Any, Protocol

from click.testing import Result

#: The environment every run starts from: no URL, no config file, a known actor.
CLEAN_ENV: dict[str, str | None] = {
    "TICKETKIT_URL": None,
    "TICKETKIT_CONFIG": None,
    "TICKETKIT_ACTOR": "alice",
}


class Run(Protocol):
    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None
    ) -> Result: ...


def ok(result: Result) -> Result:
    """The result, after checking that the command succeeded."""
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result


def refused(result: Result, code: int, *needles: str) -> str:
    """Exit ``code``, nothing on stdout, one ``Error: …`` line on stderr, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def as_json(result: Result) -> Any:
    """stdout of a ``--json`` run, parsed; it must be JSON and nothing else."""
    ok(result)
    return json.loads(result.stdout)
