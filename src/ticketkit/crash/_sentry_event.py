"""A sentry-sdk event as a :class:`CrashReport`; plain dictionaries in, no sentry-sdk needed.

:func:`report_from_event` reads what Sentry puts in an event and ticketkit
keeps: the exception(s) and their stacks (``event["exception"]["values"]``,
each frame's ``abs_path``/``filename``, ``lineno``, ``function``, ``module``,
``context_line``, ``in_app`` and ``vars``), tags, user, release, breadcrumbs,
contexts, extra data, request and the event's ``fingerprint``. Everything is
scrubbed again with ticketkit's :class:`Scrubber`, whatever Sentry did.

When the exception object is at hand (the event hint's ``exc_info``), the
stack is read from it with ticketkit's own capture rules instead, exactly as
:func:`ticketkit.crash.install` would: so a crash gets the same fingerprint,
and the same ticket, whichever hook saw it, and a stack Sentry dropped as too
long (a deep ``RecursionError``) is still recorded, first and last frames.

Personal data: the user's fields and the server name are hashed
(``"sha256:…"``) unless ``allow_username`` / ``allow_hostname``; the request's
``env`` (the client address) and cookies are never kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from ._capture import MAX_BREADCRUMBS, build_report, finish_report, is_in_app
from ._environment import collect_environment, hash_identifier
from ._fingerprint import FINGERPRINT_VERSION
from ._logging import current_breadcrumbs
from ._report import Breadcrumb, CrashReport, ExceptionInfo, Frame, safe_repr
from ._request import scrub_headers
from ._truncate import cut_text

if TYPE_CHECKING:
    from ._capture import CaptureOptions

__all__ = ["exception_values", "main_exception_type", "report_from_event"]

_MAX_TAGS = 100
_MAX_TAG = 200
_MAX_SOURCE = 1000
_MAX_LOCALS = 50
_MAX_LOCAL_REPR = 512
_EVENT_TAGS = ("environment", "level", "logger", "transaction")


def report_from_event(
    event: Mapping[str, Any],
    *,
    options: CaptureOptions,
    exc: BaseException | None = None,
    release: str | None = None,
    environment: str | None = None,
) -> CrashReport:
    """The report for a Sentry error event (see the module docstring).

    ``exc`` is the exception from the hint's ``exc_info``, if any; ``release``
    and ``environment`` the client's, for an event that has none yet (event
    processors run before the client fills them in). The report's mechanism is
    ``"sentry"``; Sentry's own (``"excepthook"``, ``"logging"``…) is in the
    context under ``sentry.mechanism``.
    """
    values = exception_values(event)
    mechanism = _mapping(values[-1].get("mechanism")) if values else {}
    handled = mechanism.get("handled")
    handled = handled if isinstance(handled, bool) else True
    chosen_release = options.release or _text(event.get("release")) or release
    if chosen_release != options.release:
        options = attrs.evolve(options, release=chosen_release)
    occurred = _time(event.get("timestamp")) or datetime.now(UTC)
    crumbs = _breadcrumbs(event)
    tags = _tags(event, options)
    if environment and "environment" not in tags:
        tags["environment"] = environment
    context = _context(event, options, _text(mechanism.get("type")) or "generic")
    fingerprint = _fingerprint(event)
    if exc is not None:
        report = build_report(
            exc,
            options=options,
            mechanism="sentry",
            handled=handled,
            breadcrumbs=crumbs,
            tags=tags,
            context=context,
            now=occurred,
        )
        if fingerprint is None:
            return report
        return finish_report(report, options=options, fingerprint=fingerprint)
    exceptions, truncated = _exceptions(values, options)
    report = CrashReport(
        exceptions=exceptions,
        title="",
        fingerprint="",
        fingerprint_version=FINGERPRINT_VERSION,
        mechanism="sentry",
        handled=handled,
        occurred_at=occurred,
        app=options.app,
        release=options.release,
        environment=collect_environment(options),
        breadcrumbs=crumbs,
        tags={**options.tags, **tags},
        context={**options.context, **context},
        truncated=truncated,
    )
    return finish_report(report, options=options, fingerprint=fingerprint)


def exception_values(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The event's exception entries, as Sentry orders them (the one raised last)."""
    raw = _unwrap(event.get("exception"))
    if isinstance(raw, Mapping):
        raw = _unwrap(raw.get("values"))
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return []
    return [v for v in raw if isinstance(v, Mapping)]


def main_exception_type(event: Mapping[str, Any]) -> str | None:
    """``"builtins.KeyboardInterrupt"``-style type of the exception the event is about."""
    values = exception_values(event)
    return _type(values[-1]) if values else None


