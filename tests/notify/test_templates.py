"""Templates: defaults for each kind of message, overrides checked when set."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ticketkit
from ticketkit import ValidationError
from ticketkit.notify import Templates
from ticketkit.notify._templates import DEFAULT_TEMPLATES, PLACEHOLDERS, Template

CONTEXT = {
    "key": "HD-12",
    "title": "Mail is down",
    "status": "open",
    "priority": "P2",
    "assignee": "alice",
    "reporter": "bob@example.com",
    "target": "resolution",
    "due": "2026-03-02 17:00 UTC",
    "level": "tier2",
    "text": "Please check.",
}


class TestDefaults:
    def test_every_kind_has_a_default(self) -> None:
        """The built-in names are all there."""
        assert set(Templates().names) >= {
            "created",
            "assigned",
            "status_changed",
            "sla_warning",
            "sla_breached",
            "escalated",
            "reminder",
            "rule",
        }

    def test_created_acknowledges_with_the_key(self) -> None:
        """The acknowledgement's subject is '[KEY] title' and the body names the key."""
        subject, body = Templates().render("created", CONTEXT)
        assert subject == "[HD-12] Mail is down"
        assert "HD-12" in body
        assert "bob@example.com" in body

    @pytest.mark.parametrize("name", sorted(DEFAULT_TEMPLATES))
    def test_every_default_renders_the_key_in_the_subject(self, name: str) -> None:
        """Every default subject carries [KEY] so replies thread onto the ticket."""
        subject, body = Templates().render(name, CONTEXT)
        assert subject.startswith("[HD-12] ")
        assert "\n" not in subject
        assert body

    def test_sla_and_escalation_name_their_details(self) -> None:
        """SLA messages name the target and due time; escalation the level."""
        t = Templates()
        assert "resolution" in t.render("sla_warning", CONTEXT)[0]
        assert "2026-03-02 17:00 UTC" in t.render("sla_breached", CONTEXT)[1]
        assert "tier2" in t.render("escalated", CONTEXT)[0]
        assert t.render("rule", CONTEXT)[1] == "Please check.\n"

    def test_missing_context_values_render_empty(self) -> None:
        """A placeholder the context lacks renders as empty text."""
        assert Templates().render("rule", {"key": "HD-1"}) == ("[HD-1]", "\n")


class TestRender:
    def test_subject_is_one_line_whatever_the_title(self) -> None:
        """Line breaks in a title become spaces: a title can never add a header."""
        context = {**CONTEXT, "title": "Down\r\nBcc: evil@example.com\n\nX"}
        subject, _ = Templates().render("created", context)
        assert subject == "[HD-12] Down Bcc: evil@example.com X"

    def test_long_subjects_are_cut(self) -> None:
        """A subject longer than 500 characters is cut with an ellipsis."""
        subject, _ = Templates().render("created", {**CONTEXT, "title": "x" * 2000})
        assert len(subject) == 500
        assert subject.endswith("…")

    def test_body_line_endings_and_controls(self) -> None:
        """Body line endings become \\n and stray control characters go."""
        _, body = Templates().render("rule", {"text": "a\r\nb\rc\x1bd\te"})
        assert body == "a\nb\ncd\te\n"

    def test_dollar_in_values_is_kept(self) -> None:
        """Values are inserted as they are, never read as placeholders."""
        _, body = Templates().render("rule", {"text": "costs $title $$"})
        assert body == "costs $title $$\n"

    def test_unknown_template(self) -> None:
        """Rendering an unknown name is refused, listing the known ones."""
        with pytest.raises(ValidationError, match=r"no template named 'nope'.*created"):
            Templates().render("nope", CONTEXT)

    def test_context_values_must_be_text(self) -> None:
        """A non-text context value is refused, naming it."""
        with pytest.raises(ValidationError, match="'due' must be text"):
            Templates().render("sla_warning", {"due": 5})  # type: ignore[dict-item]

    def test_notification(self) -> None:
        """notification() renders into a Notification with the key and channel."""
        n = Templates().notification(
            "assigned", CONTEXT, channel="email", recipients=["alice@example.com"]
        )
        assert n.template == "assigned"
        assert n.channel == "email"
        assert n.ticket_key == "HD-12"
        assert n.recipients == ("alice@example.com",)
        assert n.subject == "[HD-12] Assigned to alice: Mail is down"


