"""Bulk import of tickets from other systems.

Build :class:`ImportRecord` objects yourself, or read them lazily from a file
with :func:`read_json` (JSON Lines) or :func:`read_csv`, and hand them to
``Tracker.import_tickets``. See ``docs/import.md`` for the file formats.
"""

from __future__ import annotations

from ._csv import read_csv
from ._json import read_json
from ._records import (
    HISTORY_FIELDS,
    ImportedChange,
    ImportedComment,
    ImportRecord,
    ImportRecordError,
    ImportReport,
    Progress,
)

__all__ = [
    "HISTORY_FIELDS",
    "ImportRecord",
    "ImportRecordError",
    "ImportReport",
    "ImportedChange",
    "ImportedComment",
    "Progress",
    "read_csv",
    "read_json",
]
