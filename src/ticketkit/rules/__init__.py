"""Automation rules as data, routing of new tickets, and escalation levels."""

from __future__ import annotations

from ._actions import (
    AddTag,
    Assign,
    Escalate,
    Note,
    Notify,
    RemoveTag,
    Reply,
    RuleAction,
    SetField,
    SetPriority,
    Transition,
    render_text,
)
from ._agents import Agent, Route, Strategy
from ._conditions import All, Any, Condition, FieldIs, HasTag, Not, RuleContext, TextMatches
from ._dry_run import dry_run
from ._dry_run_model import (
    DraftComment,
    DraftNotification,
    DryRun,
    FieldChange,
    Firing,
    RuleSummary,
    SkippedAction,
    StatusChange,
)
from ._escalation import EscalationLevel, EscalationPolicy
from ._routing import Router
from ._rule import Rule, RuleSet
from ._triggers import Anchor, Elapsed, OnEvent, Trigger, anchors

__all__ = [
    "AddTag",
    "Agent",
    "All",
    "Anchor",
    "Any",
    "Assign",
    "Condition",
    "DraftComment",
    "DraftNotification",
    "DryRun",
    "Elapsed",
    "Escalate",
    "EscalationLevel",
    "EscalationPolicy",
    "FieldChange",
    "FieldIs",
    "Firing",
    "HasTag",
    "Not",
    "Note",
    "Notify",
    "OnEvent",
    "RemoveTag",
    "Reply",
    "Route",
    "Router",
    "Rule",
    "RuleAction",
    "RuleContext",
    "RuleSet",
    "RuleSummary",
    "SetField",
    "SetPriority",
    "SkippedAction",
    "StatusChange",
    "Strategy",
    "TextMatches",
    "Transition",
    "Trigger",
    "anchors",
    "dry_run",
    "render_text",
]
