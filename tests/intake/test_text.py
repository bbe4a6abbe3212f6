"""HTML to text, reply trimming, file names and limits, on their own."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit.intake import (
    IntakeError,
    MailLimits,
    html_to_text,
    parse_message,
    sanitize_filename,
    trim_reply,
)


class TestHtmlToText:
    def test_blocks_become_lines_and_entities_are_decoded(self) -> None:
        """Paragraphs, breaks and list items become lines; &amp; becomes &."""
        html = "<p>One &amp; two</p><ul><li>a</li><li>b</li></ul>x<br>y"
        assert html_to_text(html) == "One & two\n\na\n\nb\n\nx\ny"

    def test_non_content_elements_are_dropped(self) -> None:
        """Script, style, title, template and inline SVG content never reach the text."""
        html = (
            "<head><title>T</title></head><script>s()</script><style>.c{}</style>"
            "<template>t</template><svg><text>svg</text></svg><p>kept</p>"
        )
        assert html_to_text(html) == "kept"

    def test_unclosed_head_ends_at_body(self) -> None:
        """A head that is never closed does not hide the body."""
        assert html_to_text("<html><head><title>t</title><body><p>shown</p>") == "shown"

    def test_unclosed_script_drops_the_rest(self) -> None:
        """An unclosed script hides what follows rather than leaking it."""
        assert html_to_text("<p>before</p><script>var x = '<p>after</p>'") == "before"

    def test_quotes_are_dropped_only_on_request(self) -> None:
        """drop_quotes removes blockquotes and Gmail quote blocks; by default they stay."""
        html = (
            '<div>new</div><div class="gmail_quote">On x wrote:<blockquote>old</blockquote></div>'
        )
        assert html_to_text(html, drop_quotes=True) == "new"
        assert "old" in html_to_text(html)

    def test_nested_quotes_end_at_the_matching_close(self) -> None:
        """Text after a nested blockquote is kept."""
        html = "<blockquote>a<blockquote>b</blockquote>c</blockquote><p>after</p>"
        assert html_to_text(html, drop_quotes=True) == "after"

    @given(st.text(max_size=300))
    def test_never_leaves_tags_of_its_own(self, html: str) -> None:
        """Whatever the input, the output holds no CR and no text the input did not have."""
        text = html_to_text(html)
        assert "\r" not in text
        assert len(text) <= len(html) + html.count("<") * 2 + 2


class TestTrimReply:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("New.\n\nOn Mon, 5 Jan 2026, Ann <a@b.c> wrote:\n> old", "New."),
            ("Neu.\n\nAm 05.01.2026 um 10:00 schrieb Ann <a@b.c>:\n> alt", "Neu."),
            ("Nouveau.\n\nLe lun. 5 janv. 2026, Ann a écrit :\n> vieux", "Nouveau."),
            ("New.\n-----Original Message-----\nFrom: x", "New."),
            ("New.\nFrom: Help <h@d>\nSent: Monday\nTo: me\nold", "New."),
            ("New.\n\nSent from my iPhone", "New."),
            ("New.\n-- \nSig", "New."),
            ("> quoted\nanswer one\n> more\nanswer two", "answer one\nanswer two"),
        ],
    )
    def test_styles_of_quoting(self, text: str, expected: str) -> None:
        """Attributions, separators, Outlook headers, signatures and > lines are trimmed."""
        assert trim_reply(text) == expected

    def test_a_from_line_in_prose_is_kept(self) -> None:
        """'From:' without a header block after it is ordinary text."""
        text = "From: the log I see errors.\nPlease help."
        assert trim_reply(text) == text

    @given(st.text(max_size=300))
    def test_result_is_part_of_the_input(self, text: str) -> None:
        """Trimming only removes: every kept line was a line of the input."""
        source = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        stripped = {line.rstrip() for line in source}
        assert all(line in stripped for line in trim_reply(text).split("\n") if line)


class TestSanitizeFilename:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\x\\evil.bat", "evil.bat"),
            (".bashrc", "bashrc"),
            ("report.pdf.", "report.pdf"),
            ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
            ("nul", "_nul"),
            ("", "attachment-4"),
            (None, "attachment-4"),
            ("/", "attachment-4"),
            ("\u202e\u200b", "attachment-4"),
            ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ],
    )
    def test_examples(self, name: str | None, expected: str) -> None:
        """Paths, reserved characters and names, invisible characters and length are handled."""
        assert sanitize_filename(name, 4) == expected

    @given(st.one_of(st.none(), st.text(max_size=400)), st.integers(1, 500))
    def test_always_safe(self, name: str | None, index: int) -> None:
        """A sanitised name is never empty, never a path, never hidden, never too long."""
        safe = sanitize_filename(name, index)
        assert safe
        assert len(safe) <= 120
        assert "/" not in safe
        assert "\\" not in safe
        assert not safe.startswith((".", " "))
        assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in safe)


class TestMailLimits:
    @pytest.mark.parametrize("value", [0, -1, True, 1.5, "10"])
    def test_limits_must_be_positive_integers(self, value: object) -> None:
        """A limit that is not a positive whole number raises IntakeError naming it."""
        with pytest.raises(IntakeError, match="max_parts"):
            MailLimits(max_parts=value)  # type: ignore[arg-type]

    def test_defaults(self) -> None:
        """The defaults are 25 MiB per message and 10 MiB per attachment."""
        limits = MailLimits()
        assert limits.max_message_bytes == 25 * 1024 * 1024
        assert limits.max_attachment_bytes == 10 * 1024 * 1024
        assert (limits.max_attachments, limits.max_parts, limits.max_depth) == (50, 200, 10)
        assert limits.max_header_bytes == 64 * 1024
        assert limits.max_html_tags == 100_000


class TestArguments:
    @pytest.mark.parametrize("raw", ["From: a@b.c\n\nx", None, 42])
    def test_raw_must_be_bytes(self, raw: object) -> None:
        """Text instead of bytes is an IntakeError that says to read in binary mode."""
        with pytest.raises(IntakeError, match="binary mode"):
            parse_message(raw)  # type: ignore[arg-type]

    def test_bytearray_and_memoryview_are_bytes(self) -> None:
        """Any bytes-like buffer is accepted."""
        raw = b"From: a@example.com\nSubject: s\n\nhello\n"
        assert parse_message(bytearray(raw)).text == "hello"
        assert parse_message(memoryview(raw)).text == "hello"

    def test_our_domain_must_be_a_domain(self) -> None:
        """our_domain with spaces or line breaks raises IntakeError."""
        with pytest.raises(IntakeError, match="our_domain"):
            parse_message(b"From: a@example.com\n\nx", our_domain="a b\r\n")
