"""Survey settings: checked when built, kept as data without the secret."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from ticketkit import Automation, Notifications, ValidationError
from ticketkit.surveys import Survey

from .support import SECRET, URL, survey

NEW = "Zq3-new-survey-secret-0123456789"
OLD = "old-survey-secret-still-valid-42"


class TestSurvey:
    def test_defaults(self) -> None:
        s = survey()
        assert (s.scale, s.delay, s.valid_for, s.channel) == (
            "good_bad",
            timedelta(0),
            timedelta(days=14),
            None,
        )
        assert s.secret == (SECRET.encode(),)
        assert s.link("abc.def", "HD-1") == "https://help.example/survey?token=abc.def"

    def test_the_secret_stays_out_of_the_repr(self) -> None:
        assert SECRET not in repr(survey())
        assert SECRET not in repr(Automation(notifications=Notifications(), survey=survey()))

    @pytest.mark.parametrize(
        ("settings", "field"),
        [
            ({"secret": "short"}, "secret"),
            ({"secret": None}, "secret"),
            ({"secret": 42}, "secret"),
            ({"secret": []}, "secret"),
            ({"scale": "1-10"}, "scale"),
            ({"delay": "-1h"}, "delay"),
            ({"delay": "soon"}, "delay"),
            ({"valid_for": "0s"}, "valid_for"),
            ({"valid_for": "400d"}, "valid_for"),
            ({"url_template": "https://help.example/survey"}, "url_template"),
            ({"url_template": "https://x/{token}/{user}"}, "url_template"),
            ({"url_template": "https://x/{token"}, "url_template"),
            ({"url_template": "https://x/{token}\nBcc: y"}, "url_template"),
            ({"channel": ""}, "survey channel"),
            ({"secret_env": "not a name"}, "secret_env"),
        ],
    )
    def test_bad_settings_are_refused(self, settings: dict[str, object], field: str) -> None:
        with pytest.raises(ValidationError) as refused:
            survey(**settings)
        assert refused.value.field == field

    def test_the_secret_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """secret_env names a variable holding the secret, or several (new first)."""
        monkeypatch.setenv("HD_SURVEY_SECRET", f"{NEW}\n  {OLD} ")
        s = Survey(url_template=URL, secret_env="HD_SURVEY_SECRET")
        assert s.secret == (NEW.encode(), OLD.encode())
        monkeypatch.delenv("HD_SURVEY_SECRET")
        with pytest.raises(ValidationError, match="HD_SURVEY_SECRET") as refused:
            Survey(url_template=URL, secret_env="HD_SURVEY_SECRET")
        assert refused.value.field == "secret_env"


class TestAsData:
    def test_to_data_never_holds_the_secret(self) -> None:
        s = survey(scale="1-5", delay="1h", valid_for="7d", channel="email")
        data = s.to_data()
        assert data == {
            "url_template": URL,
            "scale": "1-5",
            "delay": "1h",
            "valid_for": "7d",
            "channel": "email",
        }
        assert SECRET not in json.dumps(data)
        assert Survey.from_data(data, secret=SECRET) == s

    def test_automation_round_trip(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Automation.from_data(to_data()) is equal, the secret read again from secret_env."""
        monkeypatch.setenv("HD_SURVEY_SECRET", NEW)
        automation = Automation(
            notifications=Notifications(send=()),
            survey=Survey(url_template=URL, secret_env="HD_SURVEY_SECRET", delay="30m"),
        )
        data = json.loads(json.dumps(automation.to_data()))
        assert data["survey"] == {
            "url_template": URL,
            "scale": "good_bad",
            "delay": "30m",
            "valid_for": "14d",
            "secret_env": "HD_SURVEY_SECRET",
        }
        back = Automation.from_data(data)
        assert back == automation
        assert back.survey is not None
        assert back.survey.secret == (NEW.encode(),)

    def test_a_secret_in_data_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="secret_env") as refused:
            Survey.from_data({"url_template": URL, "secret": SECRET})
        assert refused.value.field == "survey"

    def test_without_a_secret_data_says_where_to_put_it(self) -> None:
        with pytest.raises(ValidationError, match="secret_env") as refused:
            Automation.from_data({"survey": {"url_template": URL}})
        assert refused.value.field == "secret"

    def test_automation_refuses_what_is_not_a_survey(self) -> None:
        with pytest.raises(ValidationError, match="Survey") as refused:
            Automation(survey={"url_template": URL})
        assert refused.value.field == "survey"


def test_import_ticketkit_leaves_surveys_alone() -> None:
    """import ticketkit, and an Automation without a survey, do not load ticketkit.surveys."""
    code = (
        "import sys, ticketkit\n"
        "ticketkit.Automation(notifications=ticketkit.Notifications())\n"
        "print('ticketkit.surveys' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


def test_the_worker_reads_a_survey_from_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    """An [automation.survey] table with secret_env configures the worker's tracker."""
    import tomllib

    from ticketkit.worker import tracker_from_config

    monkeypatch.setenv("HD_SURVEY_SECRET", NEW)
    config = tomllib.loads(
        """
url = "memory://"
[automation.notifications]
send = []
[automation.survey]
url_template = "https://help.example.com/s/{key}?token={token}"
scale = "1-5"
delay = "2h"
secret_env = "HD_SURVEY_SECRET"
"""
    )
    with tracker_from_config(config) as tracker:
        assert tracker.automation is not None
        configured = tracker.automation.survey
        assert configured is not None
        assert (configured.scale, configured.delay, configured.secret) == (
            "1-5",
            timedelta(hours=2),
            (NEW.encode(),),
        )
        assert configured.link("t.s", "HD-9") == "https://help.example.com/s/HD-9?token=t.s"
