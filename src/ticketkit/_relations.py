"""Operations that change two tickets at once: links and merges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from attrs import evolve

from . import _edits as edits
from ._errors import ValidationError
from ._events import Event, EventType
from ._history import diff_events
from ._model import LinkKind, Ticket
from ._text import check_name
from .storage import Transaction

if TYPE_CHECKING:
    from ._tracker import Ref, Tracker

__all__ = ["link", "merge", "unlink"]

Pair = tuple[Ticket, Ticket]
Plan = Callable[[Transaction, Ticket, Ticket, datetime], tuple[Pair, list[Event]] | None]


def _write_pair(
    tracker: Tracker,
    ref: Ref,
    other: Ref,
    actor: str,
    expected_version: int | None,
    plan: Plan,
) -> Pair:
    """Load both tickets, let ``plan`` change them, and store both in one transaction."""
    actor = check_name(actor, "actor")
    now = tracker._now()
    with tracker.store.transaction() as tx:
        first = tracker._load(tx, ref)
        second = tracker._load(tx, other)
        tracker._check_version(first, expected_version)
        if first.id == second.id:
            raise ValidationError(f"{first.key} cannot be linked or merged with itself")
        result = plan(tx, first, second, now)
        if result is None:
            return first, second
        (new_first, new_second), events = result
        tx.update_ticket(new_first, first.version)
        tx.update_ticket(new_second, second.version)
        stored = tx.add_events(events)
        automator = tracker._automator
        if automator is not None:
            for ticket in (new_first, new_second):
                automator.on_write(tx, ticket, [e for e in stored if e.ticket_id == ticket.id])
    tracker._publish(stored)
    return new_first, new_second


def _parents(tx: Transaction, ticket: Ticket) -> list[str]:
    return ticket.linked(LinkKind.CHILD_OF)


def _is_ancestor(tx: Transaction, candidate: Ticket, of: Ticket) -> bool:
    """Is ``candidate`` ``of`` itself or one of its ancestors?"""
    seen: set[str] = set()
    todo = [of]
    while todo:
        ticket = todo.pop()
        if ticket.key == candidate.key:
            return True
        for key in _parents(tx, ticket):
            if key not in seen:
                seen.add(key)
                parent = tx.get_ticket(key)
                if parent is not None:
                    todo.append(parent)
    return False


def _check_parent_link(tx: Transaction, parent: Ticket, child: Ticket) -> None:
    existing = child.linked(LinkKind.CHILD_OF)
    if existing and existing != [parent.key]:
        raise ValidationError(
            f"{child.key} already has the parent {existing[0]}; unlink it first", field="links"
        )
    if _is_ancestor(tx, child, parent):
        raise ValidationError(
            f"making {parent.key} the parent of {child.key} would create a cycle: "
            f"{child.key} is already {parent.key} or one of its ancestors",
            field="links",
        )


def _linked_pair(first: Ticket, second: Ticket, kind: LinkKind, now: datetime, add: bool) -> Pair:
    return (
        edits.with_link(first, kind, second.key, now, add=add),
        edits.with_link(second, kind.inverse, first.key, now, add=add),
    )


def _events_for(old: Pair, new: Pair, actor: str, now: datetime) -> list[Event]:
    return [
        *diff_events(old[0], new[0], actor=actor, at=now),
        *diff_events(old[1], new[1], actor=actor, at=now),
    ]


def link(
    tracker: Tracker,
    ref: Ref,
    kind: LinkKind,
    target: Ref,
    actor: str,
    expected_version: int | None,
) -> Ticket:
    def plan(tx: Transaction, first: Ticket, second: Ticket, now: datetime) -> Any:
        if any(lk.kind is kind and lk.key == second.key for lk in first.links):
            return None
        if kind is LinkKind.PARENT_OF:
            _check_parent_link(tx, first, second)
        elif kind is LinkKind.CHILD_OF:
            _check_parent_link(tx, second, first)
        new = _linked_pair(first, second, kind, now, add=True)
        return new, _events_for((first, second), new, actor, now)

    return _write_pair(tracker, ref, target, actor, expected_version, plan)[0]


def unlink(
    tracker: Tracker,
    ref: Ref,
    kind: LinkKind,
    target: Ref,
    actor: str,
    expected_version: int | None,
) -> Ticket:
    def plan(tx: Transaction, first: Ticket, second: Ticket, now: datetime) -> Any:
        if not any(lk.kind is kind and lk.key == second.key for lk in first.links):
            raise ValidationError(
                f"{first.key} is not linked to {second.key} as {kind.value}", field="links"
            )
        new = _linked_pair(first, second, kind, now, add=False)
        return new, _events_for((first, second), new, actor, now)

    return _write_pair(tracker, ref, target, actor, expected_version, plan)[0]


def merge(
    tracker: Tracker, ref: Ref, into: Ref, actor: str, expected_version: int | None
) -> Ticket:
    config = tracker.config

    def plan(tx: Transaction, source: Ticket, target: Ticket, now: datetime) -> Any:
        if source.merged_into is not None:
            raise ValidationError(
                f"{source.key} was already merged into {source.merged_into}", field="merged_into"
            )
        if target.merged_into is not None:
            raise ValidationError(
                f"{target.key} was itself merged into {target.merged_into}; merge into "
                f"{target.merged_into} instead",
                field="merged_into",
            )
        closed = edits.closing_state(config)
        done = config.workflow.category(source.status).value in ("resolved", "closed")
        linked = _linked_pair(source, target, LinkKind.DUPLICATES, now, add=True)
        new_source = evolve(
            linked[0],
            merged_into=target.key,
            status=source.status if done else closed,
            resolution="duplicate",
            resolved_at=source.resolved_at if done else now,
        )
        new_target = evolve(
            linked[1], watchers=target.watchers | source.watchers | {source.reporter}
        )
        events = diff_events(
            source, new_source, actor=actor, at=now, data={"status": {"action": "merge"}}
        )
        events += diff_events(target, new_target, actor=actor, at=now)
        events.append(
            Event(
                ticket_id=target.id,
                ticket_key=target.key,
                version=new_target.version,
                type=EventType.MERGED,
                actor=actor,
                at=now,
                data={"source": source.key},
            )
        )
        return (new_source, new_target), events

    return _write_pair(tracker, ref, into, actor, expected_version, plan)[1]
