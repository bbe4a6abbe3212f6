"""Rich on a terminal (or with ``--color``), plain text in a pipe, JSON with ``--json``."""

from __future__ import annotations

import pytest

from cli.support import Run, as_json, ok


class TestRichOutput:
    def test_color_gives_tables(self, desk: Run) -> None:
        """``ticketkit --color list`` draws a Rich table with colours even into a pipe."""
        out = ok(desk("--color", "list")).stdout
        assert "\x1b[" in out
        assert "┃" in out or "│" in out
        assert "Printer jams" in out

    @pytest.mark.parametrize("command", [["list"], ["show", "HD-1"], ["search", "printer"]])
    def test_no_escape_codes_in_a_pipe(self, desk: Run, command: list[str]) -> None:
        """Without a terminal (and with ``--no-color``) no ANSI escape code is printed."""
        assert "\x1b" not in ok(desk(*command)).stdout
        assert "\x1b" not in ok(desk("--no-color", *command)).stdout

    def test_show_with_color(self, desk: Run) -> None:
        """``--color show`` prints the fields, comments (internal marked) and history."""
        ok(desk("comment", "HD-1", "psst", "--internal"))
        out = ok(desk("--color", "show", "HD-1")).stdout
        for text in ("HD-1", "Printer jams", "Paper tray 3", "internal", "psst", "history"):
            assert text in out

    def test_markup_in_titles_is_text(self, desk: Run) -> None:
        """A title holding Rich markup is printed as written, never interpreted."""
        ok(desk("open", "[bold]x[/bold]", "-d", "[red]y[/red]"))
        listed = ok(desk("--color", "list")).stdout
        assert "[bold]x[/bold]" in listed
        shown = ok(desk("--color", "show", "HD-3")).stdout
        assert "[bold]x[/bold]" in shown
        assert "[red]y[/red]" in shown

    def test_json_never_has_markup(self, desk: Run) -> None:
        """``--json`` prints JSON only, even with ``--color``."""
        data = as_json(desk("--color", "list", "--json"))
        assert [t["key"] for t in data["items"]] == ["HD-1", "HD-2"]


class TestProgress:
    def test_progress_only_for_a_terminal(self, desk: Run) -> None:
        """Into a pipe, an import shows no progress bar: stderr stays empty."""
        ok(desk("export", "-o", "out.jsonl"))
        result = ok(desk("import", "out.jsonl"))
        assert result.stderr == ""

    def test_progress_display(self, capsys: pytest.CaptureFixture[str]) -> None:
        """On a terminal the import's progress callback drives a Rich display on stderr."""
        from ticketkit._cli_transfer import _progress

        with _progress(False) as none:
            assert none is None
        with _progress(True) as update:
            assert update is not None
            update(500, None)
            update(1000, 1000)
        assert capsys.readouterr().out == ""
