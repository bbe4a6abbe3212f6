"""CSAT: the satisfaction score and response rate of the surveys sent, by agent and queue.

Everything is read from the ``survey_sent`` and ``csat_rated`` events:
:func:`survey_records` turns one ticket's history into one
:class:`SurveyRecord` per survey sent (with its answer, if any), and
:func:`csat_summary` counts the records of the surveys sent in a period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from .._clock import optional_instant
from .._errors import ValidationError
from .._events import Event, EventType
from .._model import Ticket
from .._scan import check_scope, histories, tickets_before
from ._settings import is_satisfied

if TYPE_CHECKING:
    from .._tracker import Tracker

__all__ = ["CSATGroup", "CSATSummary", "SurveyRecord", "csat_summary", "survey_records"]

_RATINGS = ("good", "bad", "1", "2", "3", "4", "5")


@attrs.frozen
class SurveyRecord:
    """One survey sent: to whom about which resolution, and its answer (``None``: none yet).

    ``agent`` and ``queue`` are the ticket's assignee and queue when the survey
    was sent, which is at the resolution (or ``delay`` after it).
    """

    ticket_key: str
    tenant: str
    sent_at: datetime
    expires: datetime
    scale: str
    agent: str | None
    queue: str
    rating: str | int | None = None
    satisfied: bool | None = None
    comment: str | None = None
    rated_at: datetime | None = None

    @property
    def answered(self) -> bool:
        return self.rating is not None


def _instant(value: object) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def survey_records(ticket: Ticket, events: Iterable[Event]) -> list[SurveyRecord]:
    """The surveys sent for ``ticket`` (from its ``events``), oldest first, with their answers."""
    records: dict[str, SurveyRecord] = {}
    for event in events:
        data = event.data
        nonce = str(data.get("survey", ""))
        if event.type is EventType.SURVEY_SENT:
            agent = data.get("agent")
            records[nonce] = SurveyRecord(
                ticket_key=ticket.key,
                tenant=ticket.tenant,
                sent_at=event.at.astimezone(UTC),
                expires=_instant(data["expires"]),
                scale=str(data.get("scale", "good_bad")),
                agent=agent if isinstance(agent, str) else None,
                queue=str(data.get("queue", ticket.queue)),
            )
        elif event.type is EventType.CSAT_RATED and nonce in records:
            rating = data.get("rating")
            comment = data.get("comment")
            records[nonce] = attrs.evolve(
                records[nonce],
                rating=rating if isinstance(rating, str | int) else None,
                satisfied=is_satisfied(rating),
                comment=comment if isinstance(comment, str) else None,
                rated_at=event.at.astimezone(UTC),
            )
    return list(records.values())


@attrs.frozen
class CSATGroup:
    """The CSAT numbers of some surveys: all of them, one agent's or one queue's.

    ``score`` is the share of answers that are satisfied ("good", or 4 and 5
    on the 1-5 scale); ``mean`` the mean of the 1-5 ratings; ``response_rate``
    the share of surveys answered. Each is ``None`` when there is nothing to
    divide by. ``ratings`` counts the answers by value (``"good"``, ``"bad"``,
    ``"1"`` ... ``"5"``).
    """

    name: str | None
    sent: int
    answered: int
    satisfied: int
    ratings: Mapping[str, int]
    mean: float | None

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None

    @property
    def score(self) -> float | None:
        return self.satisfied / self.answered if self.answered else None

    def to_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sent": self.sent,
            "answered": self.answered,
            "satisfied": self.satisfied,
            "response_rate": self.response_rate,
            "score": self.score,
            "mean": self.mean,
            "ratings": dict(self.ratings),
        }


def _group(name: str | None, records: Sequence[SurveyRecord]) -> CSATGroup:
    answered = [r for r in records if r.rating is not None]
    ratings = dict.fromkeys(_RATINGS, 0)
    for record in answered:
        ratings[str(record.rating)] = ratings.get(str(record.rating), 0) + 1
    numbers = [r.rating for r in answered if isinstance(r.rating, int)]
    return CSATGroup(
        name=name,
        sent=len(records),
        answered=len(answered),
        satisfied=sum(1 for r in answered if r.satisfied),
        ratings={k: v for k, v in ratings.items() if v},
        mean=sum(numbers) / len(numbers) if numbers else None,
    )


def _groups(
    records: Sequence[SurveyRecord], key: Callable[[SurveyRecord], str | None]
) -> tuple[CSATGroup, ...]:
    by: dict[str | None, list[SurveyRecord]] = {}
    for record in records:
        by.setdefault(key(record), []).append(record)
    # By name; the surveys of unassigned tickets (name None) last.
    names = sorted(by, key=lambda n: (n is None, n or ""))
    return tuple(_group(name, by[name]) for name in names)


@attrs.frozen
class CSATSummary:
    """CSAT of the surveys sent in ``[since, until)``: overall, by agent and by queue.

    ``None`` for ``since`` or ``until`` leaves that end open.

    ``overall`` is a :class:`CSATGroup` named ``None``; in ``by_agent`` the group
    named ``None`` holds the surveys of tickets nobody was assigned. ``surveys``
    are the records counted, by time sent.
    """

    since: datetime | None
    until: datetime | None
    tenant: str | None
    overall: CSATGroup
    by_agent: tuple[CSATGroup, ...]
    by_queue: tuple[CSATGroup, ...]
    surveys: tuple[SurveyRecord, ...]

    def to_data(self) -> dict[str, Any]:
        """Plain data (instants as ISO 8601 text), for JSON."""
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "tenant": self.tenant,
            "overall": self.overall.to_data(),
            "by_agent": [g.to_data() for g in self.by_agent],
            "by_queue": [g.to_data() for g in self.by_queue],
        }


def summarise(
    records: Iterable[SurveyRecord],
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
) -> CSATSummary:
    """The :class:`CSATSummary` of the ``records`` sent in ``[since, until)``."""
    kept = sorted(
        (
            r
            for r in records
            if (since is None or r.sent_at >= since) and (until is None or r.sent_at < until)
        ),
        key=lambda r: (r.sent_at, r.ticket_key),
    )
    return CSATSummary(
        since=since,
        until=until,
        tenant=tenant,
        overall=_group(None, kept),
        by_agent=_groups(kept, lambda r: r.agent),
        by_queue=_groups(kept, lambda r: r.queue),
        surveys=tuple(kept),
    )


def csat_summary(
    tracker: Tracker,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
) -> CSATSummary:
    """CSAT of the surveys sent in ``[since, until)`` (``None``: that end is open).

    ``tenant`` keeps one tenant's tickets (``None``: every tenant). Answers
    count with the survey they answer, whenever they came.
    """
    start = optional_instant(since, "since")
    end = optional_instant(until, "until")
    if start is not None and end is not None and start >= end:
        raise ValidationError(
            f"since {start.isoformat()} is not before until {end.isoformat()}", field="since"
        )
    check_scope(tenant, None, None)
    tickets = tickets_before(tracker, None, tenant, end)
    records: list[SurveyRecord] = []
    for ticket, events in zip(tickets, histories(tracker, tickets), strict=True):
        records.extend(survey_records(ticket, events))
    return summarise(records, start, end, tenant)
