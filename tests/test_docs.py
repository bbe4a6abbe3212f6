"""Every ```python block in docs/ runs, and the output the docs show is the real output.

The ```python blocks of one page run in order in one namespace, so a page
reads as one session. Blocks that are not meant to run are ```text, ```toml
or ```pycon. A fenced block right after the comment line ``<!-- output -->``
is the output of the ```python block before it and must match what that
block printed.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))
OUTPUT_MARK = "<!-- output -->"
_FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)")
_LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


@attrs.frozen
class Block:
    lang: str
    line: int  # of the first line of code, 1-based
    code: str
    is_output: bool


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown page, in order."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, lang = match.groups()
        before = [line for line in lines[:i] if line.strip()]
        is_output = bool(before) and before[-1].strip() == OUTPUT_MARK
        start = i + 1
        i = start
        while i < len(lines) and not lines[i].startswith(fence):
            i += 1
        if i == len(lines):
            raise AssertionError(f"line {start}: the ``` block is never closed")
        found.append(Block(lang, start + 1, "\n".join(lines[start:i]) + "\n", is_output))
        i += 1
    return found


def normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each page's Python runs top to bottom; shown output matches what it printed."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    printed: str | None = None
    for block in blocks(page.read_text(encoding="utf-8")):
        where = f"{page.name}, block at line {block.line}"
        if block.is_output:
            assert printed is not None, f"{where}: output shown with no python block before it"
            assert normalise(printed) == normalise(block.code), f"{where}: output differs"
            printed = None
            continue
        if block.lang != "python":
            continue
        # Pad with blank lines so tracebacks give the line number in the page.
        source = "\n" * (block.line - 1) + block.code
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(source, str(page), "exec"), namespace)
        printed = buffer.getvalue()


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    """Links from one page to another file of the project point at a file that exists."""
    for target, _ in _LINK.findall(page.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_the_user_guide_is_complete() -> None:
    """The pages the index promises exist."""
    names = {p.name for p in PAGES}
    assert {"index.md", "tutorial.md", "workflows.md", "api.md", "storage.md"} <= names
    assert {"testing.md", "crash-reports.md"} <= names
    assert {"sla.md", "automation.md", "intake.md"} <= names


@pytest.mark.parametrize(
    "module", ["ticketkit.crash", "ticketkit.crash.sentry", "ticketkit.crash.web"]
)
def test_crash_reference_names_every_public_name(module: str) -> None:
    """Each name in a crash module's ``__all__`` is in crash-reports.md's reference."""
    page = (DOCS / "crash-reports.md").read_text(encoding="utf-8")
    reference = page[page.index("## Reference") :]
    documented = {name.rsplit(".", 1)[-1] for name in re.findall(r"([A-Za-z_][\w.]*)", reference)}
    missing = sorted(set(importlib.import_module(module).__all__) - documented)
    assert not missing, f"crash-reports.md does not describe {module}: {', '.join(missing)}"


@pytest.mark.parametrize(
    "module",
    [
        "ticketkit",
        "ticketkit.access",
        "ticketkit.storage",
        "ticketkit.storage.sql",
        "ticketkit.importers",
        "ticketkit.testing",
        "ticketkit.serde",
        "ticketkit.sla",
        "ticketkit.rules",
        "ticketkit.notify",
        "ticketkit.worker",
        "ticketkit.intake",
        "ticketkit.intake.forms",
        "ticketkit.intake.email",
        "ticketkit.kb",
        "ticketkit.reports",
        "ticketkit.surveys",
    ],
)
def test_api_reference_names_every_public_name(module: str) -> None:
    """Each name in a public module's ``__all__`` appears, in backticks, in api.md."""
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Za-z_][\w.]*)", api))
    documented |= {name.rsplit(".", 1)[-1] for name in documented}
    missing = sorted(set(importlib.import_module(module).__all__) - documented)
    assert not missing, f"api.md does not describe {module}: {', '.join(missing)}"


def test_testing_page_store_passes_the_contract(tmp_path: Path) -> None:
    """The store that testing.md writes passes the whole contract suite under pytest."""
    page = (DOCS / "testing.md").read_text(encoding="utf-8")
    code = [b.code for b in blocks(page) if b.lang == "python" and not b.is_output]
    (tmp_path / "test_page.py").write_text("\n".join(code), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_page.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    from ticketkit.testing import StoreContract

    contract_tests = [name for name in dir(StoreContract) if name.startswith("test_")]
    passed = re.search(r"\b(\d+) passed\b", result.stdout)
    assert passed is not None, result.stdout[-500:]
    assert int(passed.group(1)) > len(contract_tests), "not every contract test ran"


class TestBlockParser:
    def test_output_mark(self) -> None:
        """A block after the output comment is output; other blocks keep their language."""
        text = "```python\nprint(1)\n```\n\n<!-- output -->\n```text\n1\n```\n```toml\na=1\n```\n"
        assert [(b.lang, b.is_output, b.line) for b in blocks(text)] == [
            ("python", False, 2),
            ("text", True, 7),
            ("toml", False, 10),
        ]
