"""Changes the tracker and its automation both make: a workflow step, a comment, files.

Each takes the ticket as loaded in a transaction and returns what to store;
the caller stores it in the same transaction. Everything one write adds is
recorded at the ticket's one new version, so a comment with files, or an
action with a comment, is one change in the history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from . import _edits as edits
from ._config import TrackerConfig
from ._errors import TransitionNotAllowed, ValidationError
from ._events import Event, EventType
from ._guards import TransitionInputs
from ._history import diff_events
from ._model import Attachment, Comment, NewAttachment, Ticket
from .storage import Transaction

__all__ = ["attachment_events", "comment_event", "transition"]


def transition(
    config: TrackerConfig,
    current: Ticket,
    action: str,
    actor: str,
    now: datetime,
    inputs: TransitionInputs,
) -> tuple[Ticket, list[Event]]:
    """The ticket after the workflow ``action``, and the events that record it.

    :class:`TransitionNotAllowed` when the action does not start from the
    ticket's status, a guard refuses, or the ticket was merged away.
    """
    if current.merged_into is not None:
        raise TransitionNotAllowed(
            f"cannot {action!r} {current.key}: it was merged into "
            f"{current.merged_into}; work on {current.merged_into} instead",
            key=current.key,
            status=current.status,
            action=str(action),
            reason=f"merged into {current.merged_into}",
        )
    plan = config.workflow.plan(current, action, actor=actor, now=now, inputs=inputs)
    extra = sorted(set(inputs.fields) - set(plan.changes))
    if extra:
        raise ValidationError(
            f"action {action!r} does not take {', '.join(extra)}; change those "
            "with update() instead",
            field=extra[0],
        )
    new = edits.after_transition(config, current, plan, now)
    events = diff_events(
        current, new, actor=actor, at=now, data={"status": {"action": plan.action.name}}
    )
    if not any(e.type is EventType.STATUS_CHANGED for e in events):
        events.insert(
            0,
            Event(
                ticket_id=new.id,
                ticket_key=new.key,
                version=new.version,
                type=EventType.STATUS_CHANGED,
                actor=actor,
                at=now,
                field="status",
                old=current.status,
                new=new.status,
                data={
                    "action": plan.action.name,
                    "resolved_at": None if new.resolved_at is None else new.resolved_at.isoformat(),
                },
            ),
        )
    return new, events


def comment_event(
    tx: Transaction,
    ticket: Ticket,
    body: str,
    actor: str,
    now: datetime,
    internal: bool,
    added: list[Comment] | None = None,
    *,
    reference: str | None = None,
) -> Event:
    """Store a comment on ``ticket`` (already at its new version) and return its event.

    ``reference`` (checked by the caller) is claimed for the ticket in the same
    transaction and kept in the event; :class:`DuplicateReference` if it is taken.
    """
    stored = tx.add_comment(
        Comment(
            id=0,
            ticket_id=ticket.id,
            ticket_key=ticket.key,
            author=actor,
            body=body,
            created=now,
            internal=bool(internal),
        )
    )
    if added is not None:
        added.append(stored)
    data: dict[str, object] = {"comment_id": stored.id, "internal": stored.internal}
    if reference is not None:
        tx.add_reference(ticket.id, reference)
        data["reference"] = reference
    return Event(
        ticket_id=ticket.id,
        ticket_key=ticket.key,
        version=ticket.version,
        type=EventType.COMMENTED,
        actor=actor,
        at=now,
        data=data,
    )


def attachment_events(
    tx: Transaction,
    ticket: Ticket,
    files: Sequence[NewAttachment],
    actor: str,
    now: datetime,
    added: list[Attachment] | None = None,
) -> list[Event]:
    """Store checked ``files`` on ``ticket`` (at its new version); one event per file."""
    events: list[Event] = []
    for file in files:
        digest = hashlib.sha256(file.content).hexdigest()
        media = file.media_type or "application/octet-stream"
        meta = tx.add_attachment(
            Attachment(
                id=0,
                ticket_id=ticket.id,
                ticket_key=ticket.key,
                filename=file.filename,
                media_type=media,
                size=len(file.content),
                sha256=digest,
                uploaded_by=actor,
                created=now,
            ),
            file.content,
        )
        if added is not None:
            added.append(meta)
        events.append(
            Event(
                ticket_id=ticket.id,
                ticket_key=ticket.key,
                version=ticket.version,
                type=EventType.ATTACHMENT_ADDED,
                actor=actor,
                at=now,
                data={
                    "attachment_id": meta.id,
                    "filename": file.filename,
                    "media_type": media,
                    "size": len(file.content),
                    "sha256": digest,
                },
            )
        )
    return events
