"""A notification (one message to deliver), the Notifier protocol and NotificationError.

A :class:`Notification` is plain data: it is written to the outbox as JSON in
the transaction of the change that caused it, and handed to a
:class:`Notifier` later by :func:`ticketkit.notify.deliver_outbox`. Its ``id``
is the delivery id: it stays the same across retries, so a receiver can drop
duplicates (the SMTP notifier derives the ``Message-ID`` from it, the webhook
notifier sends it as ``X-Ticketkit-Delivery``).

Nothing in a notification can add a header or a recipient: every single-line
value (subject, recipients, header names and values, the ids) is refused when
it holds a line break or another control character.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from attrs import field, frozen

from .._automation_records import OutboxItem, json_object
from .._clock import ensure_utc
from .._errors import TicketkitError, ValidationError
from .._events import JSONValue
from .._text import _LINE_CONTROL, MAX_NAME, check_body

__all__ = [
    "FORBIDDEN_HEADERS",
    "MAX_RECIPIENTS",
    "MAX_SUBJECT",
    "Notification",
    "NotificationError",
    "Notifier",
    "check_line",
]

#: The longest subject a notification may carry.
MAX_SUBJECT = 500
#: The most recipients one notification may name.
MAX_RECIPIENTS = 100
#: The longest value of an extra header (RFC 5322 allows 998 characters a line).
_MAX_HEADER = 900

#: Header names a notification may not set: they choose the sender or the
#: recipients or the message's structure, or are set by the notifier.
FORBIDDEN_HEADERS = frozenset(
    {
        "bcc",
        "cc",
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "mime-version",
        "return-path",
        "sender",
        "subject",
        "to",
        "auto-submitted",
    }
)
#: Prefixes of header names a notification may not set (resent recipients, MIME
#: structure, the headers the notifiers add themselves).
_FORBIDDEN_PREFIXES = ("resent-", "content-", "x-ticketkit-")

_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# RFC 5322 field name: printable US-ASCII except the colon (and no space).
_HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")
_KEYS = ("id", "channel", "template", "recipients", "subject", "body")
_OPTIONAL = ("ticket_key", "headers", "data")


class NotificationError(TicketkitError):
    """A notifier could not deliver a notification.

    ``permanent`` is true when trying again cannot help (no valid recipient, the
    receiver refused the content); :func:`~ticketkit.notify.deliver_outbox` then
    gives up at once instead of retrying.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def check_line(
    value: object,
    what: str,
    *,
    limit: int = MAX_NAME,
    empty: bool = False,
    owner: str = "a notification's",
) -> str:
    """``value`` as one line of text: a string without control characters, at most ``limit`` long.

    Line breaks in particular are refused, so the value can never start a new
    header or name a further recipient.
    """
    if not isinstance(value, str):
        raise ValidationError(
            f"{owner} {what} must be a string, got {type(value).__name__}", field=what
        )
    if not empty and not value.strip():
        raise ValidationError(f"{owner} {what} must not be empty or only white space", field=what)
    if len(value) > limit:
        raise ValidationError(
            f"{owner} {what} is {len(value)} characters long; the limit is {limit}",
            field=what,
        )
    bad = _LINE_CONTROL.search(value)
    if bad:
        raise ValidationError(
            f"{owner} {what} {value[:60]!r} contains the control character "
            f"U+{ord(bad.group()):04X}; use single-line text (line breaks would start new "
            "headers)",
            field=what,
        )
    return value


def _check_id(instance: object, attribute: object, value: Any) -> None:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValidationError(
            f"a notification's id must be 1 to 128 letters, digits or '.', '_', ':', '-', "
            f"got {value!r:.60}; leave it out to get a fresh uuid4 hex",
            field="id",
        )


def _name(what: str) -> Any:
    def check(instance: object, attribute: object, value: Any) -> None:
        text = check_line(value, what)
        if text != text.strip():
            raise ValidationError(
                f"a notification's {what} {text!r} has spaces around it; strip them", field=what
            )

    return check


