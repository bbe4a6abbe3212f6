"""Priorities P1 (most urgent) to P5, set directly or derived ITIL-style."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from attrs import frozen

from ._errors import ValidationError
from ._text import parse_choice, preview

__all__ = ["DEFAULT_MATRIX", "Impact", "Priority", "PriorityMatrix", "Urgency"]


class Priority(enum.IntEnum):
    """P1 is the most urgent. Sorting ascending puts the most urgent first."""

    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4
    P5 = 5

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return _LABELS[self]

    @classmethod
    def parse(cls, value: object) -> Priority:
        """Accept a ``Priority``, ``"P2"``/``"p2"``, or ``2``; refuse anything else."""
        if isinstance(value, Priority):
            return value
        if isinstance(value, str):
            name = value.strip().upper()
            if name in cls.__members__:
                return cls[name]
        elif isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
            return cls(value)
        raise ValidationError(
            f"unknown priority {preview(value)}; use one of P1, P2, P3, P4, P5 "
            "(P1 is the most urgent)",
            field="priority",
        )


_LABELS = {
    Priority.P1: "critical",
    Priority.P2: "high",
    Priority.P3: "medium",
    Priority.P4: "low",
    Priority.P5: "planning",
}


class Impact(enum.StrEnum):
    """How much of the business is affected."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @classmethod
    def parse(cls, value: object) -> Impact:
        return parse_choice(cls, value, "impact", field="impact")


class Urgency(enum.StrEnum):
    """How soon the business needs it fixed."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @classmethod
    def parse(cls, value: object) -> Urgency:
        return parse_choice(cls, value, "urgency", field="urgency")


_STANDARD: dict[tuple[Impact, Urgency], Priority] = {
    (Impact.HIGH, Urgency.HIGH): Priority.P1,
    (Impact.HIGH, Urgency.MEDIUM): Priority.P2,
    (Impact.MEDIUM, Urgency.HIGH): Priority.P2,
    (Impact.HIGH, Urgency.LOW): Priority.P3,
    (Impact.MEDIUM, Urgency.MEDIUM): Priority.P3,
    (Impact.LOW, Urgency.HIGH): Priority.P3,
    (Impact.MEDIUM, Urgency.LOW): Priority.P4,
    (Impact.LOW, Urgency.MEDIUM): Priority.P4,
    (Impact.LOW, Urgency.LOW): Priority.P5,
}


@frozen
class PriorityMatrix:
    """Maps (impact, urgency) to a priority. The default is the ITIL 3 × 3 matrix."""

    cells: Mapping[tuple[Impact, Urgency], Priority]

    def __attrs_post_init__(self) -> None:
        missing = [
            f"{i.value}/{u.value}" for i in Impact for u in Urgency if (i, u) not in self.cells
        ]
        if missing:
            raise ValidationError(
                "the priority matrix has no priority for impact/urgency " + ", ".join(missing)
            )

    def priority(self, impact: Impact | str, urgency: Urgency | str) -> Priority:
        return self.cells[(Impact.parse(impact), Urgency.parse(urgency))]


DEFAULT_MATRIX = PriorityMatrix(_STANDARD)