# -- exceptions and frames -------------------------------------------------------------


def _type(value: Mapping[str, Any]) -> str:
    name = _text(value.get("type")) or "Exception"
    return f"{_text(value.get('module')) or 'builtins'}.{name}"


def _exceptions(
    values: list[Mapping[str, Any]], options: CaptureOptions
) -> tuple[list[ExceptionInfo], bool]:
    """ticketkit's order: each exception, then its group members, then what it came from."""
    entries = list(reversed(values))
    if not entries:
        return [], False
    ids = [_mapping(v.get("mechanism")).get("exception_id") for v in entries]
    children: dict[object, list[int]] = {}
    chained: dict[object, tuple[int, str]] = {}
    roots: list[int] = []
    for index, value in enumerate(entries):
        mechanism = _mapping(value.get("mechanism"))
        parent, source = mechanism.get("parent_id"), _text(mechanism.get("source")) or ""
        if index == 0 or parent is None or parent not in ids:
            roots.append(index)
        elif source.startswith("exceptions"):
            children.setdefault(parent, []).append(index)
        else:
            chained[parent] = (index, "cause" if source == "__cause__" else "context")
    infos: list[ExceptionInfo] = []
    truncated = False
    stack = [(i, "raised" if i == 0 else "context", 0) for i in reversed(roots)]
    while stack:
        index, relation, depth = stack.pop()
        if len(infos) >= options.max_exceptions:
            truncated = True
            break
        info, cut = _exception(entries[index], relation, depth, options)
        infos.append(info)
        truncated = truncated or cut
        key = ids[index]
        if key is None:
            continue
        if key in chained:
            stack.append((chained[key][0], chained[key][1], depth))
        stack.extend((m, "group", depth + 1) for m in reversed(children.get(key, ())))
    return infos, truncated


def _exception(
    value: Mapping[str, Any], relation: str, depth: int, options: CaptureOptions
) -> tuple[ExceptionInfo, bool]:
    message = _text(value.get("value")) or ""
    cut = len(message) > options.max_message
    if cut:
        extra = len(message) - options.max_message
        message = message[: options.max_message] + f" [truncated {extra} characters]"
    frames, omitted = _frames(_mapping(_unwrap(value.get("stacktrace"))), options)
    info = ExceptionInfo(
        type=_type(value),
        message=message,
        frames=frames,
        relation=relation,
        depth=depth,
        omitted_frames=omitted,
    )
    return info, cut


def _frames(stacktrace: Mapping[str, Any], options: CaptureOptions) -> tuple[list[Frame], int]:
    raw = _unwrap(stacktrace.get("frames"))
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return [], 0
    frames: list[Frame] = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        frame = _frame(item, options)
        last = frames[-1] if frames else None
        if last is not None and (last.filename, last.lineno, last.function) == (
            frame.filename,
            frame.lineno,
            frame.function,
        ):
            frames[-1] = attrs.evolve(last, repeated=last.repeated + 1)
        else:
            frames.append(frame)
    if len(frames) <= options.max_frames:
        return frames, 0
    head = options.max_frames // 2
    tail = options.max_frames - head
    omitted = sum(1 + f.repeated for f in frames[head:-tail])
    return [*frames[:head], *frames[-tail:]], omitted


def _frame(item: Mapping[str, Any], options: CaptureOptions) -> Frame:
    filename = _text(item.get("abs_path")) or _text(item.get("filename")) or ""
    module = _text(item.get("module")) or ""
    lineno = item.get("lineno")
    in_app = item.get("in_app")
    source = (_text(item.get("context_line")) or "").strip()
    return Frame(
        filename=filename,
        lineno=lineno if isinstance(lineno, int) and not isinstance(lineno, bool) else 0,
        function=_text(item.get("function")) or "<unknown>",
        module=module,
        source=cut_text(source, _MAX_SOURCE) or None,
        in_app=in_app if isinstance(in_app, bool) else is_in_app(filename, module, options),
        locals=_locals(item.get("vars")) if options.include_locals else None,
    )


def _locals(raw: object) -> dict[str, str] | None:
    raw = _unwrap(raw)
    if not isinstance(raw, Mapping):
        return None
    values: dict[str, str] = {}
    for name, value in raw.items():
        if len(values) == _MAX_LOCALS:
            values["…"] = f"[truncated: more than {_MAX_LOCALS} variables]"
            break
        text = value if isinstance(value, str) else safe_repr(_unwrap(value))
        values[str(name)] = cut_text(text, _MAX_LOCAL_REPR)
    return values


