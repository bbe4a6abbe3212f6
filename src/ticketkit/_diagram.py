"""Workflow diagrams: Mermaid and Graphviz DOT text, and SVG drawn by Graphviz.

Both texts show the same picture: one box per state, filled by its category,
a dot pointing at the initial state, and one arrow per pair of states an
action joins, labelled with the actions' names, their labels where those say
more than the name, and their guards in brackets. An action that leaves every
state (``sources="*"``) starts from one dashed "any state" box instead of an
arrow from each state.

Labels are user data (a workflow may come from TOML), so every label is
escaped for its format and states get generated ids; the output depends only
on the workflow, so the same workflow always gives the same text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._errors import TicketkitError
from ._guards import ActorIsAssignee, Guard, HasAssignee, WithinDays
from ._workflow import Category

if TYPE_CHECKING:
    from ._workflow import Action, Workflow

__all__ = ["GraphvizError", "workflow_to_dot", "workflow_to_mermaid", "workflow_to_svg"]


class GraphvizError(TicketkitError):
    """Graphviz's ``dot`` could not draw a diagram: it is not installed, failed or hung."""


#: Fill and border colour of a state, by category.
_COLOURS = {
    Category.NEW: ("#e3f2fd", "#1e88e5"),
    Category.ACTIVE: ("#fff8e1", "#f9a825"),
    Category.PENDING: ("#f3e5f5", "#8e24aa"),
    Category.RESOLVED: ("#e8f5e9", "#43a047"),
    Category.CLOSED: ("#eeeeee", "#757575"),
}
_TEXT = "#212121"
_LINE = "#555555"
_ANY_STATE = "any state"


# -- what the diagram shows ----------------------------------------------------------------


def _clean(text: str) -> str:
    """``text`` on one line: control characters become spaces, lone surrogates U+FFFD."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x20 or code == 0x7F:
            out.append(" ")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _guard_text(guard: Guard, workflow: Workflow) -> str:
    """A guard in words: its ``description``, a built-in's meaning, or its name."""
    description = getattr(guard, "description", None)
    if isinstance(description, str) and description.strip():
        return description.strip()
    if isinstance(guard, WithinDays):
        return f"within {guard.days} day{'' if guard.days == 1 else 's'} of resolution"
    if isinstance(guard, HasAssignee):
        return "has assignee"
    if isinstance(guard, ActorIsAssignee):
        return "actor is assignee"
    for name, registered in workflow.guard_registry.items():
        if registered is guard:
            return name.replace("_", " ")
    fn_name = getattr(guard, "__name__", None)
    if isinstance(fn_name, str) and fn_name.isidentifier():
        return fn_name.replace("_", " ")
    text = repr(guard)
    return text if len(text) <= 40 and not text.startswith("<") else "guard"


def _action_lines(action: Action, workflow: Workflow) -> list[str]:
    """The action's name, with its label where it says more, then its guards."""
    line = action.name
    if action.label and action.label != action.name.replace("_", " ").capitalize():
        line += f" ({action.label})"
    lines = [_clean(line)]
    if action.guards:
        guards = " and ".join(_guard_text(g, workflow) for g in action.guards)
        lines.append(f"[{_clean(guards)}]")
    return lines


def _edges(workflow: Workflow) -> list[tuple[str | None, str, list[Action]]]:
    """(source, target, actions) per arrow; source ``None`` is the "any state" box.

    Actions joining the same two states share one arrow. An action from every
    state starts from the "any state" box when the workflow has three states
    or more; with fewer, one arrow per state is as clear.
    """
    order = [s.name for s in workflow.states]
    everywhere = frozenset(order) if len(order) >= 3 else None
    arrows: dict[tuple[str | None, str], list[Action]] = {}
    for action in workflow.actions:
        if action.sources == everywhere:
            arrows.setdefault((None, action.target), []).append(action)
            continue
        for source in order:
            if source in action.sources:
                arrows.setdefault((source, action.target), []).append(action)
    return [(source, target, actions) for (source, target), actions in arrows.items()]


# -- Mermaid ------------------------------------------------------------------------------

_MERMAID_SAFE = frozenset(" _-.,'!?()/[]")


def _mermaid_text(text: str) -> str:
    """``text`` with every character Mermaid might read as syntax as an entity (``#35;``)."""
    return "".join(
        ch if ch.isalnum() or ch in _MERMAID_SAFE else f"#{ord(ch)};" for ch in _clean(text)
    )


