"""Macros at work: one macro applied in one write, and the macros to offer now.

:func:`macro_change` is pure apart from storing the comment in the write's own
transaction: it works out the ticket after each step, in order (custom fields,
priority, queue, assignee, tags, then the workflow action), then the reply,
and returns the new ticket with every event at the ticket's one new version.
A step that cannot be done raises before anything is stored, and the
transaction rolls back whatever was added, so a macro is applied whole or not
at all. Every event it writes carries ``data["macro"]``: the history says
which macro made the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from attrs import evolve

from . import _changes as changes
from . import _edits as edits
from ._config import TrackerConfig
from ._errors import NotFound, TransitionNotAllowed, ValidationError
from ._events import Event
from ._guards import RequireField, TransitionInputs
from ._history import diff_events
from ._macros import Macro
from ._model import Ticket
from ._text import check_name
from .storage import Transaction

if TYPE_CHECKING:
    from ._tracker import Ref, Tracker

__all__ = ["apply_macro", "available_macros", "edit_steps", "find_macro", "macro_change"]

T = TypeVar("T")


def find_macro(macros: Iterable[Macro], name: object) -> Macro:
    """The macro called ``name``; :class:`NotFound` naming the known ones if none is."""
    listed = list(macros)
    for macro in listed:
        if macro.name == name:
            return macro
    known = ", ".join(m.name for m in listed) or "none are set"
    raise NotFound(f"there is no macro named {name!r:.80}; the macros: {known}")


def _step(macro: Macro, step: str, do: Callable[[], T]) -> T:
    """``do()``, with a refusal's message naming the macro and the step."""
    where = f"macro {macro.name!r}, step {step}"
    try:
        return do()
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}", field=exc.field) from None
    except TransitionNotAllowed as exc:
        raise TransitionNotAllowed(
            f"{where}: {exc}",
            key=exc.key,
            status=exc.status,
            action=exc.action,
            reason=exc.reason,
        ) from None


def edit_steps(
    config: TrackerConfig, ticket: Ticket, macro: Macro, actor: str, now: datetime
) -> Ticket:
    """``ticket`` after the macro's field, assignee and tag steps (its action not taken)."""
    t = ticket
    if macro.set_fields:
        values = dict(macro.set_fields)
        t = _step(macro, "fields", lambda: edits.edit(config, t, now, fields=values))
    if macro.priority is not None:
        t = _step(macro, "priority", lambda: edits.edit(config, t, now, priority=macro.priority))
    if macro.queue is not None:
        t = _step(macro, "queue", lambda: edits.edit(config, t, now, queue=macro.queue))
    if macro.assignee is not None:
        who = macro.assignee_for(actor)
        t = _step(macro, "assignee", lambda: edits.edit(config, t, now, assignee=who))
    if macro.add_tags or macro.remove_tags:
        t = _step(
            macro,
            "tags",
            lambda: edits.edit(
                config, t, now, add_tags=macro.add_tags, remove_tags=macro.remove_tags
            ),
        )
    return t


def _inputs(
    config: TrackerConfig, macro: Macro, actor: str, comment: str | None
) -> TransitionInputs:
    """What the macro gives its workflow action: the comment, resolution and the
    fields the action requires (the macro sets them; :meth:`Macro.check` made sure)."""
    assert macro.action is not None
    action = config.workflow.action(macro.action)
    sets = macro._sets()
    fields: dict[str, object] = {}
    for effect in action.effects:
        if isinstance(effect, RequireField) and effect.field in sets:
            value = sets[effect.field]
            fields[effect.field] = (
                macro.assignee_for(actor) if effect.field == "assignee" else value
            )
    return TransitionInputs(comment=comment, resolution=macro.resolution, fields=fields)


def _body(rendered: str | None, comment: str | None) -> str | None:
    parts = [text for text in (rendered, comment) if text is not None and text.strip()]
    return "\n\n".join(parts) if parts else None


def macro_change(
    config: TrackerConfig,
    tx: Transaction,
    current: Ticket,
    macro: Macro,
    actor: str,
    now: datetime,
    comment: str | None = None,
) -> tuple[Ticket, list[Event]]:
    """The ticket once ``macro`` is applied by ``actor``, and the events that record it.

    ``comment`` (the agent's own words, never a template) follows the macro's
    reply in the same comment. The reply is filled in with the ticket's values
    once the macro is applied (``$status`` is the new status).
    """
    before_action = edit_steps(config, current, macro, actor, now)
    events = diff_events(current, before_action, actor=actor, at=now)
    final = before_action
    action_events: list[Event] = []
    if macro.action is not None:
        # A guard sees the comment as it reads before the status changes.
        early = _body(macro.render(before_action, actor), comment)
        inputs = _inputs(config, macro, actor, early)
        final, action_events = _step(
            macro,
            f"action {macro.action!r}",
            lambda: changes.transition(
                config, before_action, str(macro.action), actor, now, inputs
            ),
        )
    body = _body(macro.render(final, actor), comment)
    if body is not None:
        text = _step(macro, "reply", lambda: edits.check_comment(body))
        events.append(changes.comment_event(tx, final, text, actor, now, macro.internal))
    events += action_events
    if not events:
        return current, []
    new = evolve(final, version=current.version + 1, updated=now)
    return new, [
        evolve(e, version=new.version, data={**e.data, "macro": macro.name}) for e in events
    ]


def apply_macro(
    tracker: Tracker,
    ref: Ref,
    name: str,
    *,
    actor: str,
    expected_version: int | None = None,
    comment: str | None = None,
) -> Ticket:
    """Apply the tracker's macro ``name`` to the ticket as ``actor``, in one write."""
    macro = find_macro(tracker.macros, name)
    extra = None if comment is None else edits.check_comment(comment)

    def change(
        tx: Transaction, current: Ticket, actor: str, now: datetime
    ) -> tuple[Ticket, list[Event]]:
        return macro_change(tracker.config, tx, current, macro, actor, now, extra)

    return tracker._write(ref, actor, expected_version, change)


def available_macros(tracker: Tracker, ticket: Ticket, actor: str) -> list[Macro]:
    """The tracker's macros that ``actor`` could apply to ``ticket`` now, in order.

    A macro with an action is offered when that action is among the workflow's
    available actions for the ticket as the macro's other steps leave it (so
    "assign to me and start" is offered on an unassigned ticket even when
    ``start`` needs an assignee), and never on a merged duplicate. A macro
    whose steps do not fit the ticket (a queue since removed) is left out.
    """
    who = check_name(actor, "actor")
    now = tracker._now()
    workflow = tracker.workflow
    offered: list[Macro] = []
    for macro in tracker.macros:
        try:
            before_action = edit_steps(tracker.config, ticket, macro, who, now)
        except (ValidationError, TransitionNotAllowed):
            continue
        if macro.action is not None:
            if ticket.merged_into is not None:
                continue
            names = {a.name for a in workflow.available_actions(before_action, who, now)}
            if macro.action not in names:
                continue
        offered.append(macro)
    return offered
