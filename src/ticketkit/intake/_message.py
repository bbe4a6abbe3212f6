"""Parsing one incoming mail message safely into an :class:`IncomingMessage`."""

from __future__ import annotations

import codecs
import email
import re
from datetime import datetime
from email import policy
from email.message import Message

import attrs

from ._attachments import IncomingAttachment, is_unsafe_inline, sanitize_filename
from ._errors import IntakeError, MailRefused
from ._headers import (
    Defects,
    Sender,
    auto_reason,
    bounded_policy,
    header_text,
    message_ids,
    no_surrogates,
    one_line,
    parse_date,
    parse_sender,
    recipients,
)
from ._html import convert_html
from ._limits import MailLimits
from ._quotes import trim_reply
from ._threading import check_domain, message_id_key

__all__ = ["IncomingMessage", "Sender", "parse_message"]

_DEFAULT_LIMITS = MailLimits()
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_BODY_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SUBJECT_KEY = re.compile(r"\[([A-Z][A-Z0-9]{0,9}-[1-9][0-9]{0,17})\]")
_BOUNDARY = re.compile(
    rb"boundary\s*=\s*(?:\"([^\"\r\n]{1,200})\"|([^\s;\"]{1,200}))", re.IGNORECASE
)
_DASH_LINE = re.compile(rb"(?:^|[\r\n])--([^\r\n]*)")
_MAX_REFERENCES = 50
_TEXT_TYPES = frozenset({"text/plain", "text/html"})


@attrs.frozen
class IncomingMessage:
    """An incoming mail, parsed and made safe to use.

    Every header-derived string is one line (no CR, LF or other control
    characters); ``text`` and ``reply_text`` use ``\\n`` line breaks only.
    ``message_id``, ``in_reply_to`` and ``references`` keep their angle
    brackets (``"<abc@example.com>"``). ``ticket_key`` comes from a
    Message-ID of ours named in ``In-Reply-To``/``References`` when
    ``our_domain`` was given, else from a ``[HD-12]`` tag in the subject;
    ``ticket_key_source`` says which (``"in_reply_to"``, ``"references"``,
    ``"subject"``). ``is_auto`` marks auto-replies, bounces and bulk mail,
    which must never be answered automatically; ``auto_reason`` says why.
    ``defects`` lists what was wrong with the message but could be repaired.
    """

    message_id: str | None
    sender: Sender
    subject: str
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    ticket_key: str | None
    ticket_key_source: str | None
    recipients: tuple[str, ...]
    text: str
    reply_text: str
    attachments: tuple[IncomingAttachment, ...]
    is_auto: bool
    auto_reason: str | None
    defects: tuple[str, ...]


def _body_text(text: str) -> str:
    text = no_surrogates(text).replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROLS.sub("", text)


def _refuse(message: str, reason: str) -> MailRefused:
    return MailRefused(message, reason=reason)


def _check_raw(raw: bytes, limits: MailLimits) -> None:
    if len(raw) > limits.max_message_bytes:
        raise _refuse(
            f"the message is {len(raw)} bytes, over max_message_bytes={limits.max_message_bytes};"
            " ask the sender to send a smaller message or raise MailLimits.max_message_bytes",
            "max_message_bytes",
        )
    end = _HEADER_END.search(raw, 0, limits.max_header_bytes + 4)
    header_bytes = end.start() if end is not None else len(raw)
    if header_bytes > limits.max_header_bytes:
        raise _refuse(
            f"the message's header block is over max_header_bytes={limits.max_header_bytes};"
            " such headers are a denial-of-service attempt or broken mail: refuse it,"
            " or raise MailLimits.max_header_bytes",
            "max_header_bytes",
        )
    # Each part needs an opening delimiter line, and each multipart a closing one.
    if _delimiters(raw, 2 * limits.max_parts + 2) > 2 * limits.max_parts + 1:
        raise _refuse(
            f"the message has more than max_parts={limits.max_parts} MIME parts;"
            " refuse it or raise MailLimits.max_parts",
            "max_parts",
        )


def _delimiters(raw: bytes, most: int) -> int:
    """How many lines of ``raw`` may start a MIME part (stops counting past ``most``).

    Lets a message made of millions of tiny parts be refused before the email
    package spends a minute building them. Counts only lines naming a declared
    boundary, so text full of "-----" lines is not refused; with RFC 2231
    boundaries (``boundary*=``) every line starting with "--" counts.
    """
    if raw.count(b"\n--") + raw.count(b"\r--") + 1 <= most:
        return 0
    declared = {quoted or bare for quoted, bare in _BOUNDARY.findall(raw)}
    every = re.search(rb"boundary\*", raw, re.IGNORECASE) is not None
    found = 0
    for match in _DASH_LINE.finditer(raw):
        rest = match.group(1).rstrip(b" \t")
        if every or rest in declared or (rest.endswith(b"--") and rest[:-2] in declared):
            found += 1
            if found > most:
                break
    return found


