"""Who is told what: the notifications a tracker's changes put in the outbox.

Every notification comes from an event (see :func:`notifications`) or from a
rule's ``Notify`` action (:func:`notify`); each recipient gets a message of
their own, worded for them: a customer is never told who works on the ticket.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ._automation_records import OutboxItem
from ._events import Event, EventType
from ._model import Ticket

if TYPE_CHECKING:
    from ._automator import Automator
    from .storage import Transaction

__all__ = ["QUEUED", "notifications", "notify", "recipients"]

#: Set when a write of this thread put something in the outbox.
QUEUED: contextvars.ContextVar[bool] = contextvars.ContextVar("ticketkit_queued", default=False)


def recipients(ticket: Ticket, who: Iterable[str]) -> list[str]:
    found: list[str] = []
    for name in who:
        if name == "reporter":
            found.append(ticket.reporter)
        elif name == "assignee":
            if ticket.assignee:
                found.append(ticket.assignee)
        elif name == "watchers":
            found.extend(sorted(ticket.watchers))
        else:
            found.append(name)
    return list(dict.fromkeys(found))


def notifications(
    auto: Automator,
    ticket: Ticket,
    events: Sequence[Event],
    now: datetime,
    tx: Transaction | None = None,
) -> list[OutboxItem]:
    """The notifications that ``events`` (just stored for ``ticket`` in ``tx``) send."""
    settings = auto.automation.notifications
    if settings is None:
        return []
    items: list[OutboxItem] = []
    for event in events:
        for kind, who, extra in _about(auto, ticket, event, tx):
            if kind not in settings.send:
                continue
            # Nobody is told about their own change, but a reporter is told their
            # ticket was opened: that message carries its key.
            actor = "" if kind == "created" else event.actor
            items.extend(notify(auto, ticket, kind, who, now, actor, **extra))
    return items


def _followers(ticket: Ticket) -> list[str]:
    """The reporter and the watchers (CCs): who hears of replies and status changes."""
    return [ticket.reporter, *sorted(ticket.watchers - {ticket.reporter})]


def _reply(ticket: Ticket, event: Event, tx: Transaction | None) -> dict[str, str] | None:
    """The words of a public reply's notification, or None for a note or an unreadable one."""
    comment_id = event.data.get("comment_id")
    if tx is None or event.data.get("internal") is not False or not isinstance(comment_id, int):
        return None
    comment = tx.get_comment(ticket.id, comment_id)
    if comment is None or comment.internal:
        return None
    return {"text": comment.body, "author": comment.author}


def _about(
    auto: Automator, ticket: Ticket, event: Event, tx: Transaction | None = None
) -> list[tuple[str, list[str], dict[str, str]]]:
    """Which notifications an event sends, to whom, with what extra words."""
    settings = auto.automation.notifications
    agents = list(settings.agents) if settings is not None else []
    staff = [ticket.assignee] if ticket.assignee else agents
    data = event.data
    match event.type:
        case EventType.COMMENTED:
            words = _reply(ticket, event, tx)
            if words is None:
                return []
            # The ticket's people hear of a public reply; the assignee of the customer's.
            people = _followers(ticket)
            if ticket.assignee and auto.is_customer(ticket, event.actor):
                people.append(ticket.assignee)
            return [("replied", people, words)]
        case EventType.OPENED:
            told: list[tuple[str, list[str], dict[str, str]]] = [("created", [ticket.reporter], {})]
            if ticket.assignee:  # opened with an assignee, or routed as it was opened
                told.append(("assigned", [ticket.assignee], {}))
            return told
        case EventType.ASSIGNED if event.new:
            return [("assigned", [str(event.new)], {})]
        case EventType.STATUS_CHANGED:
            return [("status_changed", _followers(ticket), {})]
        case EventType.SLA_WARNING | EventType.SLA_BREACHED:
            kind = "sla_warning" if event.type is EventType.SLA_WARNING else "sla_breached"
            extra = {"target": str(data.get("target", "")), "due": str(data.get("due", ""))}
            return [(kind, staff, extra)]
        case EventType.ESCALATED:
            policy = auto.automation.escalation
            name = str(data.get("level", ""))
            notify: Sequence[str] = ()
            if policy is not None and any(lv.name == name for lv in policy.levels):
                notify = policy.level(name).notify
            who = recipients(ticket, notify) if notify else staff
            return [("escalated", who, {"level": name})]
        case EventType.REMINDED:
            since = str(data.get("since", ""))[:10]
            text = f"It has been waiting for your reply since {since}." if since else ""
            return [("reminder", [ticket.reporter], {"text": text})]
    return []


def notify(
    auto: Automator,
    ticket: Ticket,
    template: str,
    recipients: Iterable[str],
    now: datetime,
    actor: str,
    *,
    channel: str | None = None,
    **extra: str,
) -> list[OutboxItem]:
    """One outbox item per recipient, through ``channel`` (default: the notifications')."""
    settings = auto.automation.notifications
    if settings is None:
        return []
    channel = settings.channel if channel is None else channel
    from .access import SOMEONE
    from .notify import Notification

    items = []
    for recipient in recipients:
        if not recipient or recipient == actor:
            continue  # nobody is told about their own change
        if settings.addresses_only and "@" not in recipient:
            continue
        customer = auto.is_customer(ticket, recipient)
        context = _words(auto, ticket, customer, SOMEONE, extra)
        subject, body = auto.automation.templates.render(template, context)
        notification_id = uuid.uuid4().hex
        headers: dict[str, str] = {}
        if settings.domain is not None:
            from .intake import outgoing_headers

            # A reply to this mail names its Message-ID, which names the ticket.
            headers = outgoing_headers(
                ticket.key, notification_id, domain=settings.domain, auto_submitted=False
            )
        notification = Notification(
            id=notification_id,
            channel=channel,
            template=template,
            recipients=(recipient,),
            subject=subject,
            body=body,
            ticket_key=ticket.key,
            headers=headers,
        )
        items.append(
            OutboxItem(
                id=0,
                channel=channel,
                payload=notification.to_data(),
                created=now,
                next_attempt_at=now,
                ticket_id=ticket.id,
                tenant=ticket.tenant,
            )
        )
    return items


def _words(
    auto: Automator, ticket: Ticket, customer: bool, someone: str, extra: dict[str, str]
) -> dict[str, str]:
    state = auto.tracker.workflow.state(ticket.status)
    # A customer is never told who works on the ticket (their address is theirs),
    # nor which other customer wrote a reply on a shared ticket.
    assignee = (someone if customer else ticket.assignee) if ticket.assignee else ""
    author = extra.get("author")
    if author is not None and customer:
        extra = {**extra, "author": someone}
    return {
        "key": ticket.key,
        "title": ticket.title,
        "status": state.title,
        "priority": ticket.priority.name,
        "assignee": assignee,
        "reporter": ticket.reporter,
        "target": "",
        "due": "",
        "level": "",
        "text": "",
        "author": "",
        **extra,
    }
