"""Workflow diagrams: Mermaid and DOT text, SVG drawn by the real Graphviz, the docs' pictures.

The SVG tests run Graphviz's ``dot``; without it they fail, saying to install it.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import shutil
import stat
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ticketkit
from strategies import workflows
from ticketkit._builtin_workflows import BUILTIN_WORKFLOWS, bugtracker, helpdesk, simple
from ticketkit._diagram import (
    GraphvizError,
    workflow_to_dot,
    workflow_to_mermaid,
    workflow_to_svg,
)
from ticketkit._guards import GuardContext, HasAssignee, WithinDays
from ticketkit._workflow import Action, Category, State, Workflow

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
SVG = "{http://www.w3.org/2000/svg}"

#: Labels that are syntax somewhere: quotes, backslashes and Graphviz's ``\N``,
#: HTML and entities, Mermaid's comments, entities, separators and keywords.
NASTY = [
    'a "quoted" label',
    "back\\slash\\",
    "\\N \\G \\l \\E \\T \\H",
    "line\nbreak\r\ttab",
    "<b>html</b> & &amp; &lt; &#35;",
    "#35; # ; : %% comment",
    "[*] --> [x] {y} |z| -- ->",
    "end",
    "classDef x fill:#f00;",
    "style s0 fill:#f00;",
    "`code` *star* _u_ **bold**",
    "emoji 😀 and ünïcödé, ΑΒΓ",
    "nul\x00 del\x7f",
    "}",
]
#: State names that are keywords in DOT or Mermaid.
KEYWORDS = ["end", "state", "node", "edge", "graph", "digraph", "subgraph", "strict", "class"]


def approval() -> Workflow:
    """Small, but with a label, a guard, two actions on one arrow and an action from anywhere."""
    return Workflow(
        name="approval",
        states=[
            State("draft", Category.NEW),
            State("review", Category.PENDING, "In review"),
            State("done", Category.CLOSED),
        ],
        actions=[
            Action("submit", "draft", "review"),
            Action("approve", "review", "done", guards=[HasAssignee()]),
            Action("reject", "review", "draft", label="Send back"),
            Action("withdraw", "review", "draft"),
            Action("cancel", "*", "done"),
        ],
        initial="draft",
    )


def labelled(labels: list[str], names: list[str] = KEYWORDS) -> Workflow:
    """A chain of states through ``names``, the ``labels`` on states and actions alike."""
    states = [State("start", Category.NEW, labels[0])]
    states += [
        State(name, list(Category)[i % 4], labels[(i + 1) % len(labels)])
        for i, name in enumerate(names)
    ]
    actions = [
        Action(f"go_{i}", before.name, after.name, label=labels[-1 - i % len(labels)])
        for i, (before, after) in enumerate(itertools.pairwise(states))
    ]
    actions.append(Action("back", states[-1].name, "start", label=labels[len(names) % len(labels)]))
    return Workflow("end", states, actions, "start")


def shown(text: str) -> str:
    """What a label looks like drawn: one line, control characters as spaces."""
    return "".join(" " if ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in text)


@pytest.fixture(scope="module")
def dot() -> str:
    """The path of Graphviz's dot; the SVG tests fail, not skip, without it."""
    path = shutil.which("dot")
    if path is None:
        pytest.fail(
            "Graphviz's dot is not installed, and the SVG tests need it: install Graphviz "
            "(Debian and Ubuntu: apt-get install graphviz; macOS: brew install graphviz)",
            pytrace=False,
        )
    return path


def words(text: str) -> str:
    """``text`` with its white space (which Graphviz may alter) as single spaces."""
    return " ".join(text.replace("\xa0", " ").split())


