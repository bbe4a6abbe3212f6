"""Service-level agreements: business calendars, SLA policies and their clocks."""

# Lazy while the modules are being written in parallel; made eager (with the
# names imported for type checkers) once they all exist.
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "BusinessCalendar": "_calendar",
    "ClockState": "_clocks",
    "SLANotice": "_clocks",
    "SLAPolicy": "_policy",
    "SLAStatus": "_clocks",
    "Target": "_policy",
    "TargetKind": "_policy",
    "TargetStatus": "_clocks",
    "due_notices": "_clocks",
    "next_notice_at": "_clocks",
    "notice_event": "_clocks",
    "sla_status": "_clocks",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = sorted(_LAZY)
