"""A report as one self-contained HTML page with inline SVG charts.

The page needs no network and no JavaScript: the charts are drawn with
matplotlib's SVG backend on :class:`matplotlib.figure.Figure` objects (never
pyplot) and embedded inline; tables are plain HTML. Every piece of user text
is escaped. matplotlib is imported only here, when a page is written, and its
absence raises an :class:`ImportError` naming the ``reports`` extra.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._model import Report
from ._tables import TABLES, columns, hours, tables

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["write_html"]

_NO_MATPLOTLIB = (
    "write_html needs matplotlib to draw the charts; install it with: "
    "pip install 'ticketkit[reports]'"
)

#: Settings for every chart: ids salted the same way each time, text kept as text.
_RC = {"svg.hashsalt": "ticketkit-report", "svg.fonttype": "none", "font.size": 9}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }
td.n { text-align: right; }
figure { margin: 1em 0; }
"""

_TITLES = {
    "volume": "Tickets opened",
    "backlog": "Backlog",
    "response_times": "Response and resolution times (business hours)",
    "sla": "SLA compliance",
    "reopens": "Reopens",
    "by_agent": "By agent",
    "by_queue": "By queue",
    "by_priority": "By priority",
    "by_tag": "By tag",
    "csat": "Customer satisfaction (CSAT)",
    "tickets": "Tickets",
    "time_by_agent": "Time logged by agent",
    "time_by_ticket": "Time logged by ticket",
}


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: F401
    except ImportError as exc:
        raise ImportError(_NO_MATPLOTLIB) from exc
    return matplotlib


def _svg(figure: Figure) -> str:
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    FigureCanvasSVG(figure)
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg") :]


def _figure() -> tuple[Figure, Any]:
    """A figure and its one axes, counting tickets (whole numbers) upwards."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7.5, 2.8), layout="constrained")
    axes = figure.add_subplot()
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("tickets")
    return figure, axes


def _labels(axes: Any, starts: Sequence[str]) -> None:
    step = max(1, len(starts) // 12 + (1 if len(starts) % 12 else 0))
    ticks = list(range(0, len(starts), step))
    axes.set_xticks(ticks, [starts[i] for i in ticks], rotation=30, ha="right")


def _series_chart(report: Report, attribute: str, title: str, kind: str) -> str:
    figure, axes = _figure()
    starts = [p.start.isoformat() for p in report.periods]
    values = [getattr(p, attribute) for p in report.periods]
    positions = range(len(values))
    if kind == "bar":
        axes.bar(positions, values, color="#4c72b0")
    else:
        axes.step(positions, values, where="mid", color="#c44e52")
    # Whole tickets from zero, and a visible axis even when every value is 0.
    axes.set_ylim(bottom=0, top=max(1, max(values, default=0)) * 1.05)
    axes.set_title(title)
    _labels(axes, starts)
    return _svg(figure)


def _histogram(report: Report) -> str | None:
    values = [hours(t.resolution_time) for t in report.tickets]
    found = [v for v in values if v is not None]
    if not found:
        return None
    figure, axes = _figure()
    axes.hist(found, bins=min(20, max(1, len(set(found)))), color="#55a868")
    axes.set_title("Resolution time")
    axes.set_xlabel("business hours")
    return _svg(figure)


def _sla_chart(report: Report) -> str | None:
    sla = report.summary.sla
    if not any(c.met or c.breached or c.running for c in sla):
        return None
    figure, axes = _figure()
    names = [c.kind.replace("_", " ") for c in sla]
    met = [c.met for c in sla]
    breached = [c.breached for c in sla]
    running = [c.running for c in sla]
    axes.bar(names, met, label="met", color="#55a868")
    axes.bar(names, breached, bottom=met, label="breached", color="#c44e52")
    axes.bar(
        names,
        running,
        bottom=[a + b for a, b in zip(met, breached, strict=True)],
        label="running",
        color="#bbbbbb",
    )
    axes.set_title("SLA compliance")
    axes.legend()
    return _svg(figure)


def _cell(value: object) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float):
        return (
            f'<td class="n">{value:g}</td>'
            if isinstance(value, float)
            else (f'<td class="n">{value}</td>')
        )
    return f"<td>{html.escape(str(value))}</td>"


#: The most rows a table shows on the page; the CSV and JSON forms have them all.
MAX_ROWS = 1000


def _table(name: str, names: Sequence[str], rows: Sequence[dict[str, object]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in names)
    shown = rows[:MAX_ROWS]
    body = "".join("<tr>" + "".join(_cell(r.get(c)) for c in names) + "</tr>" for r in shown)
    more = ""
    if len(rows) > MAX_ROWS:
        more = (
            f"<p>The first {MAX_ROWS:,} of {len(rows):,} rows; "
            f"<code>ticketkit report --csv {html.escape(name)}</code> writes them all.</p>\n"
        )
    return (
        f'<h2 id="{name}">{html.escape(_TITLES[name])}</h2>\n'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n{more}"
    )


def render_html(report: Report) -> str:
    """The page for ``report``, as text (the same text for the same report)."""
    matplotlib = _matplotlib()
    scope = "every tenant" if report.tenant is None else f"tenant {report.tenant}"
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        "<title>ticketkit report</title>\n",
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<h1>Help-desk report</h1>\n",
        f"<p>{html.escape(report.since.isoformat())} to {html.escape(report.until.isoformat())}"
        f", per {html.escape(report.period)} in {html.escape(report.timezone)}"
        f", {html.escape(scope)}"
        f", SLA policy: {html.escape(report.policy or 'none')}.</p>\n",
    ]
    if report.empty:
        parts.append("<p><strong>No data:</strong> no ticket was open in this period.</p>\n")
        parts.append("</body>\n</html>\n")
        return "".join(parts)
    with matplotlib.rc_context(_RC):
        charts = [
            _series_chart(report, "backlog", "Backlog at the end of each period", "step"),
            _series_chart(report, "opened", "Tickets opened per period", "bar"),
            _histogram(report),
            _sla_chart(report),
        ]
    for chart in charts:
        if chart is not None:
            parts.append(f"<figure>{chart}</figure>\n")
    found, names = tables(report), columns(report)
    for name in TABLES:
        parts.append(_table(name, names[name], found[name]))
    parts.append("</body>\n</html>\n")
    return "".join(parts)


def write_html(report: Report, file: str | Path | TextIO) -> None:
    """Write ``report`` as one self-contained HTML page to a path or an open text file.

    Needs matplotlib (``pip install 'ticketkit[reports]'``); an empty report gives
    a page that says there is no data.
    """
    page = render_html(report)
    if isinstance(file, str | Path):
        Path(file).write_text(page, encoding="utf-8")
    else:
        file.write(page)
