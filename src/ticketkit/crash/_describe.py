"""The readable description of a crash report: what a developer reads in the ticket."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from attrs import define, field

if TYPE_CHECKING:
    from ._report import JSON, CrashReport, ExceptionInfo, Frame

__all__ = ["describe"]

_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"
_ENV_FIRST = (
    "app",
    "release",
    "os",
    "python",
    "argv",
    "pid",
    "thread",
    "hostname",
    "user",
)
# Deeper group nesting than this is listed flat instead of indented.
_MAX_NESTING = 32


@define
class _Node:
    info: ExceptionInfo
    members: list[_Node] = field(factory=list)
    chained: _Node | None = None


def describe(report: CrashReport) -> str:
    """See :meth:`CrashReport.describe`."""
    lines: list[str] = []
    lines.extend(_header(report))
    for root in _tree(report.exceptions):
        lines.append("")
        lines.extend(_chain(root))
    lines.extend(_environment(report.environment))
    if report.tags:
        lines.extend(["", "Tags"])
        lines.extend(f"  {key}: {value}" for key, value in report.tags.items())
    if report.context:
        lines.extend(["", "Context"])
        lines.extend(f"  {key}: {_json(value)}" for key, value in report.context.items())
    if report.breadcrumbs:
        lines.extend(["", f"Breadcrumbs ({len(report.breadcrumbs)}, oldest first)"])
        for crumb in report.breadcrumbs:
            stamp = crumb.at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            text = f"  {stamp} {crumb.level:<8} {crumb.category}: {crumb.message}"
            if crumb.data:
                text += f" {_json(crumb.data)}"
            lines.append(text)
    return "\n".join(lines) + "\n"


def _header(report: CrashReport) -> list[str]:
    how = "Handled error" if report.handled else "Unhandled crash"
    stamp = report.occurred_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [report.title, f"{how}, captured by {report.mechanism} at {stamp}."]
    if report.app or report.release:
        app = " ".join(part for part in (report.app, report.release) if part)
        lines.append(f"Application: {app}")
    if report.culprit:
        lines.append(f"Culprit: {report.culprit}")
    lines.append(f"Fingerprint: {report.fingerprint} (version {report.fingerprint_version})")
    if report.truncated:
        lines.append("[truncated: parts of this report were dropped to respect its limits]")
    return lines


def _tree(exceptions: Sequence[ExceptionInfo]) -> list[_Node]:
    """Rebuild the chain and group structure from the documented depth-first order."""
    roots: list[_Node] = []
    position = 0
    while position < len(exceptions):
        node, position = _parse(exceptions, position, 0)
        roots.append(node)
    return roots


def _parse(items: Sequence[ExceptionInfo], start: int, nesting: int) -> tuple[_Node, int]:
    node = _Node(items[start])
    position = start + 1
    tail = node
    while True:
        while (
            nesting < _MAX_NESTING
            and position < len(items)
            and items[position].relation == "group"
            and items[position].depth == tail.info.depth + 1
        ):
            member, position = _parse(items, position, nesting + 1)
            tail.members.append(member)
        if (
            position < len(items)
            and items[position].relation in ("cause", "context")
            and items[position].depth == tail.info.depth
        ):
            tail.chained = _Node(items[position])
            tail = tail.chained
            position += 1
            continue
        return node, position


def _chain(node: _Node) -> list[str]:
    """The chain ending in ``node``, oldest first, as Python prints it."""
    chain = [node]
    while chain[-1].chained is not None:
        chained = chain[-1].chained
        assert chained is not None
        chain.append(chained)
    lines: list[str] = []
    for older in reversed(chain[1:]):
        lines.extend(_one(older))
        lines.extend(["", _CAUSE if older.info.relation == "cause" else _CONTEXT, ""])
    lines.extend(_one(node))
    return lines


def _one(node: _Node) -> list[str]:
    info = node.info
    lines: list[str] = []
    if info.frames:
        group = "Exception Group " if node.members else ""
        lines.append(f"{group}Traceback (most recent call last):")
        lines.extend(_frames(info.frames, info.omitted_frames))
    lines.append(f"{info.short_type}: {info.message}" if info.message else info.short_type)
    lines.extend(info.notes)
    total = len(node.members)
    for number, member in enumerate(node.members, start=1):
        lines.append(f"+---------------- {number} of {total} ----------------")
        lines.extend(f"| {line}" if line else "|" for line in _chain(member))
    if node.members:
        lines.append("+------------------------------------")
    return lines


def _frames(frames: Sequence[Frame], omitted: int) -> list[str]:
    lines: list[str] = []
    gap = len(frames) // 2 if omitted else -1
    skipped = f"  [… {omitted} frame{'' if omitted == 1 else 's'} omitted …]"
    for index, frame in enumerate(frames):
        if index == gap:
            lines.append(skipped)
        marker = " [in app]" if frame.in_app else ""
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.function}{marker}')
        if frame.source:
            lines.append(f"    {frame.source}")
        if frame.locals:
            lines.extend(f"      {name} = {value}" for name, value in frame.locals.items())
        if frame.repeated:
            lines.append(f"  [Previous line repeated {frame.repeated} more times]")
    if gap == len(frames):
        lines.append(skipped)
    return lines


def _environment(environment: Mapping[str, JSON]) -> list[str]:
    if not environment:
        return []
    lines = ["", "Environment"]
    keys = [k for k in _ENV_FIRST if k in environment]
    keys += sorted(k for k in environment if k not in _ENV_FIRST and k != "distributions")
    for key in keys:
        value = environment[key]
        if value is None:
            continue
        if isinstance(value, Mapping):
            lines.append(f"  {key}:")
            lines.extend(f"    {sub}: {_plain(item)}" for sub, item in value.items())
        else:
            lines.append(f"  {key}: {_plain(value)}")
    distributions = environment.get("distributions")
    if isinstance(distributions, Mapping) and distributions:
        listed = ", ".join(f"{name}=={version}" for name, version in distributions.items())
        lines.append(f"  distributions ({len(distributions)}): {listed}")
    return lines


def _plain(value: JSON) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        import shlex

        return shlex.join(str(v) for v in value)
    return _json(value)


def _json(value: JSON) -> str:
    import json

    from ._report import thaw_json

    return json.dumps(thaw_json(value), ensure_ascii=False, sort_keys=True, default=str)
