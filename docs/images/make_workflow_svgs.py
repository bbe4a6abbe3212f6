"""Draw the built-in workflows as docs/images/workflow-<name>.svg, for docs/workflows.md.

Needs Graphviz's ``dot`` (Debian and Ubuntu: ``apt-get install graphviz``). Run it
after changing a built-in workflow or how diagrams are drawn::

    python docs/images/make_workflow_svgs.py

``tests/test_diagrams.py`` fails while a committed picture is out of date.
"""

from __future__ import annotations

from pathlib import Path

from ticketkit._builtin_workflows import BUILTIN_WORKFLOWS

IMAGES = Path(__file__).resolve().parent


def pictures() -> dict[Path, str]:
    """Each built-in workflow's picture file and the SVG it should hold."""
    return {
        IMAGES / f"workflow-{name}.svg": make().to_svg() for name, make in BUILTIN_WORKFLOWS.items()
    }


def main() -> None:
    for path, svg in pictures().items():
        path.write_text(svg, encoding="utf-8", newline="\n")
        print(f"wrote {path.relative_to(IMAGES.parent.parent)}")


if __name__ == "__main__":
    main()
