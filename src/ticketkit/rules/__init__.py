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
    "Elapsed",
    "Escalate",
    "EscalationLevel",
    "EscalationPolicy",
    "FieldIs",
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
    "SetField",
    "SetPriority",
    "Strategy",
    "TextMatches",
    "Transition",
    "Trigger",
    "anchors",
    "render_text",
]
