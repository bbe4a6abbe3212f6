"""Keeping a crash report under its size limit.

:func:`limit_report_size` measures ``to_json()`` and, while the report is
over the limit, gives up detail in this order, each step only as far as
needed:

1. local variables, all of them;
2. breadcrumbs, oldest first (a breadcrumb ``"[truncated: N older
   breadcrumbs dropped]"`` takes their place);
3. frames from the middle of the longest tracebacks, down to two per
   exception (``omitted_frames`` counts them);
4. the longest messages and notes, cut to no less than 200 characters and
   ending ``"[truncated N characters]"``;
5. exceptions from the end of the list, keeping the first (a note on it says
   how many went);
6. the context, the tags, the list of distributions, the rest of the
   environment;
7. as a last resort, a skeleton: the first exception without frames and every
   string cut short (the fingerprint and timestamps are kept whole).

The result has ``truncated=True`` and its ``to_json()`` is within the limit
(which is at least :data:`MIN_REPORT_BYTES`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._report import dump_json

if TYPE_CHECKING:
    from ._report import CrashReport

__all__ = ["MIN_REPORT_BYTES", "cut_text", "limit_report_size"]

#: The smallest size limit a report can be given.
MIN_REPORT_BYTES = 4096

_KEEP_CHARS = 200
_WHOLE = frozenset({"occurred_at", "at", "fingerprint", "relation"})

_Data = dict[str, Any]


def cut_text(text: str, limit: int, marker: str = "…") -> str:
    """``text`` if it has at most ``limit`` characters, else cut so that with ``marker`` it has."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(marker), 0)] + marker


def limit_report_size(report: CrashReport, max_bytes: int) -> CrashReport:
    """``report`` made to fit in ``max_bytes`` of ``to_json()``; see the module docstring."""
    from ._report import CrashReport

    max_bytes = max(max_bytes, MIN_REPORT_BYTES)
    data = report.to_dict()
    if _size(data) <= max_bytes:
        return report
    data["truncated"] = True
    steps: tuple[Callable[[_Data, int], None], ...] = (
        _drop_locals,
        _drop_breadcrumbs,
        _drop_frames,
        _cut_messages,
        _drop_exceptions,
        _drop_extras,
        _skeleton,
    )
    for step in steps:
        step(data, max_bytes)
        if _size(data) <= max_bytes:
            break
    return CrashReport.from_dict(data)


def _size(data: object) -> int:
    return len(dump_json(data))


def _drop_locals(data: _Data, max_bytes: int) -> None:
    for exception in data["exceptions"]:
        for frame in exception["frames"]:
            frame.pop("locals", None)


def _drop_breadcrumbs(data: _Data, max_bytes: int) -> None:
    crumbs: list[_Data] = data["breadcrumbs"]
    if not crumbs:
        return
    excess = _size(data) - max_bytes
    sizes = [_size(crumb) + 1 for crumb in crumbs]

    def marker(count: int) -> _Data:
        return {
            "at": crumbs[0]["at"],
            "category": "ticketkit",
            "level": "warning",
            "message": f"[truncated: {count} older breadcrumbs dropped]",
            "data": {},
        }

    overhead = _size(marker(len(crumbs))) + 1
    dropped = freed = 0
    while dropped < len(crumbs) and freed - overhead < excess:
        freed += sizes[dropped]
        dropped += 1
    data["breadcrumbs"] = [marker(dropped), *crumbs[dropped:]]


def _drop_frames(data: _Data, max_bytes: int) -> None:
    exceptions: list[_Data] = data["exceptions"]
    sizes = [[_size(frame) + 1 for frame in e["frames"]] for e in exceptions]
    while (excess := _size(data) - max_bytes) > 0:
        progress = False
        while excess > 0:
            longest = max(range(len(exceptions)), key=lambda i: len(sizes[i]), default=None)
            if longest is None or len(sizes[longest]) <= 2:
                break
            frames = exceptions[longest]["frames"]
            middle = (len(frames) - 1) // 2
            frame = frames.pop(middle)
            exceptions[longest]["omitted_frames"] += 1 + frame.get("repeated", 0)
            excess -= sizes[longest].pop(middle)
            progress = True
        if not progress:
            return


def _cut_messages(data: _Data, max_bytes: int) -> None:
    texts: list[tuple[Any, Any]] = []
    for exception in data["exceptions"]:
        texts.append((exception, "message"))
        texts.extend((exception["notes"], index) for index in range(len(exception["notes"])))
    while (excess := _size(data) - max_bytes) > 0:
        progress = False
        candidates = sorted(texts, key=lambda ref: len(ref[0][ref[1]]), reverse=True)
        for holder, key in candidates:
            if excess <= 0:
                break
            text: str = holder[key]
            if len(text) <= _KEEP_CHARS + 64:
                break
            current = _size(text)
            keep = max(_KEEP_CHARS, int(len(text) * max(current - excess - 64, 0) / current))
            cut = f"{text[:keep]} [truncated {len(text) - keep} characters]"
            holder[key] = cut
            excess -= current - _size(cut)
            progress = True
        if not progress:
            return


def _drop_exceptions(data: _Data, max_bytes: int) -> None:
    exceptions: list[_Data] = data["exceptions"]
    if len(exceptions) <= 1:
        return
    excess = _size(data) - max_bytes + 100
    dropped = 0
    while len(exceptions) > 1 and excess > 0:
        excess -= _size(exceptions.pop()) + 1
        dropped += 1
    exceptions[0]["notes"].append(
        f"[truncated: {dropped} chained or grouped exceptions dropped to fit the size limit]"
    )


def _drop_extras(data: _Data, max_bytes: int) -> None:
    environment: _Data = data["environment"]

    def context() -> None:
        data["context"] = {"ticketkit.truncated": "[truncated: context dropped]"}

    def tags() -> None:
        data["tags"] = {}

    def distributions() -> None:
        listed = environment.pop("distributions", None)
        if isinstance(listed, dict):
            omitted = environment.get("distributions_omitted", 0)
            environment["distributions_omitted"] = len(listed) + (
                omitted if isinstance(omitted, int) else 0
            )

    def the_rest() -> None:
        kept = {k: environment[k] for k in ("pid", "thread") if k in environment}
        data["environment"] = {**kept, "truncated": "[truncated: environment dropped]"}

    for drop in (context, tags, distributions, the_rest):
        drop()
        if _size(data) <= max_bytes:
            return


def _skeleton(data: _Data, max_bytes: int) -> None:
    first = data["exceptions"][0]
    first["omitted_frames"] += sum(1 + f.get("repeated", 0) for f in first["frames"])
    first["frames"] = []
    first["notes"] = ["[truncated: report cut to a skeleton to fit the size limit]"]
    del data["exceptions"][1:]
    data["breadcrumbs"] = []
    data["tags"] = {}
    data["context"] = {}
    data["environment"] = {}
    for chars in (_KEEP_CHARS, 60, 16):
        _cut_strings(data, chars)
        if _size(data) <= max_bytes:
            return


def _cut_strings(value: Any, chars: int) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and key not in _WHOLE:
                value[key] = cut_text(item, chars)
            else:
                _cut_strings(item, chars)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                value[index] = cut_text(item, chars)
            else:
                _cut_strings(item, chars)
