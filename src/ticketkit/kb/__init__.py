"""The knowledge base: for now, classifying new tickets from past ones.

:class:`Classifier` suggests a queue, a priority or a custom field's value for
a new ticket from the words of past tickets (multinomial naive Bayes).
"""

from __future__ import annotations

from ._classify import Classifier, Suggestion
from ._text_features import STOP_WORDS, features

__all__ = ["STOP_WORDS", "Classifier", "Suggestion", "features"]
