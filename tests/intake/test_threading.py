"""Outgoing threading headers lead a customer's reply back to its ticket."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit.intake import IntakeError, outgoing_headers, parse_message, thread_subject

DOMAIN = "desk.example"
keys = st.from_regex(r"\A[A-Z][A-Z0-9]{0,9}-[1-9][0-9]{0,6}\Z")
ids = st.from_regex(r"\A[A-Za-z0-9._-]{1,40}\Z")


def customer_reply(ours: dict[str, str], subject: str, *, tag_in_subject: bool = True) -> bytes:
    """The reply a mail program builds to a message carrying ``ours``."""
    reply = EmailMessage()
    reply["From"] = "Ann <ann@example.com>"
    reply["To"] = f"help@{DOMAIN}"
    reply["Subject"] = f"Re: {subject}" if tag_in_subject else "Re: your mail"
    reply["Message-ID"] = "<reply-1@example.com>"
    reply["In-Reply-To"] = ours["Message-ID"]
    reply["References"] = f"{ours['References']} {ours['Message-ID']}"
    reply.set_content("Thanks, that fixed it.\n\nOn Monday, Help Desk wrote:\n> We fixed it.\n")
    return reply.as_bytes(policy=SMTP)


class TestOutgoingHeaders:
    def test_headers_name_the_ticket_and_the_conversation(self) -> None:
        """Message-ID carries the key; References starts at the thread root."""
        headers = outgoing_headers(
            "HD-12", "n7", domain=DOMAIN, references=("<first@example.com>", "second@example.com")
        )
        assert headers == {
            "Message-ID": "<tk.HD-12.n7@desk.example>",
            "In-Reply-To": "<second@example.com>",
            "References": "<tk.HD-12@desk.example> <first@example.com> <second@example.com>",
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
        }

    def test_first_mail_replies_to_the_thread_root(self) -> None:
        """Without references a mail still threads under the ticket's root id."""
        headers = outgoing_headers("HD-1", "ack", domain=DOMAIN, auto_submitted=False)
        assert headers["In-Reply-To"] == "<tk.HD-1@desk.example>"
        assert headers["References"] == "<tk.HD-1@desk.example>"
        assert "Auto-Submitted" not in headers

    def test_references_are_capped(self) -> None:
        """A long conversation keeps the root and the 19 newest references."""
        refs = tuple(f"<m{i}@example.com>" for i in range(40))
        chain = outgoing_headers("HD-1", "n", domain=DOMAIN, references=refs)["References"]
        assert chain.split() == ["<tk.HD-1@desk.example>", *refs[-19:]]

    @pytest.mark.parametrize(
        ("kwargs", "named"),
        [
            ({"ticket_key": "hd-1"}, "ticket key"),
            ({"notification_id": "n1\r\nBcc: x@y"}, "notification id"),
            ({"notification_id": "a@b"}, "notification id"),
            ({"domain": "desk.example\r\nBcc: x@y"}, "domain"),
            ({"references": ("<a@b>\r\nBcc: x@y",)}, "message id"),
            ({"references": ("<a b@c>",)}, "message id"),
            ({"references": "<a@b>"}, "references"),
        ],
    )
    def test_header_injection_is_refused(self, kwargs: dict[str, object], named: str) -> None:
        """Line breaks, spaces or '@' out of place raise IntakeError naming the value."""
        args: dict[str, object] = {"ticket_key": "HD-1", "notification_id": "n1", "domain": DOMAIN}
        args.update(kwargs)
        with pytest.raises(IntakeError, match=named):
            outgoing_headers(**args)  # type: ignore[arg-type]

    @given(keys, ids)
    def test_every_header_is_one_line(self, key: str, notification: str) -> None:
        """No generated header value contains a line break."""
        for value in outgoing_headers(key, notification, domain=DOMAIN).values():
            assert "\n" not in value
            assert "\r" not in value


class TestThreadSubject:
    def test_subject_carries_the_tag_once(self) -> None:
        """The key is put in front as a tag, an old tag is not repeated."""
        assert thread_subject("HD-12", "Printer broken") == "[HD-12] Printer broken"
        assert thread_subject("HD-12", "[HD-12] Printer broken") == "[HD-12] Printer broken"

    def test_subject_is_one_line(self) -> None:
        """Line breaks in a title become spaces."""
        assert thread_subject("HD-2", "a\r\nBcc: x@y\u2028z") == "[HD-2] a Bcc: x@y z"

    def test_bad_key_is_refused(self) -> None:
        """A value that is not a ticket key raises IntakeError."""
        with pytest.raises(IntakeError, match="not a ticket key"):
            thread_subject("HD 12", "x")


class TestRoundTrip:
    @given(keys, ids)
    def test_reply_to_our_mail_parses_back_to_its_ticket(self, key: str, notification: str) -> None:
        """A customer's reply to our mail names the same ticket and our Message-ID."""
        ours = outgoing_headers(key, notification, domain=DOMAIN)
        message = parse_message(
            customer_reply(ours, thread_subject(key, "Mail is down")), our_domain=DOMAIN
        )
        assert message.ticket_key == key
        assert message.ticket_key_source == "in_reply_to"
        assert message.in_reply_to == ours["Message-ID"]
        assert message.references[-1] == ours["Message-ID"]
        assert message.reply_text == "Thanks, that fixed it."

    def test_reply_without_subject_tag_still_finds_its_ticket(self) -> None:
        """When the customer's program drops the subject tag, In-Reply-To still leads back."""
        ours = outgoing_headers("HD-12", "n1", domain=DOMAIN)
        message = parse_message(
            customer_reply(ours, "ignored", tag_in_subject=False), our_domain=DOMAIN
        )
        assert message.subject == "Re: your mail"
        assert message.ticket_key == "HD-12"
