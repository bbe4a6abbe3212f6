"""The first draft of an article promoted from a resolved ticket."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import ValidationError
from .._model import Comment, Ticket
from .._workflow import Category

if TYPE_CHECKING:
    from .._tracker import Tracker

__all__ = ["CUSTOMER", "NO_SOLUTION", "check_promotable", "promoted_body"]

_DONE = (Category.RESOLVED, Category.CLOSED)

#: What stands in the article for the reporter's and the watchers' addresses.
CUSTOMER = "[customer]"
#: The solution section of a ticket that has no public reply from the help desk.
NO_SOLUTION = "_No public reply on the ticket describes the solution yet; write it here._"


def _anonymise(text: str, people: Sequence[str]) -> str:
    for person in sorted(people, key=len, reverse=True):
        text = re.sub(re.escape(person), CUSTOMER, text, flags=re.IGNORECASE)
    return text


def promoted_body(ticket: Ticket, public: Sequence[Comment]) -> str:
    """Markdown: the ticket's description as the problem, the help desk's replies as the solution.

    The replies are the public comments of anyone but the reporter and the
    watchers, oldest first; redacted ones are left out. Every occurrence of the
    reporter's or a watcher's name (an address, usually), in any case, becomes
    :data:`CUSTOMER`.
    """
    people = [p for p in (ticket.reporter, *ticket.watchers) if p.strip()]
    customers = {p.casefold() for p in people}
    problem = ticket.description.strip() or ticket.title
    replies = [
        c.body.strip()
        for c in public
        if not c.internal
        and c.redacted_at is None
        and c.body.strip()
        and c.author.casefold() not in customers
    ]
    solution = "\n\n".join(replies) or NO_SOLUTION
    return _anonymise(f"## Problem\n\n{problem}\n\n## Solution\n\n{solution}\n", people)


def check_promotable(tracker: Tracker, ticket: Ticket) -> None:
    """Raise ``ValidationError`` unless the ticket is resolved or closed and not promoted yet."""
    if tracker.workflow.category(ticket.status) not in _DONE:
        raise ValidationError(
            f"{ticket.key} is {ticket.status!r}, not resolved or closed; resolve it before "
            "promoting it to an article",
            field="status",
        )
    store = tracker.store
    for solution in store.solutions(ticket_ids=[ticket.id]):
        earlier = store.get_article(solution.article_id)
        if earlier is not None and earlier.source_ticket == ticket.key:
            raise ValidationError(
                f"{ticket.key} was already promoted to {earlier.key}; edit that article",
                field="ticket",
            )
