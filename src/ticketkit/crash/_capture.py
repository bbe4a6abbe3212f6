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

**In app.** A frame is the host's own code (see :func:`is_in_app`) when, in
this order: it is not ticketkit's own; its module matches the longest
``in_app_include`` / ``in_app_exclude`` prefix (``"shop"`` matches ``shop``
and ``shop.views``), which decides; its file is not in the standard library,
a ``site-packages`` / ``dist-packages`` directory, or the environment's
scripts directory (``sysconfig`` paths); and its file is under
``project_root``. ``project_root`` defaults to the directory of the script
being run (``sys.argv[0]``), or the working directory when there is none or
it is the environment's scripts directory (a console script): set
``in_app_include`` to your packages' names when your application is
installed into ``site-packages``. Code without a file (``python -c``, the
REPL) is in app when its module is ``__main__``.
"""

from __future__ import annotations

import functools
import os
import sys
import types
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from attrs import field, frozen

from .._errors import ValidationError
from ._environment import collect_environment, redact_home
from ._fingerprint import FINGERPRINT_VERSION, CustomFingerprint, compute_fingerprint
from ._report import (
    JSON,
    Breadcrumb,
    CrashReport,
    ExceptionInfo,
    Frame,
    freeze_json,
    safe_repr,
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

#: A report keeps at most this many breadcrumbs, the newest.
MAX_BREADCRUMBS = 100
#: Context key under which problems met while building a report are listed.
CAPTURE_ERRORS = "ticketkit.capture_errors"

_MAX_NOTES = 32
_MAX_SOURCE = 1000
_MAX_LOCALS = 50
_MAX_LOCAL_REPR = 512
_MAX_TAGS = 100
_MAX_TAG = 200
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
    defaults to the current time.
    """
    occurred = now if now is not None else datetime.now(UTC)
    errors: list[str] = []
    try:
        capture = _Capture(options, errors)
        exceptions, truncated = capture.exceptions(exc)
        try:
            environment: dict[str, JSON] = collect_environment(options, thread_name=thread_name)
        except Exception as error:
            errors.append(f"environment: {_error_text(error)}")
            environment = {"thread": thread_name}
        merged_context = {**options.context, **(context or {})}
        if errors:
            merged_context[CAPTURE_ERRORS] = list(errors)
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
            breadcrumbs=[capture.breadcrumb(b) for b in list(breadcrumbs)[-MAX_BREADCRUMBS:]],
            tags=capture.tags({**options.tags, **(tags or {})}),
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
        problems.append(f"fingerprint: {_error_text(error)}; the default was used")
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


def is_in_app(filename: str, module: str, options: CaptureOptions) -> bool:
    """Whether a frame of ``module`` in ``filename`` is the host's own code (module docstring)."""
    return _InApp(options).check(filename, module)


# -- building ---------------------------------------------------------------------


class _InApp:
    def __init__(self, options: CaptureOptions) -> None:
        self.include = options.in_app_include
        self.exclude = options.in_app_exclude
        root = options.project_root if options.project_root is not None else _default_root()
        self.roots = _root_forms(root) if root else ()

    def check(self, filename: str, module: str) -> bool:
        if module == "ticketkit" or module.startswith("ticketkit."):
            return False
        verdict = _prefix_verdict(module, self.include, self.exclude)
        if verdict is not None:
            return verdict
        if not filename or filename.startswith("<"):
            return module == "__main__"
        path = _normalise_path(filename)
        if _is_library(path):
            return False
        return any(path.startswith(root) for root in self.roots)


def _prefix_verdict(module: str, include: Sequence[str], exclude: Sequence[str]) -> bool | None:
    """The verdict of the longest matching prefix; ``exclude`` wins a tie."""
    longest = -1
    verdict: bool | None = None
    for prefixes, says in ((include, True), (exclude, False)):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (len(prefix) > longest or (len(prefix) == longest and not says)):
                longest, verdict = len(prefix), says
    return verdict


def _default_root() -> str | None:
    try:
        script = sys.argv[0] if sys.argv else ""
        if script and os.path.isfile(script):
            directory = os.path.dirname(os.path.abspath(script))
            if _normalise_path(directory) + os.sep not in _library_roots():
                return directory
        return os.getcwd()
    except (OSError, ValueError):
        return None


def _root_forms(root: str) -> tuple[str, ...]:
    forms = {_normalise_path(root), os.path.normcase(os.path.realpath(root))}
    return tuple(form.rstrip(os.sep) + os.sep for form in forms)


