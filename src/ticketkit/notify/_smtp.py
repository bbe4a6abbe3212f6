"""Deliver notifications as e-mail through an SMTP server (stdlib smtplib)."""

from __future__ import annotations

import re
import smtplib
import ssl as _ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from attrs import field, frozen

from .._errors import ValidationError
from ._notification import Notification, NotificationError, check_line

__all__ = ["SMTPNotifier", "is_address", "parse_sender"]

# A plain addr-spec: dot-atom local part @ host name. Nothing that could separate
# addresses (',' ';'), open a display name or comment ('"' '(' '<'), or start a
# new line can be in it.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"({_LOCAL})@({_LABEL}(?:\.{_LABEL})*)")
_NAMED = re.compile(r"(?P<name>[^<>]*?)\s*<(?P<address>[^<>]*)>")


def is_address(value: object) -> bool:
    """Whether ``value`` is exactly one plain e-mail address (``local@host``, ASCII).

    Display names, comments, quoted local parts, several addresses and
    anything with white space or control characters are refused: such a value
    is never sent to.
    """
    if not isinstance(value, str) or len(value) > 254:
        return False
    found = _ADDRESS.fullmatch(value)
    return found is not None and len(found.group(1)) <= 64


def parse_sender(value: object) -> Address:
    """``value`` as an Address: ``help@example.com`` or ``Help Desk <help@example.com>``."""
    text = check_line(value, "sender", owner="the SMTP notifier's")
    named = _NAMED.fullmatch(text.strip())
    name, address = (named["name"].strip(), named["address"]) if named else ("", text.strip())
    if not is_address(address):
        raise ValidationError(
            f"the sender {text!r} is not an e-mail address; use 'help@example.com' or "
            "'Help Desk <help@example.com>'",
            field="sender",
        )
    if name.startswith('"') and name.endswith('"') and len(name) >= 2:
        name = name[1:-1]
    local, domain = address.split("@")
    return Address(display_name=name, username=local, domain=domain)


def _identity(recipient: str) -> str | None:
    return recipient


