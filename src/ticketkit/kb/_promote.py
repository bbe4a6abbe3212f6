"""The first draft of an article promoted from a resolved ticket."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._model import Comment, Ticket

__all__ = ["CUSTOMER", "NO_SOLUTION", "promoted_body"]

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
