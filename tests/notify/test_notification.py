"""Notification: checked plain data that can never smuggle a header or a recipient."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit import ValidationError
from ticketkit.notify import CallbackNotifier, Notification, NotificationError, Notifier

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make(**changes: object) -> Notification:
    values: dict[str, object] = {
        "channel": "email",
        "template": "created",
        "recipients": ("bob@example.com",),
        "subject": "[HD-1] Mail is down",
        "body": "We got it.\n",
    }
    values.update(changes)
    return Notification(**values)  # type: ignore[arg-type]


class TestNotification:
    def test_id_is_a_fresh_uuid4_hex(self) -> None:
        """Without an id each notification gets its own 32-digit hex id."""
        first, second = make(), make()
        assert len(first.id) == 32
        assert int(first.id, 16) >= 0
        assert first.id != second.id

    def test_recipients_are_a_tuple_without_duplicates(self) -> None:
        """Recipients keep their order, lose duplicates and surrounding spaces."""
        n = make(recipients=["a@example.com", " b@example.com", "a@example.com"])
        assert n.recipients == ("a@example.com", "b@example.com")

    @pytest.mark.parametrize(
        "bad", ["x\r\nBcc: evil@example.com", "x\nTo: e@x.y", "x\x00", "\u2028"]
    )
    def test_line_breaks_in_subject_are_refused(self, bad: str) -> None:
        """A subject with a line break or control character is refused."""
        with pytest.raises(ValidationError, match="control character") as info:
            make(subject=bad)
        assert info.value.field == "subject"

    @pytest.mark.parametrize("bad", ["bob@example.com\r\nBcc: evil@example.com", "a\nb", "a\tb"])
    def test_line_breaks_in_recipients_are_refused(self, bad: str) -> None:
        """A recipient with a line break (or tab) is refused, naming the field."""
        with pytest.raises(ValidationError, match="recipients"):
            make(recipients=[bad])

    def test_recipients_must_be_a_list(self) -> None:
        """A single string is refused (it would be taken letter by letter)."""
        with pytest.raises(ValidationError, match=r"\['bob@example.com'\]"):
            make(recipients="bob@example.com")

    def test_too_many_recipients(self) -> None:
        """More than 100 recipients is refused."""
        with pytest.raises(ValidationError, match="limit is 100"):
            make(recipients=[f"p{i}@example.com" for i in range(101)])

    @pytest.mark.parametrize(
        "name",
        [
            "To",
            "bcc",
            "CC",
            "From",
            "Subject",
            "Content-Type",
            "Content-Disposition",
            "Sender",
            "Resent-To",
            "resent-bcc",
            "X-Ticketkit-Delivery",
            "Auto-Submitted",
        ],
    )
    def test_headers_cannot_set_sender_recipients_or_structure(self, name: str) -> None:
        """Headers that choose recipients, the sender or the structure are refused."""
        with pytest.raises(ValidationError, match=f"may not set the header {name!r}"):
            make(headers={name: "evil@example.com"})

    @pytest.mark.parametrize("name", ["In Reply To", "X:Y", "", "Ä"])
    def test_bad_header_names_are_refused(self, name: str) -> None:
        """Header names must be printable ASCII without spaces or colons."""
        with pytest.raises(ValidationError, match="not a header name"):
            make(headers={name: "x"})

    def test_header_values_are_single_lines(self) -> None:
        """A header value with a line break is refused."""
        with pytest.raises(ValidationError, match="header In-Reply-To"):
            make(headers={"In-Reply-To": "<a@b>\r\nBcc: evil@example.com"})

    def test_header_names_ignore_case_for_duplicates(self) -> None:
        """The same header twice in different case is refused."""
        with pytest.raises(ValidationError, match="given twice"):
            make(headers={"References": "<a@b>", "references": "<c@d>"})

    @pytest.mark.parametrize("bad", ["", "has space", "a" * 129, "x\ny", 12])
    def test_bad_ids_are_refused(self, bad: object) -> None:
        """Ids are 1-128 letters, digits or . _ : -."""
        with pytest.raises(ValidationError, match="id must be"):
            make(id=bad)

    @pytest.mark.parametrize("field", ["channel", "template"])
    def test_names_must_be_stripped_non_empty(self, field: str) -> None:
        """Channel and template names are non-empty, without surrounding spaces."""
        with pytest.raises(ValidationError, match=field):
            make(**{field: " email"})
        with pytest.raises(ValidationError, match=field):
            make(**{field: ""})

    def test_body_control_characters_are_refused(self) -> None:
        """A body may hold line breaks and tabs but not other control characters."""
        assert make(body="a\r\n\tb").body == "a\r\n\tb"
        with pytest.raises(ValidationError, match="body"):
            make(body="a\x1bb")

    def test_data_must_be_json(self) -> None:
        """Data that JSON cannot carry is refused."""
        with pytest.raises(ValidationError, match="plain JSON"):
            make(data={"when": NOW})
        with pytest.raises(ValidationError, match="plain JSON"):
            make(data={"x": float("nan")})

    def test_to_data_round_trip(self) -> None:
        """from_data(to_data()) gives the same notification, also through JSON."""
        n = make(
            ticket_key="HD-1",
            headers={"In-Reply-To": "<a@b>"},
            data={"target": "resolution", "n": [1, 2.5, None, True]},
        )
        assert Notification.from_data(json.loads(json.dumps(n.to_data()))) == n

    def test_from_data_refuses_unknown_and_missing_keys(self) -> None:
        """Unknown keys and missing required keys are named."""
        data = make().to_data()
        with pytest.raises(ValidationError, match="unknown notification keys bcc"):
            Notification.from_data({**data, "bcc": ["x@y.z"]})
        del data["subject"]
        with pytest.raises(ValidationError, match="lacks subject"):
            Notification.from_data(data)
        with pytest.raises(ValidationError, match="must be a mapping"):
            Notification.from_data([])  # type: ignore[arg-type]

    def test_outbox_item(self) -> None:
        """outbox_item carries the data, channel, tenant and ticket and is due at once."""
        n = make(channel="hooks")
        later = NOW.astimezone(timezone(timedelta(hours=2)))
        item = n.outbox_item(later, ticket_id=7, tenant="acme")
        assert item.id == 0
        assert item.channel == "hooks"
        assert item.ticket_id == 7
        assert item.tenant == "acme"
        assert item.created == item.next_attempt_at == NOW
        assert Notification.from_data(item.payload) == n


_line = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() == s and s.strip())
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    channel=_line,
    template=_line,
    recipients=st.lists(_line, max_size=5),
    subject=_line | st.just(""),
    body=st.text(st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from("\n\r\t")),
    key=st.none() | _line,
    headers=st.dictionaries(
        st.from_regex(r"X-Test-[A-Za-z0-9-]{1,10}", fullmatch=True), _line, max_size=3
    ),
    data=st.dictionaries(st.text(max_size=5), _json, max_size=3),
)
def test_round_trip_property(
    channel: str,
    template: str,
    recipients: list[str],
    subject: str,
    body: str,
    key: str | None,
    headers: dict[str, str],
    data: dict[str, object],
) -> None:
    """Any valid notification comes back equal from its JSON data."""
    lowered = {k.lower() for k in headers}
    if len(lowered) != len(headers):
        return
    n = Notification(
        channel=channel,
        template=template,
        recipients=recipients,
        subject=subject,
        body=body,
        ticket_key=key,
        headers=headers,
        data=data,
    )
    assert Notification.from_data(json.loads(json.dumps(n.to_data()))) == n


class TestCallbackNotifier:
    def test_calls_the_callback(self) -> None:
        """send hands the notification to the callback, and it is a Notifier."""
        got: list[Notification] = []
        notifier = CallbackNotifier(got.append)
        assert isinstance(notifier, Notifier)
        n = make()
        notifier.send(n)
        assert got == [n]

    def test_errors_propagate(self) -> None:
        """A callback that raises makes send raise."""

        def fail(n: Notification) -> None:
            raise NotificationError("down", permanent=True)

        with pytest.raises(NotificationError, match="down") as info:
            CallbackNotifier(fail).send(make())
        assert info.value.permanent

    def test_refuses_non_callables(self) -> None:
        """A callback that is not callable is refused."""
        with pytest.raises(ValidationError, match="needs a function"):
            CallbackNotifier("print")  # type: ignore[arg-type]