def _positive(what: str) -> Any:
    def check(instance: object, attribute: object, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValidationError(f"{what} must be a number > 0, got {value!r}", field=what)

    return check


def _port(instance: object, attribute: object, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationError(
            f"the SMTP port must be a whole number from 1 to 65535, got {value!r}; "
            "use 25, 465 (ssl) or 587 (starttls)",
            field="port",
        )


def _host(instance: object, attribute: object, value: Any) -> None:
    check_line(value, "host", owner="the SMTP notifier's")


def _optional_line(what: str) -> Any:
    def check(instance: object, attribute: object, value: Any) -> None:
        if value is not None:
            check_line(value, what, owner="the SMTP notifier's")

    return check


@frozen(kw_only=True)
class SMTPNotifier:
    """Sends each notification as one plain-text e-mail from ``sender``.

    ``host``/``port`` name the SMTP server; ``ssl`` connects with TLS from
    the start (port 465), ``starttls`` upgrades a plain connection (port 587);
    ``username``/``password`` log in. ``address_of`` turns a recipient (a
    person's name) into an e-mail address, or ``None`` to leave them out; by
    default a recipient is used as it is. Only plain addresses
    (``local@host``) are ever sent to: anything else (a display name, a comma,
    a line break) is left out, and when no recipient is left the send fails
    permanently.

    The message carries ``From``, ``To``, ``Subject``, ``Date``, a
    ``Message-ID`` (the notification's own ``Message-ID`` header, else
    ``<id@sender-domain>``, the same on every retry), ``Auto-Submitted:
    auto-generated`` (so auto-responders do not answer), ``X-Ticketkit-Delivery``
    and ``X-Ticketkit-Ticket``, and the notification's extra headers
    (``In-Reply-To``, ``References``...). The envelope recipients are exactly
    the checked addresses: headers never add any. With several recipients, the
    ``To`` header says ``undisclosed-recipients:;`` unless
    ``disclose_recipients`` is true, so customers do not see each other's
    addresses.
    """

    host: str = field(validator=_host)
    port: int = field(default=25, validator=_port)
    sender: Address = field(converter=parse_sender)
    starttls: bool = False
    ssl: bool = False
    username: str | None = field(default=None, validator=_optional_line("username"))
    password: str | None = field(default=None, repr=False)
    timeout: float = field(default=10.0, validator=_positive("timeout"))
    address_of: Callable[[str], str | None] = field(default=_identity)
    disclose_recipients: bool = False
    tls_context: _ssl.SSLContext | None = field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.ssl and self.starttls:
            raise ValidationError(
                "choose either ssl=True (TLS from the start, port 465) or starttls=True "
                "(upgrade, port 587), not both",
                field="ssl",
            )
        if (self.username is None) != (self.password is None):
            raise ValidationError(
                "give both username and password to log in, or neither", field="username"
            )
        if not callable(self.address_of):
            raise ValidationError(
                f"address_of must be a function from a recipient to an address or None, got "
                f"{self.address_of!r:.60}",
                field="address_of",
            )

    def addresses(self, notification: Notification) -> list[str]:
        """The checked envelope addresses of ``notification``'s recipients, in order, once each."""
        found: list[str] = []
        for recipient in notification.recipients:
            address = self.address_of(recipient)
            if is_address(address) and isinstance(address, str) and address not in found:
                found.append(address)
        return found

    def message(self, notification: Notification, addresses: Sequence[str]) -> EmailMessage:
        """The e-mail that :meth:`send` sends to ``addresses``."""
        msg = EmailMessage(policy=SMTP)
        extra = dict(notification.headers)
        message_id = next((v for k, v in extra.items() if k.lower() == "message-id"), None)
        try:
            msg["From"] = self.sender
            if len(addresses) == 1 or self.disclose_recipients:
                msg["To"] = [_address(a) for a in addresses]
            else:
                msg["To"] = "undisclosed-recipients:;"
            msg["Subject"] = " ".join(notification.subject.split())
            msg["Date"] = format_datetime(datetime.now(UTC))
            msg["Message-ID"] = message_id or f"<{notification.id}@{self.sender.domain}>"
            msg["Auto-Submitted"] = "auto-generated"
            msg["X-Ticketkit-Delivery"] = notification.id
            if notification.ticket_key is not None:
                msg["X-Ticketkit-Ticket"] = notification.ticket_key
            for name, value in extra.items():
                if name.lower() != "message-id":
                    msg[name] = value
            body = (
                notification.body if notification.body.endswith("\n") else notification.body + "\n"
            )
            if body.isascii():
                msg.set_content(body)
            else:
                msg.set_content(body, cte="quoted-printable")
        except (ValueError, TypeError, IndexError) as exc:
            raise NotificationError(
                f"cannot build the e-mail for notification {notification.id}: {exc}",
                permanent=True,
            ) from exc
        return msg

    def send(self, notification: Notification) -> None:
        """Send ``notification``; :class:`NotificationError` if the server did not take it."""
        addresses = self.addresses(notification)
        if not addresses:
            raise NotificationError(
                f"notification {notification.id} has no deliverable e-mail address among "
                f"{', '.join(repr(r) for r in notification.recipients) or 'no recipients'}; "
                "give plain addresses such as 'bob@example.com' or an address_of that finds them",
                permanent=True,
            )
        msg = self.message(notification, addresses)
        where = f"{self.host}:{self.port}"
        context = self.tls_context or _ssl.create_default_context()
        try:
            client: smtplib.SMTP
            if self.ssl:
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.starttls:
                    client.starttls(context=context)
                if self.username is not None and self.password is not None:
                    client.login(self.username, self.password)
                client.send_message(msg, from_addr=self.sender.addr_spec, to_addrs=addresses)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise NotificationError(
                f"the SMTP server {where} refused every recipient of notification "
                f"{notification.id}: {exc.recipients}",
                permanent=all(code >= 500 for code in codes),
            ) from exc
        except smtplib.SMTPDataError as exc:
            raise NotificationError(
                f"the SMTP server {where} refused notification {notification.id}: "
                f"{exc.smtp_code} {exc.smtp_error!r}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise NotificationError(
                f"could not send notification {notification.id} through {where}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc


def _address(addr_spec: str) -> Address:
    local, domain = addr_spec.split("@")
    return Address(username=local, domain=domain)
