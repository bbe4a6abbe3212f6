"""Reading the header fields of an incoming message strictly and on one line."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.headerregistry import AddressHeader, UnstructuredHeader
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, cast

import attrs

from ._errors import MailRefused

__all__ = [
    "Defects",
    "HeaderTooLong",
    "Sender",
    "auto_reason",
    "bounded_policy",
    "header_text",
    "message_ids",
    "no_surrogates",
    "one_line",
    "parse_date",
    "parse_sender",
    "raw_values",
    "recipients",
]

_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_MSG_IDS = re.compile(r"<([^<>\s]{1,250})>")
_ATOM = r"[^\s@<>()\[\],;:\"\\\x00-\x1f\x7f.]+"
ADDRESS = re.compile(
    rf"^[^\s@<>()\[\],;:\"\\\x00-\x1f\x7f]{{1,64}}@(?=.{{1,253}}$){_ATOM}(\.{_ATOM})*$"
)
_AUTO_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_MAX_DEFECTS = 50


# The email package's structured header parser takes quadratic time on some
# values (thousands of quotes or backslashes: a 60 KiB Content-Type takes over a
# minute on CPython 3.11). Structured headers are therefore capped one by one,
# and all structured header text parsed for one message is capped in total.
MAX_STRUCTURED_CHARS = 1024
STRUCTURED_BUDGET_CHARS = 128 * 1024


class HeaderTooLong(MailRefused):
    """A structured header (addresses, Content-Type, ...) is too long to parse safely."""


class _BoundedPolicy(EmailPolicy):
    budget: list[int] | None = None  # characters of structured headers still to parse

    def header_fetch_parse(self, name: str, value: str) -> Any:
        registry: Any = self.header_factory
        if not hasattr(value, "name") and not issubclass(registry[name], UnstructuredHeader):
            size = len(value)
            if size > MAX_STRUCTURED_CHARS:
                raise HeaderTooLong(
                    f"the {one_line(name)[:60]} header is {size} characters long, over the"
                    f" {MAX_STRUCTURED_CHARS} that can be parsed safely; refuse the message",
                    reason="header_too_long",
                )
            if self.budget is not None:
                self.budget[0] -= size
                if self.budget[0] < 0:
                    raise HeaderTooLong(
                        f"the message's structured headers add up to more than"
                        f" {STRUCTURED_BUDGET_CHARS} characters; refuse the message",
                        reason="header_too_long",
                    )
        return super().header_fetch_parse(name, value)


def bounded_policy() -> EmailPolicy[EmailMessage]:
    """``policy.default`` with a fresh budget for parsing one message's headers."""
    made: EmailPolicy[EmailMessage] = cast(Any, _BoundedPolicy)(budget=[STRUCTURED_BUDGET_CHARS])
    return made


@attrs.frozen
class Sender:
    """Who sent a message: the address (domain lower-cased) and display name."""

    address: str
    name: str = ""


def no_surrogates(text: str) -> str:
    """Undo surrogateescape (raw 8-bit bytes in headers) as UTF-8 with replacement."""
    if not _SURROGATES.search(text):
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return _SURROGATES.sub("\ufffd", text)


def one_line(text: str) -> str:
    """``text`` on one line: control characters become spaces, runs of space one."""
    return " ".join(_LINE_BREAKS.sub(" ", no_surrogates(text)).split())


class Defects:
    """What was wrong with a message but could be repaired, one line each, capped."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        if len(self.items) < _MAX_DEFECTS:
            self.items.append(one_line(text)[:200])

    def note(self, defects: object) -> None:
        """Record the ``email`` package's defect objects."""
        for item in defects if isinstance(defects, list | tuple) else ():
            detail = str(item)
            self.add(f"{type(item).__name__}: {detail}" if detail else type(item).__name__)


def raw_values(msg: Message, name: str) -> list[str]:
    """The undecoded values of every ``name`` header."""
    lowered = name.lower()
    return [str(v) for k, v in msg.raw_items() if k.lower() == lowered]


def header_text(msg: Message, name: str, defects: Defects) -> str | None:
    """The decoded value of the first ``name`` header, on one line."""
    try:
        value = msg.get(name)
    except Exception as exc:
        defects.add(f"{name} header could not be decoded ({type(exc).__name__})")
        raws = raw_values(msg, name)
        return one_line(raws[0]) if raws else None
    if value is None:
        return None
    defects.note(getattr(value, "defects", ()))
    return one_line(str(value))


