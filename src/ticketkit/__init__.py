"""ticketkit: an embeddable issue tracking and help-desk ticketing library.

>>> import ticketkit
>>> tracker = ticketkit.Tracker.in_memory(prefix="HD")
>>> ticket = tracker.open(title="Mail is down", actor="bob@example.com")
>>> ticket.key, ticket.status
('HD-1', 'new')
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._builtin_workflows import bugtracker, get_workflow, helpdesk, simple
from ._clock import Clock, FrozenClock, SystemClock
from ._config import TrackerConfig
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
from ._model import Attachment, Comment, Link, LinkKind, Ticket
from ._priority import DEFAULT_MATRIX, Impact, Priority, PriorityMatrix, Urgency
from ._query import Condition, Op, Page, Query
from ._search import SearchHit
from ._subscriptions import Subscription
from ._tracker import Tracker
from ._workflow import Action, Category, State, TransitionPlan, Workflow

try:
    __version__ = version("ticketkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_MATRIX",
    "Action",
    "ActorIsAssignee",
    "Attachment",
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
    "GuardContext",
    "HasAssignee",
    "Impact",
    "InvalidCursor",
    "InvalidWorkflow",
    "Link",
    "LinkKind",
    "NotFound",
    "Op",
    "Page",
    "PermissionDenied",
    "Priority",
    "PriorityMatrix",
    "Query",
    "RequireComment",
    "RequireField",
    "RequireResolution",
    "SchemaVersionError",
    "SearchHit",
    "SetField",
    "State",
    "StorageError",
    "Subscription",
    "SystemClock",
    "Ticket",
    "TicketkitError",
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
    "simple",
]
