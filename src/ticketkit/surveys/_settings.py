"""The settings of satisfaction surveys: :class:`Survey`, given as ``Automation(survey=...)``."""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import attrs
from attrs import field

from .._errors import ValidationError
from .._text import check_name, check_note
from ..rules._duration import format_duration, parse_duration

__all__ = ["MAX_COMMENT", "SCALES", "Survey", "check_comment", "check_rating", "is_satisfied"]

#: The rating scales: ``good_bad`` takes ``"good"`` or ``"bad"``, ``1-5`` a whole number 1 to 5.
SCALES = ("good_bad", "1-5")
#: The longest comment a customer may leave with a rating, in characters.
MAX_COMMENT = 2000
#: The shortest secret, in bytes: HMAC-SHA256 keys shorter than this are guessable.
MIN_SECRET = 16
_LONGEST = timedelta(days=365)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _secret(value: object, what: str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes):
        raise ValidationError(
            f"{what} must be text or bytes, got {type(value).__name__}", field="secret"
        )
    if len(value) < MIN_SECRET:
        raise ValidationError(
            f"{what} is {len(value)} bytes long; use at least {MIN_SECRET} random bytes, "
            "such as secrets.token_urlsafe(32)",
            field="secret",
        )
    return value


def _secrets(value: object) -> tuple[bytes, ...]:
    if value is None:
        return ()
    if isinstance(value, str | bytes):
        return (_secret(value, "the survey secret"),)
    if isinstance(value, Sequence) and value:
        return tuple(_secret(v, f"survey secret {i}") for i, v in enumerate(value))
    raise ValidationError(
        "secret must be a secret (text or bytes) or a list of them, the one that signs first "
        f"and older ones that still verify after it; got {value!r:.40}",
        field="secret",
    )


def _length(value: object, what: str, *, zero: bool) -> timedelta:
    length = value if isinstance(value, timedelta) else parse_duration(value, what)
    if length < timedelta(0) or (not zero and length == timedelta(0)):
        raise ValidationError(
            f"survey {what} must be {'zero or ' if zero else ''}a positive length of time "
            f"such as '1h', got {value!r}",
            field=what,
        )
    if length > _LONGEST:
        raise ValidationError(
            f"survey {what} {value!r} is longer than a year; use a shorter one", field=what
        )
    return length


def _delay(value: object) -> timedelta:
    return _length(value, "delay", zero=True)


def _valid_for(value: object) -> timedelta:
    return _length(value, "valid_for", zero=False)


def _scale(value: object) -> str:
    if value not in SCALES:
        raise ValidationError(
            f"survey scale must be one of {', '.join(SCALES)}, got {value!r}", field="scale"
        )
    return str(value)


