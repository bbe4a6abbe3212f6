"""Answering a survey: :func:`check_token` before showing the form, :func:`rate` to record it.

A rating is a ``csat_rated`` notice on the ticket, by the reporter: it keeps the
ticket's version, never restarts an SLA clock (it is not a comment) and is
hidden from customers' views of the history, as ``survey_sent`` is.

One-time use rests on the store, not on a check: the write that records the
rating also claims the reference ``csat:<nonce>``, which only one transaction
can ever hold (:meth:`Transaction.add_reference
<ticketkit.storage.Transaction.add_reference>`). Of two redemptions at once,
on any store, one commits and the other rolls back whole and is told ``used``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from .._errors import DuplicateReference, StorageError, ValidationError
from .._events import Event, EventType, ticket_event
from .._model import Ticket
from ._settings import Survey, check_comment, check_rating, is_satisfied
from ._token import Claims, SurveyTokenError, read_token, reference_of

if TYPE_CHECKING:
    from .._tracker import Ref, Tracker
    from ..storage import Store, Transaction

__all__ = ["Invitation", "Rating", "check_token", "rate"]

_ATTEMPTS = 5  # tries of a redemption that the database aborted to break a deadlock


@attrs.frozen
class Invitation:
    """A survey that can be answered now: what a front end needs to show its form."""

    ticket_key: str
    scale: str
    expires: datetime


@attrs.frozen
class Rating:
    """One recorded answer: ``event_id`` is the ``csat_rated`` event's, ``survey`` its nonce."""

    ticket_key: str
    rating: str | int
    scale: str
    satisfied: bool
    comment: str | None
    rated_by: str
    rated_at: datetime
    survey: str
    event_id: int


def _survey(tracker: Tracker) -> Survey:
    automation = tracker.automation
    if automation is None or automation.survey is None:
        raise ValidationError(
            "this tracker sends no surveys; give it automation=Automation(survey=Survey(...))",
            field="survey",
        )
    return automation.survey


def _claims(tracker: Tracker, survey: Survey, token: object, ticket: Ref | None) -> Claims:
    claims = read_token(survey.secret, token, tracker._now())
    if ticket is not None:
        given = tracker.store.get_ticket(tracker._ref(ticket))
        if given is None or given.id != claims.ticket_id:
            raise SurveyTokenError(
                "this survey token belongs to another ticket; use the link from that "
                "ticket's survey message",
                reason="wrong_ticket",
            )
    return claims


def _sent(source: Store | Transaction, claims: Claims) -> tuple[Ticket, Sequence[Event], Event]:
    """The token's ticket, its history and the ``survey_sent`` event the token answers."""
    ticket = source.get_ticket(claims.ticket_id)
    if ticket is None or ticket.tenant != claims.tenant:
        raise SurveyTokenError(
            "no survey with this token was sent; use the link from the survey message",
            reason="forged",
        )
    events = source.events(ticket.id)
    sent = [e for e in events if e.type is EventType.SURVEY_SENT]
    mine = next((e for e in sent if e.data.get("survey") == claims.nonce), None)
    if mine is None:
        raise SurveyTokenError(
            "no survey with this token was sent; use the link from the survey message",
            reason="forged",
        )
    if any(e.type is EventType.CSAT_RATED and e.data.get("survey") == claims.nonce for e in events):
        raise _used()
    if sent[-1] is not mine:
        raise SurveyTokenError(
            f"{ticket.key} was resolved again and a newer survey was sent; answer that one",
            reason="superseded",
        )
    return ticket, events, mine


def _used() -> SurveyTokenError:
    return SurveyTokenError("this survey has been answered already", reason="used")


def check_token(tracker: Tracker, token: object, *, ticket: Ref | None = None) -> Invitation:
    """What ``token`` lets its holder answer now, or :class:`SurveyTokenError`.

    For a front end, before it shows the survey form; ``ticket`` (a key or id,
    as in the page's address) must be the token's ticket. Nothing is stored: a
    token that passes here may still be used up by the time :func:`rate` runs.
    """
    survey = _survey(tracker)
    claims = _claims(tracker, survey, token, ticket)
    if tracker.store.ticket_for_reference(reference_of(claims.nonce)) is not None:
        raise _used()
    found, _, sent = _sent(tracker.store, claims)
    return Invitation(found.key, str(sent.data.get("scale", survey.scale)), claims.expires)


def rate(
    tracker: Tracker,
    token: object,
    rating: object,
    *,
    comment: object = None,
    ticket: Ref | None = None,
) -> Rating:
    """Record the reporter's answer to the survey ``token`` opens; it works once.

    ``rating`` is ``"good"`` or ``"bad"``, or 1 to 5 (``"4"`` from a form reads
    as 4), on the scale the survey was sent with; ``comment`` is optional text
    of at most :data:`~ticketkit.surveys.MAX_COMMENT` characters. ``ticket``,
    when given, must be the token's ticket. A refused token raises
    :class:`SurveyTokenError` (its ``reason`` says why), a bad rating or comment
    a :class:`~ticketkit.ValidationError` naming ``rating`` or ``comment``; in
    both cases nothing is stored.
    """
    survey = _survey(tracker)
    text = check_comment(comment)
    claims = _claims(tracker, survey, token, ticket)
    reference = reference_of(claims.nonce)
    for attempt in range(_ATTEMPTS):
        if tracker.store.ticket_for_reference(reference) is not None:
            raise _used()
        now = tracker._now()
        try:
            with tracker.store.transaction() as tx:
                found, _, sent = _sent(tx, claims)
                scale = str(sent.data.get("scale", survey.scale))
                value = check_rating(rating, scale)
                event = ticket_event(
                    found,
                    EventType.CSAT_RATED,
                    found.reporter,
                    now,
                    survey=claims.nonce,
                    sent=sent.id,
                    scale=scale,
                    rating=value,
                    satisfied=is_satisfied(value),
                    comment=text,
                )
                stored = tx.add_events([event])
                # Last, so the reference is held for as short a time as possible.
                tx.add_reference(found.id, reference)
        except DuplicateReference:
            raise _used() from None
        except StorageError as exc:
            if not exc.retryable or attempt == _ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # part the writers
            continue
        tracker._publish(stored)
        return Rating(
            ticket_key=found.key,
            rating=value,
            scale=scale,
            satisfied=is_satisfied(value),
            comment=text,
            rated_by=found.reporter,
            rated_at=now,
            survey=claims.nonce,
            event_id=stored[0].id,
        )
    raise AssertionError("unreachable")  # pragma: no cover