def _normalise_path(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


@functools.cache
def _library_roots() -> tuple[str, ...]:
    import sysconfig

    roots: set[str] = set()
    paths = sysconfig.get_paths()
    for name in ("stdlib", "platstdlib", "purelib", "platlib", "scripts"):
        path = paths.get(name)
        if path:
            roots.add(_normalise_path(path).rstrip(os.sep) + os.sep)
            roots.add(os.path.normcase(os.path.realpath(path)).rstrip(os.sep) + os.sep)
    return tuple(sorted(roots))


@functools.lru_cache(maxsize=4096)
def _is_library(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    return any(path.startswith(root) for root in _library_roots())


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {safe_repr(error, 300)}"


def _qualified_type(exc: object) -> str:
    cls = type(exc)
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None)
    module = module if isinstance(module, str) else "?"
    name = name if isinstance(name, str) else "?"
    return f"{module}.{name}"


class _Capture:
    """One report's worth of reading exceptions and scrubbing what they say."""

    def __init__(self, options: CaptureOptions, errors: list[str]) -> None:
        self.options = options
        self.scrubber = options.scrubber
        self.redact = not options.allow_username
        self.in_app = _InApp(options)
        self.errors = errors
        self.truncated = False

    # text ------------------------------------------------------------------------

    def text(self, value: str, limit: int, *, flag: bool = True) -> str:
        """Scrubbed, home-redacted ``value`` cut to ``limit`` characters with a marker.

        Only the first ``limit + 256`` characters are scrubbed, so a huge
        message costs no more than a long one; ``flag`` marks the report
        truncated when something was cut.
        """
        cut = len(value) > limit + 256
        scrubbed = self.scrubber.scrub_text(value[: limit + 256] if cut else value)
        if self.redact:
            scrubbed = redact_home(scrubbed)
        if not cut and len(scrubbed) <= limit:
            return scrubbed
        self.truncated = self.truncated or flag
        marker = f" [truncated {max(len(value) - limit, 1)} characters]"
        return scrubbed[:limit] + marker

    # exceptions ------------------------------------------------------------------

    def exceptions(self, exc: BaseException) -> tuple[list[ExceptionInfo], bool]:
        """The exception, its group members and its chain, in the documented order."""
        options = self.options
        infos: list[ExceptionInfo] = []
        seen: set[int] = set()
        stack: list[tuple[BaseException, str, int]] = [(exc, "raised", 0)]
        while stack:
            current, relation, depth = stack.pop()
            if id(current) in seen:
                continue
            if len(infos) >= options.max_exceptions:
                self.truncated = True
                infos[0] = _add_note(
                    infos[0],
                    "[truncated: more chained or grouped exceptions were not captured "
                    f"(max_exceptions={options.max_exceptions})]",
                )
                break
            seen.add(id(current))
            members = _members(current)
            notes: list[str] = []
            if members and depth >= options.max_group_depth:
                self.truncated = True
                notes.append(
                    f"[truncated: {len(members)} member exceptions were not captured "
                    f"(max_group_depth={options.max_group_depth})]"
                )
                members = ()
            infos.append(self.exception(current, relation, depth, notes))
            chained = _chained(current)
            if chained is not None:
                stack.append((chained[0], chained[1], depth))
            room = options.max_exceptions - len(infos) + 1
            stack.extend((m, "group", depth + 1) for m in reversed(members[:room]))
        return infos, self.truncated

    def exception(
        self, exc: BaseException, relation: str, depth: int, extra_notes: list[str]
    ) -> ExceptionInfo:
        limit = self.options.max_message
        notes = [self.text(note, limit) for note in _notes(exc)]
        frames, omitted = self.frames(getattr(exc, "__traceback__", None))
        return ExceptionInfo(
            type=_qualified_type(exc),
            message=self.text(_message(exc), limit),
            frames=frames,
            relation=relation,
            depth=depth,
            omitted_frames=omitted,
            notes=[*notes, *extra_notes],
        )

    # frames ----------------------------------------------------------------------

    def frames(self, tb: types.TracebackType | None) -> tuple[list[Frame], int]:
        """Collapse repeats and keep the first and last halves, reading only what is kept."""
        max_frames = self.options.max_frames
        head_size = max_frames // 2
        head: list[list[Any]] = []
        tail: deque[list[Any]] = deque()
        omitted = 0
        run: list[Any] | None = None
        while isinstance(tb, types.TracebackType):
            key = (id(tb.tb_frame.f_code), tb.tb_lasti)
            if run is not None and run[2] == key:
                run[1] += 1
            else:
                if run is not None:
                    if len(head) < head_size:
                        head.append(run)
                    else:
                        tail.append(run)
                        if len(tail) > max_frames - head_size:
                            omitted += tail.popleft()[1]
                run = [tb, 1, key]
            tb = tb.tb_next
        if run is not None:
            if len(head) < head_size:
                head.append(run)
            else:
                tail.append(run)
                if len(tail) > max_frames - head_size:
                    omitted += tail.popleft()[1]
        return [self.frame(item[0], item[1] - 1) for item in (*head, *tail)], omitted

    def frame(self, tb: types.TracebackType, repeated: int) -> Frame:
        frame = tb.tb_frame
        code = frame.f_code
        lineno = tb.tb_lineno if isinstance(tb.tb_lineno, int) else 0
        module = frame.f_globals.get("__name__")
        module = module if isinstance(module, str) else ""
        filename = code.co_filename if isinstance(code.co_filename, str) else ""
        return Frame(
            filename=redact_home(filename) if self.redact else filename,
            lineno=lineno,
            function=code.co_qualname,
            module=module,
            source=self.source(filename, lineno, frame.f_globals),
            in_app=self.in_app.check(filename, module),
            locals=self.locals(frame) if self.options.include_locals else None,
            repeated=repeated,
        )

    def source(self, filename: str, lineno: int, module_globals: dict[str, Any]) -> str | None:
        import linecache

        try:
            line = linecache.getline(filename, lineno, module_globals).strip()
        except Exception:
            return None
        return self.text(line, _MAX_SOURCE, flag=False) if line else None

    def locals(self, frame: types.FrameType) -> dict[str, str] | None:
        try:
            items = list(frame.f_locals.items())
        except Exception as error:
            self.errors.append(f"locals: {_error_text(error)}")
            return None
        module_level = frame.f_code.co_name == "<module>"
        values: dict[str, str] = {}
        for name, value in items:
            if not isinstance(name, str) or (name.startswith("__") and name.endswith("__")):
                continue
            if isinstance(value, types.ModuleType) or (
                module_level and isinstance(value, type | types.FunctionType)
            ):
                continue
            if len(values) == _MAX_LOCALS:
                values["…"] = f"[truncated: more than {_MAX_LOCALS} variables]"
                break
            if self.scrubber.is_secret_key(name) and value is not None:
                values[name] = SCRUBBED
            else:
                values[name] = self.text(_short_repr(value), _MAX_LOCAL_REPR, flag=False)
        return values

    # the rest --------------------------------------------------------------------

    def breadcrumb(self, crumb: Breadcrumb) -> Breadcrumb:
        return Breadcrumb(
            at=crumb.at,
            category=self.text(crumb.category, _MAX_TAG),
            level=crumb.level,
            message=self.text(crumb.message, self.options.max_message),
            data=self.scrubber.scrub(crumb.data),
        )

    def tags(self, tags: Mapping[str, str]) -> dict[str, str]:
        kept: dict[str, str] = {}
        for key, value in list(tags.items())[:_MAX_TAGS]:
            name = cut_text(str(key), _MAX_TAG)
            if self.scrubber.is_secret_key(name):
                kept[name] = SCRUBBED
            else:
                kept[name] = self.text(
                    value if isinstance(value, str) else safe_repr(value), _MAX_TAG
                )
        return kept

    def context(self, context: Mapping[str, Any]) -> Mapping[str, JSON]:
        frozen_context = freeze_json(context)
        scrubbed = self.scrubber.scrub(frozen_context)
        return scrubbed if isinstance(scrubbed, Mapping) else {}


def _add_note(info: ExceptionInfo, note: str) -> ExceptionInfo:
    return attrs.evolve(info, notes=(*info.notes, note))


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
        if type(text) is not str:
            raise TypeError("__str__ returned a non-string")
        return text
    except Exception as error:
        return f"<unprintable {type(exc).__name__}: {type(error).__name__} in __str__>"


def _notes(exc: BaseException) -> list[str]:
    try:
        notes = getattr(exc, "__notes__", None)
        if not isinstance(notes, list | tuple):
            return []
        return [n if isinstance(n, str) else safe_repr(n) for n in notes[:_MAX_NOTES]]
    except Exception:
        return []


def _members(exc: BaseException) -> tuple[BaseException, ...]:
    if not isinstance(exc, BaseExceptionGroup):
        return ()
    try:
        members = exc.exceptions
        return tuple(m for m in members if isinstance(m, BaseException))
    except Exception:
        return ()


def _chained(exc: BaseException) -> tuple[BaseException, str] | None:
    try:
        cause = exc.__cause__
        if isinstance(cause, BaseException):
            return cause, "cause"
        context = exc.__context__
        if isinstance(context, BaseException) and not exc.__suppress_context__:
            return context, "context"
    except Exception:
        return None
    return None


def _short_repr(value: object) -> str:
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = 200
    shortener.maxother = 200
    shortener.maxlong = 100
    try:
        return shortener.repr(value)
    except Exception:
        return safe_repr(value, _MAX_LOCAL_REPR)


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
    exc_type = _qualified_type(exc)
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