class TestOverrides:
    def test_override_and_add(self) -> None:
        """Overrides replace a default or add a name; the rest stay."""
        t = Templates(
            {
                "created": ("Re: $title [$key]", "Thanks"),
                "vip": {"subject": "VIP $key", "body": "$text"},
            }
        )
        assert t.render("created", CONTEXT) == ("Re: Mail is down [HD-12]", "Thanks")
        assert t.render("vip", CONTEXT) == ("VIP HD-12", "Please check.")
        assert t.render("assigned", CONTEXT) == Templates().render("assigned", CONTEXT)

    def test_with_template(self) -> None:
        """with_template returns a changed copy."""
        base = Templates()
        changed = base.with_template("reminder", "Ping $key", "$text")
        assert changed.render("reminder", CONTEXT)[0] == "Ping HD-12"
        assert base.render("reminder", CONTEXT)[0] == "[HD-12] Reminder: Mail is down"

    @pytest.mark.parametrize("text", ["$nope", "${secret}", "Hello $", "$1"])
    def test_unknown_placeholders_are_refused_when_set(self, text: str) -> None:
        """A placeholder outside the known set is refused at once."""
        with pytest.raises(ValidationError, match="placeholder"):
            Templates().with_template("created", "[$key]", text)
        with pytest.raises(ValidationError, match="placeholder"):
            Templates({"created": (text, "body")})

    def test_subject_templates_are_single_lines(self) -> None:
        """A subject template with a line break (or empty) is refused."""
        with pytest.raises(ValidationError, match="one non-empty line"):
            Template("[$key]\nBcc: x@y.z", "body")
        with pytest.raises(ValidationError, match="one non-empty line"):
            Template("  ", "body")

    def test_bad_names_and_shapes(self) -> None:
        """Template names are lower-case words; entries are templates or pairs."""
        with pytest.raises(ValidationError, match="not a template name"):
            Templates({"Bad Name": ("a", "b")})
        with pytest.raises(ValidationError, match="must be a Template"):
            Templates({"x": "just a string"})
        with pytest.raises(ValidationError, match="exactly the keys subject and body"):
            Templates({"x": {"subject": "a"}})

    def test_data_round_trip(self) -> None:
        """to_data keeps only overrides; from_data restores them through JSON."""
        t = Templates({"created": ("Hi $key", "x"), "vip": ("V", "$text")})
        data = t.to_data()
        assert set(data) == {"created", "vip"}
        assert Templates.from_data(json.loads(json.dumps(data))) == t
        assert Templates().to_data() == {}


_piece = st.sampled_from(sorted(f"${{{p}}}" for p in PLACEHOLDERS)) | st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="$\x85"),
    min_size=1,
    max_size=8,
)


@given(subject=st.lists(_piece, min_size=1, max_size=6), body=st.lists(_piece, max_size=6))
def test_any_valid_template_round_trips(subject: list[str], body: list[str]) -> None:
    """Templates built from known placeholders and text round-trip through their data."""
    text = "".join(subject)
    if not text.strip():
        return
    t = Templates({"custom": (text, "".join(body))})
    assert Templates.from_data(json.loads(json.dumps(t.to_data()))) == t
    rendered, _ = t.render("custom", CONTEXT)
    assert "\n" not in rendered
    assert "\r" not in rendered


class TestTicketContext:
    def test_context_of_a_ticket(self) -> None:
        """context_for fills key, title, status, priority, assignee, reporter and extras."""
        tracker = ticketkit.Tracker.in_memory()
        ticket = tracker.open(title="Mail is down", description="", actor="bob@example.com")
        context = Templates.context_for(ticket, target="resolution", due="17:00")
        assert context == {
            "key": ticket.key,
            "title": "Mail is down",
            "status": ticket.status,
            "priority": str(ticket.priority),
            "assignee": "",
            "reporter": "bob@example.com",
            "target": "resolution",
            "due": "17:00",
        }
        subject, _ = Templates().render("sla_warning", context)
        assert subject == f"[{ticket.key}] SLA warning: resolution due 17:00"

    def test_unknown_or_non_text_extras_are_refused(self) -> None:
        """Extras must be known placeholders with text values."""
        ticket = ticketkit.Tracker.in_memory().open(title="x", description="", actor="bob")
        with pytest.raises(ValidationError, match="unknown template placeholder 'secret'"):
            Templates.context_for(ticket, secret="x")
        with pytest.raises(ValidationError, match="'due' must be text"):
            Templates.context_for(ticket, due=5)  # type: ignore[arg-type]
