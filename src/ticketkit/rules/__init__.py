"""Automation rules as data, routing of new tickets, and escalation levels."""

# Lazy while the modules are being written in parallel; made eager (with the
# names imported for type checkers) once they all exist.
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "AddTag": "_actions",
    "Agent": "_routing",
    "All": "_conditions",
    "Anchor": "_triggers",
    "Any": "_conditions",
    "Assign": "_actions",
    "Condition": "_conditions",
    "Elapsed": "_triggers",
    "Escalate": "_actions",
    "EscalationLevel": "_escalation",
    "EscalationPolicy": "_escalation",
    "FieldIs": "_conditions",
    "HasTag": "_conditions",
    "Not": "_conditions",
    "Note": "_actions",
    "Notify": "_actions",
    "OnEvent": "_triggers",
    "RemoveTag": "_actions",
    "Reply": "_actions",
    "Route": "_routing",
    "Router": "_routing",
    "Rule": "_rule",
    "RuleAction": "_actions",
    "RuleContext": "_conditions",
    "RuleSet": "_rule",
    "SetField": "_actions",
    "SetPriority": "_actions",
    "Strategy": "_routing",
    "TextMatches": "_conditions",
    "Transition": "_actions",
    "Trigger": "_triggers",
    "anchors": "_triggers",
    "render_text": "_actions",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = sorted(_LAZY)
