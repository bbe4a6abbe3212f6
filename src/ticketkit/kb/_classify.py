"""Suggest a queue, a priority or a field value for a new ticket from past tickets.

A multinomial naive Bayes classifier over words (see :mod:`._text_features`),
with Laplace (add-``alpha``) smoothing, computed in log space. A word never
seen in training is smoothed like a seen one (the vocabulary counts it), so
learning a ticket never makes its own label less likely for it: with the
vocabulary fixed, the other labels' scores do not move, and the label's own
likelihood grows because ``n·log(1 + n/a)`` is convex and homogeneous
(summed over the ticket's words it is at least ``N·log(1 + N/A)``). Ties are
broken by label, so a classifier trained on the same examples, in any order,
gives the same answers.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from .._errors import ValidationError
from .._model import Ticket
from ._text_features import STOP_WORDS, features

__all__ = ["DATA_VERSION", "MAX_LABEL", "Classifier", "Suggestion"]

#: The ``version`` written by :meth:`Classifier.to_data`.
DATA_VERSION = 1
#: The longest label, in characters.
MAX_LABEL = 200


@attrs.frozen
class Suggestion:
    """The label a classifier thinks most likely, and its probability (0 to 1)."""

    label: str
    confidence: float


def _check_label(label: object, where: str) -> str:
    if not isinstance(label, str) or not label.strip():
        raise ValidationError(
            f"{where}: a label must be a non-empty string, got {label!r}", field="label"
        )
    if len(label) > MAX_LABEL or any(c in label for c in "\r\n"):
        raise ValidationError(
            f"{where}: label {label[:40]!r}… is not one line of at most {MAX_LABEL} characters; "
            "use a short name such as a queue name",
            field="label",
        )
    return label


def _check_text(value: object, name: str, where: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(
            f"{where}: the {name} must be a string, got {type(value).__name__}", field=name
        )
    return value


class Classifier:
    """Multinomial naive Bayes over the words of a ticket's title and description.

    Build one with :meth:`train`, :meth:`from_tickets` or :meth:`from_data`;
    teach it more with :meth:`add`. ``alpha`` is the Laplace smoothing added to
    every word count; each title word counts ``title_weight`` times. A classifier
    may be shared between threads: :meth:`add` and the readers take a lock.
    """

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        title_weight: int = 2,
        stop_words: Collection[str] = STOP_WORDS,
    ) -> None:
        if (
            isinstance(alpha, bool)
            or not isinstance(alpha, int | float)
            or not math.isfinite(alpha)
            or alpha <= 0
        ):
            raise ValidationError(
                f"alpha must be a positive finite number (1.0 is usual), got {alpha!r}",
                field="alpha",
            )
        if isinstance(title_weight, bool) or not isinstance(title_weight, int) or title_weight < 1:
            raise ValidationError(
                f"title_weight must be a whole number of at least 1, got {title_weight!r}",
                field="title_weight",
            )
        if isinstance(stop_words, str) or not all(isinstance(w, str) for w in stop_words):
            raise ValidationError(
                "stop_words must be a collection of words (strings), "
                f"got {type(stop_words).__name__}",
                field="stop_words",
            )
        self.alpha = float(alpha)
        self.title_weight = title_weight
        self.stop_words = frozenset(w.casefold() for w in stop_words)
        self._documents: Counter[str] = Counter()  # label -> number of examples
        self._words: dict[str, Counter[str]] = {}  # label -> word -> count
        self._totals: Counter[str] = Counter()  # label -> sum of its word counts
        self._vocabulary: Counter[str] = Counter()  # word -> labels it occurs under
        self._lock = threading.Lock()

    # -- building ----------------------------------------------------------------

    @classmethod
    def train(
        cls,
        examples: Iterable[tuple[str, str, str]],
        *,
        alpha: float = 1.0,
        title_weight: int = 2,
        stop_words: Collection[str] = STOP_WORDS,
    ) -> Classifier:
        """A classifier trained on ``(title, description, label)`` examples.

        Raises :class:`ValidationError` when there are no examples or one is malformed.
        """
        model = cls(alpha=alpha, title_weight=title_weight, stop_words=stop_words)
        if isinstance(examples, str | bytes | Mapping):
            raise ValidationError(
                "examples must be an iterable of (title, description, label) tuples, "
                f"got {type(examples).__name__}",
                field="examples",
            )
        for number, example in enumerate(examples, 1):
            if not isinstance(example, tuple | list) or len(example) != 3:
                raise ValidationError(
                    f"example {number} is {example!r}; each example must be a "
                    "(title, description, label) tuple",
                    field="examples",
                )
            model._add(*example, f"example {number}")
        if not model._documents:
            raise ValidationError(
                "no training examples; give at least one (title, description, label) tuple",
                field="examples",
            )
        return model

    @classmethod
    def from_tickets(
        cls,
        tickets: Iterable[Ticket],
        target: str = "queue",
        *,
        fields: Collection[str] | None = None,
        alpha: float = 1.0,
        title_weight: int = 2,
        stop_words: Collection[str] = STOP_WORDS,
    ) -> Classifier:
        """A classifier trained on past tickets to predict their ``target``.

        ``target`` is ``"queue"``, ``"priority"`` (labels ``"P1"`` … ``"P5"``) or
        ``"fields.<name>"`` for a custom field (labels are its values as text;
        ``true``/``false`` for booleans). Tickets without a value for the field
        are skipped. Pass ``fields=tracker.config.fields`` to refuse a field the
        tracker does not define; without it, a field no ticket has is refused.
        Multiple-choice fields cannot be a target (a ticket has one label).
        """
        field_name = _parse_target(target, fields)
        examples: list[tuple[str, str, str]] = []
        for number, ticket in enumerate(tickets, 1):
            if not isinstance(ticket, Ticket):
                raise ValidationError(
                    f"item {number} of tickets is a {type(ticket).__name__}, not a Ticket",
                    field="tickets",
                )
            label = _label_of(ticket, target, field_name)
            if label is not None:
                examples.append((ticket.title, ticket.description, label))
        if not examples:
            raise ValidationError(
                f"no training data: none of the tickets given has a value for field "
                f"{field_name!r}; check the field name, or pass tickets that have it set"
                if field_name
                else "no training data: no tickets were given; pass past tickets",
                field="tickets",
            )
        return cls.train(examples, alpha=alpha, title_weight=title_weight, stop_words=stop_words)

    def add(self, title: str, description: str, label: str) -> None:
        """Learn one more example: the ticket ``title``/``description`` belongs to ``label``."""
        self._add(title, description, label, "add")

    def _add(self, title: object, description: object, label: object, where: str) -> None:
        title = _check_text(title, "title", where)
        description = _check_text(description, "description", where)
        label = _check_label(label, where)
        counts = features(
            title, description, title_weight=self.title_weight, stop_words=self.stop_words
        )
        with self._lock:
            self._documents[label] += 1
            words = self._words.setdefault(label, Counter())
            for word, n in counts.items():
                if word not in words:
                    self._vocabulary[word] += 1
                words[word] += n
            self._totals[label] += sum(counts.values())

    # -- predicting --------------------------------------------------------------

    @property
    def labels(self) -> list[str]:
        """Every label learned, sorted."""
        with self._lock:
            return sorted(self._documents)

    def predict(self, title: str, description: str = "") -> list[tuple[str, float]]:
        """Every label with its probability for this ticket, best first.

        The probabilities are in [0, 1] and sum to 1 (up to rounding); equal
        probabilities are ordered by label.
        """
        _check_text(title, "title", "predict")
        _check_text(description, "description", "predict")
        counts = features(
            title, description, title_weight=self.title_weight, stop_words=self.stop_words
        )
        with self._lock:
            if not self._documents:
                raise ValidationError(
                    "the classifier has learned no examples yet; call add() or build it "
                    "with Classifier.train()"
                )
            all_documents = sum(self._documents.values())
            # The vocabulary is the training words plus this ticket's new ones, so a new
            # word costs each label alpha / (its words + alpha * vocabulary).
            vocabulary = len(self._vocabulary) + sum(1 for w in counts if w not in self._vocabulary)
            scores: dict[str, float] = {}
            for label in sorted(self._documents):
                score = math.log(self._documents[label] / all_documents)
                if counts:
                    words = self._words[label]
                    denominator = math.log(self._totals[label] + self.alpha * vocabulary)
                    for word, n in sorted(counts.items()):
                        score += n * (math.log(words.get(word, 0) + self.alpha) - denominator)
                scores[label] = score
        best = max(scores.values())
        weights = {label: math.exp(score - best) for label, score in scores.items()}
        total = math.fsum(weights.values())
        ranked = [(label, weight / total) for label, weight in weights.items()]
        ranked.sort(key=lambda pair: (-pair[1], pair[0]))
        return ranked

    def suggest(self, title: str, description: str = "") -> Suggestion:
        """The most likely label for this ticket, with its probability as the confidence."""
        label, probability = self.predict(title, description)[0]
        return Suggestion(label, probability)

    # -- plain data --------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        """Everything the classifier learned as plain JSON data (sorted, so stable)."""
        with self._lock:
            return {
                "version": DATA_VERSION,
                "alpha": self.alpha,
                "title_weight": self.title_weight,
                "stop_words": sorted(self.stop_words),
                "labels": {
                    label: {
                        "documents": self._documents[label],
                        "words": dict(sorted(self._words[label].items())),
                    }
                    for label in sorted(self._documents)
                },
            }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Classifier:
        """The classifier :meth:`to_data` described; refuses anything else with ValidationError."""
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"classifier data must be a mapping from to_data(), got {type(data).__name__}"
            )
        expected = {"version", "alpha", "title_weight", "stop_words", "labels"}
        if set(data) != expected:
            raise ValidationError(
                f"classifier data must have exactly the keys {sorted(expected)}, "
                f"got {sorted(map(str, data))}; pass what Classifier.to_data() returned"
            )
        if data["version"] != DATA_VERSION:
            raise ValidationError(
                f"classifier data version {data['version']!r} is not supported; "
                f"this ticketkit reads version {DATA_VERSION}: retrain the classifier"
            )
        stop_words = data["stop_words"]
        if not isinstance(stop_words, list):
            raise ValidationError("classifier data: stop_words must be a list of words")
        model = cls(alpha=data["alpha"], title_weight=data["title_weight"], stop_words=stop_words)
        labels = data["labels"]
        if not isinstance(labels, Mapping):
            raise ValidationError("classifier data: labels must map each label to its counts")
        for label, entry in labels.items():
            _check_label(label, "classifier data")
            if (
                not isinstance(entry, Mapping)
                or set(entry) != {"documents", "words"}
                or not _is_count(entry["documents"], minimum=1)
                or not isinstance(entry["words"], Mapping)
            ):
                raise ValidationError(
                    f"classifier data: label {label!r} must map to "
                    '{"documents": <count of at least 1>, "words": {word: count}}'
                )
            words: Counter[str] = Counter()
            for word, count in entry["words"].items():
                if not isinstance(word, str) or not word or not _is_count(count, minimum=1):
                    raise ValidationError(
                        f"classifier data: label {label!r} has word {word!r} with count "
                        f"{count!r}; each word needs a whole count of at least 1"
                    )
                words[word] = count
            model._documents[label] = entry["documents"]
            model._words[label] = words
            model._totals[label] = sum(words.values())
            for word in words:
                model._vocabulary[word] += 1
        return model

    def __repr__(self) -> str:
        with self._lock:
            return (
                f"<Classifier {len(self._documents)} labels, "
                f"{sum(self._documents.values())} examples, {len(self._vocabulary)} words>"
            )


def _is_count(value: object, *, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _parse_target(target: object, fields: Collection[str] | None) -> str | None:
    """The custom field's name for a ``fields.<name>`` target, None for queue/priority."""
    if target in ("queue", "priority"):
        return None
    if isinstance(target, str) and target.startswith("fields.") and target != "fields.":
        name = target.removeprefix("fields.")
        if fields is not None and name not in fields:
            raise ValidationError(
                f"target {target!r} names no custom field of the tracker; "
                f"its fields are {sorted(fields)}",
                field="target",
            )
        return name
    raise ValidationError(
        f'target must be "queue", "priority" or "fields.<name>", got {target!r}',
        field="target",
    )


def _label_of(ticket: Ticket, target: str, field_name: str | None) -> str | None:
    if field_name is None:
        return ticket.queue if target == "queue" else str(ticket.priority)
    value = ticket.fields.get(field_name)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        raise ValidationError(
            f"field {field_name!r} holds several values on {ticket.key}; a multiple-choice "
            "field cannot be a classification target, pick a single-valued field",
            field="target",
        )
    if isinstance(value, str | int | Decimal | date):
        return str(value)
    raise ValidationError(  # pragma: no cover - FieldValue has no other types
        f"field {field_name!r} on {ticket.key} holds {value!r}, which cannot be a label",
        field="target",
    )
