"""Pure ticket edits: check the input, return the next version of the ticket.

The tracker loads and stores; these functions decide. None of them reads a
clock or a store: time comes in as ``now``.
"""

from __future__ import annotations

import enum
import mimetypes
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from attrs import evolve

from ._config import TrackerConfig
from ._errors import ValidationError
from ._fields import validate_field_values
from ._model import Link, LinkKind, NewAttachment, Ticket, normalise_tags
from ._priority import Impact, Priority, Urgency
from ._text import check_body, check_name, check_title
from ._workflow import Category, TransitionPlan

__all__ = [
    "UNSET",
    "Unset",
    "after_transition",
    "check_attachment",
    "check_attachments",
    "check_comment",
    "check_filename",
    "check_media_type",
    "closing_state",
    "edit",
    "new_ticket",
    "with_link",
]


class Unset(enum.Enum):
    """Marks an argument that was not given (``None`` can mean "clear it")."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET
_DONE = (Category.RESOLVED, Category.CLOSED)


def _priority(
    config: TrackerConfig,
    current: Ticket | None,
    priority: object,
    impact: object,
    urgency: object,
) -> tuple[Priority, Impact | None, Urgency | None]:
    """Priority set directly, or derived from impact and urgency through the matrix."""
    derive = impact is not UNSET or urgency is not UNSET
    if derive and priority is not UNSET and priority is not None:
        raise ValidationError(
            "give either a priority or an impact and urgency to derive it from, not both",
            field="priority",
        )
    if not derive:
        if priority is UNSET or priority is None:
            if current is None:
                return config.default_priority, None, None
            return current.priority, current.impact, current.urgency
        return Priority.parse(priority), None, None
    have_impact = current.impact if current is not None else None
    have_urgency = current.urgency if current is not None else None
    imp = Impact.parse(impact) if impact is not UNSET else (have_impact or Impact.MEDIUM)
    urg = Urgency.parse(urgency) if urgency is not UNSET else (have_urgency or Urgency.MEDIUM)
    return config.priority_matrix.priority(imp, urg), imp, urg


def _optional_name(value: object, field: str) -> str | None:
    return None if value is None else check_name(value, field)


def _names(values: Iterable[str], field: str) -> frozenset[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError(f"{field} must be a collection of names, got {values!r}", field=field)
    return frozenset(check_name(v, field) for v in values)


def new_ticket(
    config: TrackerConfig,
    *,
    title: object,
    description: object,
    reporter: object,
    now: datetime,
    priority: object = UNSET,
    impact: object = UNSET,
    urgency: object = UNSET,
    assignee: object = None,
    queue: object = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, object] | None = None,
    watchers: Iterable[str] = (),
    tenant: object = "default",
    organisation: object = None,
) -> Ticket:
    """A checked draft of a new ticket (``id`` and ``key`` are the store's to assign)."""
    prio, imp, urg = _priority(config, None, priority, impact, urgency)
    return Ticket(
        id=0,
        key="",
        title=check_title(title),
        description=check_body(description),
        status=config.workflow.initial,
        priority=prio,
        impact=imp,
        urgency=urg,
        reporter=check_name(reporter, "reporter"),
        queue=config.default_queue if queue is None else config.check_queue(queue),
        assignee=_optional_name(assignee, "assignee"),
        tags=normalise_tags(tags),
        fields=validate_field_values(config.fields, fields or {}),
        watchers=_names(watchers, "watchers"),
        created=now,
        updated=now,
        version=1,
        tenant=check_name(tenant, "tenant"),
        organisation=_optional_name(organisation, "organisation"),
    )


def edit(
    config: TrackerConfig,
    ticket: Ticket,
    now: datetime,
    *,
    title: object = UNSET,
    description: object = UNSET,
    priority: object = UNSET,
    impact: object = UNSET,
    urgency: object = UNSET,
    queue: object = UNSET,
    assignee: object = UNSET,
    tags: object = UNSET,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    fields: Mapping[str, object] | None = None,
    tenant: object = UNSET,
    organisation: object = UNSET,
) -> Ticket:
    """The next version of ``ticket`` with the given fields changed.

    ``tenant`` and ``organisation`` are accepted only to refuse a change to them:
    they are set when a ticket is opened and stay as they are.
    """
    for name, value in (("tenant", tenant), ("organisation", organisation)):
        if value is not UNSET and value != getattr(ticket, name):
            raise ValidationError(
                f"the {name} of {ticket.key} is {getattr(ticket, name)!r} and cannot be "
                f"changed to {value!r}: it is set when a ticket is opened; open a new "
                f"ticket with {name}={value!r} instead",
                field=name,
            )
    changes: dict[str, Any] = {"version": ticket.version + 1, "updated": now}
    if title is not UNSET:
        changes["title"] = check_title(title)
    if description is not UNSET:
        changes["description"] = check_body(description)
    prio, imp, urg = _priority(config, ticket, priority, impact, urgency)
    changes.update(priority=prio, impact=imp, urgency=urg)
    if queue is not UNSET:
        changes["queue"] = config.check_queue(queue)
    if assignee is not UNSET:
        changes["assignee"] = _optional_name(assignee, "assignee")
    new_tags = ticket.tags if tags is UNSET else normalise_tags(tags)  # type: ignore[arg-type]
    changes["tags"] = (new_tags | normalise_tags(add_tags)) - normalise_tags(remove_tags)
    if fields is not None:
        changes["fields"] = validate_field_values(config.fields, fields, current=ticket.fields)
    return evolve(ticket, **changes)


def after_transition(
    config: TrackerConfig, ticket: Ticket, plan: TransitionPlan, now: datetime
) -> Ticket:
    """The ticket once ``plan`` is carried out: new status, effects applied."""
    workflow = config.workflow
    changes: dict[str, Any] = {"status": plan.target, "version": ticket.version + 1, "updated": now}
    custom: dict[str, object] = {}
    for path, value in plan.changes.items():
        if path.startswith("fields."):
            custom[path[7:]] = value
        elif path == "assignee":
            changes["assignee"] = _optional_name(value, "assignee")
        elif path == "resolution":
            changes["resolution"] = _optional_name(value, "resolution")
        elif path == "priority":
            changes.update(priority=Priority.parse(value), impact=None, urgency=None)
        elif path == "queue":
            changes["queue"] = config.check_queue(value)
        else:  # pragma: no cover - workflows refuse other effect fields when built
            raise ValidationError(f"a workflow cannot change {path!r}", field=path)
    if custom:
        changes["fields"] = validate_field_values(config.fields, custom, current=ticket.fields)
    was_done = workflow.category(ticket.status) in _DONE
    if workflow.category(plan.target) not in _DONE:
        changes["resolved_at"] = None
    elif not was_done:
        changes["resolved_at"] = now
    return evolve(ticket, **changes)


def closing_state(config: TrackerConfig) -> str:
    """The state a merged duplicate goes to: the first closed, else resolved, state."""
    for category in (Category.CLOSED, Category.RESOLVED):
        for state in config.workflow.states:
            if state.category is category:
                return state.name
    raise ValidationError(  # pragma: no cover - every valid workflow has a final state
        f"workflow {config.workflow.name!r} has no resolved or closed state to merge into"
    )


def with_link(ticket: Ticket, kind: LinkKind, key: str, now: datetime, *, add: bool) -> Ticket:
    link = Link(kind, key)
    links = ticket.links | {link} if add else ticket.links - {link}
    return evolve(ticket, links=links, version=ticket.version + 1, updated=now)


_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\]")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