def parse_message(
    raw: bytes,
    *,
    limits: MailLimits = _DEFAULT_LIMITS,
    our_domain: str | None = None,
) -> IncomingMessage:
    """Parse the raw bytes of one RFC 5322 message safely.

    Raises :class:`MailRefused` when the message is over a limit of
    ``limits``, has no or an ambiguous ``From``, or cannot be parsed at all.
    Broken charsets, encoded words and MIME structure are repaired where
    possible and listed in ``defects``. No other exception escapes, whatever
    the input. ``our_domain`` is the domain of our own Message-IDs (see
    :func:`outgoing_headers`); replies naming one get its ticket key.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise IntakeError(
            f"parse_message expects the raw message as bytes, got {type(raw).__name__};"
            " read mail in binary mode (open(path, 'rb'), sys.stdin.buffer)"
        )
    if not isinstance(limits, MailLimits):
        raise IntakeError(f"limits must be a MailLimits, got {type(limits).__name__}")
    if our_domain is not None:
        our_domain = check_domain(our_domain, "our_domain")
    data = bytes(raw)
    _check_raw(data, limits)
    try:
        return _Parser(data, limits, our_domain).parse()
    except IntakeError:
        raise
    except RecursionError as exc:
        raise _refuse(
            "the message is nested too deeply to parse; refuse it (it is broken or hostile)",
            "max_depth",
        ) from exc
    except Exception as exc:
        raise _refuse(
            f"the message could not be parsed ({type(exc).__name__}: {one_line(str(exc))[:200]});"
            " it is malformed beyond repair: refuse it or ask the sender to send it again",
            "malformed",
        ) from exc


class _Parser:
    def __init__(self, raw: bytes, limits: MailLimits, our_domain: str | None) -> None:
        self.raw = raw
        self.limits = limits
        self.our_domain = our_domain
        self.defects = Defects()
        self.parts = 0
        self.segments: list[tuple[str, str]] = []  # (content type, decoded text)
        self.attachments: list[IncomingAttachment] = []

    # -- body ----------------------------------------------------------------

    def count(self, depth: int) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise _refuse(
                f"the message has more than max_parts={self.limits.max_parts} MIME parts;"
                " refuse it or raise MailLimits.max_parts",
                "max_parts",
            )
        if depth > self.limits.max_depth:
            raise _refuse(
                f"the message nests parts or attached messages deeper than"
                f" max_depth={self.limits.max_depth}; refuse it or raise MailLimits.max_depth",
                "max_depth",
            )

    def decode_text(self, part: Message) -> str:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        try:
            charset = part.get_content_charset()
        except Exception:
            charset = None
        if charset is None:
            try:
                return _body_text(data.decode("utf-8"))
            except UnicodeDecodeError:
                self.defects.add("text without a charset is not UTF-8; decoded as windows-1252")
                return _body_text(data.decode("cp1252", "replace"))
        try:
            if not getattr(codecs.lookup(charset), "_is_text_encoding", True):
                raise LookupError(charset)
            return _body_text(data.decode(charset, "replace"))
        except Exception:
            self.defects.add(f"unknown charset {charset[:60]!r}; decoded as UTF-8 with replacement")
            return _body_text(data.decode("utf-8", "replace"))

    def choose(self, children: list[Message]) -> Message | None:
        """The alternative to read: text/plain unless blank, else HTML, else a multipart."""
        plain = html = nested = None
        for child in children:
            kind = child.get_content_type()
            if child.get_content_disposition() == "attachment":
                continue
            if kind == "text/plain" and plain is None:
                plain = child
            elif kind == "text/html" and html is None:
                html = child
            elif child.is_multipart() and not kind.startswith("message/"):
                nested = child
        if plain is not None and (html is None or self.decode_text(plain).strip()):
            return plain
        return html or nested or plain

    def walk(self, part: Message, depth: int, mode: str) -> None:
        self.count(depth)
        kind = part.get_content_type()
        self.defects.note(part.defects)
        if part.is_multipart():
            payload = part.get_payload()
            children = [c for c in payload if isinstance(c, Message)] if payload else []
            if kind.startswith("message/"):
                if mode != "count":
                    self.attach(part, kind)
                for child in children:
                    self.walk(child, depth + 1, "count")
                return
            chosen = self.choose(children) if kind == "multipart/alternative" else None
            for child in children:
                child_mode = mode
                if chosen is not None and mode == "body" and child is not chosen:
                    child_mode = "attachments"
                self.walk(child, depth + 1, child_mode)
            return
        if mode == "count":
            return
        if kind.startswith("multipart/"):
            self.defects.add(
                f"{kind} part has no readable parts; its content is read as plain text"
            )
            if mode == "body":
                self.segments.append(("text/plain", self.decode_text(part)))
            return
        disposition = part.get_content_disposition()
        is_body_like = kind in _TEXT_TYPES and disposition != "attachment"
        if is_body_like and not self.filename(part):
            if mode == "body":
                self.segments.append((kind, self.decode_text(part)))
            return
        self.attach(part, kind)

    def filename(self, part: Message) -> str | None:
        try:
            name = part.get_filename()
        except Exception as exc:
            self.defects.add(f"attachment file name could not be decoded ({type(exc).__name__})")
            return None
        return no_surrogates(name) if name else None

    def content(self, part: Message) -> bytes:
        if part.is_multipart():
            chunks: list[bytes] = []
            for sub in part.get_payload():
                if not isinstance(sub, Message):
                    continue
                try:
                    chunks.append(sub.as_bytes(policy=policy.SMTP))
                except Exception as exc:
                    self.defects.add(
                        f"attached message could not be re-encoded ({type(exc).__name__})"
                    )
            return b"".join(chunks)
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""

    def attach(self, part: Message, kind: str) -> None:
        index = len(self.attachments) + 1
        if index > self.limits.max_attachments:
            raise _refuse(
                f"the message has more than max_attachments={self.limits.max_attachments}"
                " attachments; refuse it or raise MailLimits.max_attachments",
                "max_attachments",
            )
        content = self.content(part)
        if len(content) > self.limits.max_attachment_bytes:
            raise _refuse(
                f"attachment {index} is {len(content)} bytes, over max_attachment_bytes="
                f"{self.limits.max_attachment_bytes}; ask the sender for a link instead,"
                " or raise MailLimits.max_attachment_bytes",
                "max_attachment_bytes",
            )
        filename = sanitize_filename(self.filename(part), index)
        cids = message_ids(part, "Content-ID")
        content_id = cids[0][1:-1] if cids else None
        disposition = part.get_content_disposition()
        inline = disposition == "inline" or (disposition is None and content_id is not None)
        self.attachments.append(
            IncomingAttachment(
                filename=filename,
                media_type=one_line(kind),
                content=content,
                inline=inline,
                content_id=content_id,
                unsafe_inline=is_unsafe_inline(kind, filename, content),
            )
        )

    # -- all -----------------------------------------------------------------

    def ticket_key(
        self, subject: str, in_reply_to: str | None, references: list[str]
    ) -> tuple[str | None, str | None]:
        if self.our_domain is not None:
            if in_reply_to is not None:
                key = message_id_key(in_reply_to, self.our_domain)
                if key is not None:
                    return key, "in_reply_to"
            for ref in reversed(references):
                key = message_id_key(ref, self.our_domain)
                if key is not None:
                    return key, "references"
        match = _SUBJECT_KEY.search(subject)
        return (match.group(1), "subject") if match else (None, None)

    def parse(self) -> IncomingMessage:
        msg = email.message_from_bytes(self.raw, policy=bounded_policy())
        sender = parse_sender(msg)
        self.walk(msg, 0, "body")
        subject = header_text(msg, "Subject", self.defects) or ""
        own_ids = message_ids(msg, "Message-ID")
        replies_to = message_ids(msg, "In-Reply-To")
        references = message_ids(msg, "References")[-_MAX_REFERENCES:]
        in_reply_to = replies_to[0] if replies_to else None
        key, source = self.ticket_key(subject, in_reply_to, references)
        texts, replies = [], []
        for kind, body in self.segments:
            if kind == "text/html":
                text, reply, truncated = convert_html(body, max_tags=self.limits.max_html_tags)
                if truncated:
                    self.defects.add(
                        f"HTML body has more than max_html_tags={self.limits.max_html_tags}"
                        " tags; its text is cut off there"
                    )
                texts.append(text)
                replies.append(trim_reply(reply))
            else:
                texts.append(body.strip("\n"))
                replies.append(trim_reply(body))
        reason = auto_reason(msg, sender)
        return IncomingMessage(
            message_id=own_ids[0] if own_ids else None,
            sender=sender,
            subject=subject,
            date=parse_date(msg, self.defects),
            in_reply_to=in_reply_to,
            references=tuple(references),
            ticket_key=key,
            ticket_key_source=source,
            recipients=recipients(msg, self.defects),
            text="\n\n".join(t for t in texts if t.strip()),
            reply_text="\n\n".join(r for r in replies if r.strip()),
            attachments=tuple(self.attachments),
            is_auto=reason is not None,
            auto_reason=reason,
            defects=tuple(self.defects.items),
        )