def parse_sender(msg: Message) -> Sender:
    """The one clear sender of ``msg``, or MailRefused.

    The address must come out the same from the modern header parser and from
    the legacy ``getaddresses``, without parse defects: a From header the two
    read differently (CVE-2023-27043) is refused, not guessed at.
    """
    raws = raw_values(msg, "From")
    if not raws:
        raise MailRefused(
            "the message has no From header, so nobody could be answered; refuse it",
            reason="no_sender",
        )
    if len(raws) > 1:
        raise MailRefused(
            "the message has more than one From header; which one sent it is ambiguous"
            " (a spoofing technique), so it is refused",
            reason="ambiguous_from",
        )
    ambiguous = MailRefused(
        f"the From header {one_line(raws[0])[:200]!r} does not name exactly one clear"
        " address (CVE-2023-27043-style ambiguity), so the message is refused",
        reason="ambiguous_from",
    )
    try:
        parsed = msg["From"]
        if not isinstance(parsed, AddressHeader):
            raise ambiguous
        addresses = parsed.addresses
        parse_defects = getattr(parsed, "defects", ())
    except Exception as exc:
        raise ambiguous from exc
    if len(addresses) != 1 or any(
        type(d).__name__ in {"InvalidHeaderDefect", "ObsoleteHeaderDefect"} for d in parse_defects
    ):
        raise ambiguous
    address = addresses[0]
    spec = no_surrogates(address.addr_spec)
    legacy = [a for _, a in getaddresses([one_line(raws[0])]) if a]
    if (
        not ADDRESS.match(spec)
        or len(legacy) != 1
        or no_surrogates(legacy[0]).lower() != spec.lower()
    ):
        raise ambiguous
    local, _, domain = spec.rpartition("@")
    return Sender(f"{local}@{domain.lower()}", one_line(address.display_name))


def recipients(msg: Message, defects: Defects) -> tuple[str, ...]:
    """The valid To and Cc addresses, lower-cased, each once."""
    found: list[str] = []
    for name in ("To", "Cc"):
        try:
            values = msg.get_all(name) or []
            addresses = [
                a.addr_spec for v in values if isinstance(v, AddressHeader) for a in v.addresses
            ]
        except Exception as exc:
            defects.add(f"{name} header could not be parsed ({type(exc).__name__})")
            continue
        for spec in addresses:
            clean = no_surrogates(spec).lower()
            if ADDRESS.match(clean) and clean not in found:
                found.append(clean)
    return tuple(found)


def message_ids(msg: Message, name: str) -> list[str]:
    """The ``<...>`` message ids in every ``name`` header, in order."""
    values = raw_values(msg, name)
    return [f"<{one_line(i)}>" for v in values for i in _MSG_IDS.findall(no_surrogates(v))]


def parse_date(msg: Message, defects: Defects) -> datetime | None:
    """The Date header as an aware datetime (UTC when no zone is given), or None."""
    raws = raw_values(msg, "Date")
    if not raws:
        return None
    try:
        value = parsedate_to_datetime(one_line(raws[0]))
    except Exception:
        defects.add(f"Date header {one_line(raws[0])[:80]!r} is not a date; ignored")
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def auto_reason(msg: Message, sender: Sender) -> str | None:
    """Why ``msg`` was sent by a machine (auto-reply, bounce, bulk), or None."""

    def first(name: str) -> str:
        values = raw_values(msg, name)
        return one_line(values[0]).lower() if values else ""

    auto = first("Auto-Submitted").split(";")[0].strip()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = first("Precedence")
    if precedence in {"bulk", "junk", "list"}:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if raw_values(msg, name):
            return f"{name} header"
    local = sender.address.rpartition("@")[0]
    if local.lower() in _AUTO_SENDERS:
        return f"sent by {local}"
    if any(one_line(v) in {"<>", ""} for v in raw_values(msg, "Return-Path")):
        return "empty Return-Path (a bounce)"
    if msg.get_content_type() == "multipart/report":
        return "multipart/report (a delivery status notification)"
    return None
