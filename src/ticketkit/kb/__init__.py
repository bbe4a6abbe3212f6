"""The knowledge base: known problems and their solutions, suggestions, classification.

:class:`KnowledgeBase` (``tracker.kb``) keeps articles with every version,
their draft/published/archived status, and their links to the tickets they
solve; a resolved ticket can be promoted to an article. ``tracker.suggest(key)``
ranks published articles and similar tickets for a ticket (:class:`Suggestions`).
:class:`Classifier` suggests a queue, a priority or a custom field's value for
a new ticket from the words of past tickets (multinomial naive Bayes).
"""

from __future__ import annotations

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
