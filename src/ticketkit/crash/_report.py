"""What a crash report holds: frozen, JSON-serialisable values.

A :class:`CrashReport` is built by :func:`ticketkit.crash._capture.build_report`
(or converted from a sentry-sdk event) and is plain data from then on: every
field is a string, a number, a boolean, ``None``, a tuple or a read-only
mapping, so a report can be stored, spooled to disk and compared.

``to_dict()`` / ``from_dict()`` round-trip exactly, and so does
``from_dict(json.loads(to_json()))``. To make that hold for any input, the
constructors normalise what they are given:

* text: lone surrogates and NUL characters become U+FFFD, so ``to_json()`` is
  always valid UTF-8 and PostgreSQL ``jsonb`` accepts it;
* datetimes: made aware and converted to UTC (a naive datetime is taken as
  local time, as Python does);
* JSON data (``environment``, ``context``, ``Breadcrumb.data``): mappings
  become read-only mappings with string keys, lists and tuples become tuples,
  non-finite floats and integers too large for JSON become strings, and any
  other object becomes its (guarded) ``repr``.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeAlias

from attrs import field, frozen

from .._errors import ValidationError

__all__ = [
    "JSON",
    "REPORT_FORMAT",
    "Breadcrumb",
    "CrashReport",
    "ExceptionInfo",
    "Frame",
    "freeze_json",
    "safe_repr",
    "thaw_json",
]

#: A JSON value as a report holds it (mappings are read-only, arrays tuples).
JSON: TypeAlias = "str | int | float | bool | Mapping[str, JSON] | Sequence[JSON] | None"

#: The version of the ``to_dict()`` layout, stored under ``"format"``.
REPORT_FORMAT = 1

_EMPTY: Mapping[str, Any] = types.MappingProxyType({})
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_MAX_DEPTH = 64
# Python refuses to turn integers of more than 4300 digits into text.
_MAX_INT_BITS = 14_000


def clean_text(value: object) -> str:
    """``value`` as a ``str`` that encodes to UTF-8 and holds no NUL character."""
    if type(value) is not str:
        value = safe_str(value)
    assert isinstance(value, str)
    if value.isascii() and "\x00" not in value:
        return value
    return _BAD_CHARS.sub("\ufffd", value)


def safe_str(value: object) -> str:
    """``str(value)`` that never raises: a failing ``__str__`` falls back to ``repr``."""
    if isinstance(value, str):
        return str.__getitem__(value, slice(None))
    try:
        text = str(value)
    except Exception:
        return safe_repr(value)
    return text if type(text) is str else safe_repr(value)


def safe_repr(value: object, limit: int | None = None) -> str:
    """``repr(value)`` that never raises, cut to ``limit`` characters when given.

    An object whose ``__repr__`` raises is shown as
    ``<unprintable Type: ErrorType in __repr__>``.
    """
    try:
        text = repr(value)
        if type(text) is not str:
            raise TypeError("__repr__ returned a non-string")
    except Exception as error:
        text = f"<unprintable {_type_name(value)}: {_type_name(error)} in __repr__>"
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def _type_name(value: object) -> str:
    name = getattr(type(value), "__qualname__", None)
    return name if isinstance(name, str) else "object"


def freeze_json(value: object, *, _depth: int = 0, _path: frozenset[int] = frozenset()) -> JSON:
    """``value`` as immutable JSON data (see the module docstring); never raises."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int):
        number = int.__index__(value)
        if abs(number).bit_length() > _MAX_INT_BITS:
            return f"<int of {abs(number).bit_length()} bits>"
        return number
    if isinstance(value, float):
        number_f = float.__float__(value)
        return number_f if math.isfinite(number_f) else repr(number_f)
    if isinstance(value, datetime):
        return value.isoformat()
    if _depth >= _MAX_DEPTH:
        return "[too deep]"
    if id(value) in _path:
        return "[cycle]"
    inner = _path | {id(value)}
    try:
        if isinstance(value, Mapping):
            items = sorted(((_key(k), v) for k, v in value.items()), key=_first)
            return types.MappingProxyType(
                {k: freeze_json(v, _depth=_depth + 1, _path=inner) for k, v in items}
            )
        if isinstance(value, list | tuple):
            return tuple(freeze_json(v, _depth=_depth + 1, _path=inner) for v in value)
        if isinstance(value, set | frozenset):
            frozen_items = [freeze_json(v, _depth=_depth + 1, _path=inner) for v in value]
            return tuple(sorted(frozen_items, key=safe_repr))
    except Exception:
        return safe_repr(value, 1000)
    return safe_repr(value, 1000)


def _key(key: object) -> str:
    return clean_text(key if isinstance(key, str) else safe_str(key))


def _first(item: tuple[str, object]) -> str:
    return item[0]