def _url_template(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or "\n" in value or "\r" in value:
        raise ValidationError(
            "url_template must be one line of text such as "
            f"'https://help.example.com/survey?token={{token}}', got {value!r:.60}",
            field="url_template",
        )
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        raise ValidationError(
            f"url_template {value!r:.60} is not a format string ({exc}); write {{{{ for a brace",
            field="url_template",
        ) from exc
    if "token" not in names or names - {"token", "key"}:
        raise ValidationError(
            f"url_template {value!r:.60} must hold {{token}} and may hold {{key}}, nothing else",
            field="url_template",
        )
    return value


def _channel(value: object) -> str | None:
    return None if value is None else check_name(value, "survey channel")


@attrs.frozen
class Survey:
    """Ask the reporter how we did, after each resolution.

    When a ticket enters a resolved-category state (and ``delay`` later, through
    :meth:`Tracker.run_due <ticketkit.Tracker.run_due>` when ``delay`` is not
    zero), the reporter gets the ``survey`` notification, whose ``$text`` is a
    link made from ``url_template`` with a one-time signed token, and ``$due``
    the instant the token expires (``valid_for`` after it was sent). The
    notification goes through the ``Notifications`` channel, or ``channel``.

    ``secret`` signs the tokens (HMAC-SHA256); a list gives the one that signs
    first and older ones that still verify, for rotating it. It is never written
    by :meth:`to_data` or shown in the repr: in data, ``secret_env`` names an
    environment variable holding it (several secrets separated by white space).
    """

    url_template: str = field(converter=_url_template)
    secret: tuple[bytes, ...] = field(default=None, converter=_secrets, repr=False, eq=False)
    scale: str = field(default="good_bad", converter=_scale)
    delay: timedelta = field(default=timedelta(0), converter=_delay)
    valid_for: timedelta = field(default=timedelta(days=14), converter=_valid_for)
    channel: str | None = field(default=None, converter=_channel)
    secret_env: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.secret_env is not None and (
            not isinstance(self.secret_env, str) or not _ENV_NAME.fullmatch(self.secret_env)
        ):
            raise ValidationError(
                f"secret_env must name an environment variable, got {self.secret_env!r:.60}",
                field="secret_env",
            )
        if not self.secret and self.secret_env is not None:
            found = os.environ.get(self.secret_env, "").split()
            if not found:
                raise ValidationError(
                    f"the environment variable {self.secret_env} named by secret_env is not "
                    "set or empty; set it to the survey secret",
                    field="secret_env",
                )
            object.__setattr__(self, "secret", _secrets(found))
        if not self.secret:
            raise ValidationError(
                "a survey needs a secret to sign its tokens: give secret=... (at least "
                f"{MIN_SECRET} random bytes) or secret_env='NAME_OF_AN_ENVIRONMENT_VARIABLE'",
                field="secret",
            )

    def link(self, token: str, key: str) -> str:
        """The survey link of a token, from :attr:`url_template`."""
        return self.url_template.format(token=token, key=key)

    def to_data(self) -> dict[str, Any]:
        """Plain data for a TOML or JSON file; never the secret (see ``secret_env``)."""
        data: dict[str, Any] = {
            "url_template": self.url_template,
            "scale": self.scale,
            "delay": format_duration(self.delay),
            "valid_for": format_duration(self.valid_for),
        }
        if self.channel is not None:
            data["channel"] = self.channel
        if self.secret_env is not None:
            data["secret_env"] = self.secret_env
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, secret: object = None) -> Survey:
        """A survey from :meth:`to_data`'s form; the secret from ``secret`` or ``secret_env``."""
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"survey must be a table (mapping), got {type(data).__name__}", field="survey"
            )
        names = {"url_template", "scale", "delay", "valid_for", "channel", "secret_env"}
        unknown = sorted(str(k) for k in set(data) - names)
        if unknown:
            hint = " (the secret is never kept in data: use secret_env)" if "secret" in data else ""
            raise ValidationError(
                f"unknown survey setting {unknown[0]!r}{hint}; the settings are "
                f"{', '.join(sorted(names))}",
                field="survey",
            )
        if "url_template" not in data:
            raise ValidationError("survey needs a url_template", field="url_template")
        return cls(secret=secret, **data)


def check_rating(value: object, scale: str) -> str | int:
    """The rating ``value`` on ``scale`` (``"4"`` from a form reads as 4), or ValidationError."""
    if scale == "good_bad":
        if isinstance(value, str) and value.strip().lower() in ("good", "bad"):
            return value.strip().lower()
        raise ValidationError(f"rating must be 'good' or 'bad', got {value!r:.40}", field="rating")
    number: object = value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 1:
        number = int(value.strip())
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 5:
        raise ValidationError(
            f"rating must be a whole number from 1 to 5, got {value!r:.40}", field="rating"
        )
    return number


def is_satisfied(rating: object) -> bool:
    """Does a rating count as satisfied: ``"good"``, or 4 or 5 on the 1-5 scale?"""
    if isinstance(rating, str):
        return rating == "good"
    return isinstance(rating, int) and rating >= 4


def check_comment(value: object) -> str | None:
    """A rating's comment stripped (``None`` when empty), or ValidationError."""
    return check_note(value, "comment", MAX_COMMENT)
