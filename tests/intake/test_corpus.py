"""Every message of the hand-built corpus parses to what a help desk expects of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ticketkit import ValidationError
from ticketkit.intake import IncomingMessage, IntakeError, MailLimits, MailRefused, parse_message

from .corpus_support import OUR_DOMAIN, corpus_names, load


def parse(name: str, **kwargs: Any) -> IncomingMessage:
    return parse_message(load(name), our_domain=OUR_DOMAIN, **kwargs)


def refusal(name: str, **kwargs: Any) -> MailRefused:
    with pytest.raises(MailRefused) as info:
        parse(name, **kwargs)
    return info.value


def refusal_of(raw: bytes) -> MailRefused:
    with pytest.raises(MailRefused) as info:
        parse_message(raw)
    return info.value


# name -> the fields the parsed message must have (or "refused": reason).
EXPECTED: dict[str, dict[str, Any]] = {
    "apple_mail_reply.eml": {"ticket_key": "HD-3", "is_auto": False},
    "bounce_dsn.eml": {"is_auto": True},
    "broken_encoded_words.eml": {"is_auto": False},
    "charset_zlib.eml": {"text": "not compressed at all"},
    "crlf_injection_from_name.eml": {"refused": "ambiguous_from"},
    "crlf_injection_subject.eml": {"subject": "Help Bcc: victim@example.org injected"},
    "crlf_line_endings_with_signature.eml": {"reply_text": "The monitor flickers at 60 Hz."},
    "cve_2023_27043_from.eml": {"refused": "ambiguous_from"},
    "deeply_nested_rfc822.eml": {"refused": "max_depth"},
    "empty_return_path.eml": {"is_auto": True, "auto_reason": "empty Return-Path (a bounce)"},
    "foreign_subject_tag_lowercase.eml": {"ticket_key": None},
    "forward_as_attachment.eml": {"text": "Please check the attached mail."},
    "forwarded_inline.eml": {"ticket_key": None, "is_auto": False},
    "gmail_reply.eml": {"reply_text": "It prints again, you can close it.", "ticket_key": "HD-12"},
    "html_only.eml": {"subject": "Cannot log in"},
    "huge_header.eml": {"refused": "max_header_bytes"},
    "inline_image_cid.eml": {"text": "This dialog appears on start:"},
    "iso_8859_1_quoted_printable.eml": {"subject": "Drucker druckt keine Umläute"},
    "koi8_r.eml": {"subject": "Почта не работает"},
    "list_mail.eml": {"is_auto": True, "auto_reason": "Precedence: list"},
    "malformed_boundary.eml": {"is_auto": False},
    "missing_boundary.eml": {"is_auto": False},
    "multipart_alternative.eml": {
        "text": "The VPN client disconnects every ten minutes.\nReconnecting works."
    },
    "no_from.eml": {"refused": "no_sender"},
    "outlook_html_reply.eml": {"reply_text": "Audio works now.\n\nYara", "ticket_key": "HD-21"},
    "outlook_reply.eml": {"reply_text": "The new battery works, thanks!\n\nGrace"},
    "oversized.eml": {"subject": "Log files"},
    "path_traversal_filenames.eml": {"text": "See attachments."},
    "plain_utf8_new_ticket.eml": {"ticket_key": None, "is_auto": False, "in_reply_to": None},
    "postmaster_sender.eml": {"is_auto": True, "auto_reason": "sent by postmaster"},
    "reply_by_references_only.eml": {"ticket_key": "HD-99", "ticket_key_source": "references"},
    "rfc2047_subject_many_charsets.eml": {"subject": "Ärger mit dem Drücker – Принтерプリンター"},
    "shift_jis_base64.eml": {"subject": "プリンター故障"},
    "svg_disguised_as_png.eml": {"text": "Two attachments."},
    "too_many_parts.eml": {"refused": "max_parts"},
    "two_from_addresses.eml": {"refused": "ambiguous_from"},
    "two_from_headers.eml": {"refused": "ambiguous_from"},
    "unknown_charset.eml": {"text": "Café \ufffd broken"},
    "vacation_autoreply.eml": {"is_auto": True, "auto_reason": "Auto-Submitted: auto-replied"},
    "windows_1252_8bit.eml": {"text": "The invoice says “1.200 €” – it should be 1.100 €."},
    "x_autoreply.eml": {"is_auto": True, "auto_reason": "X-Autoreply header"},
    "zip_bomb.eml": {"text": "Logs attached (zipped)."},
}


class TestCorpus:
    def test_corpus_is_large_and_every_message_has_expectations(self) -> None:
        """The corpus holds at least 30 messages and each one has stated outcomes."""
        names = corpus_names()
        assert len(names) >= 30
        assert set(names) == set(EXPECTED)

    @pytest.mark.parametrize("name", sorted(EXPECTED))
    def test_message_parses_to_the_expected_outcome(self, name: str) -> None:
        """Each corpus message is parsed or refused exactly as its expectations say."""
        expected = EXPECTED[name]
        if "refused" in expected:
            error = refusal(name)
            assert error.reason == expected["refused"]
            assert isinstance(error, IntakeError)
            assert isinstance(error, ValidationError)
            return
        message = parse(name)
        for field, value in expected.items():
            assert getattr(message, field) == value, field
        for line in (message.subject, message.sender.name, message.sender.address):
            assert "\n" not in line
            assert "\r" not in line
        assert "\r" not in message.text
        assert "\r" not in message.reply_text


class TestBodies:
    def test_plain_message_keeps_text_sender_date_and_ids(self) -> None:
        """A plain new message gives its text, sender, an aware date and its Message-ID."""
        message = parse("plain_utf8_new_ticket.eml")
        assert message.sender.address == "ann@example.com"
        assert message.sender.name == "Ann Example"
        assert message.subject == "Printer on floor 3 prints blank pages"
        assert message.date == datetime(2026, 1, 5, 8, 15, tzinfo=UTC)
        assert message.date is not None
        assert message.date.utcoffset() == timedelta(hours=1)
        assert message.message_id == "<20260105091500.1234@mail.example.com>"
        assert message.recipients == ("help@desk.example",)
        assert message.text.endswith("Toner was replaced last week. Grüße, Ann")
        assert message.attachments == ()

    def test_alternative_prefers_the_plain_text(self) -> None:
        """In multipart/alternative the text/plain part is read, not the HTML."""
        message = parse("multipart_alternative.eml")
        assert "<" not in message.text
        assert message.sender.name == "Bob Builder"
        assert message.date is not None
        assert message.date.tzinfo == timezone(timedelta(hours=-5))

    def test_html_only_mail_becomes_text_without_scripts_or_markup(self) -> None:
        """HTML-only mail loses scripts, styles, title and tags; entities are decoded."""
        text = parse("html_only.eml").text
        assert 'Login fails with "invalid token" & a 500 error.' in text
        assert "Chrome\u00a0120" not in text
        assert "Chrome 120" in text
        for gone in ("alert", "document.cookie", "Ignore me", "color: red", "<p", "<iframe"):
            assert gone not in text
        assert "Tried <b>twice</b>." in text  # written as entities: the reader saw this text

    @pytest.mark.parametrize(
        ("name", "fragment"),
        [
            ("iso_8859_1_quoted_printable.eml", "ä ö ü ß. Grüße aus Köln"),
            ("windows_1252_8bit.eml", "“1.200 €”"),
            ("shift_jis_base64.eml", "プリンターが動きません。"),
            ("koi8_r.eml", "Не работает почта."),
        ],
    )
    def test_non_utf8_charsets_are_decoded(self, name: str, fragment: str) -> None:
        """Bodies in legacy charsets are decoded without defects."""
        message = parse(name)
        assert fragment in message.text
        assert message.defects == ()

    def test_encoded_display_names_are_decoded(self) -> None:
        """RFC 2047 display names in Latin-1, KOI8-R and ISO-2022-JP are decoded."""
        assert parse("iso_8859_1_quoted_printable.eml").sender.name == "Jörg Müller"
        assert parse("koi8_r.eml").sender.name == "Иван"
        assert parse("shift_jis_base64.eml").sender.name == "田中"

    def test_unknown_and_non_text_charsets_are_replaced_and_recorded(self) -> None:
        """An unknown or non-text charset (zlib) decodes as UTF-8 with a recorded defect."""
        unknown = parse("unknown_charset.eml")
        assert any("x-unknown-42" in d for d in unknown.defects)
        zlib = parse("charset_zlib.eml")
        assert any("zlib" in d for d in zlib.defects)

    def test_broken_encoded_words_never_crash(self) -> None:
        """Broken encoded words leave a readable one-line subject."""
        message = parse("broken_encoded_words.eml")
        assert message.sender.address == "uma@example.com"
        assert "unterminated" in message.subject
        assert message.text == "Encoded words are broken."

    @pytest.mark.parametrize("name", ["malformed_boundary.eml", "missing_boundary.eml"])
    def test_multipart_without_usable_boundary_is_read_as_text(self, name: str) -> None:
        """A multipart whose boundary is missing or wrong keeps its text and records defects."""
        message = parse(name)
        assert "boundary" in message.text
        assert any("no readable parts" in d for d in message.defects)
        assert message.attachments == ()


class TestReplies:
    @pytest.mark.parametrize(
        ("name", "reply", "quoted"),
        [
            ("gmail_reply.eml", "It prints again, you can close it.", "fuser"),
            ("outlook_reply.eml", "The new battery works, thanks!\n\nGrace", "new battery."),
            ("apple_mail_reply.eml", "Sync works on the Mac but not on the iPhone.", "try again"),
            ("outlook_html_reply.eml", "Audio works now.\n\nYara", "driver"),
            ("crlf_line_endings_with_signature.eml", "The monitor flickers at 60 Hz.", "Floor 2"),
        ],
    )
    def test_reply_text_drops_quotes_and_signatures(
        self, name: str, reply: str, quoted: str
    ) -> None:
        """reply_text holds only the new words; text still holds everything."""
        message = parse(name)
        assert message.reply_text == reply
        assert quoted not in message.reply_text
        assert quoted in message.text

    def test_inline_forward_is_kept_in_the_reply(self) -> None:
        """A forwarded message is what the sender hands over, so reply_text keeps it."""
        message = parse("forwarded_inline.eml")
        assert message.reply_text.startswith("Is this mail genuine?")
        assert "Your password expires today." in message.reply_text

    @pytest.mark.parametrize(
        ("name", "key", "source"),
        [
            ("gmail_reply.eml", "HD-12", "in_reply_to"),
            ("outlook_reply.eml", "HD-7", "in_reply_to"),
            ("reply_by_references_only.eml", "HD-99", "references"),
            ("outlook_html_reply.eml", "HD-21", "subject"),
            ("vacation_autoreply.eml", "HD-12", "subject"),
        ],
    )
    def test_ticket_key_comes_from_our_message_ids_or_the_subject_tag(
        self, name: str, key: str, source: str
    ) -> None:
        """Threading headers naming our Message-IDs win; else the [KEY] subject tag."""
        message = parse(name)
        assert (message.ticket_key, message.ticket_key_source) == (key, source)

    def test_our_message_ids_count_only_for_our_domain(self) -> None:
        """Without our_domain (or with another) only the subject tag names a ticket."""
        raw = load("reply_by_references_only.eml")
        assert parse_message(raw).ticket_key is None
        assert parse_message(raw, our_domain="other.example").ticket_key is None

    def test_lower_case_and_overlong_tags_are_not_keys(self) -> None:
        """[hd-12] and a prefix over ten characters are not ticket keys."""
        assert parse("foreign_subject_tag_lowercase.eml").ticket_key is None


class TestAutomaticMail:
    def test_bounce_is_automatic_and_keeps_its_report(self) -> None:
        """A DSN from MAILER-DAEMON is automatic; its explanation is the text."""
        message = parse("bounce_dsn.eml")
        assert message.is_auto
        assert "User unknown" in message.text
        kinds = [a.media_type for a in message.attachments]
        assert kinds == ["message/delivery-status", "text/rfc822-headers"]

    @pytest.mark.parametrize(
        ("header", "reason"),
        [
            ("Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated"),
            ("Precedence: bulk", "Precedence: bulk"),
            ("Precedence: junk", "Precedence: junk"),
            ("X-Autorespond: yes", "X-Autorespond header"),
            ("Content-Type: multipart/report; report-type=delivery-status; boundary=b",
             "multipart/report (a delivery status notification)"),
        ],
    )  # fmt: skip
    def test_each_auto_marker_is_recognised(self, header: str, reason: str) -> None:
        """Each RFC 3834 or vendor marker makes a message automatic, with its reason."""
        raw = f"From: a@example.com\nSubject: s\n{header}\n\n--b\n\nx\n--b--\n".encode()
        message = parse_message(raw)
        assert (message.is_auto, message.auto_reason) == (True, reason)

    def test_auto_submitted_no_is_a_person(self) -> None:
        """Auto-Submitted: no means a person wrote the message."""
        raw = b"From: a@example.com\nAuto-Submitted: no\nSubject: s\n\nhello\n"
        message = parse_message(raw)
        assert (message.is_auto, message.auto_reason) == (False, None)


class TestSafety:
    def test_oversized_message_is_refused_naming_the_limit(self) -> None:
        """A message over max_message_bytes is refused before it is parsed."""
        error = refusal("oversized.eml", limits=MailLimits(max_message_bytes=4096))
        assert error.reason == "max_message_bytes"
        assert "max_message_bytes=4096" in str(error)
        assert parse("oversized.eml").subject == "Log files"

    def test_huge_header_block_is_refused(self) -> None:
        """A header block over max_header_bytes is refused, naming the limit."""
        assert "max_header_bytes=65536" in str(refusal("huge_header.eml"))
        limits = MailLimits(max_header_bytes=128 * 1024)
        assert parse("huge_header.eml", limits=limits).text == "body"

    def test_deep_nesting_is_bounded(self) -> None:
        """Attached messages nested deeper than max_depth are refused; a higher limit reads it."""
        assert "max_depth=10" in str(refusal("deeply_nested_rfc822.eml"))
        message = parse("deeply_nested_rfc822.eml", limits=MailLimits(max_depth=20))
        assert message.sender.address == "rita@example.com"
        assert [a.media_type for a in message.attachments] == ["message/rfc822"]

    @pytest.mark.parametrize(
        ("limits", "reason"),
        [
            (MailLimits(max_parts=5), "max_parts"),
            (MailLimits(max_attachments=3), "max_attachments"),
            (MailLimits(max_attachment_bytes=5), "max_attachment_bytes"),
        ],
    )
    def test_part_and_attachment_limits(self, limits: MailLimits, reason: str) -> None:
        """Too many parts, too many or too large attachments are refused by name."""
        error = refusal("path_traversal_filenames.eml", limits=limits)
        assert error.reason == reason
        assert reason in str(error)

    def test_html_conversion_has_a_cpu_budget(self) -> None:
        """HTML past max_html_tags is cut off with a defect instead of burning CPU."""
        html = "".join(f"<p>line {i}</p>" for i in range(300))
        raw = f"From: a@example.com\nContent-Type: text/html\n\n{html}".encode()
        message = parse_message(raw, limits=MailLimits(max_html_tags=100))
        assert message.text.splitlines()[0] == "line 0"
        assert "line 49" in message.text
        assert "line 50" not in message.text
        assert any("max_html_tags=100" in d for d in message.defects)
        assert "line 299" in parse_message(raw).text

    def test_thousands_of_parts_are_refused_before_parsing(self) -> None:
        """A part bomb is refused by counting delimiter lines, whatever the boundary syntax."""
        for declared in (b"boundary=b", b'boundary="b"', b"BOUNDARY=b", b"boundary*0=b"):
            raw = (
                b"From: a@example.com\nContent-Type: multipart/mixed; "
                + declared
                + b"\n\n"
                + b"--b\n\nx\n" * 5000
                + b"--b--\n"
            )
            assert refusal_of(raw).reason == "max_parts"

    def test_overlong_structured_header_is_refused(self) -> None:
        """A Content-Type too long to parse safely (quadratic in CPython) is refused."""
        raw = b'From: a@example.com\nContent-Type: text/plain; a="' + b'"' * 5000 + b"\n\nx"
        error = refusal_of(raw)
        assert error.reason == "header_too_long"
        assert "Content-Type" in str(error)

    def test_overlong_recipient_list_is_a_defect(self) -> None:
        """A To header too long to parse loses only the recipients, with a defect."""
        to = ", ".join(f"user{i}@example.com" for i in range(100)).encode()
        message = parse_message(b"From: a@example.com\nTo: " + to + b"\n\nhello")
        assert message.text == "hello"
        assert message.recipients == ()
        assert any("To header could not be parsed" in d for d in message.defects)

    def test_dash_lines_in_text_are_not_parts(self) -> None:
        """Thousands of '-----' lines in a plain text body are just text."""
        raw = b"From: a@example.com\n\n" + b"-----\nrow\n" * 5000
        assert parse_message(raw).text.count("row") == 5000

    def test_zip_bomb_stays_compressed(self) -> None:
        """A zip that unpacks to 50 MiB is kept as its small compressed bytes."""
        (attachment,) = parse("zip_bomb.eml").attachments
        assert attachment.filename == "logs.zip"
        assert attachment.media_type == "application/zip"
        assert attachment.content.startswith(b"PK\x03\x04")
        assert attachment.size < 200_000

    def test_header_injection_in_subject_stays_one_line(self) -> None:
        """Encoded CR/LF in the subject become spaces; no header can be added."""
        message = parse("crlf_injection_subject.eml")
        assert message.subject == "Help Bcc: victim@example.org injected"

    def test_path_traversal_and_hidden_characters_are_removed_from_file_names(self) -> None:
        """File names are base names without controls, RTL overrides or leading dots."""
        names = [a.filename for a in parse("path_traversal_filenames.eml").attachments]
        assert names == [
            "passwd",
            "win.ini",
            "htaccess",
            "invoicefdp.exe",
            "ab c.txt",
            "attachment-6",
            "report.pdf.exe",
            "_CON.txt",
        ]

    def test_html_and_svg_attachments_are_marked_unsafe_inline(self) -> None:
        """SVG declared as PNG and HTML attachments must never render inline."""
        photo, page = parse("svg_disguised_as_png.eml").attachments
        assert (photo.filename, photo.media_type, photo.unsafe_inline) == (
            "photo.png",
            "image/png",
            True,
        )
        assert (page.media_type, page.unsafe_inline) == ("text/html", True)

    def test_inline_image_keeps_its_content_id(self) -> None:
        """A cid: image is an inline attachment with its Content-ID, safe to show."""
        (image,) = parse("inline_image_cid.eml").attachments
        assert image.inline
        assert image.content_id == "shot1@example.com"
        assert image.content.startswith(b"\x89PNG")
        assert not image.unsafe_inline

    def test_forwarded_attachment_is_kept_whole(self) -> None:
        """An attached message stays one attachment, its HTML never read as our body."""
        message = parse("forward_as_attachment.eml")
        (attached,) = message.attachments
        assert attached.filename == "Your invoice.eml"
        assert b"Subject: Your invoice" in attached.content
        assert attached.unsafe_inline
        assert "Invoice attached" not in message.text