def svg_tree(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    """The ``<g>`` elements whose class list starts with ``kind`` (node, edge)."""
    return [g for g in root.iter(f"{SVG}g") if g.get("class", "").split()[:1] == [kind]]


def texts(group: ET.Element) -> list[str]:
    """The lines of text drawn in ``group``, as a reader sees them."""
    return [(t.text or "").replace("\xa0", " ") for t in group.iter(f"{SVG}text")]


def fake_dot(tmp_path: Path, script: str) -> str:
    path = tmp_path / "dot"
    path.write_text("#!/bin/sh\n" + script + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


# -- Mermaid ------------------------------------------------------------------------------

MERMAID_LINE = re.compile(
    r"stateDiagram-v2"
    r"|    direction LR"
    r"|    classDef [a-z_]+ [a-z-]+:[#\w ]+(,[a-z-]+:[#\w ]+)*"
    r'|    state "([^\n"#:;%<>{}`]|#\d+;)*" as (s\d+|any_state)'
    r"|    s\d+ : [a-z][a-z0-9_]*"
    r"|    \[\*\] --> s\d+"
    r'|    (s\d+|any_state) --> s\d+ : ([^\n"#:;%<>{}`]|#\d+;)+'
    r"|    class (s\d+|any_state) [a-z_]+"
)


def mermaid_decode(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


def mermaid_labels(text: str) -> list[str]:
    """The decoded state titles and arrow labels of a Mermaid diagram."""
    found = re.findall(r'^    state "([^"]*)" as|^    \S+ --> s\d+ : (.*)$', text, re.M)
    return [mermaid_decode(title or label) for title, label in found]


class TestMermaid:
    def test_small_workflow(self) -> None:
        """States by id with title and name, the start, labels, guards, merged and 'any' arrows."""
        assert workflow_to_mermaid(approval()) == (
            "stateDiagram-v2\n"
            "    direction LR\n"
            "    classDef new fill:#e3f2fd,stroke:#1e88e5,color:#212121\n"
            "    classDef pending fill:#f3e5f5,stroke:#8e24aa,color:#212121\n"
            "    classDef closed fill:#eeeeee,stroke:#757575,color:#212121\n"
            "    classDef any_state fill:#ffffff,stroke:#9e9e9e,stroke-dasharray:4 3\n"
            '    state "Draft" as s0\n'
            "    s0 : draft\n"
            '    state "In review" as s1\n'
            "    s1 : review\n"
            '    state "Done" as s2\n'
            "    s2 : done\n"
            '    state "any state" as any_state\n'
            "    [*] --> s0\n"
            "    s0 --> s1 : submit\n"
            "    s1 --> s2 : approve [has assignee]\n"
            "    s1 --> s0 : reject (Send back), withdraw\n"
            "    any_state --> s2 : cancel\n"
            "    class s0 new\n"
            "    class s1 pending\n"
            "    class s2 closed\n"
            "    class any_state any_state\n"
        )

    def test_every_line_is_one_of_the_known_forms(self) -> None:
        """Nasty labels and keyword names still give only well-formed lines."""
        for workflow in [labelled(NASTY), approval(), helpdesk(), bugtracker(), simple()]:
            for line in workflow_to_mermaid(workflow).splitlines():
                assert MERMAID_LINE.fullmatch(line), line

    def test_labels_are_escaped_and_decode_back(self) -> None:
        """Syntax characters become entities (``#34;``); decoding gives back each label."""
        workflow = labelled(NASTY)
        text = workflow_to_mermaid(workflow)
        raw = re.findall(r'^    state "([^"]*)" as|^    \S+ --> s\d+ : (.*)$', text, re.M)
        for title, label in raw:
            assert re.fullmatch(r"([^\"#:;%<>{}|`*&\\]|#\d+;)*", title or label), title or label
        labels = mermaid_labels(text)
        for state in workflow.states:
            assert shown(state.title) in labels
        for action in workflow.actions:
            assert shown(f"{action.name} ({action.label})") in labels

    def test_keyword_state_names_are_not_ids(self) -> None:
        """States are s0, s1, …: a state called ``end`` or ``class`` is only shown."""
        text = workflow_to_mermaid(labelled(["x"]))
        assert re.findall(r" as (\S+)$", text, re.M) == [f"s{i}" for i in range(10)]
        assert "    s1 : end\n" in text

    def test_two_states_draw_star_actions_from_each_state(self) -> None:
        """With two states, an action from every state is an arrow from each."""
        wf = Workflow(
            "toggle",
            [State("on", Category.ACTIVE), State("off", Category.CLOSED)],
            [Action("flip", "*", "off"), Action("start", "off", "on")],
            "on",
        )
        text = workflow_to_mermaid(wf)
        assert "any_state" not in text
        assert "    s0 --> s1 : flip\n    s1 --> s1 : flip\n" in text


# -- DOT ----------------------------------------------------------------------------------


class TestDot:
    def test_small_workflow(self) -> None:
        """Quoted state ids, HTML labels, start dot, merged and 'any state' arrows."""
        assert workflow_to_dot(approval()) == (
            'digraph "approval" {\n'
            '    graph [rankdir=LR, fontname="Helvetica", nodesep=0.35, ranksep=0.55];\n'
            '    node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=12, '
            'fontcolor="#212121", penwidth=1.4];\n'
            '    edge [fontname="Helvetica", fontsize=10, color="#555555", fontcolor="#212121", '
            "arrowsize=0.7];\n"
            '    "_initial" [shape=point, width=0.14, color="#212121", class="initial"];\n'
            '    "draft" [label=<<b>Draft</b><br/><font point-size="9">draft</font>>, '
            'fillcolor="#e3f2fd", color="#1e88e5", class="new"];\n'
            '    "review" [label=<<b>In review</b><br/><font point-size="9">review</font>>, '
            'fillcolor="#f3e5f5", color="#8e24aa", class="pending"];\n'
            '    "done" [label=<<b>Done</b><br/><font point-size="9">done</font>>, '
            'fillcolor="#eeeeee", color="#757575", class="closed"];\n'
            '    "_any" [label="any state", style="rounded,dashed", color="#9e9e9e", '
            'fontcolor="#616161", class="any_state"];\n'
            '    "_initial" -> "draft";\n'
            '    "draft" -> "review" [label=<submit>];\n'
            '    "review" -> "done" [label=<approve<br/>[has assignee]>];\n'
            '    "review" -> "draft" [label=<reject (Send back)<br/>withdraw>];\n'
            '    "_any" -> "done" [label=<cancel>];\n'
            "}\n"
        )

    def test_html_label_escapes(self) -> None:
        """Markup, entities, quotes and backslashes (Graphviz's ``\\N``) are escaped."""
        text = workflow_to_dot(labelled(['<b>&amp;"\\N\n'], ["done"]))
        assert "<b>&lt;b&gt;&amp;amp;&quot;\\\\N </b>" in text

    def test_same_workflow_same_text(self) -> None:
        """Two equal workflows built apart give the same DOT and Mermaid text."""
        assert workflow_to_dot(helpdesk(3)) == workflow_to_dot(helpdesk(3))
        assert workflow_to_mermaid(bugtracker()) == workflow_to_mermaid(bugtracker())


# -- SVG, with the real dot ------------------------------------------------------------------


class TestSvg:
    def test_nasty_labels_are_drawn_as_written(self, dot: str) -> None:
        """dot accepts the text, and the SVG shows every label exactly, keywords as names."""
        workflow = labelled(NASTY)
        root = svg_tree(workflow_to_svg(workflow, dot=dot))
        nodes = {g.findtext(f"{SVG}title"): texts(g) for g in groups(root, "node")}
        for state in workflow.states:
            assert nodes[state.name] == [shown(state.title).strip(), state.name]
        drawn = {line for g in groups(root, "edge") for line in texts(g)}
        for action in workflow.actions:
            assert shown(f"{action.name} ({action.label})") in {d.strip() for d in drawn}

    @pytest.mark.parametrize("name", list(BUILTIN_WORKFLOWS))
    def test_builtin_workflow(self, dot: str, name: str) -> None:
        """Well-formed SVG: a node per state plus the start dot, an edge per arrow, all names."""
        workflow = BUILTIN_WORKFLOWS[name]()
        svg = workflow_to_svg(workflow, dot=dot)
        root = svg_tree(svg)
        nodes = {g.findtext(f"{SVG}title"): g for g in groups(root, "node")}
        assert sorted(nodes, key=str) == sorted(["_initial", *[s.name for s in workflow.states]])
        for state in workflow.states:
            assert nodes[state.name].get("class") == f"node {state.category.value}"
            assert texts(nodes[state.name]) == [state.title, state.name]
        arrows = workflow_to_dot(workflow).count(" -> ")
        assert len(groups(root, "edge")) == arrows
        drawn = " ".join(line for g in groups(root, "edge") for line in texts(g))
        for action in workflow.actions:
            assert re.search(rf"\b{action.name}\b", drawn)

    def test_missing_dot_says_to_install_graphviz(self) -> None:
        """No such program: a GraphvizError that says how to install Graphviz."""
        with pytest.raises(
            GraphvizError,
            match=r"'/nonexistent/dot' program was not found.*"
            r"apt-get install graphviz",
        ):
            workflow_to_svg(simple(), dot="/nonexistent/dot")

    def test_failing_dot_reports_its_stderr(self, tmp_path: Path) -> None:
        """dot exiting non-zero: a GraphvizError with its exit status and stderr."""
        failing = fake_dot(
            tmp_path, 'cat >/dev/null; echo "Error: syntax error in line 3" >&2; exit 3'
        )
        with pytest.raises(
            GraphvizError,
            match=r"failed drawing workflow 'simple' \(exit status 3\): "
            r"Error: syntax error in line 3$",
        ):
            workflow_to_svg(simple(), dot=failing)

    def test_hanging_dot_times_out(self, tmp_path: Path) -> None:
        """dot taking longer than the timeout: a GraphvizError naming the timeout."""
        hanging = fake_dot(tmp_path, "exec sleep 10")
        with pytest.raises(GraphvizError, match=r"within 0\.2 s; pass a longer timeout="):
            workflow_to_svg(simple(), dot=hanging, timeout=0.2)

    def test_dot_that_cannot_run(self, tmp_path: Path) -> None:
        """A file that is not executable: a GraphvizError saying to pass dot= its path."""
        plain = tmp_path / "dot"
        plain.write_text("not a program", encoding="utf-8")
        with pytest.raises(GraphvizError, match="pass dot= the path of Graphviz's dot program"):
            workflow_to_svg(simple(), dot=str(plain))

    def test_graphviz_error_is_a_ticketkit_error(self) -> None:
        """GraphvizError is exported and is a TicketkitError."""
        assert ticketkit.GraphvizError is GraphvizError
        assert issubclass(GraphvizError, ticketkit.TicketkitError)


# -- properties ---------------------------------------------------------------------------


class TestProperties:
    @given(workflows())
    def test_every_state_and_action_appears(self, workflow: Workflow) -> None:
        """Both texts name every state and every action, and the guards' days."""
        mermaid, dot_text = workflow_to_mermaid(workflow), workflow_to_dot(workflow)
        for state in workflow.states:
            assert f" : {state.name}\n" in mermaid
            assert f'    "{state.name}" [label=<<b>{state.title}</b>' in dot_text
        for action in workflow.actions:
            assert re.search(rf" : (.*\W)?{action.name}\b", mermaid)
            assert re.search(rf"[<>]{action.name}\b", dot_text)
            for guard in action.guards:
                if isinstance(guard, WithinDays):
                    assert f"[within {guard.days} day" in mermaid

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4))
    def test_any_label_is_drawn_as_written(self, dot: str, labels: list[str]) -> None:
        """Whatever the labels, dot accepts the text and Mermaid's decode to them."""
        workflow = labelled(labels, ["mid", "end"])
        decoded = mermaid_labels(workflow.to_mermaid())
        for state in workflow.states:
            assert shown(state.title) in decoded
        root = svg_tree(workflow_to_svg(workflow, dot=dot))
        nodes = {g.findtext(f"{SVG}title"): texts(g) for g in groups(root, "node")}
        for state in workflow.states:
            drawn = [words(line) for line in nodes[state.name]]
            assert drawn == [words(shown(state.title)), state.name]

    def test_methods_delegate(self, dot: str) -> None:
        """``Workflow.to_mermaid/to_dot/to_svg`` give what the functions give."""
        wf = approval()
        assert wf.to_mermaid() == ticketkit.workflow_to_mermaid(wf)
        assert wf.to_dot() == ticketkit.workflow_to_dot(wf)
        assert wf.to_svg(dot=dot) == ticketkit.workflow_to_svg(wf, dot=dot)


# -- guards in words ------------------------------------------------------------------------


def only_managers(ctx: GuardContext) -> str | None:
    return None


class Quorum:
    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, ctx: GuardContext) -> str | None:
        return None

    def __repr__(self) -> str:
        return f"Quorum({self.size})"