def check_filename(name: object) -> str:
    """A plain file name: no directories, control characters or dot names."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("an attachment needs a non-empty file name", field="filename")
    name = name.strip()
    bad = _UNSAFE_FILENAME.search(name)
    if bad or name in (".", "..") or len(name) > 255:
        raise ValidationError(
            f"file name {name[:80]!r} is not allowed; give a plain name of at most 255 "
            "characters without slashes, backslashes or control characters",
            field="filename",
        )
    return name


def check_media_type(media_type: object, filename: str) -> str:
    if media_type is None:
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        return guessed or "application/octet-stream"
    if not isinstance(media_type, str) or not _MEDIA_TYPE.match(media_type.strip().lower()):
        raise ValidationError(
            f"media type {media_type!r} is not valid; use the form 'type/subtype', "
            "such as 'text/plain'",
            field="media_type",
        )
    return media_type.strip().lower()


def check_comment(body: object) -> str:
    return check_body(body, "comment", allow_empty=False)


def check_attachment(
    filename: object, content: object, media_type: object, max_size: int
) -> NewAttachment:
    """One file, checked as :meth:`Tracker.attach` checks it: name, type, bytes, size.

    Returns it with a plain name, a media type (guessed from the name when not
    given) and ``bytes`` content.
    """
    name = check_filename(filename)
    try:
        media = check_media_type(media_type, name)
    except ValidationError as exc:
        raise ValidationError(f"attachment {name!r}: {exc}", field=exc.field) from None
    if not isinstance(content, bytes | bytearray | memoryview):
        raise ValidationError(
            f"attachment content must be bytes, got {type(content).__name__} for {name!r}",
            field="content",
        )
    data = bytes(content)
    if len(data) > max_size:
        raise ValidationError(
            f"attachment {name!r} is {len(data)} bytes; the limit is {max_size}",
            field="content",
        )
    return NewAttachment(name, data, media)


def check_attachments(files: object, max_size: int) -> tuple[NewAttachment, ...]:
    """Files given as ``attachments=``: a list of :class:`NewAttachment`, each checked.

    The first bad one raises :class:`ValidationError` naming it; nothing is
    written until every file has passed.
    """
    if isinstance(files, NewAttachment):
        raise ValidationError(
            f"attachments must be a list of NewAttachment, got the single {files!r}; "
            "pass [NewAttachment(...)]",
            field="attachments",
        )
    if isinstance(files, str | bytes | bytearray | Mapping) or not isinstance(files, Iterable):
        shown = type(files).__name__
        raise ValidationError(
            f"attachments must be a list of NewAttachment, got {shown}", field="attachments"
        )
    checked: list[NewAttachment] = []
    for position, item in enumerate(files, 1):
        if not isinstance(item, NewAttachment):
            raise ValidationError(
                f"attachment {position} must be a NewAttachment(filename, content), "
                f"got {type(item).__name__}",
                field="attachments",
            )
        checked.append(check_attachment(item.filename, item.content, item.media_type, max_size))
    return tuple(checked)