# -- the rest of the event -----------------------------------------------------------


def _breadcrumbs(event: Mapping[str, Any]) -> list[Breadcrumb]:
    """Sentry's breadcrumbs and ticketkit's own (``breadcrumb()``), oldest first, no repeats."""
    raw = _unwrap(event.get("breadcrumbs"))
    if isinstance(raw, Mapping):
        raw = _unwrap(raw.get("values"))
    crumbs: list[Breadcrumb] = []
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        for item in list(raw)[-MAX_BREADCRUMBS:]:
            crumb = _breadcrumb(item)
            if crumb is not None:
                crumbs.append(crumb)
    for own in current_breadcrumbs():
        if not any(
            c.message == own.message and abs((c.at - own.at).total_seconds()) < 1 for c in crumbs
        ):
            crumbs.append(own)
    crumbs.sort(key=lambda c: c.at)
    return crumbs[-MAX_BREADCRUMBS:]


def _breadcrumb(item: object) -> Breadcrumb | None:
    if not isinstance(item, Mapping):
        return None
    at = _time(item.get("timestamp"))
    if at is None:
        return None
    data = _unwrap(item.get("data"))
    return Breadcrumb(
        at=at,
        category=_text(item.get("category")) or _text(item.get("type")) or "default",
        level=(_text(item.get("level")) or "info").lower(),
        message=_text(item.get("message")) or "",
        data=dict(data) if isinstance(data, Mapping) else {},
    )


def _tags(event: Mapping[str, Any], options: CaptureOptions) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key in _EVENT_TAGS:
        value = _text(event.get(key))
        if value:
            tags[key] = value
    server = _text(event.get("server_name"))
    if server:
        tags["server_name"] = server if options.allow_hostname else hash_identifier(server)
    raw = _unwrap(event.get("tags"))
    pairs: list[Any] = list(raw.items()) if isinstance(raw, Mapping) else []
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        pairs = [p for p in raw if isinstance(p, Sequence) and len(p) == 2]
    for key, value in pairs[:_MAX_TAGS]:
        name = cut_text(str(key), _MAX_TAG)
        tags[name] = cut_text(value if isinstance(value, str) else safe_repr(value), _MAX_TAG)
    return tags


def _context(event: Mapping[str, Any], options: CaptureOptions, mechanism: str) -> dict[str, Any]:
    sentry: dict[str, Any] = {"mechanism": mechanism}
    for key in ("event_id", "level", "logger", "transaction", "environment"):
        value = _text(event.get(key))
        if value:
            sentry[key] = value
    context: dict[str, Any] = {"sentry": sentry}
    user = _mapping(_unwrap(event.get("user")))
    if user:
        context["user"] = _user(user, options.allow_username)
    contexts = dict(_mapping(_unwrap(event.get("contexts"))))
    trace = _mapping(contexts.get("trace"))
    if trace:  # the sampling context repeats release and environment: noise
        contexts["trace"] = {k: v for k, v in trace.items() if k != "dynamic_sampling_context"}
    if contexts:
        context["contexts"] = contexts
    extra = _mapping(_unwrap(event.get("extra")))
    if extra:
        context["extra"] = dict(extra)
    request = _mapping(_unwrap(event.get("request")))
    if request:
        context["request"] = _request(request, options)
    return context


def _user(user: Mapping[str, Any], allow: bool) -> dict[str, Any]:
    if allow:
        return dict(user)
    hashed: dict[str, Any] = {}
    for key, value in user.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            hashed[str(key)] = hash_identifier(str(value))
    return hashed


def _request(request: Mapping[str, Any], options: CaptureOptions) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in request.items():
        if key in ("env", "cookies"):
            continue
        if key == "headers" and isinstance(value, Mapping):
            value = scrub_headers(value, options)
        kept[str(key)] = _unwrap(value)
    return kept


def _fingerprint(event: Mapping[str, Any]) -> tuple[str, ...] | None:
    raw = _unwrap(event.get("fingerprint"))
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, Sequence) or not raw:
        return None
    return tuple(str(part) for part in raw)


# -- small helpers ---------------------------------------------------------------------


def _unwrap(value: object) -> object:
    """The value inside sentry-sdk's ``AnnotatedValue`` (a value with metadata), else ``value``."""
    if type(value).__name__ == "AnnotatedValue" and hasattr(value, "value"):
        return value.value
    return value


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else safe_repr(value)


def _time(value: object) -> datetime | None:
    try:
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None
