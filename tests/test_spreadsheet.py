"""CSV cells are neutralised against formula injection (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit._spreadsheet import FORMULA_STARTS, safe_cell, write_csv


class TestSafeCell:
    @pytest.mark.parametrize(
        "text",
        [
            '=HYPERLINK("http://evil.example","click")',
            "+1+1",
            "-2+3",
            "@SUM(A1:A2)",
            "\t=1",
            "\r=1",
            "=cmd|' /C calc'!A0",
        ],
    )
    def test_formula_text_is_prefixed_with_a_quote(self, text: str) -> None:
        """Text a spreadsheet would evaluate starts with ' and keeps the rest."""
        assert safe_cell(text) == "'" + text

    @pytest.mark.parametrize("text", ["Printer jams", " =1", "a=b", "", "'=already"])
    def test_other_text_is_unchanged(self, text: str) -> None:
        """Only the first character matters; plain text passes through."""
        assert safe_cell(text) == text

    def test_numbers_stay_numbers(self) -> None:
        """A negative number is data, not a formula; the text "-3" is neutralised."""
        assert safe_cell(-3) == -3
        assert safe_cell(2.5) == 2.5
        assert safe_cell("-3") == "'-3"

    def test_none_and_booleans(self) -> None:
        """None is an empty cell; booleans are true/false."""
        assert (safe_cell(None), safe_cell(True), safe_cell(False)) == ("", "true", "false")

    @given(st.text())
    def test_no_cell_starts_a_formula(self, text: str) -> None:
        """Whatever the text, the cell never starts with a formula character."""
        cell = safe_cell(text)
        assert isinstance(cell, str)
        assert not cell.startswith(FORMULA_STARTS)
        assert cell.removeprefix("'") == text or cell == text


class TestWriteCsv:
    def test_round_trip_through_the_csv_reader(self) -> None:
        """Rows come back cell for cell, formula text prefixed, missing columns empty."""
        out = io.StringIO()
        rows = [{"key": "HD-1", "title": "=1+1", "hours": 1.5}, {"key": "HD-2"}]
        assert write_csv(out, ["key", "title", "hours"], rows) == 2
        read = list(csv.reader(io.StringIO(out.getvalue())))
        assert read == [["key", "title", "hours"], ["HD-1", "'=1+1", "1.5"], ["HD-2", "", ""]]

    def test_newlines_inside_a_cell_are_quoted(self) -> None:
        """A multi-line title stays one cell."""
        out = io.StringIO()
        write_csv(out, ["title"], [{"title": "line one\nline two"}])
        assert list(csv.reader(io.StringIO(out.getvalue()))) == [
            ["title"],
            ["line one\nline two"],
        ]
