"""The knowledge base: known problems and their solutions, suggestions, classification.

:class:`KnowledgeBase` (``tracker.kb``) keeps articles with every version,
their draft/published/archived status, and their links to the tickets they
solve; a resolved ticket can be promoted to an article. ``tracker.suggest(key)``
ranks published articles and similar tickets for a ticket (:class:`Suggestions`).
:class:`Classifier` suggests a queue, a priority or a custom field's value for
a new ticket from the words of past tickets (multinomial naive Bayes).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._article import ARTICLE_PREFIX, Article, ArticleRevision, ArticleStatus, Solution
    from ._classify import Classifier, Suggestion
    from ._promote import CUSTOMER, promoted_body
    from ._service import ArticleHit, KnowledgeBase
    from ._suggest import (
        DUPLICATE_OVERLAP,
        DUPLICATE_SCORE,
        MAX_QUERY_WORDS,
        SOLVED_WEIGHT,
        ArticleSuggestion,
        Suggestions,
        TicketSuggestion,
        query_text,
        suggest,
    )
    from ._text_features import STOP_WORDS, features

# Loaded on first use (PEP 562): the store layer imports the article types, and
# should not pay for the classifier, the service and the suggestions with them.
_LAZY = {
    "ARTICLE_PREFIX": "_article",
    "Article": "_article",
    "ArticleHit": "_service",
    "ArticleRevision": "_article",
    "ArticleStatus": "_article",
    "ArticleSuggestion": "_suggest",
    "CUSTOMER": "_promote",
    "Classifier": "_classify",
    "DUPLICATE_OVERLAP": "_suggest",
    "DUPLICATE_SCORE": "_suggest",
    "KnowledgeBase": "_service",
    "MAX_QUERY_WORDS": "_suggest",
    "SOLVED_WEIGHT": "_suggest",
    "STOP_WORDS": "_text_features",
    "Solution": "_article",
    "Suggestion": "_classify",
    "Suggestions": "_suggest",
    "TicketSuggestion": "_suggest",
    "features": "_text_features",
    "promoted_body": "_promote",
    "query_text": "_suggest",
    "suggest": "_suggest",
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ticketkit.kb' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ARTICLE_PREFIX",
    "CUSTOMER",
    "DUPLICATE_OVERLAP",
    "DUPLICATE_SCORE",
    "MAX_QUERY_WORDS",
    "SOLVED_WEIGHT",
    "STOP_WORDS",
    "Article",
    "ArticleHit",
    "ArticleRevision",
    "ArticleStatus",
    "ArticleSuggestion",
    "Classifier",
    "KnowledgeBase",
    "Solution",
    "Suggestion",
    "Suggestions",
    "TicketSuggestion",
    "features",
    "promoted_body",
    "query_text",
    "suggest",
]
