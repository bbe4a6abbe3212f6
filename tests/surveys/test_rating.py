"""Answering a survey: a token works once, for its ticket, until it expires, if it is genuine."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from ticketkit import AutoClose, Automation, EventType, Tracker, ValidationError
from ticketkit._tracker import Ref
from ticketkit.surveys import MAX_COMMENT, Rating, Survey, SurveyTokenError, check_token, rate

from .support import BACKENDS, CUSTOMER, SECRET, START, URL, desk, resolved, token_in


def _flip(text: str, at: int) -> str:
    """``text`` with the base64url character at ``at`` changed."""
    swapped = "A" if text[at] != "A" else "B"
    return text[:at] + swapped + text[at + 1 :]


class TestRate:
    def test_a_rating_is_recorded_as_a_notice_by_the_reporter(self) -> None:
        """rate records csat_rated by the reporter; the version and comments stay as they were."""
        with desk() as (tracker, clock, sent):
            key = resolved(tracker)
            version = tracker.get(key).version
            clock.advance(hours=2)
            rating = rate(tracker, token_in(sent[0]), "good", comment="  Fixed fast.  ")
            assert isinstance(rating, Rating)
            assert (rating.ticket_key, rating.rating, rating.satisfied, rating.comment) == (
                key,
                "good",
                True,
                "Fixed fast.",
            )
            assert (rating.rated_by, rating.rated_at) == (CUSTOMER, clock.now())
            last = tracker.history(key)[-1]
            assert (last.type, last.actor, last.id) == (
                EventType.CSAT_RATED,
                CUSTOMER,
                rating.event_id,
            )
            sent_event = tracker.history(key)[-2]
            assert dict(last.data) == {
                "survey": rating.survey,
                "sent": sent_event.id,
                "scale": "good_bad",
                "rating": "good",
                "satisfied": True,
                "comment": "Fixed fast.",
            }
            assert tracker.get(key).version == version
            assert tracker.comments(key) == []

    def test_one_to_five_takes_numbers_and_form_text(self) -> None:
        """On the 1-5 scale a rating is 1 to 5; '4' from a form is 4; 4 and 5 are satisfied."""
        with desk(scale="1-5") as (tracker, _, sent):
            resolved(tracker, "One")
            resolved(tracker, "Two")
            first = rate(tracker, token_in(sent[0]), "4")
            second = rate(tracker, token_in(sent[1]), 3)
            assert (first.rating, first.satisfied) == (4, True)
            assert (second.rating, second.satisfied) == (3, False)

    def test_the_scale_is_the_one_the_survey_was_sent_with(self) -> None:
        """Changing the scale later does not change what an earlier survey accepts."""
        with desk() as (tracker, _, sent):
            resolved(tracker)
            automation = tracker.automation
            assert automation is not None
            tracker.automation = Automation(
                notifications=automation.notifications,
                survey=Survey(url_template=URL, secret=SECRET, scale="1-5"),
            )
            token = token_in(sent[0])
            assert check_token(tracker, token).scale == "good_bad"
            with pytest.raises(ValidationError, match="'good' or 'bad'"):
                rate(tracker, token, 5)
            assert rate(tracker, token, "good").scale == "good_bad"

    def test_the_ticket_given_must_be_the_tokens(self) -> None:
        """ticket= names the page's ticket: the token's own passes."""
        with desk() as (tracker, _, sent):
            key = resolved(tracker)
            assert rate(tracker, token_in(sent[0]), "bad", ticket=key).rating == "bad"

    def test_a_rating_is_not_a_customer_reply(self) -> None:
        """Auto-close counts from the resolution: a rating does not hold the ticket open."""
        with desk() as (tracker, clock, sent):
            automation = tracker.automation
            assert automation is not None
            tracker.automation = Automation(
                notifications=automation.notifications,
                survey=automation.survey,
                auto_close=AutoClose(resolved_after="7d"),
            )
            key = resolved(tracker)
            clock.advance(days=6)
            rate(tracker, token_in(sent[0]), "bad", comment="It broke again")
            clock.advance(days=1)
            assert tracker.run_due().closed == 1
            assert tracker.get(key).status == "closed"

    def test_subscribers_hear_of_a_rating(self) -> None:
        """csat_rated is published after the commit, like every stored event."""
        with desk() as (tracker, _, sent):
            seen: list[str] = []
            tracker.subscribe(lambda e: seen.append(e.type.value), EventType.CSAT_RATED)
            resolved(tracker)
            rate(tracker, token_in(sent[0]), "good")
            assert seen == ["csat_rated"]


class TestRefused:
    """Every refusal names its reason and stores nothing."""

    def _refused(self, tracker: Tracker, token: object, reason: str, **kwargs: Ref | None) -> None:
        keys = [t.key for t in tracker.query(limit=100).items]
        before = {key: tracker.history(key) for key in keys}
        with pytest.raises(SurveyTokenError) as refused:
            rate(tracker, token, "good", **kwargs)
        assert refused.value.reason == reason
        assert refused.value.field == "token"
        assert isinstance(refused.value, ValidationError)
        assert {key: tracker.history(key) for key in keys} == before

    def test_a_flipped_signature_character_is_forged(self) -> None:
        with desk() as (tracker, _, sent):
            resolved(tracker)
            token = token_in(sent[0])
            self._refused(tracker, _flip(token, len(token) - 5), "forged")

    def test_a_flipped_payload_character_is_forged(self) -> None:
        with desk() as (tracker, _, sent):
            resolved(tracker)
            self._refused(tracker, _flip(token_in(sent[0]), 3), "forged")

    def test_no_single_character_change_is_accepted(self) -> None:
        """Every character of the token, changed to any of a few others: never accepted."""
        with desk() as (tracker, _, sent):
            key = resolved(tracker)
            token = token_in(sent[0])
            before = tracker.history(key)
            reasons = set()
            for at, char in enumerate(token):
                for other in "AaQw_-9.":
                    if other == char:
                        continue
                    with pytest.raises(SurveyTokenError) as refused:
                        rate(tracker, token[:at] + other + token[at + 1 :], "good")
                    reasons.add(refused.value.reason)
            assert reasons == {"forged", "malformed"}
            assert tracker.history(key) == before
            assert rate(tracker, token, "good").rating == "good"

    def test_a_token_moved_to_another_ticket_is_forged(self) -> None:
        """Rewriting the payload's ticket id breaks the signature."""
        with desk() as (tracker, _, sent):
            resolved(tracker, "One")
            resolved(tracker, "Two")
            payload, signature = token_in(sent[0]).split(".")
            text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
            moved = text.replace(":1:", ":2:", 1).encode()
            forged = base64.urlsafe_b64encode(moved).rstrip(b"=").decode() + "." + signature
            self._refused(tracker, forged, "forged")

    def test_a_token_signed_with_another_secret_is_forged(self) -> None:
        with desk() as (tracker, _, sent):
            resolved(tracker)
        with desk(secret="another secret entirely, 32 bytes") as (other, _, _):
            resolved(other)
            self._refused(other, token_in(sent[0]), "forged")

    @pytest.mark.parametrize("token", ["", "abc", "a.b.c", "!!!.???", 42, None, "x" * 5000])
    def test_garbage_is_malformed(self, token: object) -> None:
        with desk() as (tracker, _, _):
            resolved(tracker)
            self._refused(tracker, token, "malformed")

    def test_an_expired_token(self) -> None:
        """valid_for after it was sent, the token no longer works."""
        with desk(valid_for="2d") as (tracker, clock, sent):
            resolved(tracker)
            clock.advance(days=2)
            self._refused(tracker, token_in(sent[0]), "expired")

    def test_a_token_for_another_ticket(self) -> None:
        """T1's token submitted as the rating of T2."""
        with desk() as (tracker, _, sent):
            resolved(tracker, "One")
            other = resolved(tracker, "Two")
            self._refused(tracker, token_in(sent[0]), "wrong_ticket", ticket=other)

    def test_a_used_token(self) -> None:
        with desk() as (tracker, _, sent):
            resolved(tracker)
            rate(tracker, token_in(sent[0]), "good")
            self._refused(tracker, token_in(sent[0]), "used")
            with pytest.raises(SurveyTokenError, match="answered already"):
                check_token(tracker, token_in(sent[0]))


