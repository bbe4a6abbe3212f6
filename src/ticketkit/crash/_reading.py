"""Reading exceptions, frames, locals, breadcrumbs, tags and context into report values.

Everything read is scrubbed through the options' :class:`Scrubber` (and has
the home directory written ``~`` unless ``allow_username``); see
:mod:`ticketkit.crash._capture` for the rules on chains, groups, frames and
limits. Nothing here raises for a hostile exception object.
"""

from __future__ import annotations

import types
from collections import deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._environment import redact_home
from ._report import JSON, Breadcrumb, ExceptionInfo, Frame, freeze_json, safe_repr
from ._scrub import SCRUBBED
from ._truncate import cut_text

if TYPE_CHECKING:
    from ._capture import CaptureOptions
    from ._in_app import InAppRule

__all__ = ["MAX_BREADCRUMBS", "Reader", "error_text", "qualified_type"]

#: A report keeps at most this many breadcrumbs, the newest.
MAX_BREADCRUMBS = 100

_MAX_NOTES = 32
_MAX_SOURCE = 1000
_MAX_LOCALS = 50
_MAX_LOCAL_REPR = 512
_MAX_TAGS = 100
_MAX_TAG = 200


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {safe_repr(error, 300)}"


def qualified_type(exc: object) -> str:
    cls = type(exc)
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None)
    module = module if isinstance(module, str) else "?"
    name = name if isinstance(name, str) else "?"
    return f"{module}.{name}"


class Reader:
    """One report's worth of reading exceptions and scrubbing what they say."""

    def __init__(self, options: CaptureOptions, errors: list[str], in_app: InAppRule) -> None:
        self.options = options
        self.scrubber = options.scrubber
        self.redact = not options.allow_username
        self.in_app = in_app
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
            type=qualified_type(exc),
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
            self.errors.append(f"locals: {error_text(error)}")
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
            if self.scrubber.is_secret_key(name) and not _reveals_nothing(value):
                values[name] = SCRUBBED
            else:
                values[name] = self.text(_short_repr(value), _MAX_LOCAL_REPR, flag=False)
        return values

    # the rest --------------------------------------------------------------------

    def breadcrumbs(self, crumbs: Iterable[Breadcrumb]) -> list[Breadcrumb]:
        """The newest :data:`MAX_BREADCRUMBS`, scrubbed; unreadable ones are left out."""
        try:
            newest = list(crumbs)[-MAX_BREADCRUMBS:]
        except Exception as error:
            self.errors.append(f"breadcrumbs: {error_text(error)}")
            return []
        kept: list[Breadcrumb] = []
        for crumb in newest:
            try:
                kept.append(self.breadcrumb(crumb))
            except Exception as error:
                self.errors.append(f"breadcrumb: {error_text(error)}")
        return kept

    def merged(
        self, what: str, base: Mapping[str, Any], extra: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """``base`` updated with ``extra``; ``extra`` is left out if it is not a mapping."""
        merged = dict(base)
        if extra:
            try:
                merged.update(extra)
            except Exception as error:
                self.errors.append(f"{what}: {error_text(error)}")
        return merged

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


def _reveals_nothing(value: object) -> bool:
    return value is None or isinstance(value, bool)


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
