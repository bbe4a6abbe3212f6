"""Fuzzing parse_message: it may refuse a message, it never crashes.

Bounded: each property runs a fixed number of examples, the whole file well
under 30 seconds. A per-message time budget is a benchmark matter, not a test.
"""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ticketkit.intake import IncomingMessage, IntakeError, MailLimits, parse_message

from .corpus_support import OUR_DOMAIN, corpus_names, load

SMALL = MailLimits(max_message_bytes=256 * 1024, max_parts=50, max_depth=6)
FUZZ = settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])

HEADER_NAMES = [
    "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "Return-Path", "Auto-Submitted", "Precedence", "X-Autoreply", "Content-Type",
    "Content-Transfer-Encoding", "Content-Disposition", "Content-ID", "MIME-Version",
]  # fmt: skip
VALUE_PIECES = [
    "a@example.com", "<tk.HD-1.n@desk.example>", "=?utf-8?q?a=0D=0Ab?=", "=?x?B?!!?=",
    "multipart/mixed; boundary=b", "multipart/alternative; boundary=\"b\"", "message/rfc822",
    "text/html; charset=zlib", "text/plain; charset=shift_jis", "base64", "quoted-printable",
    "attachment; filename=\"../x\"", "attachment; filename*=utf-8''%00%2F..", "<>", "[HD-3]",
    "(((((", "\"", "\\", ",", ";", "\r", "\n ", "\t", "\x00", "é", "\udcff",
]  # fmt: skip
BODY_PIECES = [
    "--b\n", "--b--\n", "\n", "Content-Type: text/plain\n\n", "Content-Type: message/rfc822\n\n",
    "<script>x</script>", "<p>hi</p>", "=C3=A9", "SGVsbG8=", "> quoted\n", "On x wrote:\n",
    "-- \n", "From: a@example.com\n", "\r\n", "\x00", "é",
]  # fmt: skip


def assert_safe(message: IncomingMessage) -> None:
    """Every returned text is valid Unicode; one-line fields have no line breaks at all."""
    one_line = [
        message.subject,
        message.sender.address,
        message.sender.name,
        message.message_id or "",
        message.in_reply_to or "",
        message.auto_reason or "",
        *message.references,
        *message.recipients,
        *message.defects,
    ]
    for attachment in message.attachments:
        one_line += [attachment.filename, attachment.media_type, attachment.content_id or ""]
        assert attachment.filename
        assert not attachment.filename.startswith(".")
        assert "/" not in attachment.filename
        assert "\\" not in attachment.filename
        assert isinstance(attachment.content, bytes)
    for value in one_line:
        value.encode("utf-8")
        assert not any(unicodedata.category(ch) == "Cc" for ch in value), value
        assert "\u2028" not in value
    for body in (message.text, message.reply_text):
        body.encode("utf-8")
        assert "\r" not in body
    assert message.is_auto == (message.auto_reason is not None)
    assert len(message.attachments) <= SMALL.max_attachments


def parse_or_refuse(raw: bytes) -> None:
    try:
        message = parse_message(raw, limits=SMALL, our_domain=OUR_DOMAIN)
    except IntakeError:
        return
    assert_safe(message)


@st.composite
def mutated_corpus(draw: st.DrawFn) -> bytes:
    data = bytearray(load(draw(st.sampled_from(corpus_names()))))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + 40] * draw(st.integers(1, 20))
    return bytes(data)


@st.composite
def assembled(draw: st.DrawFn) -> bytes:
    """Messages built from hostile header and body pieces."""
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(st.sampled_from(HEADER_NAMES))
        value = "".join(draw(st.lists(st.sampled_from(VALUE_PIECES), max_size=4)))
        lines.append(f"{name}: {value}")
    body = "".join(draw(st.lists(st.sampled_from(BODY_PIECES), max_size=30)))
    text = "\n".join(lines) + "\n\n" + body
    return text.encode("utf-8", "surrogateescape")


class TestFuzz:
    @FUZZ
    @given(st.binary(max_size=2000))
    @example(b"From:\xc2\x80 Ivan <ivan@example.com>\n\nC1 control in a display name")
    def test_random_bytes(self, raw: bytes) -> None:
        """Random bytes are parsed or refused with IntakeError, nothing else."""
        parse_or_refuse(raw)

    @FUZZ
    @given(mutated_corpus())
    def test_mutated_corpus_messages(self, raw: bytes) -> None:
        """Corpus messages with flipped, inserted, deleted or repeated bytes never crash."""
        parse_or_refuse(raw)

    @FUZZ
    @given(assembled())
    def test_messages_assembled_from_hostile_pieces(self, raw: bytes) -> None:
        """Messages made of injection, charset and MIME edge cases never crash."""
        parse_or_refuse(raw)

    def test_every_corpus_message_is_safe(self) -> None:
        """The unmutated corpus passes the same safety checks."""
        for name in corpus_names():
            parse_or_refuse(load(name))