def described(ctx: GuardContext) -> str | None:
    return None


described.description = "needs two reviewers"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("guard", "text"),
    [
        (WithinDays(1), "[within 1 day of resolution]"),
        (WithinDays(30), "[within 30 days of resolution]"),
        (HasAssignee(), "[has assignee]"),
        (ticketkit.ActorIsAssignee(), "[actor is assignee]"),
        (only_managers, "[only managers]"),
        (Quorum(3), "[Quorum(3)]"),
        (described, "[needs two reviewers]"),
        (lambda ctx: None, "[guard]"),
    ],
)
def test_guards_are_shown_in_words(guard: Callable[[GuardContext], str | None], text: str) -> None:
    """A guard shows as its description, a built-in's meaning, its name, a short repr or 'guard'."""
    wf = Workflow(
        "g",
        [State("a", Category.NEW), State("b", Category.CLOSED)],
        [Action("go", "a", "b", guards=[guard])],
        "a",
    )
    assert f"go {text}" in workflow_to_mermaid(wf)


def test_registered_guard_is_shown_by_its_registered_name() -> None:
    """A guard in the workflow's registry shows as the name it is registered under."""
    check = Quorum(10**40)  # a repr too long to show
    wf = Workflow(
        "g",
        [State("a", Category.NEW), State("b", Category.CLOSED)],
        [Action("go", "a", "b", guards=[check])],
        "a",
        guard_registry={"big_quorum": check},
    )
    assert "go [big quorum]" in workflow_to_mermaid(wf)


# -- the docs' pictures ---------------------------------------------------------------------


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_workflow_svgs", IMAGES / "make_workflow_svgs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def without_comments(svg: str) -> str:
    """The SVG without its comments, which name the Graphviz version."""
    return re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)


def test_docs_pictures_are_up_to_date(dot: str) -> None:
    """docs/images holds each built-in workflow's SVG as the code draws it now."""
    pictures = load_script().pictures()
    assert sorted(p.name for p in pictures) == sorted(
        f"workflow-{name}.svg" for name in BUILTIN_WORKFLOWS
    )
    for path, svg in pictures.items():
        assert path.exists(), (
            f"{path.name} is missing; run python docs/images/make_workflow_svgs.py"
        )
        committed = path.read_text(encoding="utf-8")
        assert without_comments(committed) == without_comments(svg), (
            f"docs/images/{path.name} is out of date; run python docs/images/make_workflow_svgs.py"
        )


def test_workflows_page_shows_every_picture() -> None:
    """docs/workflows.md embeds each built-in workflow's picture."""
    page = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    for name in BUILTIN_WORKFLOWS:
        assert re.search(rf"!\[[^\]]+\]\(images/workflow-{name}\.svg\)", page), name
