"""``ticketkit show``, ``list`` and ``search``: the commands that read.

JSON shapes (``--json``; values in ``ticketkit.serde``'s form): ``show`` prints
``{"ticket", "comments", "history"}``; ``list`` prints a page,
``{"items": [ticket, ...], "next_cursor": str | null}``; ``search`` prints
``[{"ticket": ticket, "score": float}, ...]``, best first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._cli_config import json_option, open_tracker, url_option
from ._cli_output import emit_json, print_hits, print_ticket, print_tickets, show_data
from .cli import reporting, say

if TYPE_CHECKING:
    from ._model import Ticket
    from ._query import Condition

__all__ = ["list_command", "search_command", "show_command"]

_PAGE_MAX = 1000


def show_command() -> click.Command:
    @click.command("show", short_help="Show a ticket, its comments and its history.")
    @click.argument("key")
    @click.option("--public", is_flag=True, help="Leave out internal notes.")
    @url_option
    @json_option
    @click.pass_context
    def show(ctx: click.Context, key: str, public: bool, url: str | None, as_json: bool) -> None:
        """Show ticket KEY: its fields, comments (internal notes marked) and history."""
        with reporting(), open_tracker(ctx, url) as tracker:
            ticket = tracker.get(key)
            comments = tracker.comments(ticket.id, internal=not public)
            history = tracker.history(ticket.id)
        if as_json:
            emit_json(show_data(ticket, comments, history))
        else:
            print_ticket(ctx, ticket, comments, history)

    return show


def _conditions(
    status: tuple[str, ...],
    assignee: str | None,
    queue: tuple[str, ...],
    tag: tuple[str, ...],
    priority: tuple[str, ...],
    tenant: str | None,
) -> list[Condition]:
    from ._query import Condition, Op

    found: list[Condition] = []
    for name, values in (("status", status), ("queue", queue), ("priority", priority)):
        if values:
            found.append(Condition(name, Op.IN, tuple(values)))
    if assignee == "none":
        found.append(Condition("assignee", Op.IS_NULL, True))
    elif assignee is not None:
        found.append(Condition("assignee", Op.EQ, assignee))
    found += [Condition("tags", Op.CONTAINS, t.lower()) for t in tag]
    if tenant is not None:
        found.append(Condition("tenant", Op.EQ, tenant))
    return found


def list_command() -> click.Command:
    @click.command("list")
    @click.option("-s", "--status", multiple=True, help="Only this status; repeat for any of.")
    @click.option("-a", "--assignee", help="Only tickets assigned to this person ('none': nobody).")
    @click.option("-q", "--queue", multiple=True, help="Only this queue; repeat for any of.")
    @click.option("-t", "--tag", multiple=True, help="Only tickets with this tag; repeat: all.")
    @click.option("-p", "--priority", multiple=True, help="Only this priority; repeat: any of.")
    @click.option("--tenant", help="Only this help desk (tenant).")
    @click.option("--text", help="Only tickets whose title or description contains this.")
    @click.option(
        "--order-by",
        default="id",
        show_default=True,
        help="Fields to sort by, comma-separated; - first for descending (-priority).",
    )
    @click.option("-n", "--limit", type=click.IntRange(1, _PAGE_MAX), default=50, show_default=True)
    @click.option("--cursor", help="Where to go on: the next_cursor of the previous page.")
    @click.option("--all", "every", is_flag=True, help="Every matching ticket, page by page.")
    @url_option
    @json_option
    @click.pass_context
    def list_(
        ctx: click.Context,
        status: tuple[str, ...],
        assignee: str | None,
        queue: tuple[str, ...],
        tag: tuple[str, ...],
        priority: tuple[str, ...],
        tenant: str | None,
        text: str | None,
        order_by: str,
        limit: int,
        cursor: str | None,
        every: bool,
        url: str | None,
        as_json: bool,
    ) -> None:
        """List tickets, oldest first; filters combine with AND.

        One page of --limit tickets; when there are more, stderr says which
        --cursor gives the next page (or use --all).
        """
        from . import serde
        from ._query import Page

        where = _conditions(status, assignee, queue, tag, priority, tenant)
        order = tuple(part.strip() for part in order_by.split(",") if part.strip())
        items: list[Ticket] = []
        with reporting(), open_tracker(ctx, url) as tracker:
            while True:
                page = tracker.query(
                    where,
                    text=text,
                    order_by=order or ("id",),
                    limit=_PAGE_MAX if every else limit,
                    cursor=cursor,
                )
                items += page.items
                cursor = page.next_cursor
                if not every or cursor is None:
                    break
        result = Page(tuple(items), cursor)
        if as_json:
            emit_json(serde.unstructure(result))
            return
        print_tickets(ctx, result.items)
        if result.next_cursor is not None:
            say(f"more tickets match: add --cursor {result.next_cursor} (or use --all)")

    return list_


def search_command() -> click.Command:
    @click.command("search", short_help="Search titles, descriptions and comments.")
    @click.argument("text")
    @click.option("-n", "--limit", type=click.IntRange(1, 100), default=20, show_default=True)
    @url_option
    @json_option
    @click.pass_context
    def search(ctx: click.Context, text: str, limit: int, url: str | None, as_json: bool) -> None:
        """Tickets whose title, description or comments best match TEXT, best first."""
        from . import serde

        with reporting(), open_tracker(ctx, url) as tracker:
            hits = tracker.search(text, limit=limit)
        if as_json:
            emit_json([{"ticket": serde.unstructure(h.ticket), "score": h.score} for h in hits])
        else:
            print_hits(ctx, hits)

    return search
