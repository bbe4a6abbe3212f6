"""How the ``ticketkit`` command prints: JSON, plain text for pipes, Rich on a terminal.

``--json`` prints one JSON document on stdout, ``ticketkit.serde``'s form of
the values, and nothing else. Without it, a terminal (or ``ticketkit
--color``) gets Rich tables; a pipe gets plain lines, tab-separated for
listings, never an escape code. Every user-written text is printed as text,
never read as Rich markup.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    from ._events import Event
    from ._model import Comment, Ticket
    from ._search import SearchHit

__all__ = [
    "emit_json",
    "print_hits",
    "print_ticket",
    "print_tickets",
    "show_data",
    "ticket_data",
    "use_rich",
]

_NONE = "–"


def use_rich(ctx: click.Context) -> bool:
    """Rich output: ``ticketkit --color``, or by default when stdout is a terminal."""
    color = ctx.find_root().params.get("color")
    if color is not None:
        return bool(color)
    return sys.stdout.isatty()


def _console(ctx: click.Context) -> Console:
    from rich.console import Console

    color = ctx.find_root().params.get("color")
    return Console(file=sys.stdout, force_terminal=True if color else None, highlight=False)


def emit_json(data: Any) -> None:
    """``data`` (already JSON-ready) as one line of JSON on stdout."""
    click.echo(json.dumps(data, ensure_ascii=False))


def ticket_data(ticket: Ticket) -> Any:
    from . import serde

    return serde.unstructure(ticket)


def show_data(ticket: Ticket, comments: Sequence[Comment], history: Sequence[Event]) -> Any:
    """``show --json``: ``{"ticket": …, "comments": […], "history": […]}``."""
    from . import serde

    return {
        "ticket": serde.unstructure(ticket),
        "comments": serde.unstructure(list(comments)),
        "history": serde.unstructure(list(history)),
    }


def _when(ticket_time: Any) -> str:
    return str(ticket_time.strftime("%Y-%m-%d %H:%M"))


def _one_line(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _row(ticket: Ticket) -> list[str]:
    return [
        ticket.key,
        ticket.status,
        str(ticket.priority),
        ticket.assignee or _NONE,
        ticket.queue,
        _one_line(ticket.title),
    ]


_COLUMNS = ("key", "status", "priority", "assignee", "queue", "title")


def print_tickets(ctx: click.Context, tickets: Iterable[Ticket]) -> None:
    """A table of tickets (Rich), or one tab-separated line per ticket."""
    if not use_rich(ctx):
        for ticket in tickets:
            click.echo("\t".join(_row(ticket)))
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(*_COLUMNS)
    for ticket in tickets:
        table.add_row(*map(Text, _row(ticket)), style="dim" if ticket.resolved_at else None)
    _console(ctx).print(table)


def print_hits(ctx: click.Context, hits: Sequence[SearchHit]) -> None:
    """Search results, best first: key, score, status, title."""
    rows = [
        [h.ticket.key, f"{h.score:.3g}", h.ticket.status, _one_line(h.ticket.title)] for h in hits
    ]
    if not use_rich(ctx):
        for row in rows:
            click.echo("\t".join(row))
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("key", "score", "status", "title")
    for row in rows:
        table.add_row(*map(Text, row))
    _console(ctx).print(table)


def _facts(ticket: Ticket) -> list[tuple[str, str]]:
    facts = [
        ("status", ticket.status),
        ("priority", str(ticket.priority)),
        ("assignee", ticket.assignee or _NONE),
        ("reporter", ticket.reporter),
        ("queue", ticket.queue),
        ("tags", ", ".join(sorted(ticket.tags)) or _NONE),
        ("resolution", ticket.resolution or _NONE),
        ("created", _when(ticket.created)),
        ("updated", _when(ticket.updated)),
        ("version", str(ticket.version)),
    ]
    if ticket.tenant != "default":
        facts.append(("tenant", ticket.tenant))
    if ticket.watchers:
        facts.append(("watchers", ", ".join(sorted(ticket.watchers))))
    if ticket.links:
        facts.append(("links", ", ".join(sorted(f"{x.kind.value} {x.key}" for x in ticket.links))))
    if ticket.merged_into:
        facts.append(("merged into", ticket.merged_into))
    for name, value in sorted(ticket.fields.items()):
        shown = ", ".join(value) if isinstance(value, tuple) else str(value)
        facts.append((f"field:{name}", shown))
    return facts


def print_ticket(
    ctx: click.Context, ticket: Ticket, comments: Sequence[Comment], history: Sequence[Event]
) -> None:
    """A ticket's fields, description, comments (internal ones marked) and history."""
    from .demo import describe_event

    by_id = {c.id: c for c in comments}
    lines = [(_when(e.at), e.actor, describe_event(e, by_id)) for e in history]
    if not use_rich(ctx):
        click.echo(f"{ticket.key}  {ticket.title}")
        for name, value in _facts(ticket):
            click.echo(f"{name + ':':<12}{value}")
        if ticket.description:
            click.echo("")
            for line in ticket.description.splitlines():
                click.echo(f"    {line}")
        if comments:
            click.echo("\ncomments:")
        for c in comments:
            mark = " [internal]" if c.internal else ""
            click.echo(f"  #{c.id} {_when(c.created)} {c.author}{mark}:")
            for line in c.body.splitlines():
                click.echo(f"    {line}")
        click.echo("\nhistory:")
        for when, actor, what in lines:
            click.echo(f"  {when}  {actor}  {what}")
        return
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    console = _console(ctx)
    facts = Table.grid(padding=(0, 2))
    for name, value in _facts(ticket):
        facts.add_row(Text(name, style="bold"), Text(value))
    title = Text(f"{ticket.key}  ", style="bold cyan") + Text(ticket.title, style="bold")
    console.print(Panel(facts, title=title, title_align="left"))
    if ticket.description:
        console.print(Text(ticket.description))
    for c in comments:
        head = Text(f"#{c.id} {_when(c.created)} {c.author}", style="bold")
        if c.internal:
            head += Text(" internal", style="bold yellow")
        console.print(Panel(Text(c.body), title=head, title_align="left"))
    table = Table("when", "who", "what", title="history", title_justify="left")
    for when, actor, what in lines:
        table.add_row(Text(when), Text(actor), Text(what))
    console.print(table)