def _recipients(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError(
            f"a notification's recipients must be a list of names or addresses, got "
            f"{value!r:.60}; write ['bob@example.com'] for one",
            field="recipients",
        )
    if len(value) > MAX_RECIPIENTS:
        raise ValidationError(
            f"a notification names {len(value)} recipients; the limit is {MAX_RECIPIENTS} "
            "(send several notifications)",
            field="recipients",
        )
    found: list[str] = []
    for item in value:
        text = check_line(item, "recipients").strip()
        if text not in found:
            found.append(text)
    return tuple(found)


def _subject(instance: object, attribute: object, value: Any) -> None:
    check_line(value, "subject", limit=MAX_SUBJECT, empty=True)


def _body(instance: object, attribute: object, value: Any) -> None:
    check_body(value, "body")


def _ticket_key(instance: object, attribute: object, value: Any) -> None:
    if value is not None:
        check_line(value, "ticket_key")


def _headers(value: object) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"a notification's headers must be a mapping of header names to values, got "
            f"{value!r:.60}",
            field="headers",
        )
    found: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValidationError(
                f"{name!r:.60} is not a header name; use printable ASCII without spaces or "
                "colons, such as 'In-Reply-To'",
                field="headers",
            )
        if name.lower() in FORBIDDEN_HEADERS or name.lower().startswith(_FORBIDDEN_PREFIXES):
            raise ValidationError(
                f"a notification may not set the header {name!r}: the notifier sets the "
                f"sender, recipients and structure; allowed are others such as Message-ID, "
                "In-Reply-To, References, Reply-To",
                field="headers",
            )
        if any(n.lower() == name.lower() for n in found):
            raise ValidationError(
                f"the header {name!r} is given twice (header names ignore case)", field="headers"
            )
        found[name] = check_line(text, f"header {name}", limit=_MAX_HEADER)
    return found


def _data(value: object) -> Mapping[str, JSONValue]:
    return json_object(value, "a notification's data", field="data")


def _new_id() -> str:
    return uuid.uuid4().hex


@frozen(kw_only=True)
class Notification:
    """One message for the notifier named ``channel``, rendered and ready to send.

    ``id`` is the delivery (idempotency) id, a fresh uuid4 hex unless given.
    ``template`` names the template it was rendered from (for filtering and
    for receivers). ``recipients`` are addresses or person names that the
    notifier resolves (duplicates dropped, order kept). ``subject`` is one line;
    ``body`` is text. ``headers`` are extra headers such as ``Message-ID``,
    ``In-Reply-To`` and ``References`` (sender, recipients and structure
    headers are refused). ``data`` is extra JSON data for webhooks and
    callbacks. Every field is checked on construction, so a notification that
    exists can be sent.
    """

    id: str = field(factory=_new_id, validator=_check_id)
    channel: str = field(validator=_name("channel"))
    template: str = field(validator=_name("template"))
    recipients: tuple[str, ...] = field(converter=_recipients)
    subject: str = field(validator=_subject)
    body: str = field(validator=_body)
    ticket_key: str | None = field(default=None, validator=_ticket_key)
    headers: Mapping[str, str] = field(factory=dict, converter=_headers)
    data: Mapping[str, JSONValue] = field(factory=dict, converter=_data)

    def to_data(self) -> dict[str, JSONValue]:
        """The notification as plain JSON data; :meth:`from_data` gives it back."""
        return {
            "id": self.id,
            "channel": self.channel,
            "template": self.template,
            "recipients": list(self.recipients),
            "subject": self.subject,
            "body": self.body,
            "ticket_key": self.ticket_key,
            "headers": dict(self.headers),
            "data": dict(self.data),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Notification:
        """Build a notification from :meth:`to_data`'s form; unknown or missing keys are refused."""
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"notification data must be a mapping, got {type(data).__name__}",
                field="notification",
            )
        unknown = sorted(str(k) for k in data if k not in _KEYS and k not in _OPTIONAL)
        if unknown:
            raise ValidationError(
                f"unknown notification keys {', '.join(unknown)}; use "
                f"{', '.join(_KEYS + _OPTIONAL)}",
                field="notification",
            )
        missing = [k for k in _KEYS if k not in data]
        if missing:
            raise ValidationError(
                f"notification data lacks {', '.join(missing)}", field="notification"
            )
        return cls(
            id=data["id"],
            channel=data["channel"],
            template=data["template"],
            recipients=data["recipients"],
            subject=data["subject"],
            body=data["body"],
            ticket_key=data.get("ticket_key"),
            headers=data.get("headers") or {},
            data=data.get("data") or {},
        )

    def outbox_item(
        self, now: datetime, *, ticket_id: int | None = None, tenant: str = "default"
    ) -> OutboxItem:
        """A new outbox item (``id=0``) that delivers this notification from ``now`` on.

        Pass it to ``Transaction.add_outbox`` in the transaction of the change
        that caused the notification, so a rollback sends nothing.
        """
        at = ensure_utc(now, "now")
        return OutboxItem(
            id=0,
            channel=self.channel,
            payload=self.to_data(),
            created=at,
            next_attempt_at=at,
            ticket_id=ticket_id,
            tenant=tenant,
        )


@runtime_checkable
class Notifier(Protocol):
    """Something that delivers notifications: e-mail, a webhook, a callback, a chat bot.

    ``send`` returns once the notification was handed over and raises on
    failure (preferably :class:`NotificationError`, with ``permanent=True``
    when retrying cannot help). It may be called again with the same
    notification after a failure or a crash, so receivers should drop
    duplicates by ``notification.id``.
    """

    def send(self, notification: Notification) -> None:
        """Deliver ``notification`` or raise."""
        ...
