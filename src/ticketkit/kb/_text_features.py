"""What a classifier sees of a ticket: its words, counted, title words weighted more.

A word is what full-text search calls a word (:func:`ticketkit._search.terms`:
a run of Unicode letters and digits, case-folded). Common English words that
say nothing about a ticket's subject ("the", "is", "please") are dropped.
"""

from __future__ import annotations

from collections import Counter

from .._search import terms

__all__ = ["MAX_TEXT", "STOP_WORDS", "features"]

#: Only this many characters of a title or a description are read, so that a
#: pasted log file cannot make classification slow. Ample for the words that
#: decide a ticket's queue or priority, which come first.
MAX_TEXT = 20_000

_STOP_TEXT = """
    a about above after again against am an and any are as at be because been before
    being below between both but by can could did do does doing during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself nor now of on once only or
    other our ours ourselves over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until
    very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also get got hi hello dear thanks thank regards please kind
    best cheers s t d ll m re ve
"""
#: Words dropped before counting: English function words and help-desk politeness.
#: Words that often decide a ticket's urgency ("down", "not", "no", "all", "out",
#: "off", "up") are kept even though general-purpose stop-word lists drop them.
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())


def features(
    title: str,
    description: str,
    *,
    title_weight: int = 2,
    stop_words: frozenset[str] = STOP_WORDS,
) -> Counter[str]:
    """Count the words of a ticket: each title word counts ``title_weight`` times.

    Words are case-folded; words in ``stop_words`` are dropped; only the first
    :data:`MAX_TEXT` characters of each text are read.
    """
    counts: Counter[str] = Counter()
    for word in terms(title[:MAX_TEXT]):
        if word not in stop_words:
            counts[word] += title_weight
    for word in terms(description[:MAX_TEXT]):
        if word not in stop_words:
            counts[word] += 1
    return counts
