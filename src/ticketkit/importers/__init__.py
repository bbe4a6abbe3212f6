"""Bulk import of tickets from other systems.

Build :class:`ImportRecord` objects yourself, or read them lazily with
:func:`read_json` (JSON Lines), :func:`read_csv`, :func:`read_trac` (a Trac
database) or :func:`read_roundup` (a Roundup export), and hand them to
``Tracker.import_tickets``; :func:`plan_import` is the dry run. See
``docs/import.md`` for the formats and mappings.
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
from ._roundup import ROUNDUP_PRIORITIES, ROUNDUP_STATUSES, RoundupReader, read_roundup
from ._trac import TRAC_PRIORITIES, TRAC_STATUSES, TracReader, read_trac

__all__ = [
    "HISTORY_FIELDS",
    "ROUNDUP_PRIORITIES",
    "ROUNDUP_STATUSES",
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
    "RoundupReader",
    "TracReader",
    "plan_import",
    "read_csv",
    "read_json",
    "read_roundup",
    "read_trac",
]