class TestSecrets:
    def test_an_old_secret_still_verifies_after_rotation(self) -> None:
        """Survey(secret=[new, old]) signs with new and accepts tokens signed with old."""
        old = "the old secret, long enough 1234"
        with desk(secret=old) as (tracker, _, sent):
            resolved(tracker)
            automation = tracker.automation
            assert automation is not None
            rotated = Survey(url_template=URL, secret=[SECRET, old])
            tracker.automation = Automation(notifications=automation.notifications, survey=rotated)
            assert rate(tracker, token_in(sent[0]), "good").rating == "good"
            resolved(tracker, "Two")
            assert rate(tracker, token_in(sent[1]), "bad").rating == "bad"


class TestBadInput:
    """A bad rating or comment is a ValidationError naming it; the token still works after."""

    @pytest.mark.parametrize(
        ("scale", "rating"),
        [("1-5", 0), ("1-5", 6), ("1-5", "meh"), ("1-5", True), ("1-5", 4.0), ("1-5", "good")],
    )
    def test_a_bad_rating(self, scale: str, rating: object) -> None:
        with desk(scale=scale) as (tracker, _, sent):
            key = resolved(tracker)
            before = tracker.history(key)
            with pytest.raises(ValidationError) as refused:
                rate(tracker, token_in(sent[0]), rating)
            assert refused.value.field == "rating"
            assert not isinstance(refused.value, SurveyTokenError)
            assert tracker.history(key) == before
            assert rate(tracker, token_in(sent[0]), 5).rating == 5

    @pytest.mark.parametrize("rating", ["meh", 1, "", None])
    def test_a_bad_good_or_bad(self, rating: object) -> None:
        with desk() as (tracker, _, sent):
            resolved(tracker)
            with pytest.raises(ValidationError, match="'good' or 'bad'") as refused:
                rate(tracker, token_in(sent[0]), rating)
            assert refused.value.field == "rating"

    @pytest.mark.parametrize("comment", ["x" * (MAX_COMMENT + 1), 42, "bell\x07"])
    def test_a_bad_comment(self, comment: object) -> None:
        with desk() as (tracker, _, sent):
            key = resolved(tracker)
            before = tracker.history(key)
            with pytest.raises(ValidationError) as refused:
                rate(tracker, token_in(sent[0]), "good", comment=comment)
            assert refused.value.field == "comment"
            assert tracker.history(key) == before
            assert rate(tracker, token_in(sent[0]), "good", comment="x" * MAX_COMMENT).comment

    def test_without_surveys(self) -> None:
        """A tracker that sends no surveys says so."""
        with desk() as (tracker, _, sent):
            resolved(tracker)
            tracker.automation = None
            with pytest.raises(ValidationError, match="sends no surveys"):
                rate(tracker, token_in(sent[0]), "good")


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_redemptions_record_one_rating(backend: str, tmp_path: Path) -> None:
    """Six threads redeem one token at once: one rating, five 'used', on every store."""
    with desk(backend, tmp_path) as (tracker, _, sent):
        key = resolved(tracker)
        token = token_in(sent[0])
        barrier = threading.Barrier(6)
        outcomes: list[str] = []

        def redeem(rating: str) -> None:
            barrier.wait(10)
            try:
                rate(tracker, token, rating)
                outcomes.append("rated")
            except SurveyTokenError as exc:
                outcomes.append(exc.reason)

        threads = [
            threading.Thread(target=redeem, args=("good" if i % 2 else "bad",)) for i in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(outcomes) == ["rated"] + ["used"] * 5
        assert [e.type for e in tracker.history(key)].count(EventType.CSAT_RATED) == 1
        assert tracker.get(key).created == START
