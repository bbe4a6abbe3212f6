"""Filing a crash report: one ticket per (app, fingerprint), counted, reopened on regression.

The ticket's custom fields (:data:`FIELDS`) hold what a developer sorts and
filters crashes by; ``tracker.query({"fields.crash_fingerprint": fp})`` finds
one, ``tracker.query(order_by="-fields.crash_count")`` the most frequent. Times
are ISO 8601 text in UTC with a fixed width, so they sort as text.

Every write is version-checked. Concurrent occurrences of one crash (threads,
processes, hosts) meet on the ticket's reference ``crash:<app>:<fingerprint>``:
one of them opens the ticket, the others add to its counter, retrying on
:class:`~ticketkit.ConflictError`.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from attrs import frozen

from .._errors import (
    ConflictError,
    DuplicateReference,
    StorageError,
    TransitionNotAllowed,
    ValidationError,
)
from .._fields import FieldDef, FieldType
from .._model import NewAttachment, Ticket
from .._text import MAX_BODY, MAX_REFERENCE, MAX_TITLE
from .._workflow import Category
from ._releases import is_older

if TYPE_CHECKING:
    from .._tracker import Tracker
    from ._report import CrashReport

__all__ = [
    "ACTOR",
    "FIELDS",
    "REPORT_FILENAME",
    "Filed",
    "add_count",
    "define_crash_fields",
    "file_report",
    "mark_fixed",
    "reference_for",
]

#: Who files crash tickets, unless ``install(actor=...)`` says otherwise.
ACTOR = "ticketkit.crash"
#: The name of the report samples attached to a crash ticket.
REPORT_FILENAME = "crash-report.json"
#: The tag every crash ticket carries, and the one a regression adds.
CRASH_TAG = "crash"
REGRESSION_TAG = "regression"

T = TypeVar("T")
_DONE = frozenset({Category.RESOLVED, Category.CLOSED})
_ATTEMPTS = 40


def _text(name: str, label: str) -> FieldDef:
    return FieldDef(name, FieldType.TEXT, label=label)


#: The custom fields of a crash ticket; :func:`install` defines them on the tracker.
FIELDS: tuple[FieldDef, ...] = (
    _text("crash_fingerprint", "Crash fingerprint"),
    _text("crash_app", "Application"),
    FieldDef("crash_count", FieldType.INT, label="Occurrences", min_value=0),
    _text("crash_first_seen", "First seen (UTC)"),
    _text("crash_last_seen", "Last seen (UTC)"),
    _text("crash_release", "Release last seen"),
    _text("crash_first_release", "Release first seen"),
    _text("crash_exception_type", "Exception type"),
    _text("crash_culprit", "Culprit"),
    _text("crash_fixed_in", "Fixed in release"),
    _text("crash_regressed_in", "Regressed in release"),
    FieldDef("crash_samples", FieldType.INT, label="Report samples attached", min_value=0),
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\ud800-\udfff]")
_LINE = re.compile(r"[\x00-\x1f\x7f\x80-\x9f\u2028\u2029\ud800-\udfff]+")


@frozen
class Filed:
    """What filing one report did: the ticket ``key``, whether it was opened
    (``created``) or reopened as a regression (``regressed``), and its ``count`` now."""

    key: str
    created: bool
    regressed: bool
    count: int


def define_crash_fields(tracker: Tracker) -> None:
    """Define :data:`FIELDS` on ``tracker`` (doing it again changes nothing)."""
    if not all(tracker.config.fields.get(fd.name) == fd for fd in FIELDS):
        tracker.define_fields(*FIELDS)


def iso(when: datetime) -> str:
    """``2026-01-05T09:00:00.000000Z``: fixed width, so the text sorts like the time."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _line(value: object, limit: int = 1000) -> str:
    text = _LINE.sub(" ", str(value)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _body(value: str) -> str:
    text = _CONTROL.sub("\ufffd", value)
    return text if len(text) <= MAX_BODY else text[: MAX_BODY - 40] + "\n… (description truncated)"


def reference_for(report: CrashReport, app: str | None = None) -> str:
    """The external reference of the ticket for ``report``: ``crash:<app>:<fingerprint>``."""
    name = _line(report.app or app or "-", 100)
    ref = f"crash:{name}:{report.fingerprint}"
    if len(ref) > MAX_REFERENCE:
        digest = hashlib.sha256(f"{name}\0{report.fingerprint}".encode()).hexdigest()
        ref = f"crash:{digest}"
    return ref


def _title(report: CrashReport) -> str:
    title = _line(report.title or "", MAX_TITLE)
    return title or f"Crash: {_line(report.exception_type or 'unknown error', MAX_TITLE - 7)}"


def _first_fields(
    report: CrashReport, count: int, seen: datetime, samples: int, app: str | None
) -> dict[str, object]:
    values: dict[str, object] = {
        "crash_fingerprint": _line(report.fingerprint),
        "crash_app": _line(report.app or app or "-"),
        "crash_count": count,
        "crash_first_seen": iso(min(report.occurred_at, seen)),
        "crash_last_seen": iso(seen),
        "crash_exception_type": _line(report.exception_type or "unknown"),
        "crash_samples": samples,
    }
    if report.culprit:
        values["crash_culprit"] = _line(report.culprit)
    if report.release:
        values["crash_release"] = values["crash_first_release"] = _line(report.release)
    return values


def file_report(
    tracker: Tracker,
    report: CrashReport,
    *,
    count: int = 1,
    sample: bool = True,
    last_seen: datetime | None = None,
    actor: str = ACTOR,
    queue: str | None = None,
    max_samples: int = 5,
    app: str | None = None,
) -> Filed:
    """File ``count`` occurrences of the crash ``report`` describes; return what was done.

    The first occurrence of a fingerprint opens a ticket (title from the report,
    description from :meth:`CrashReport.describe`, tag ``crash``) and attaches the
    report as ``crash-report.json``; later ones add to its ``crash_count`` and move
    ``crash_last_seen``, attaching a sample while fewer than ``max_samples`` are.
    An occurrence on a resolved or closed ticket reopens it as a regression unless
    it comes from a release older than the ticket's ``crash_fixed_in``.
    ``sample=False`` counts without attaching (the counts a rate limit held back).
    Raises what the tracker raises (:class:`~ticketkit.storage.StorageError` when
    the store is unavailable).
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValidationError(f"count must be a whole number of at least 1, got {count!r}")
    define_crash_fields(tracker)
    seen = last_seen or report.occurred_at
    ref = reference_for(report, app)
    ticket = tracker.by_reference(ref)
    if ticket is None:
        # The first sample is stored in the same write as the ticket, so a crash
        # ticket never exists without the report it was opened for.
        files = _sample(tracker, report) if sample and max_samples > 0 else []
        title, description = _title(report), _body(report.describe())
        fields = _first_fields(report, count, seen, len(files), app)
        try:
            ticket = _again(
                lambda: tracker.open(
                    title,
                    description,
                    actor=actor,
                    queue=queue,
                    tags=(CRASH_TAG,),
                    fields=fields,
                    reference=ref,
                    attachments=files,
                )
            )
        except DuplicateReference:
            ticket = tracker.by_reference(ref)
            if ticket is None:  # pragma: no cover - a reference is never given back
                raise
        else:
            return Filed(ticket.key, created=True, regressed=False, count=count)
    return _repeat(tracker, ticket, report, count, sample, seen, actor, max_samples)


def _transient(error: BaseException) -> bool:
    """A write that failed but may succeed at once if tried again (nothing was stored)."""
    if isinstance(error, ConflictError):
        return True
    return isinstance(error, StorageError) and "deadlock" in str(error)


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))


def _again(write: Callable[[], T]) -> T:
    """Run a write that is not version-checked, again while it fails transiently."""
    for attempt in range(_ATTEMPTS - 1):
        try:
            return write()
        except (ConflictError, StorageError) as error:
            if not _transient(error):
                raise
            _pause(attempt)
    return write()


def _follow_merges(tracker: Tracker, ticket: Ticket) -> Ticket:
    for _ in range(10):
        if ticket.merged_into is None:
            break
        ticket = tracker.get(ticket.merged_into)
    return ticket


def _repeat(
    tracker: Tracker,
    ticket: Ticket,
    report: CrashReport,
    count: int,
    sample: bool,
    seen: datetime,
    actor: str,
    max_samples: int,
) -> Filed:
    for attempt in range(_ATTEMPTS):
        ticket = _follow_merges(tracker, ticket)
        current = ticket.fields
        done = tracker.workflow.category(ticket.status) in _DONE
        fixed_in = current.get("crash_fixed_in")
        regress = done and not is_older(report.release, str(fixed_in) if fixed_in else None)
        samples = _int(current.get("crash_samples"))
        attach = sample and samples < max_samples
        total = _int(current.get("crash_count")) + count
        values: dict[str, object] = {"crash_count": total}
        last = str(current.get("crash_last_seen") or "")
        first = str(current.get("crash_first_seen") or "")
        if iso(seen) >= last:
            values["crash_last_seen"] = iso(seen)
            if report.release:
                values["crash_release"] = _line(report.release)
        if not first or iso(report.occurred_at) < first:
            values["crash_first_seen"] = iso(report.occurred_at)
            if report.release:
                values["crash_first_release"] = _line(report.release)
        if attach:
            values["crash_samples"] = samples + 1
        if regress:
            values["crash_regressed_in"] = _line(report.release or "unknown")
        try:
            ticket = tracker.update(
                ticket.key,
                actor=actor,
                expected_version=ticket.version,
                fields=values,
                add_tags=(REGRESSION_TAG,) if regress else (),
            )
        except (ConflictError, StorageError) as error:
            if not _transient(error):
                raise
            _pause(attempt)
            ticket = tracker.get(ticket.key)
            continue
        break
    else:
        raise ConflictError(
            f"{ticket.key} kept changing while {count} crash occurrence(s) were being "
            f"counted ({_ATTEMPTS} attempts); the report stays in the spool",
            key=ticket.key,
            expected=ticket.version,
            actual=ticket.version,
        )
    if regress:
        _reopen(tracker, ticket, report, actor, str(fixed_in) if fixed_in else None)
    if attach:
        _attach(tracker, ticket.key, report, actor)
    return Filed(ticket.key, created=False, regressed=regress, count=total)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _sample(tracker: Tracker, report: CrashReport) -> list[NewAttachment]:
    """The report as the file to attach, or none when it is over the tracker's size limit."""
    content = report.to_json()
    if len(content) > tracker.config.max_attachment_size:
        return []
    return [NewAttachment(REPORT_FILENAME, content, "application/json")]


def _attach(tracker: Tracker, key: str, report: CrashReport, actor: str) -> None:
    for file in _sample(tracker, report):
        _again(
            partial(
                tracker.attach,
                key,
                file.filename,
                file.content,
                actor=actor,
                media_type=file.media_type,
            )
        )


def _reopen(
    tracker: Tracker, ticket: Ticket, report: CrashReport, actor: str, fixed_in: str | None
) -> None:
    """Take the ticket out of its done state through the workflow, saying why."""
    release = report.release or "an unknown release"
    was = ticket.status
    note = (
        f"Regression: this crash happened again in {release} after the ticket was "
        f"{was}" + (f" as fixed in {fixed_in}" if fixed_in else "") + ". "
        f"{ticket.fields.get('crash_count')} occurrences so far."
    )
    workflow = tracker.workflow
    reasons: list[str] = []
    for _ in range(_ATTEMPTS):
        if workflow.category(ticket.status) not in _DONE:
            return  # another process reopened it meanwhile
        actions = [
            a
            for a in workflow.actions_from(ticket.status)
            if workflow.category(a.target) not in _DONE
        ]
        actions.sort(key=lambda a: (a.name != "reopen", a.name))
        reasons = []
        conflict = False
        for action in actions:
            try:
                tracker.transition(
                    ticket.key,
                    action.name,
                    actor=actor,
                    comment=note,
                    internal=True,
                    expected_version=ticket.version,
                )
                return
            except (ConflictError, StorageError) as error:
                if not _transient(error):
                    raise
                conflict = True
                break
            except (TransitionNotAllowed, ValidationError) as exc:
                reasons.append(f"{action.name!r}: {exc}")
        if not conflict:
            break
        _pause(0)
        ticket = tracker.get(ticket.key)
    why = "; ".join(reasons) or f"workflow {workflow.name!r} has no action out of {was!r}"
    _again(
        lambda: tracker.comment(
            ticket.key,
            f"{note} ticketkit could not reopen it ({why}); reopen it by hand if needed.",
            actor=actor,
            internal=True,
        )
    )


def mark_fixed(
    tracker: Tracker,
    ref: str,
    release: str,
    *,
    actor: str,
    action: str | None = None,
    resolution: str | None = None,
) -> Ticket:
    """Record that the crash ticket ``ref`` is fixed in ``release``; optionally resolve it.

    Afterwards an occurrence from a release older than ``release`` only adds to
    the counter; one from ``release`` or newer reopens the ticket as a
    regression. ``action`` (and ``resolution``, if the action needs one) names
    the workflow action that resolves the ticket, such as ``"resolve"``.
    """
    define_crash_fields(tracker)
    ticket = tracker.update(ref, actor=actor, fields={"crash_fixed_in": _line(release)})
    if action is not None:
        ticket = tracker.transition(ticket.key, action, actor=actor, resolution=resolution)
    return ticket


def add_count(
    tracker: Tracker, reference: str, count: int, last_seen: datetime, *, actor: str = ACTOR
) -> bool:
    """Add ``count`` occurrences to the crash ticket with ``reference``, if there is one."""
    define_crash_fields(tracker)
    ticket = tracker.by_reference(reference)
    if ticket is None:
        return False
    for attempt in range(_ATTEMPTS):
        ticket = _follow_merges(tracker, ticket)
        values: dict[str, object] = {"crash_count": _int(ticket.fields.get("crash_count")) + count}
        if iso(last_seen) > str(ticket.fields.get("crash_last_seen") or ""):
            values["crash_last_seen"] = iso(last_seen)
        try:
            tracker.update(ticket.key, actor=actor, expected_version=ticket.version, fields=values)
        except (ConflictError, StorageError) as error:
            if not _transient(error):
                raise
            _pause(attempt)
            ticket = tracker.get(ticket.key)
            continue
        return True
    return False
