"""The report's ``csat`` table: the satisfaction surveys sent in the period, from the events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from ..surveys._summary import CSATGroup, SurveyRecord, summarise
from ._model import CSATRow

__all__ = ["CSAT_COLUMNS", "csat_rows", "csat_table"]

#: The columns of the ``csat`` table, in order.
CSAT_COLUMNS = (
    "dimension",
    "name",
    "sent",
    "answered",
    "satisfied",
    "response_rate",
    "score",
    "mean",
)


def _row(dimension: str, group: CSATGroup, records: Sequence[SurveyRecord]) -> CSATRow:
    numbers = [r.rating for r in records if isinstance(r.rating, int)]
    return CSATRow(
        dimension=dimension,
        name=group.name,
        sent=group.sent,
        answered=group.answered,
        satisfied=group.satisfied,
        rating_sum=sum(numbers),
        rated=len(numbers),
    )


def csat_rows(
    records: Iterable[SurveyRecord], since: datetime, until: datetime
) -> tuple[CSATRow, ...]:
    """Overall, then by agent, then by queue: the surveys sent in ``[since, until)``."""
    summary = summarise(records, since, until)
    kept = summary.surveys
    return (
        _row("overall", summary.overall, kept),
        *(_row("agent", g, [r for r in kept if r.agent == g.name]) for g in summary.by_agent),
        *(_row("queue", g, [r for r in kept if r.queue == g.name]) for g in summary.by_queue),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def csat_table(rows: Sequence[CSATRow]) -> list[dict[str, object]]:
    """The ``csat`` table's rows: shares (0 to 1) and the mean rounded to 4 places."""
    return [
        {
            "dimension": r.dimension,
            "name": r.name,
            "sent": r.sent,
            "answered": r.answered,
            "satisfied": r.satisfied,
            "response_rate": _rounded(r.response_rate),
            "score": _rounded(r.score),
            "mean": _rounded(r.mean),
        }
        for r in rows
    ]
