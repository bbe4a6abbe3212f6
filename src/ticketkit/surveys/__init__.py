"""Customer satisfaction surveys: a signed one-time link after each resolution, and CSAT.

Give the tracker ``Automation(survey=Survey(...), notifications=Notifications())``:
when a ticket is resolved, its reporter gets the ``survey`` notification with a
link holding a one-time signed token. :func:`rate` records the answer as a
``csat_rated`` notice; :func:`csat_summary` gives the satisfaction score, the
response rate and their breakdowns by agent and queue. See ``docs/surveys.md``.
"""

from __future__ import annotations

from ._rating import Invitation, Rating, check_token, rate
from ._settings import MAX_COMMENT, SCALES, Survey
from ._summary import CSATGroup, CSATSummary, SurveyRecord, csat_summary, survey_records
from ._token import REASONS, SurveyTokenError

__all__ = [
    "MAX_COMMENT",
    "REASONS",
    "SCALES",
    "CSATGroup",
    "CSATSummary",
    "Invitation",
    "Rating",
    "Survey",
    "SurveyRecord",
    "SurveyTokenError",
    "check_token",
    "csat_summary",
    "rate",
    "survey_records",
]
