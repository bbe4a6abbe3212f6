"""Tickets from web forms and JSON bodies: validation, a honeypot and a rate limit.

A :class:`FormIntake` checks a submitted payload against the tracker's fields
and custom fields and either opens a ticket or returns every problem at once,
as :class:`FieldError` values a form shows next to its inputs.

Payload keys: ``title`` and ``email`` (the reporter's address) are required;
``description``, ``priority``, ``impact``, ``urgency``, ``queue``, ``tags`` and
``fields.<name>`` (a custom field; a JSON body may nest them as
``{"fields": {"<name>": ...}}``) are optional. A web form's values are strings or
lists of strings (as ``urllib.parse.parse_qs`` gives them) and are converted to
the field's type; a JSON body's typed values (numbers, booleans, lists) are taken
as they are. An empty string, an empty list and ``null`` all mean "not given".

Error codes: ``required``, ``invalid``, ``too_long``, ``multiple`` (one value
expected, several given), ``conflict`` (a priority and an impact/urgency),
``unknown`` (the form has no such field), ``rate_limited`` and ``forbidden``
(the session's policy refused the ticket or one of its fields).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
from attrs import frozen

from .._clock import Clock, ensure_utc
from .._errors import PermissionDenied, ValidationError
from .._fields import FieldDef, FieldType
from .._model import Ticket, check_tag
from .._priority import Impact, Priority, Urgency
from .._text import MAX_BODY, MAX_TITLE, check_body, check_name, check_title
from ._rate_limit import SlidingWindow

if TYPE_CHECKING:
    from .._tracker import Tracker
    from ..access import Session

__all__ = ["FieldError", "FormIntake", "FormResult"]

#: Keys every form has, and the optional standard keys (in the order errors are listed).
REQUIRED_KEYS = ("title", "email")
OPTIONAL_KEYS = ("description", "priority", "impact", "urgency", "queue", "tags")
#: More keys than this, or more values than this in one list, is not a form.
MAX_KEYS = 100
MAX_KEY = 100
MAX_VALUES = 100
MAX_LOCAL_PART = 64
MAX_ADDRESS = 254
MAX_MESSAGE = 300
_SCALARS = (str, int, float, Decimal, date)

_RATE_MESSAGE = "too many submissions from here; please try again later"
_HONEYPOT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}\Z")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@((?:{_LABEL}\.)+{_TLD})\Z")
_INT = re.compile(r"[+-]?[0-9]{1,18}\Z")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})
_TAG_SPLIT = re.compile(r"[\s,]+")


def _short(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


@frozen
class FieldError:
    """One problem with a submission: the payload key (``None`` for the whole form)."""

    field: str | None
    message: str = attrs.field(converter=_short)
    code: str

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "code": self.code}


@frozen
class FormResult:
    """Either ``accepted`` with the new ``ticket``, or refused with ``errors``.

    ``spam`` is true when the honeypot was filled. It is for the host's logs only:
    :meth:`to_json`, the answer meant for the client, leaves it out, so a bot sees
    exactly what a rate-limited client sees.
    """

    ticket: Ticket | None = None
    errors: tuple[FieldError, ...] = ()
    spam: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if (self.ticket is None) == (not self.errors):
            raise ValidationError("a form result has either a ticket or errors, not both")

    @property
    def accepted(self) -> bool:
        return self.ticket is not None

    def to_json(self) -> dict[str, Any]:
        """What to send back to the client: plain JSON, never the honeypot verdict."""
        if self.ticket is not None:
            return {"accepted": True, "key": self.ticket.key}
        return {"accepted": False, "errors": [e.to_json() for e in self.errors]}


class _Bad(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_BLANK: Any = object()


def _is_blank(value: object) -> bool:
    """``None``, white space, or a list of those (one level: a list in a list is a value)."""
    if isinstance(value, list | tuple):
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in value)
    return value is None or (isinstance(value, str) and not value.strip())


def _single(value: object, key: str) -> Any:
    """The one value given for ``key`` (a list of one counts), or ``_BLANK``."""
    if isinstance(value, list | tuple):
        given = [v for v in value if not _is_blank(v)]
        if len(given) > 1:
            raise _Bad("multiple", f"{key} takes one value, got {len(given)}")
        value = given[0] if given else None
    return _BLANK if _is_blank(value) else value


def _many(value: object, key: str) -> list[Any]:
    if _is_blank(value):
        return []
    items = list(value) if isinstance(value, list | tuple) else [value]
    items = [v for v in items if not _is_blank(v)]
    if len(items) > MAX_VALUES:
        raise _Bad("invalid", f"{key} takes at most {MAX_VALUES} values, got {len(items)}")
    return items


def _plain(value: object, key: str) -> object:
    """``value`` if it is a scalar or a list of scalars, as forms and JSON bodies send."""
    for item in value if isinstance(value, list | tuple) else (value,):
        if item is not None and not isinstance(item, _SCALARS):
            raise _Bad(
                "invalid",
                f"{key} must be text, a number, true or false, or a list of those; "
                f"got {type(item).__name__}",
            )
    return value


def _lines(text: str) -> str:
    # Browsers send a textarea's line breaks as CR LF.
    return text.replace("\r\n", "\n")


def _check_address(value: object, key: str = "email") -> str:
    """A single plain e-mail address (domain lower-cased), or ``_Bad``."""
    hint = "give one plain address such as ana@example.com (no name, no angle brackets)"
    if not isinstance(value, str):
        raise _Bad("invalid", f"{key} must be text; {hint}")
    text = value.strip()
    if len(text) > MAX_ADDRESS:
        raise _Bad("too_long", f"{key} is {len(text)} characters long; the limit is {MAX_ADDRESS}")
    match = _ADDRESS.match(text)
    if match is None or len(match.group(1)) > MAX_LOCAL_PART:
        raise _Bad("invalid", f"{key} {text[:80]!r} is not an e-mail address; {hint}")
    return f"{match.group(1)}@{match.group(2).lower()}"


def _from_form(fd: FieldDef, value: str) -> object:
    """A form string converted to what ``fd`` holds; ``fd.validate`` checks the rest."""
    text = value.strip()
    if fd.type is FieldType.TEXT:
        value = _lines(value)
        if fd.max_length is not None and len(value) > fd.max_length:
            raise _Bad("too_long", f"{fd.name} is limited to {fd.max_length} characters")
        return value
    if fd.type is FieldType.INT:
        if not _INT.match(text):
            raise _Bad("invalid", f"{fd.name} expects a whole number such as 3, got {text[:40]!r}")
        return int(text)
    if fd.type is FieldType.DECIMAL:
        if not _DECIMAL.match(text):
            raise _Bad("invalid", f"{fd.name} expects a number such as 2.5, got {text[:40]!r}")
        return Decimal(text)
    if fd.type is FieldType.BOOL:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise _Bad("invalid", f"{fd.name} expects true or false, got {text[:40]!r}")
    if fd.type is FieldType.DATE:
        try:
            if _DATE.match(text):
                return date.fromisoformat(text)
        except ValueError:
            pass
        raise _Bad("invalid", f"{fd.name} expects a date such as 2026-01-05, got {text[:40]!r}")
    return text  # choice, user (multi-choice items come here one at a time)


def _custom(fd: FieldDef, raw: object, key: str) -> object:
    """The checked value of custom field ``fd``, or ``_BLANK``."""
    if fd.type is FieldType.MULTI_CHOICE:
        items = [_from_form(fd, v) if isinstance(v, str) else v for v in _many(raw, key)]
        if not items:
            return _BLANK
        value: object = items
    else:
        value = _single(raw, key)
        if value is _BLANK:
            return _BLANK
        if isinstance(value, str):
            value = _from_form(fd, value)
    try:
        return fd.validate(value)
    except ValidationError as exc:
        raise _Bad("invalid", str(exc)) from None


def _standard(tracker: Tracker, key: str, raw: object) -> object:
    """The checked value of a standard key, or ``_BLANK``."""
    if key == "tags":
        tags: list[str] = []
        for item in _many(raw, key):
            parts = _TAG_SPLIT.split(item.strip()) if isinstance(item, str) else [item]
            tags.extend(p for p in parts if p)
        return frozenset(check_tag(t) for t in tags) if tags else _BLANK
    value = _single(raw, key)
    if value is _BLANK:
        return _BLANK
    if key == "email":
        return _check_address(value)
    if key == "title":
        if isinstance(value, str) and len(value.strip()) > MAX_TITLE:
            raise _Bad("too_long", f"the title is limited to {MAX_TITLE} characters")
        return check_title(value)
    if key == "description":
        if isinstance(value, str) and len(value) > MAX_BODY:
            raise _Bad("too_long", f"the description is limited to {MAX_BODY} characters")
        return check_body(_lines(value) if isinstance(value, str) else value)
    if key == "priority":
        if isinstance(value, str) and _INT.match(value.strip()):
            value = int(value)
        return Priority.parse(value)
    if key == "impact":
        return Impact.parse(value)
    if key == "urgency":
        return Urgency.parse(value)
    return tracker.config.check_queue(value)


def _flatten(payload: Mapping[Any, object]) -> tuple[dict[str, object], list[FieldError]]:
    """Payload keys to values, with ``{"fields": {name: value}}`` as ``fields.<name>``."""
    flat: dict[str, object] = {}
    errors: list[FieldError] = []
    pairs: list[tuple[object, object]] = []
    for key, value in payload.items():
        if key == "fields" and isinstance(value, Mapping):
            pairs.extend((f"fields.{name}", inner) for name, inner in value.items())
        else:
            pairs.append((key, value))
    for key, value in pairs:
        if not isinstance(key, str) or len(key) > MAX_KEY:
            message = f"field names must be text of at most {MAX_KEY} characters"
            errors.append(FieldError(None, f"{message}, got {str(key)[:40]!r}", "invalid"))
        elif key in flat:
            errors.append(FieldError(key, f"{key} is given twice", "multiple"))
        else:
            flat[key] = value
    return flat, errors


class FormIntake:
    """Opens tickets from submitted forms, refusing spam and floods.

    ``honeypot`` names a field the form hides from people (``None`` for none): a
    submission that fills it opens nothing and gets the same answer as a
    rate-limited client. ``rate_limit`` is ``(count, window)``: a client (an IP
    address or session, as the host names it) opens at most ``count`` tickets in
    any ``window``; ``None`` for no limit. Refused submissions do not count,
    honeypot hits do. ``fields`` names the optional keys the form accepts; by
    default every standard key and every custom field that is not ``internal``.
    ``clock`` (the tracker's by default) times the rate limit. Tickets of
    anonymous submissions go to ``tenant``; a submission with a ``session``
    opens the ticket through it (see :meth:`submit`).
    """

    def __init__(
        self,
        tracker: Tracker,
        *,
        honeypot: str | None = "website",
        rate_limit: tuple[int, timedelta] | None = (5, timedelta(minutes=10)),
        fields: Iterable[str] | None = None,
        clock: Clock | None = None,
        tenant: str = "default",
    ) -> None:
        self.tracker = tracker
        self.clock: Clock = clock or tracker.clock
        self.tenant = check_name(tenant, "tenant")
        if honeypot is not None and (
            not isinstance(honeypot, str)
            or not _HONEYPOT_NAME.match(honeypot)
            or honeypot in REQUIRED_KEYS + OPTIONAL_KEYS + ("fields",)
            or honeypot.startswith("fields.")
        ):
            raise ValidationError(
                f"honeypot {honeypot!r} is not a usable field name; use a name no other field "
                "has, such as 'website'",
                field="honeypot",
            )
        self.honeypot = honeypot
        self._limiter: SlidingWindow | None = None
        if rate_limit is not None:
            count, window = rate_limit if isinstance(rate_limit, tuple) else (None, None)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValidationError(
                    f"rate_limit must be (count, timedelta) with a count of 1 or more, "
                    f"got {rate_limit!r}",
                    field="rate_limit",
                )
            if not isinstance(window, timedelta) or window <= timedelta(0):
                raise ValidationError(
                    f"rate_limit must be (count, timedelta) with a positive window, "
                    f"got {rate_limit!r}",
                    field="rate_limit",
                )
            self._limiter = SlidingWindow(count, window)
        self._fields: frozenset[str] | None = None
        if fields is not None:
            self._fields = self._check_fields(fields)
        for fd in tracker.config.fields.values():
            if fd.required and not self._accepts(fd.path, tracker.config.fields):
                raise ValidationError(
                    f"custom field {fd.name!r} is required, so the form must accept "
                    f"{fd.path!r}; name it in fields=",
                    field="fields",
                )

    def _check_fields(self, fields: Iterable[str]) -> frozenset[str]:
        if isinstance(fields, str) or not isinstance(fields, Iterable):
            raise ValidationError(f"fields must be a list of keys, got {fields!r}", field="fields")
        keys = frozenset(fields)
        defs = self.tracker.config.fields
        for key in keys:
            name = key[7:] if isinstance(key, str) and key.startswith("fields.") else None
            if key not in REQUIRED_KEYS + OPTIONAL_KEYS and name not in defs:
                known = [*OPTIONAL_KEYS, *(fd.path for fd in defs.values())]
                raise ValidationError(
                    f"a form cannot accept {key!r}; use some of {', '.join(known)}",
                    field="fields",
                )
        return keys

    def _accepts(self, key: str, defs: Mapping[str, FieldDef]) -> bool:
        if key in REQUIRED_KEYS:
            return True
        if self._fields is not None:
            return key in self._fields
        if key in OPTIONAL_KEYS:
            return True
        fd = defs.get(key[7:]) if key.startswith("fields.") else None
        return fd is not None and not fd.internal

    def submit(
        self, payload: Mapping[str, object], *, client: str, session: Session | None = None
    ) -> FormResult:
        """Open a ticket from ``payload``, or say what is wrong; refusals change nothing.

        Without ``session`` the ticket is opened as the address in ``email``, in
        the form's ``tenant`` (trusted code: a visitor's form). With the
        ``session`` of a logged-in person, it is opened as its principal, in
        their tenant and organisation, once the session's policy allows them to
        ``create`` a ticket in the queue; the fields they fill in are those the
        form accepts, as for a visitor. ``email`` may then be left out; given,
        it must be the principal's own. A refusal by the policy is a
        ``forbidden`` error (and is logged as the session logs refusals).
        """
        client = check_name(client, "client")
        if session is not None and session.tracker is not self.tracker:
            raise ValidationError(
                "the session is of another tracker than the form's", field="session"
            )
        now = ensure_utc(self.clock.now(), "clock.now()")
        if self._limiter is not None and not self._limiter.reserve(client, now):
            return FormResult(errors=(FieldError(None, _RATE_MESSAGE, "rate_limited"),))
        try:
            result = self._submit(payload, session)
        except BaseException:
            if self._limiter is not None:
                self._limiter.release(client, now)
            raise
        if self._limiter is not None and not (result.accepted or result.spam):
            self._limiter.release(client, now)
        return result

    def _submit(self, payload: object, session: Session | None = None) -> FormResult:
        if not isinstance(payload, Mapping):
            kind = type(payload).__name__
            message = f"the form data must be a mapping of field names to values, not a {kind}"
            return FormResult(errors=(FieldError(None, message, "invalid"),))
        if len(payload) > MAX_KEYS:
            message = f"the form has {len(payload)} fields; at most {MAX_KEYS} are accepted"
            return FormResult(errors=(FieldError(None, message, "invalid"),))
        flat, errors = _flatten(payload)
        if self.honeypot is not None and not _is_blank(flat.pop(self.honeypot, None)):
            return FormResult(errors=(FieldError(None, _RATE_MESSAGE, "rate_limited"),), spam=True)
        defs = self.tracker.config.fields
        values: dict[str, object] = {}
        for key in (*REQUIRED_KEYS, *OPTIONAL_KEYS, *(fd.path for fd in defs.values())):
            if key not in flat or not self._accepts(key, defs):
                continue
            try:
                fd = defs.get(key[7:]) if key.startswith("fields.") else None
                raw = _plain(flat[key], key)
                value = _custom(fd, raw, key) if fd else _standard(self.tracker, key, raw)
            except _Bad as exc:
                errors.append(FieldError(key, exc.message, exc.code))
            except ValidationError as exc:
                errors.append(FieldError(key, str(exc), "invalid"))
            else:
                if value is not _BLANK:
                    values[key] = value
        flagged = {e.field for e in errors}
        required = {key: key for key in REQUIRED_KEYS if key != "email" or session is None}
        own = session.principal.id if session is not None else ""
        if session is not None and str(values.get("email", own)).lower() != own.lower():
            message = "the address must be your own; leave it out to use it"
            errors.append(FieldError("email", message, "invalid"))
        required.update((fd.path, fd.label or fd.name) for fd in defs.values() if fd.required)
        for key, label in required.items():
            if key not in values and key not in flagged:
                errors.append(FieldError(key, f"{label} is required", "required"))
        if "priority" in values and ("impact" in values or "urgency" in values):
            message = "give either a priority or an impact and urgency, not both"
            errors.append(FieldError("priority", message, "conflict"))
        for key in flat:
            if not self._accepts(key, defs) or (key.startswith("fields.") and key[7:] not in defs):
                errors.append(FieldError(key, f"this form has no field {key[:80]!r}", "unknown"))
        if errors:
            order = (*REQUIRED_KEYS, *OPTIONAL_KEYS, *(fd.path for fd in defs.values()))
            rank = {key: i for i, key in enumerate(order)}
            errors.sort(key=lambda e: -1 if e.field is None else rank.get(e.field, len(rank)))
            return FormResult(errors=tuple(errors))
        if session is not None:
            return self._open_in(session, values)
        return self._open(values)

    def _open_in(self, session: Session, values: dict[str, object]) -> FormResult:
        principal = session.principal
        queue = values.get("queue") or self.tracker.config.default_queue
        try:
            # The policy decides whether this person may open a ticket in the queue
            # (a refusal is logged as the session logs any); which fields they fill
            # in is the form's to say, as for a visitor (see ``fields``).
            session._require("create", None, str(queue))
        except PermissionDenied as exc:
            return FormResult(errors=(FieldError(None, str(exc), "forbidden"),))
        values = {**values, "email": principal.id}
        return self._open(values, tenant=principal.tenant, organisation=principal.organisation)

    def _open(
        self,
        values: dict[str, object],
        *,
        tenant: str | None = None,
        organisation: str | None = None,
    ) -> FormResult:
        email = values.pop("email")
        kwargs: dict[str, Any] = {
            "actor": email,
            "reporter": email,
            "tenant": self.tenant if tenant is None else tenant,
            "organisation": organisation,
        }
        custom = {k[7:]: v for k, v in values.items() if k.startswith("fields.")}
        if custom:
            kwargs["fields"] = custom
        for key in OPTIONAL_KEYS:
            if key in values:
                kwargs[key] = values[key]
        try:
            ticket = self.tracker.open(str(values["title"]), **kwargs)
        except ValidationError as exc:
            where = "email" if exc.field in ("actor", "reporter") else exc.field
            return FormResult(errors=(FieldError(where, str(exc), "invalid"),))
        return FormResult(ticket)
