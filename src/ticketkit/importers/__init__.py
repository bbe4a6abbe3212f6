"""Bulk import of tickets from other systems.

Build :class:`ImportRecord` objects yourself, or read them lazily from a file
with :func:`read_json` (JSON Lines), :func:`read_csv` or :func:`read_trac` (a
Trac database), and hand them to ``Tracker.import_tickets``; :func:`plan_import`
is the dry run. See ``docs/import.md`` for the formats and mappings.
"""

from __future__ import annotations

from ._csv import read_csv
from ._dryrun import ImportPlan, RecordIssue, plan_import
from ._json import read_json
from ._records import (
    HISTORY_FIELDS,
    ImportedChange,
    ImportedComment,
    ImportRecord,
    ImportRecordError,
    ImportReport,
    NotImported,
    Progress,
)
from ._trac import TRAC_PRIORITIES, TRAC_STATUSES, TracReader, read_trac

__all__ = [
    "HISTORY_FIELDS",
    "TRAC_PRIORITIES",
    "TRAC_STATUSES",
    "ImportPlan",
    "ImportRecord",
    "ImportRecordError",
    "ImportReport",
    "ImportedChange",
    "ImportedComment",
    "NotImported",
    "Progress",
    "RecordIssue",
    "TracReader",
    "plan_import",
    "read_csv",
    "read_json",
    "read_trac",
]
