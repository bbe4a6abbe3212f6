"""Service-level agreements: business calendars, SLA policies and their clocks."""

from __future__ import annotations

from ._calendar import BusinessCalendar
from ._clocks import (
    ClockState,
    SLANotice,
    SLAStatus,
    TargetStatus,
    due_notices,
    next_notice_at,
    notice_event,
    sla_status,
)
from ._policy import SLAPolicy, Target, TargetKind
from ._what_if import WhatIf, what_if

__all__ = [
    "BusinessCalendar",
    "ClockState",
    "SLANotice",
    "SLAPolicy",
    "SLAStatus",
    "Target",
    "TargetKind",
    "TargetStatus",
    "WhatIf",
    "due_notices",
    "next_notice_at",
    "notice_event",
    "sla_status",
    "what_if",
]
