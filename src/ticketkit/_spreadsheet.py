"""CSV that is safe to open in a spreadsheet.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read as a formula by Excel, LibreOffice and Google Sheets, so a
ticket titled ``=HYPERLINK("http://evil", "click")`` would run when a manager
opens an export. :func:`safe_cell` neutralises such text by prefixing a single
quote (OWASP's advice for CSV injection); numbers are left as numbers, so
``-3`` stays a number while the *text* ``"-3"`` is neutralised.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import TextIO

__all__ = ["FORMULA_STARTS", "safe_cell", "write_csv"]

#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str | int | float:
    """``value`` as a CSV cell that no spreadsheet reads as a formula.

    ``None`` is the empty cell; ``bool`` is ``true``/``false``; ``int`` and
    ``float`` stay numbers; any other value is its ``str``, with a ``'``
    in front when it starts with one of :data:`FORMULA_STARTS`.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write_csv(file: TextIO, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> int:
    """Write a header of ``columns`` and one line per row, every cell through :func:`safe_cell`.

    A row's missing columns are empty cells; its other keys are ignored. The
    header is neutralised too. Returns the number of rows written.
    """
    writer = csv.writer(file, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in columns])
    count = 0
    for row in rows:
        writer.writerow([safe_cell(row.get(name)) for name in columns])
        count += 1
    return count
