"""Turning an exception object into a :class:`CrashReport`.

:func:`build_report` walks the exception, its chain and its group members,
reads each frame (file, line, function, module, source line, whether it is
the host's own code, and locals when asked for), collects the environment,
scrubs every string through the options' :class:`Scrubber`, computes the
fingerprint and keeps the report under ``max_report_bytes``. It is pure: no
tracker, no I/O besides reading source lines (``linecache``) and the names of
installed distributions.

It never raises, whatever the exception object does: a ``__str__`` that
raises gives ``"<unprintable ValueError: RuntimeError in __str__>"``, a cycle
in ``__cause__`` / ``__context__`` ends the chain, and if building fails all
the same, a minimal report naming the exception type is returned, with the
error under the context key ``"ticketkit.capture_errors"``.

**Frames.** Consecutive identical frames (same code, same instruction, as in
a recursion) are collapsed into one whose ``repeated`` says how many followed;
then the first ``max_frames // 2`` and the last ``max_frames - max_frames // 2``
are kept and ``omitted_frames`` counts the rest. The traceback is walked once
and only the kept frames are read, so a ``RecursionError`` 100,000 frames deep
is captured in milliseconds.

**In app.** Whether a frame is the host's own code is decided as
:mod:`ticketkit.crash._in_app` describes: ticketkit's own frames never are;
``in_app_include`` / ``in_app_exclude`` module prefixes decide next; then
files in the standard library or ``site-packages`` are not, and files under
``project_root`` (default: the script's directory, else the working
directory) are.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from attrs import field, frozen

from .._errors import ValidationError
from ._environment import collect_environment, redact_home
from ._fingerprint import FINGERPRINT_VERSION, CustomFingerprint, compute_fingerprint
from ._in_app import InAppRule
from ._reading import MAX_BREADCRUMBS, Reader, error_text, qualified_type
from ._report import (
    JSON,
    Breadcrumb,
    CrashReport,
    ExceptionInfo,
    Frame,
    freeze_json,
)
from ._scrub import SCRUBBED, Scrubber
from ._truncate import MIN_REPORT_BYTES, cut_text, limit_report_size

__all__ = [
    "MAX_BREADCRUMBS",
    "CaptureOptions",
    "build_report",
    "finish_report",
    "is_in_app",
    "limit_report_size",
    "make_title",
    "scrub_report",
]

#: Context key under which problems met while building a report are listed.
CAPTURE_ERRORS = "ticketkit.capture_errors"

_MAX_TAG = 200
_MAX_ERRORS = 10
_MAX_TITLE = 200


def _prefixes(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError(
            f"module prefixes must be a collection of strings, not the single string {value!r}; "
            f"write ({value!r},)",
            field="in_app_include",
        )
    return tuple(str(v).strip().rstrip(".") for v in value if str(v).strip())


def _at_least(least: int) -> Callable[[Any, attrs.Attribute[int], int], None]:
    def check(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValidationError(
                f"{attribute.name} must be an integer of at least {least}, got {value!r}",
                field=attribute.name,
            )

    return check


def _custom(value: CustomFingerprint) -> CustomFingerprint:
    if value is None or callable(value):
        return value
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(str(part) for part in value)
    raise ValidationError(
        f"fingerprint must be a list of strings or a callable, got {value!r}", field="fingerprint"
    )


def _tag_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return types.MappingProxyType({str(k): str(v) for k, v in (value or {}).items()})


def _context_map(value: Mapping[str, Any] | None) -> Mapping[str, JSON]:
    frozen_value = freeze_json(dict(value or {}))
    assert isinstance(frozen_value, Mapping)
    return frozen_value


@frozen
class CaptureOptions:
    """What :func:`build_report` records and how; every field has a safe default.

    ``max_frames`` (at least 2) caps the frames per exception (the first and
    last halves are kept), ``max_exceptions`` the chain and group members,
    ``max_group_depth`` the nesting of exception groups (0: no members),
    ``max_message`` (at least 100) each message and note in characters, and
    ``max_report_bytes`` (at least 4096) the size of ``to_json()``.
    ``include_locals`` records local variables (scrubbed, shortened reprs).
    Host names and user names are hashed unless ``allow_hostname`` /
    ``allow_username``; without ``allow_username`` the home directory is also
    written ``~`` in paths and messages. ``fingerprint`` overrides the
    fingerprint (see :mod:`ticketkit.crash._fingerprint`). ``tags`` and
    ``context`` are added to every report.
    """

    app: str | None = None
    release: str | None = None
    in_app_include: tuple[str, ...] = field(default=(), converter=_prefixes)
    in_app_exclude: tuple[str, ...] = field(default=(), converter=_prefixes)
    project_root: str | None = None
    include_locals: bool = False
    max_frames: int = field(default=100, validator=_at_least(2))
    max_exceptions: int = field(default=50, validator=_at_least(1))
    max_group_depth: int = field(default=10, validator=_at_least(0))
    max_message: int = field(default=8192, validator=_at_least(100))
    max_report_bytes: int = field(default=256 * 1024, validator=_at_least(MIN_REPORT_BYTES))
    scrubber: Scrubber = field(factory=Scrubber)
    allow_hostname: bool = False
    allow_username: bool = False
    fingerprint: CustomFingerprint = field(default=None, converter=_custom)
    tags: Mapping[str, str] = field(factory=dict, converter=_tag_map)
    context: Mapping[str, JSON] = field(factory=dict, converter=_context_map)


def build_report(
    exc: BaseException,
    *,
    options: CaptureOptions,
    mechanism: str,
    handled: bool,
    breadcrumbs: Sequence[Breadcrumb] = (),
    tags: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    thread_name: str | None = None,
    now: datetime | None = None,
) -> CrashReport:
    """The report for ``exc``; never raises (see the module docstring).

    ``tags`` and ``context`` are merged over the options' (a key given here
    wins); the newest :data:`MAX_BREADCRUMBS` breadcrumbs are kept; ``now``
    defaults to the current time. Parts that cannot be read (a breadcrumb that
    is not a :class:`Breadcrumb`, tags that are not a mapping) are left out and
    named under the context key ``"ticketkit.capture_errors"``.
    """
    occurred = now if now is not None else datetime.now(UTC)
    errors: list[str] = []
    try:
        capture = Reader(options, errors, _rule(options))
        exceptions, truncated = capture.exceptions(exc)
        try:
            environment: dict[str, JSON] = collect_environment(options, thread_name=thread_name)
        except Exception as error:
            errors.append(f"environment: {error_text(error)}")
            environment = {"thread": thread_name}
        crumbs = capture.breadcrumbs(breadcrumbs)
        merged_tags = capture.merged("tags", options.tags, tags)
        merged_context = capture.merged("context", options.context, context)
        if errors:
            merged_context[CAPTURE_ERRORS] = errors[:_MAX_ERRORS]
        report = CrashReport(
            exceptions=exceptions,
            title="",
            fingerprint="",
            fingerprint_version=FINGERPRINT_VERSION,
            mechanism=mechanism,
            handled=handled,
            occurred_at=occurred,
            app=options.app,
            release=options.release,
            environment=environment,
            breadcrumbs=crumbs,
            tags=capture.tags(merged_tags),
            context=capture.context(merged_context),
            truncated=truncated,
        )
        return _finish(report, options, options.fingerprint)
    except Exception as error:
        return _fallback(exc, options, mechanism, handled, occurred, thread_name, error)


def finish_report(
    report: CrashReport, *, options: CaptureOptions, fingerprint: CustomFingerprint = None
) -> CrashReport:
    """Make a report built elsewhere (from a sentry-sdk event) like one from :func:`build_report`.

    Scrubs it again (:func:`scrub_report`), computes its fingerprint with
    ``fingerprint`` (the event's own), else the options', sets a title when it
    has none and limits its size. Never raises for a valid report.
    """
    scrubbed = scrub_report(report, options.scrubber, redact=not options.allow_username)
    custom = fingerprint if fingerprint is not None else options.fingerprint
    return _finish(scrubbed, options, custom, keep_title=bool(report.title))


def _finish(
    report: CrashReport,
    options: CaptureOptions,
    custom: CustomFingerprint,
    *,
    keep_title: bool = False,
) -> CrashReport:
    try:
        fingerprint = compute_fingerprint(report, custom)
    except Exception as error:
        fingerprint = compute_fingerprint(report)
        problems = list(_as_list(report.context.get(CAPTURE_ERRORS)))
        problems.append(f"fingerprint: {error_text(error)}; the default was used")
        report = attrs.evolve(report, context={**report.context, CAPTURE_ERRORS: problems})
    title = report.title if keep_title else make_title(report)
    report = attrs.evolve(report, fingerprint=fingerprint, title=title)
    return limit_report_size(report, options.max_report_bytes)


def _as_list(value: object) -> Sequence[object]:
    return value if isinstance(value, tuple | list) else ()


def make_title(report: CrashReport) -> str:
    """``"ValueError: first line of the message"``, or ``"ValueError in shop.views.pay"``.

    At most 200 characters.
    """
    if not report.exceptions:
        return "Crash"
    first = report.exceptions[0]
    lines = first.message.strip().splitlines()
    if lines:
        title = f"{first.short_type}: {lines[0].strip()}"
    elif report.culprit:
        title = f"{first.short_type} in {report.culprit}"
    else:
        title = first.short_type
    return cut_text(title, _MAX_TITLE)


def is_in_app(filename: str, module: str, options: CaptureOptions) -> bool:
    """Whether a frame of ``module`` in ``filename`` is the host's own code.

    See :mod:`ticketkit.crash._in_app`; for many frames, build one
    :class:`~ticketkit.crash._in_app.InAppRule` instead.
    """
    return _rule(options).check(filename, module)


def _rule(options: CaptureOptions) -> InAppRule:
    return InAppRule(options.in_app_include, options.in_app_exclude, options.project_root)


def scrub_report(report: CrashReport, scrubber: Scrubber, *, redact: bool = True) -> CrashReport:
    """``report`` with every free-text part scrubbed again (and the home directory hidden).

    Covers the title, messages, notes, source lines, file names, locals,
    ``argv``, tags, context and breadcrumbs.
    """

    def text(value: str) -> str:
        scrubbed = scrubber.scrub_text(value)
        return redact_home(scrubbed) if redact else scrubbed

    def frame(f: Frame) -> Frame:
        return attrs.evolve(
            f,
            filename=redact_home(f.filename) if redact else f.filename,
            source=None if f.source is None else text(f.source),
            locals=None if f.locals is None else _scrub_locals(f.locals, scrubber, text),
        )

    environment = dict(report.environment)
    argv = environment.get("argv")
    if isinstance(argv, Sequence) and not isinstance(argv, str):
        environment["argv"] = [text(a) for a in scrubber.scrub_argv(str(a) for a in argv)]
    return attrs.evolve(
        report,
        title=text(report.title),
        exceptions=[
            attrs.evolve(
                e,
                message=text(e.message),
                notes=[text(n) for n in e.notes],
                frames=[frame(f) for f in e.frames],
            )
            for e in report.exceptions
        ],
        environment=environment,
        breadcrumbs=[
            attrs.evolve(b, message=text(b.message), data=scrubber.scrub(b.data))
            for b in report.breadcrumbs
        ],
        tags=_scrub_locals(report.tags, scrubber, text),
        context=scrubber.scrub(report.context),
    )


def _scrub_locals(
    values: Mapping[str, str], scrubber: Scrubber, text: Callable[[str], str]
) -> dict[str, str]:
    return {k: SCRUBBED if scrubber.is_secret_key(k) else text(v) for k, v in values.items()}


def _fallback(
    exc: object,
    options: CaptureOptions,
    mechanism: str,
    handled: bool,
    occurred: datetime,
    thread_name: str | None,
    error: Exception,
) -> CrashReport:
    """A minimal report for when building the full one failed; built from safe parts only."""
    exc_type = qualified_type(exc)
    info = ExceptionInfo(
        type=exc_type,
        message=f"<ticketkit could not capture this exception: {type(error).__name__}>",
        frames=(),
        relation="raised",
        depth=0,
    )
    report = CrashReport(
        exceptions=(info,),
        title=cut_text(f"{info.short_type} (capture failed)", _MAX_TITLE),
        fingerprint=compute_fingerprint([f"type:{exc_type}"]),
        fingerprint_version=FINGERPRINT_VERSION,
        mechanism=cut_text(str(mechanism), _MAX_TAG),
        handled=bool(handled),
        occurred_at=occurred if isinstance(occurred, datetime) else datetime.now(UTC),
        app=options.app,
        release=options.release,
        environment={"thread": thread_name} if thread_name else {},
        breadcrumbs=(),
        tags={},
        context={CAPTURE_ERRORS: [f"build_report: {type(error).__name__}"]},
        truncated=True,
    )
    return limit_report_size(report, options.max_report_bytes)
