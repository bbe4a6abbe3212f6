"""ticketkit: an embeddable issue tracking and help-desk ticketing library.

>>> import ticketkit
>>> tracker = ticketkit.Tracker.in_memory(prefix="HD")
>>> ticket = tracker.open(title="Mail is down", actor="bob@example.com")
>>> ticket.key, ticket.status
('HD-1', 'new')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import (
    ConflictError,
    DuplicateReference,
    InvalidCursor,
    InvalidWorkflow,
    NotFound,
    PermissionDenied,
    SchemaVersionError,
    StorageError,
    TicketkitError,
    TransitionNotAllowed,
    ValidationError,
)

if TYPE_CHECKING:
    from ._automation import AutoClose, Automation, Notifications
    from ._automator import RunReport
    from ._builtin_workflows import bugtracker, get_workflow, helpdesk, simple
    from ._clock import Clock, FrozenClock, SystemClock
    from ._config import TrackerConfig
    from ._diagram import GraphvizError, workflow_to_dot, workflow_to_mermaid, workflow_to_svg
    from ._events import Event, EventType
    from ._fields import FieldDef, FieldType, FieldValue
    from ._guards import (
        ActorIsAssignee,
        ClearField,
        GuardContext,
        HasAssignee,
        RequireComment,
        RequireField,
        RequireResolution,
        SetField,
        TransitionInputs,
        WithinDays,
    )
    from ._macros import Macro, macros_from_data, macros_to_data
    from ._model import Attachment, Comment, Link, LinkKind, NewAttachment, Ticket
    from ._priority import DEFAULT_MATRIX, Impact, Priority, PriorityMatrix, Urgency
    from ._query import Condition, Op, Page, Query
    from ._search import SearchHit
    from ._subscriptions import Subscription
    from ._timelog import TimeEntry, TimeLog
    from ._tracker import Tracker
    from ._workflow import Action, Category, State, TransitionPlan, Workflow

# The public names, each loaded from its module on first use (PEP 562): a host
# that imports ticketkit at start-up, to install the crash hook before anything
# else, pays for the parts it uses. The errors above are loaded at once.
_LAZY = {
    "AutoClose": "_automation",
    "Automation": "_automation",
    "Notifications": "_automation",
    "RunReport": "_automator",
    "Action": "_workflow",
    "ActorIsAssignee": "_guards",
    "Attachment": "_model",
    "Category": "_workflow",
    "ClearField": "_guards",
    "Clock": "_clock",
    "Comment": "_model",
    "Condition": "_query",
    "DEFAULT_MATRIX": "_priority",
    "Event": "_events",
    "EventType": "_events",
    "FieldDef": "_fields",
    "FieldType": "_fields",
    "FieldValue": "_fields",
    "FrozenClock": "_clock",
    "GraphvizError": "_diagram",
    "GuardContext": "_guards",
    "HasAssignee": "_guards",
    "Impact": "_priority",
    "Link": "_model",
    "LinkKind": "_model",
    "NewAttachment": "_model",
    "Op": "_query",
    "Page": "_query",
    "Priority": "_priority",
    "PriorityMatrix": "_priority",
    "Query": "_query",
    "RequireComment": "_guards",
    "RequireField": "_guards",
    "RequireResolution": "_guards",
    "SearchHit": "_search",
    "SetField": "_guards",
    "State": "_workflow",
    "Subscription": "_subscriptions",
    "SystemClock": "_clock",
    "Ticket": "_model",
    "Macro": "_macros",
    "macros_from_data": "_macros",
    "macros_to_data": "_macros",
    "TimeEntry": "_timelog",
    "TimeLog": "_timelog",
    "Tracker": "_tracker",
    "TrackerConfig": "_config",
    "TransitionInputs": "_guards",
    "TransitionPlan": "_workflow",
    "Urgency": "_priority",
    "WithinDays": "_guards",
    "Workflow": "_workflow",
    "bugtracker": "_builtin_workflows",
    "get_workflow": "_builtin_workflows",
    "helpdesk": "_builtin_workflows",
    "simple": "_builtin_workflows",
    "workflow_to_dot": "_diagram",
    "workflow_to_mermaid": "_diagram",
    "workflow_to_svg": "_diagram",
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use; ``__version__`` likewise.

    ``importlib.metadata`` alone costs a third of the eager import; the version
    is read from the installed distribution only when asked for.
    """
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    elif name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("ticketkit")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            value = "0+unknown"
    else:
        raise AttributeError(f"module 'ticketkit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DEFAULT_MATRIX",
    "Action",
    "ActorIsAssignee",
    "Attachment",
    "AutoClose",
    "Automation",
    "Category",
    "ClearField",
    "Clock",
    "Comment",
    "Condition",
    "ConflictError",
    "DuplicateReference",
    "Event",
    "EventType",
    "FieldDef",
    "FieldType",
    "FieldValue",
    "FrozenClock",
    "GraphvizError",
    "GuardContext",
    "HasAssignee",
    "Impact",
    "InvalidCursor",
    "InvalidWorkflow",
    "Link",
    "LinkKind",
    "Macro",
    "NewAttachment",
    "NotFound",
    "Notifications",
    "Op",
    "Page",
    "PermissionDenied",
    "Priority",
    "PriorityMatrix",
    "Query",
    "RequireComment",
    "RequireField",
    "RequireResolution",
    "RunReport",
    "SchemaVersionError",
    "SearchHit",
    "SetField",
    "State",
    "StorageError",
    "Subscription",
    "SystemClock",
    "Ticket",
    "TicketkitError",
    "TimeEntry",
    "TimeLog",
    "Tracker",
    "TrackerConfig",
    "TransitionInputs",
    "TransitionNotAllowed",
    "TransitionPlan",
    "Urgency",
    "ValidationError",
    "WithinDays",
    "Workflow",
    "__version__",
    "bugtracker",
    "get_workflow",
    "helpdesk",
    "macros_from_data",
    "macros_to_data",
    "simple",
    "workflow_to_dot",
    "workflow_to_mermaid",
    "workflow_to_svg",
]
