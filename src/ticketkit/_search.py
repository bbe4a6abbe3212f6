"""Ranked full-text search: what a word is, which requests are valid, and the hits.

A *word* is a run of letters and digits (Unicode ``[^\\W_]+``); words compare
case-insensitively. A ticket matches when its title, description or any of
its comments holds at least one of the words searched for; the more (and the
rarer) the words it holds, and the more of them in its title and description
rather than its comments, the higher it ranks. Stores do the matching and the
ranking (see :meth:`ticketkit.storage.Store.search`); this module checks the
request and turns what the store found into :class:`SearchHit` values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import attrs

from ._errors import ValidationError
from ._model import Ticket

if TYPE_CHECKING:
    from .storage import Store

__all__ = ["MAX_LIMIT", "MAX_TEXT", "SearchHit", "check_search", "search", "terms", "words"]

#: The longest search text, in characters.
MAX_TEXT = 1000
#: The most hits one search returns.
MAX_LIMIT = 100

_WORD = re.compile(r"[^\W_]+")


@attrs.frozen
class SearchHit:
    """A ticket :meth:`Tracker.search` found, with its relevance.

    ``score`` is higher for better matches. Scores compare only within one
    result list: each store computes them its own way.
    """

    ticket: Ticket
    score: float


def terms(text: str) -> list[str]:
    """Every word of ``text``, case-folded, in order, repeats kept: what an index holds."""
    return [w.casefold() for w in _WORD.findall(text)]


def words(text: str) -> list[str]:
    """The distinct words of a search text, as typed, in order of first appearance.

    Words that differ only in case count once. Everything between words
    (quotes, operators such as ``AND``/``NEAR``/``*``/``:``/``^``/``|``/``!``,
    parentheses) is dropped here, so no store ever sees query syntax from users;
    operator *words* such as ``AND`` stay, and are searched for as words.
    """
    seen: set[str] = set()
    found: list[str] = []
    for word in _WORD.findall(text):
        key = word.casefold()
        if key not in seen:
            seen.add(key)
            found.append(word)
    return found


def check_search(text: object, limit: object) -> tuple[str, int]:
    """Return ``(text, limit)`` if they make a valid search, else raise ``ValidationError``."""
    if not isinstance(text, str):
        raise ValidationError(
            f"search text must be a string, got {type(text).__name__}", field="text"
        )
    if not text.strip():
        raise ValidationError(
            "search text must not be empty or only white space; pass the words to look for",
            field="text",
        )
    if len(text) > MAX_TEXT:
        raise ValidationError(
            f"search text is {len(text)} characters long; the limit is {MAX_TEXT}",
            field="text",
        )
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(
            f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}", field="limit"
        )
    return text, limit


def search(store: Store, text: object, limit: object) -> list[SearchHit]:
    """The tickets of ``store`` that best match ``text``, best first, at most ``limit``."""
    checked, most = check_search(text, limit)
    if not words(checked):  # only punctuation: nothing can match
        return []
    # TODO(access): internal notes are searched like public comments for now. Once access
    # rules exist, a customer's search must not match (or rank by) words that appear only
    # in internal notes: filter internal comments out of the index or the query for them.
    return [SearchHit(ticket, score) for ticket, score in store.search(checked, limit=most)]