def workflow_to_mermaid(workflow: Workflow) -> str:
    """The workflow as a Mermaid state diagram (``stateDiagram-v2``), ready for a Markdown page.

    States are ``s0``, ``s1``, … in the workflow's order, with their label as
    title and their name below; every label is escaped, so any text is safe.
    """
    ids = {state.name: f"s{i}" for i, state in enumerate(workflow.states)}
    edges = _edges(workflow)
    any_state = any(source is None for source, _, _ in edges)
    lines = ["stateDiagram-v2", "    direction LR"]
    used = {state.category for state in workflow.states}
    for category, (fill, border) in _COLOURS.items():
        if category in used:
            lines.append(f"    classDef {category.value} fill:{fill},stroke:{border},color:{_TEXT}")
    if any_state:
        lines.append("    classDef any_state fill:#ffffff,stroke:#9e9e9e,stroke-dasharray:4 3")
    for state in workflow.states:
        sid = ids[state.name]
        lines.append(f'    state "{_mermaid_text(state.title)}" as {sid}')
        lines.append(f"    {sid} : {_mermaid_text(state.name)}")
    if any_state:
        lines.append(f'    state "{_ANY_STATE}" as any_state')
    lines.append(f"    [*] --> {ids[workflow.initial]}")
    for source, target, actions in edges:
        start = "any_state" if source is None else ids[source]
        label = ", ".join(" ".join(_action_lines(a, workflow)) for a in actions)
        lines.append(f"    {start} --> {ids[target]} : {_mermaid_text(label)}")
    for state in workflow.states:
        lines.append(f"    class {ids[state.name]} {state.category.value}")
    if any_state:
        lines.append("    class any_state any_state")
    return "\n".join(lines) + "\n"


# -- Graphviz -----------------------------------------------------------------------------


def _dot_id(text: str) -> str:
    """``text`` as a quoted DOT id."""
    return '"' + _clean(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _html(text: str) -> str:
    """``text`` escaped for a Graphviz HTML-like label (which expands ``\\N`` and the like)."""
    return (
        _clean(text)
        .replace("\\", "\\\\")
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def _html_lines(lines: Iterable[str]) -> str:
    return "<" + "<br/>".join(_html(line) for line in lines) + ">"


def workflow_to_dot(workflow: Workflow) -> str:
    """The workflow as a Graphviz ``digraph``, left to right; ``dot -Tsvg`` draws it.

    Node ids are the state names, quoted; ``_initial`` and ``_any`` (which no
    state name can be) are the start dot and the "any state" box. Labels are
    HTML-like labels with every label escaped.
    """
    lines = [
        f"digraph {_dot_id(workflow.name)} {{",
        '    graph [rankdir=LR, fontname="Helvetica", nodesep=0.35, ranksep=0.55];',
        f'    node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=12, '
        f'fontcolor="{_TEXT}", penwidth=1.4];',
        f'    edge [fontname="Helvetica", fontsize=10, color="{_LINE}", fontcolor="{_TEXT}", '
        "arrowsize=0.7];",
        f'    "_initial" [shape=point, width=0.14, color="{_TEXT}", class="initial"];',
    ]
    for state in workflow.states:
        fill, border = _COLOURS[state.category]
        label = f'<<b>{_html(state.title)}</b><br/><font point-size="9">{_html(state.name)}</font>>'
        lines.append(
            f'    {_dot_id(state.name)} [label={label}, fillcolor="{fill}", color="{border}", '
            f'class="{state.category.value}"];'
        )
    edges = _edges(workflow)
    if any(source is None for source, _, _ in edges):
        lines.append(
            f'    "_any" [label="{_ANY_STATE}", style="rounded,dashed", color="#9e9e9e", '
            'fontcolor="#616161", class="any_state"];'
        )
    lines.append(f'    "_initial" -> {_dot_id(workflow.initial)};')
    for source, target, actions in edges:
        start = '"_any"' if source is None else _dot_id(source)
        label = _html_lines(line for a in actions for line in _action_lines(a, workflow))
        lines.append(f"    {start} -> {_dot_id(target)} [label={label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def workflow_to_svg(workflow: Workflow, *, dot: str = "dot", timeout: float = 30.0) -> str:
    """The workflow drawn as SVG by Graphviz's ``dot`` program (``dot`` names it or its path).

    Raises :class:`GraphvizError` when ``dot`` is not installed, fails, or
    takes longer than ``timeout`` seconds.
    """
    import subprocess

    source = workflow_to_dot(workflow).encode("utf-8")
    try:
        done = subprocess.run(
            [dot, "-Tsvg"], input=source, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise GraphvizError(
            f"cannot draw workflow {workflow.name!r}: Graphviz's {dot!r} program was not "
            "found; install Graphviz (Debian and Ubuntu: apt-get install graphviz; macOS: "
            "brew install graphviz; others: https://graphviz.org/download/) or pass "
            "dot='/path/to/dot'"
        ) from None
    except subprocess.TimeoutExpired:
        raise GraphvizError(
            f"Graphviz's {dot!r} did not draw workflow {workflow.name!r} within {timeout} s; "
            "pass a longer timeout="
        ) from None
    except OSError as exc:
        raise GraphvizError(
            f"cannot run Graphviz's {dot!r} to draw workflow {workflow.name!r}: {exc}; "
            "pass dot= the path of Graphviz's dot program"
        ) from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip() or "(nothing on stderr)"
        raise GraphvizError(
            f"Graphviz's {dot!r} failed drawing workflow {workflow.name!r} (exit status "
            f"{done.returncode}): {stderr}"
        )
    return done.stdout.decode("utf-8")
