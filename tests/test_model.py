"""Model building blocks: priorities, custom-field definitions, text checks, links."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ticketkit import (
    DEFAULT_MATRIX,
    FieldDef,
    Impact,
    LinkKind,
    Priority,
    PriorityMatrix,
    Urgency,
    ValidationError,
)
from ticketkit._events import Event, EventType
from ticketkit._fields import validate_field_values
from ticketkit._history import replay, snapshot
from ticketkit._model import Ticket, check_tag
from ticketkit._text import MAX_TITLE, check_body, check_title
from ticketkit._values import REDACTED, REDACTED_TEXT, decode


class TestPriority:
    def test_itil_matrix(self) -> None:
        """The default matrix is the ITIL 3 × 3: high/high is P1, low/low is P5."""
        assert DEFAULT_MATRIX.priority("high", "high") is Priority.P1
        assert DEFAULT_MATRIX.priority(Impact.HIGH, Urgency.MEDIUM) is Priority.P2
        assert DEFAULT_MATRIX.priority("medium", "medium") is Priority.P3
        assert DEFAULT_MATRIX.priority("low", "medium") is Priority.P4
        assert DEFAULT_MATRIX.priority("low", "low") is Priority.P5

    def test_matrix_must_be_complete(self) -> None:
        """A matrix with a missing cell is refused, naming the cell."""
        with pytest.raises(ValidationError, match="low/low"):
            PriorityMatrix({(Impact.HIGH, Urgency.HIGH): Priority.P1})

    @pytest.mark.parametrize("value", ["P2", "p2", " P2 ", 2, Priority.P2])
    def test_parse(self, value: object) -> None:
        """Priorities are accepted as members, names in any case, or numbers 1 to 5."""
        assert Priority.parse(value) is Priority.P2

    def test_most_urgent_sorts_first(self) -> None:
        """Sorting ascending puts P1 first."""
        assert sorted([Priority.P3, Priority.P1, Priority.P5]) == [
            Priority.P1,
            Priority.P3,
            Priority.P5,
        ]
        assert str(Priority.P1) == "P1"
        assert Priority.P1.label == "critical"


class TestFieldDef:
    def test_choice_fields_need_choices(self) -> None:
        """A choice field without choices is refused when defined."""
        with pytest.raises(ValidationError, match="give it choices"):
            FieldDef("os", "choice")

    def test_other_fields_take_no_choices(self) -> None:
        """Choices on an int field are refused."""
        with pytest.raises(ValidationError, match="takes no choices"):
            FieldDef("n", "int", choices=("a",))

    @pytest.mark.parametrize("name", ["", "Bad", "1st", "with space", "x" * 64])
    def test_names(self, name: str) -> None:
        """Field names are lower-case identifiers of at most 63 characters."""
        with pytest.raises(ValidationError, match="not valid"):
            FieldDef(name, "text")

    def test_unknown_type(self) -> None:
        """An unknown field type is refused, naming the known types."""
        with pytest.raises(ValidationError, match="'colour'; use one of text"):
            FieldDef("c", "colour")

    @pytest.mark.parametrize(
        ("definition", "given", "stored"),
        [
            (FieldDef("t", "text"), "hello\nworld", "hello\nworld"),
            (FieldDef("n", "int"), 3, 3),
            (FieldDef("d", "decimal"), "1.50", Decimal("1.50")),
            (FieldDef("d", "decimal"), 2, Decimal(2)),
            (FieldDef("d", "decimal"), 0.1, Decimal("0.1")),
            (FieldDef("b", "bool"), False, False),
            (FieldDef("day", "date"), "2026-02-03", date(2026, 2, 3)),
            (FieldDef("c", "choice", choices=("a", "b")), "b", "b"),
            (FieldDef("m", "multi_choice", choices=("a", "b", "c")), ["c", "a", "c"], ("a", "c")),
            (FieldDef("u", "user"), " alice ", "alice"),
        ],
    )
    def test_values_are_normalised(
        self, definition: FieldDef, given: object, stored: object
    ) -> None:
        """Each type accepts its natural inputs and stores one canonical form."""
        assert definition.validate(given) == stored

    def test_range(self) -> None:
        """min_value and max_value bound numeric fields."""
        fd = FieldDef("n", "int", min_value=1, max_value=5)
        with pytest.raises(ValidationError, match="at most 5"):
            fd.validate(6)
        with pytest.raises(ValidationError, match="at least 1"):
            fd.validate(0)

    def test_empty_multi_choice_means_not_set(self) -> None:
        """Choosing nothing in a multi-choice field clears it, as None does."""
        defs = {"os": FieldDef("os", "multi_choice", choices=("linux", "mac"))}
        assert validate_field_values(defs, {"os": []}, current={"os": ("mac",)}) == {}

    def test_required_and_clearing(self) -> None:
        """None clears a field; a required field must end up set."""
        defs = {"a": FieldDef("a", "int", required=True), "b": FieldDef("b", "int")}
        assert validate_field_values(defs, {"b": None}, current={"a": 1, "b": 2}) == {"a": 1}
        with pytest.raises(ValidationError, match="'a' is required"):
            validate_field_values(defs, {"a": None}, current={"a": 1})


class TestText:
    def test_title_is_stripped(self) -> None:
        """Titles lose surrounding white space."""
        assert check_title("  Mail is down ") == "Mail is down"

    def test_title_limit(self) -> None:
        """Titles longer than the limit are refused with the length in the message."""
        with pytest.raises(ValidationError, match=str(MAX_TITLE + 1)):
            check_title("x" * (MAX_TITLE + 1))

    def test_body_keeps_tabs_and_newlines(self) -> None:
        """Descriptions may hold tabs and line breaks but no other controls."""
        assert check_body("a\tb\r\nc") == "a\tb\r\nc"
        with pytest.raises(ValidationError, match="U\\+001B"):
            check_body("colour \x1b[31m")


class TestLinksAndTags:
    def test_every_link_kind_has_an_inverse(self) -> None:
        """The inverse of the inverse is the kind itself."""
        for kind in LinkKind:
            assert kind.inverse.inverse is kind
        assert LinkKind.BLOCKS.inverse is LinkKind.BLOCKED_BY

    def test_tags_are_lower_case_words(self) -> None:
        """Tags are compared case-insensitively and may not contain spaces."""
        assert check_tag(" VIP ") == "vip"
        with pytest.raises(ValidationError, match="two words"):
            check_tag("two words")


class TestTenantsAndRedaction:
    def _opened(self, **snapshot_changes: object) -> list[Event]:
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        ticket = Ticket(
            1, "TK-1", "Printer", "Jams", "new", Priority.P3, "bob", "default", at, at, 1
        )
        data = snapshot(ticket)
        for name, value in snapshot_changes.items():
            if value is None:
                del data[name]
            else:
                data[name] = value
        return [Event(1, "TK-1", 1, EventType.OPENED, "bob", at, data={"ticket": data})]

    def test_snapshot_without_tenant_replays_as_the_default_tenant(self) -> None:
        """An opened event written before tenants existed replays as tenant 'default'."""
        ticket = replay(self._opened(tenant=None, organisation=None))
        assert (ticket.tenant, ticket.organisation) == ("default", None)

    def test_redacted_snapshot_values_replay_as_redacted(self) -> None:
        """The REDACTED marker reads as '[redacted]' for text and as not set otherwise."""
        ticket = replay(
            self._opened(description=dict(REDACTED), reporter=dict(REDACTED), watchers=REDACTED)
        )
        assert (ticket.description, ticket.reporter) == (REDACTED_TEXT, REDACTED_TEXT)
        assert ticket.watchers == frozenset()

    def test_marker_cannot_be_changed_and_status_cannot_be_redacted(self) -> None:
        """REDACTED is read-only; a value that is not personal data refuses the marker."""
        with pytest.raises(TypeError):
            REDACTED["$redacted"] = False  # type: ignore[index]
        with pytest.raises(ValidationError, match="status"):
            decode("status", dict(REDACTED))

    def test_field_def_internal_must_be_a_bool(self) -> None:
        """internal=True marks an agents-only field; anything but a bool is refused."""
        assert FieldDef("note", "text", internal=True).internal is True
        with pytest.raises(ValidationError, match="internal"):
            FieldDef("note", "text", internal="yes")  # type: ignore[arg-type]