def thaw_json(value: JSON) -> Any:
    """Plain ``dict`` / ``list`` copies of frozen JSON data, for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {k: thaw_json(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw_json(v) for v in value]
    return value


def _json_map(value: Mapping[str, Any] | None) -> Mapping[str, JSON]:
    if value is None:
        return _EMPTY
    frozen_value = freeze_json(value)
    if not isinstance(frozen_value, Mapping):
        return types.MappingProxyType({"value": frozen_value})
    return frozen_value


def _str_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if value is None:
        return _EMPTY
    return types.MappingProxyType({clean_text(k): clean_text(value[k]) for k in sorted(value)})


def _opt_str_map(value: Mapping[str, str] | None) -> Mapping[str, str] | None:
    return None if value is None else _str_map(value)


def _opt_text(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def _texts(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(clean_text(v) for v in value)


def _utc(value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(
            f"expected a datetime, got {safe_repr(value, 100)}; pass an aware datetime in UTC",
            field="at",
        )
    return value.astimezone(UTC)


def _frames(value: Iterable[Frame]) -> tuple[Frame, ...]:
    return tuple(value)


def _exceptions(value: Iterable[ExceptionInfo]) -> tuple[ExceptionInfo, ...]:
    return tuple(value)


def _breadcrumbs(value: Iterable[Breadcrumb]) -> tuple[Breadcrumb, ...]:
    return tuple(value)


@frozen
class Frame:
    """One stack frame, outermost first within :attr:`ExceptionInfo.frames`.

    ``module`` is the frame's ``__name__`` (``"__main__"`` for a script),
    ``function`` its qualified name (``"Class.method"``), ``source`` the
    stripped, scrubbed source line or ``None`` when it cannot be read, and
    ``in_app`` whether it is the host's own code. ``locals`` maps variable names
    to scrubbed, shortened ``repr`` strings, and is ``None`` unless locals were
    asked for. ``repeated`` counts further identical frames (same file, line
    and function) that directly followed this one and were collapsed into it,
    as in a ``RecursionError``.
    """

    filename: str = field(converter=clean_text)
    lineno: int
    function: str = field(converter=clean_text)
    module: str = field(converter=clean_text)
    source: str | None = field(converter=_opt_text)
    in_app: bool
    locals: Mapping[str, str] | None = field(default=None, converter=_opt_str_map)
    repeated: int = 0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "filename": self.filename,
            "lineno": self.lineno,
            "function": self.function,
            "module": self.module,
            "source": self.source,
            "in_app": self.in_app,
        }
        if self.locals is not None:
            data["locals"] = dict(self.locals)
        if self.repeated:
            data["repeated"] = self.repeated
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Frame:
        return cls(
            filename=data["filename"],
            lineno=int(data["lineno"]),
            function=data["function"],
            module=data["module"],
            source=data.get("source"),
            in_app=bool(data["in_app"]),
            locals=data.get("locals"),
            repeated=int(data.get("repeated", 0)),
        )


@frozen
class ExceptionInfo:
    """One exception of a report: its type, message, notes and frames.

    ``type`` is ``module.qualname`` (``"builtins.ValueError"``). ``relation``
    says how it is reached from the entry before it (see
    :attr:`CrashReport.exceptions` for the order): ``"raised"`` for the first,
    ``"cause"`` (``raise ... from``), ``"context"`` (raised while handling) or
    ``"group"`` (a member of an ``ExceptionGroup``). ``depth`` is the number of
    exception groups around it. ``omitted_frames`` counts the frames left out
    in the middle of ``frames`` (they sit after the first ``len(frames) // 2``);
    ``notes`` are the exception's ``__notes__``.
    """

    type: str = field(converter=clean_text)
    message: str = field(converter=clean_text)
    frames: tuple[Frame, ...] = field(converter=_frames)
    relation: str = field(converter=clean_text)
    depth: int
    omitted_frames: int = 0
    notes: tuple[str, ...] = field(default=(), converter=_texts)

    @property
    def short_type(self) -> str:
        """The type as Python prints it: ``ValueError``, ``app.errors.Refused``."""
        module, _, name = self.type.rpartition(".")
        for prefix in ("builtins", "exceptions"):
            if module == prefix:
                return name
        return self.type

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "frames": [f.to_dict() for f in self.frames],
            "relation": self.relation,
            "depth": self.depth,
            "omitted_frames": self.omitted_frames,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExceptionInfo:
        return cls(
            type=data["type"],
            message=data["message"],
            frames=tuple(Frame.from_dict(f) for f in data["frames"]),
            relation=data["relation"],
            depth=int(data["depth"]),
            omitted_frames=int(data.get("omitted_frames", 0)),
            notes=tuple(data.get("notes", ())),
        )


@frozen
class Breadcrumb:
    """Something that happened before the crash: a log record or a ``breadcrumb()`` call.

    ``at`` is aware and in UTC; ``level`` is a lower-case logging level name
    (``"info"``); ``data`` is JSON data.
    """

    at: datetime = field(converter=_utc)
    category: str = field(converter=clean_text)
    level: str = field(converter=clean_text)
    message: str = field(converter=clean_text)
    data: Mapping[str, JSON] = field(factory=lambda: _EMPTY, converter=_json_map)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "category": self.category,
            "level": self.level,
            "message": self.message,
            "data": thaw_json(self.data),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Breadcrumb:
        return cls(
            at=datetime.fromisoformat(data["at"]),
            category=data["category"],
            level=data["level"],
            message=data["message"],
            data=data.get("data", {}),
        )


@frozen
class CrashReport:
    """Everything ticketkit records about one crash.

    ``exceptions`` starts with the exception that was raised or caught
    (``relation == "raised"``) and lists the rest depth first: every exception
    is followed by the members of its ``ExceptionGroup`` (each with everything
    that hangs off it), then by the exception it was chained from (its
    ``__cause__``, or its ``__context__`` unless suppressed) with everything
    that hangs off that. So ``[0]``, its cause, that cause's cause ... are the
    ``depth == 0`` entries in order, and a group's direct members are the
    following ``relation == "group"`` entries one level deeper.

    ``mechanism`` names what captured the crash: ``"excepthook"``,
    ``"threading"``, ``"unraisable"``, ``"asyncio"``, ``"capture"``,
    ``"logging"``, ``"sentry"``, ``"wsgi"``, ``"asgi"`` or ``"multiprocessing"``.
    ``handled`` is false for crashes nobody caught. ``truncated`` is true when
    something was dropped to respect a limit; what was dropped is marked with
    ``"[truncated …]"`` text where it was.
    """

    exceptions: tuple[ExceptionInfo, ...] = field(converter=_exceptions)
    title: str = field(converter=clean_text)
    fingerprint: str = field(converter=clean_text)
    fingerprint_version: int
    mechanism: str = field(converter=clean_text)
    handled: bool
    occurred_at: datetime = field(converter=_utc)
    app: str | None = field(converter=_opt_text)
    release: str | None = field(converter=_opt_text)
    environment: Mapping[str, JSON] = field(converter=_json_map)
    breadcrumbs: tuple[Breadcrumb, ...] = field(converter=_breadcrumbs)
    tags: Mapping[str, str] = field(converter=_str_map)
    context: Mapping[str, JSON] = field(converter=_json_map)
    truncated: bool = False

    @property
    def exception_type(self) -> str:
        """The qualified type of the exception that was raised, ``""`` if there is none."""
        return self.exceptions[0].type if self.exceptions else ""

    @property
    def culprit(self) -> str:
        """``module.function`` of the innermost in-app frame of the raised exception.

        Falls back to the innermost frame when no frame is in app, and to
        ``""`` when the exception has no frames.
        """
        if not self.exceptions or not self.exceptions[0].frames:
            return ""
        frames = self.exceptions[0].frames
        chosen = next((f for f in reversed(frames) if f.in_app), frames[-1])
        return f"{chosen.module}.{chosen.function}" if chosen.module else chosen.function

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (``dict``, ``list``, ``str``, numbers, ``None``)."""
        return {
            "format": REPORT_FORMAT,
            "exceptions": [e.to_dict() for e in self.exceptions],
            "title": self.title,
            "fingerprint": self.fingerprint,
            "fingerprint_version": self.fingerprint_version,
            "mechanism": self.mechanism,
            "handled": self.handled,
            "occurred_at": self.occurred_at.isoformat(),
            "app": self.app,
            "release": self.release,
            "environment": thaw_json(self.environment),
            "breadcrumbs": [b.to_dict() for b in self.breadcrumbs],
            "tags": dict(self.tags),
            "context": thaw_json(self.context),
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CrashReport:
        """The report ``to_dict()`` produced; raises ``ValidationError`` for anything else."""
        try:
            return cls(
                exceptions=tuple(ExceptionInfo.from_dict(e) for e in data["exceptions"]),
                title=data["title"],
                fingerprint=data["fingerprint"],
                fingerprint_version=int(data["fingerprint_version"]),
                mechanism=data["mechanism"],
                handled=bool(data["handled"]),
                occurred_at=datetime.fromisoformat(data["occurred_at"]),
                app=data.get("app"),
                release=data.get("release"),
                environment=data.get("environment", {}),
                breadcrumbs=tuple(Breadcrumb.from_dict(b) for b in data.get("breadcrumbs", ())),
                tags=data.get("tags", {}),
                context=data.get("context", {}),
                truncated=bool(data.get("truncated", False)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValidationError(
                f"not a crash report: {type(error).__name__}: {error}; "
                "pass the dict that CrashReport.to_dict() returned",
                field="report",
            ) from error

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON with sorted keys: the form that is stored and measured."""
        return dump_json(self.to_dict())

    def describe(self) -> str:
        """A readable account for the ticket description.

        A Python-style traceback of the whole chain, oldest first, with the
        members of exception groups indented under their group and in-app
        frames marked ``[in app]``; then the Environment, Tags, Context and
        Breadcrumbs sections.
        """
        from ._describe import describe

        return describe(self)


def dump_json(data: object) -> bytes:
    """The compact, sorted-key UTF-8 JSON encoding every report size is measured in."""
    import json

    return json.dumps(
        data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
