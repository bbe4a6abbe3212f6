"""Sending surveys: once per resolution, in the resolving write or ``delay`` after it.

A ticket *owes* a survey when its latest resolution (a status change from a
state that is neither resolved nor closed into a resolved-category state) has
no ``survey_sent`` after it, the ticket is still resolved or closed, the
resolution was not made by the customer, and the reporter can be written to.
The survey falls due ``delay`` after the resolution; one that could not go out
within ``valid_for`` of falling due is dropped, so turning surveys on (and
:meth:`Tracker.reschedule <ticketkit.Tracker.reschedule>`) never mails the
customers of old resolutions.

With no delay the survey is made in the resolving write's own transaction
(:func:`survey_on_write`); otherwise the scheduler makes it
(:func:`survey_on_due`), and :func:`survey_due` gives the scheduler its instant.
Either way the ``survey_sent`` notice and the outbox item are stored together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .._automation_records import OutboxItem
from .._errors import ValidationError
from .._events import Event, EventType, ticket_event
from .._model import Ticket
from .._notifying import QUEUED, notify
from .._workflow import Category, Workflow
from ._settings import Survey
from ._token import make_token

if TYPE_CHECKING:
    from .._automator import Automator
    from .._work import Work
    from ..storage import Transaction

__all__ = ["survey_due", "survey_on_due", "survey_on_write"]

_DONE = frozenset({Category.RESOLVED, Category.CLOSED})


def _category(workflow: Workflow, status: object) -> Category | None:
    try:
        return workflow.category(str(status))
    except ValidationError:  # a state of an older workflow
        return None


def _resolution(auto: Automator, ticket: Ticket, events: Sequence[Event]) -> Event | None:
    """The status change that resolved ``ticket`` if it owes a survey for it, else ``None``."""
    workflow = auto.tracker.workflow
    if _category(workflow, ticket.status) not in _DONE or ticket.merged_into is not None:
        return None
    settings = auto.automation.notifications
    if settings is None or (settings.addresses_only and "@" not in ticket.reporter):
        return None
    resolution: Event | None = None
    for event in events:
        if event.type is EventType.SURVEY_SENT:
            resolution = None
        elif event.type is EventType.STATUS_CHANGED:
            new = _category(workflow, event.new)
            if new not in _DONE:
                resolution = None
            elif new is Category.RESOLVED and _category(workflow, event.old) not in _DONE:
                resolution = event
    if resolution is None or auto.is_customer(ticket, resolution.actor):
        return None
    return resolution


def _survey(auto: Automator) -> Survey:
    survey = auto.automation.survey
    assert survey is not None
    return survey


def survey_due(
    auto: Automator, ticket: Ticket, events: Sequence[Event], now: datetime
) -> datetime | None:
    """When the survey ``ticket`` owes falls due, or ``None`` when it owes none (see module)."""
    resolution = _resolution(auto, ticket, events)
    if resolution is None:
        return None
    survey = _survey(auto)
    due = resolution.at + survey.delay
    return None if now >= due + survey.valid_for else due


def _make(
    auto: Automator, ticket: Ticket, events: Sequence[Event], now: datetime
) -> tuple[Event, list[OutboxItem]] | None:
    """The ``survey_sent`` notice and its notification, when a survey is due at ``now``."""
    due = survey_due(auto, ticket, events, now)
    if due is None or due > now:
        return None
    survey = _survey(auto)
    # Tokens carry whole seconds: round up, so a token never expires before valid_for.
    expires = datetime.fromtimestamp(math.ceil((now + survey.valid_for).timestamp()), UTC)
    token, nonce = make_token(survey.secret[0], ticket.id, ticket.tenant, expires)
    items = notify(
        auto,
        ticket,
        "survey",
        [ticket.reporter],
        now,
        "",
        channel=survey.channel,
        text=survey.link(token, ticket.key),
        due=f"{expires:%Y-%m-%d %H:%M} UTC",
    )
    if not items:
        return None
    event = ticket_event(
        ticket,
        EventType.SURVEY_SENT,
        auto.automation.actor,
        now,
        survey=nonce,
        scale=survey.scale,
        expires=expires.isoformat(),
        agent=ticket.assignee,
        queue=ticket.queue,
        recipient=ticket.reporter,
    )
    return event, items


def survey_on_write(auto: Automator, tx: Transaction, ticket: Ticket, now: datetime) -> list[Event]:
    """In a write's transaction: send the survey ``ticket`` owes now; its stored notice."""
    if _category(auto.tracker.workflow, ticket.status) not in _DONE:
        return []  # the common case, without reading the history
    made = _make(auto, ticket, tx.events(ticket.id), now)
    if made is None:
        return []
    event, items = made
    stored = tx.add_events([event])
    tx.add_outbox(items)
    QUEUED.set(True)
    return stored


def survey_on_due(auto: Automator, work: Work, now: datetime) -> None:
    """In a scheduler batch: send the survey ``work``'s ticket owes now, if any."""
    made = _make(auto, work.ticket, work.history, now)
    if made is None:
        return
    event, items = made
    work.change(work.ticket, [event])
    work.outbox.extend(items)
