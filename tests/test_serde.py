"""ticketkit.serde: JSON in and out through the library's own cattrs converter."""

from __future__ import annotations

import json
import types
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import strategies
from ticketkit import serde
from ticketkit._access_log import Denial
from ticketkit._errors import ValidationError
from ticketkit._events import Event, EventType
from ticketkit._fields import FieldDef, FieldType
from ticketkit._guards import GuardContext
from ticketkit._model import Attachment, Comment, Link, LinkKind, Ticket
from ticketkit._priority import DEFAULT_MATRIX, Impact, Priority, PriorityMatrix, Urgency
from ticketkit._query import Condition, Op, Page, Query, check_query
from ticketkit._workflow import Action, Category, State, Workflow
from ticketkit.kb import Article, ArticleRevision, ArticleStatus, Solution, Suggestions

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def round_trip(obj: Any, cls: type[Any] | None = None) -> Any:
    """Through unstructure, json.dumps, json.loads and structure."""
    text = json.dumps(serde.unstructure(obj))
    return serde.structure(json.loads(text), cls or type(obj))


def assert_plain(data: Any) -> None:
    """Only the exact JSON types: no enum members, tuples or str subclasses."""
    if isinstance(data, dict):
        for key, value in data.items():
            assert type(key) is str
            assert_plain(value)
    elif isinstance(data, list):
        for value in data:
            assert_plain(value)
    else:
        assert data is None or type(data) in (str, int, float, bool), repr(data)


def sample_ticket() -> Ticket:
    return Ticket(
        id=7,
        key="HD-7",
        title="Mail is down",
        description="Since 9:00.\nNobody can send.",
        status="open",
        priority=Priority.P2,
        reporter="bob@example.com",
        queue="it",
        created=AT,
        updated=AT + timedelta(minutes=5),
        version=2,
        assignee="alice",
        impact=Impact.HIGH,
        urgency=Urgency.MEDIUM,
        tags=frozenset({"mail", "outage"}),
        fields={
            "cost": Decimal("12.50"),
            "due": date(2026, 3, 1),
            "platforms": ("linux", "mac"),
            "count": 3,
            "billable": True,
        },
        watchers=frozenset({"carol", "alice"}),
        links=frozenset({Link(LinkKind.BLOCKS, "HD-9"), Link(LinkKind.RELATES, "HD-2")}),
    )


class TestTicketRoundTrip:
    @given(strategies.tickets())
    def test_round_trip(self, ticket: Ticket) -> None:
        """Every ticket survives unstructure, JSON and structure unchanged."""
        assert round_trip(ticket) == ticket

    @given(strategies.tickets())
    def test_json_ready(self, ticket: Ticket) -> None:
        """The unstructured form goes through json.dumps with no default=."""
        data = serde.unstructure(ticket)
        json.dumps(data, allow_nan=False)
        assert_plain(data)

    @given(strategies.tickets())
    def test_to_json_and_back(self, ticket: Ticket) -> None:
        """to_json and from_json are inverses."""
        assert serde.from_json(serde.to_json(ticket), Ticket) == ticket

    def test_json_shape(self) -> None:
        """A ticket's JSON shape is pinned: front ends rely on it."""
        assert serde.unstructure(sample_ticket()) == {
            "id": 7,
            "key": "HD-7",
            "title": "Mail is down",
            "description": "Since 9:00.\nNobody can send.",
            "status": "open",
            "priority": "P2",
            "reporter": "bob@example.com",
            "queue": "it",
            "created": "2026-01-05T09:00:00+00:00",
            "updated": "2026-01-05T09:05:00+00:00",
            "version": 2,
            "assignee": "alice",
            "impact": "high",
            "urgency": "medium",
            "resolution": None,
            "tags": ["mail", "outage"],
            "fields": {
                "billable": True,
                "cost": {"$decimal": "12.50"},
                "count": 3,
                "due": {"$date": "2026-03-01"},
                "platforms": ["linux", "mac"],
            },
            "watchers": ["alice", "carol"],
            "links": [{"kind": "blocks", "key": "HD-9"}, {"kind": "relates", "key": "HD-2"}],
            "merged_into": None,
            "resolved_at": None,
            "tenant": "default",
            "organisation": None,
        }

    def test_fields_come_back_read_only(self) -> None:
        """Custom fields are read back as a read-only mapping, as the model keeps them."""
        back = round_trip(sample_ticket())
        assert isinstance(back.fields, types.MappingProxyType)
        assert back.fields["cost"] == Decimal("12.50")

    def test_optional_keys_may_be_left_out(self) -> None:
        """Keys with defaults (assignee, tags, fields, ...) may be missing from the input."""
        data = serde.unstructure(sample_ticket())
        for key in ("assignee", "tags", "fields", "watchers", "links", "resolved_at"):
            del data[key]
        ticket = serde.structure(data, Ticket)
        assert ticket.assignee is None
        assert ticket.tags == frozenset()

    def test_offsets_are_read_as_utc(self) -> None:
        """An aware datetime with another offset (or Z) is read as the same instant in UTC."""
        data = serde.unstructure(sample_ticket())
        data["created"] = "2026-01-05T10:00:00+01:00"
        data["updated"] = "2026-01-05T09:05:00Z"
        ticket = serde.structure(data, Ticket)
        assert ticket.created == AT
        assert ticket.created.tzinfo is UTC
        assert ticket.updated.utcoffset() == timedelta(0)

    def test_non_utc_datetimes_keep_their_offset_on_output(self) -> None:
        """Unstructuring writes the datetime's own offset."""
        tz = timezone(timedelta(hours=2))
        ticket = sample_ticket()
        data = serde.unstructure(Comment(1, 7, "HD-7", "bob", "hi", ticket.created.astimezone(tz)))
        assert data["created"] == "2026-01-05T11:00:00+02:00"

    def test_priority_accepts_its_lenient_forms(self) -> None:
        """A priority may be read as "p1" or 1 as well as "P1"; it is always written "P1"."""
        data = serde.unstructure(sample_ticket())
        for given_ in ("p1", 1, "P1"):
            data["priority"] = given_
            assert serde.structure(data, Ticket).priority is Priority.P1


class TestModelRoundTrip:
    @given(strategies.comments())
    def test_comment(self, comment: Comment) -> None:
        """Comments round-trip."""
        assert round_trip(comment) == comment

    @given(strategies.denials())
    def test_denial(self, denial: Denial) -> None:
        """Denied attempts round-trip."""
        assert round_trip(denial) == denial

    def test_redacted_comment_shape(self) -> None:
        """A redacted comment says when and by whom; an unredacted one has nulls there."""
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        plain = Comment(3, 7, "HD-7", "bob", "hello", at)
        data = serde.unstructure(plain)
        assert (data["redacted_at"], data["redacted_by"]) == (None, None)
        redacted = Comment(3, 7, "HD-7", "bob", "[redacted]", at, False, at, "admin")
        data = serde.unstructure(redacted)
        assert (data["redacted_at"], data["redacted_by"]) == ("2026-01-05T09:00:00+00:00", "admin")
        assert round_trip(redacted) == redacted

    def test_ticket_without_tenant_keys_is_of_the_default_tenant(self) -> None:
        """JSON written before tenants existed still reads: tenant 'default', no organisation."""
        data = serde.unstructure(sample_ticket())
        del data["tenant"], data["organisation"]
        ticket = serde.structure(data, Ticket)
        assert (ticket.tenant, ticket.organisation) == ("default", None)

    def test_bad_denial_is_refused(self) -> None:
        """A denial without a principal is a ValidationError naming the field."""
        data = serde.unstructure(
            Denial(datetime(2026, 1, 5, tzinfo=UTC), "bob", "customer", "acme", "read", None, "no")
        )
        data["principal"] = ""
        with pytest.raises(ValidationError, match="principal"):
            serde.structure(data, Denial)

    @given(strategies.attachments())
    def test_attachment(self, attachment: Attachment) -> None:
        """Attachments round-trip."""
        assert round_trip(attachment) == attachment

    @given(strategies.links())
    def test_link(self, link: Link) -> None:
        """Links round-trip as {"kind", "key"}."""
        assert round_trip(link) == link
        assert set(serde.unstructure(link)) == {"kind", "key"}

    @given(strategies.field_defs())
    def test_field_def(self, fd: FieldDef) -> None:
        """Field definitions round-trip, decimal limits included."""
        assert round_trip(fd) == fd

    @given(strategies.priority_matrices())
    def test_priority_matrix(self, matrix: PriorityMatrix) -> None:
        """Priority matrices round-trip through a list of cells."""
        assert round_trip(matrix) == matrix

    @given(strategies.pages())
    def test_page(self, page: Page) -> None:
        """Pages of tickets round-trip with their cursor."""
        assert round_trip(page) == page

    @given(strategies.articles())
    def test_article(self, article: Article) -> None:
        """Knowledge-base articles round-trip; the status is its value."""
        assert round_trip(article) == article
        assert serde.unstructure(article)["status"] == article.status.value

    @given(strategies.article_revisions())
    def test_article_revision(self, revision: ArticleRevision) -> None:
        """Article revisions round-trip."""
        assert round_trip(revision) == revision

    @given(strategies.solutions())
    def test_solution(self, solution: Solution) -> None:
        """Solution links round-trip."""
        assert round_trip(solution) == solution

    @given(strategies.suggestions())
    def test_suggestions(self, found: Suggestions) -> None:
        """Suggestions (articles with the tickets they solved, similar tickets) round-trip."""
        assert round_trip(found) == found

    def test_sla_status_is_plain_json(self) -> None:
        """SLA clocks: enums as values, lengths of time as seconds; it reads back equal."""
        from ticketkit import Automation, FrozenClock, Tracker
        from ticketkit.sla import SLAPolicy, SLAStatus, Target, TargetKind

        sla = SLAPolicy((Target(TargetKind.FIRST_RESPONSE, "1h 30m"),))
        tracker = Tracker.in_memory(
            clock=FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC)), automation=Automation(sla=sla)
        )
        status = tracker.sla_status(tracker.open("Mail", actor="ann@example.com").key)
        data = json.loads(json.dumps(serde.unstructure(status)))
        (target,) = data["targets"]
        assert (target["kind"], target["state"], target["within"], target["elapsed"]) == (
            "first_response",
            "running",
            5400,
            0,
        )
        assert serde.structure(data, SLAStatus) == status

    @given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1000)), st.dates())
    def test_time_entries(self, spent: timedelta, on: date) -> None:
        """A time entry's length is seconds (fractions kept), its day a tagged date."""
        from ticketkit import TimeEntry, TimeLog

        entry = TimeEntry(1, 2, "HD-2", "ann", spent, on, datetime(2026, 1, 5, tzinfo=UTC))
        log = TimeLog("HD-2", (entry,), estimate=timedelta(hours=2))
        data = json.loads(json.dumps(serde.unstructure(log)))
        assert data["estimate"] == 7200
        assert data["entries"][0]["on"] == {"$date": on.isoformat()}
        assert serde.structure(data, TimeLog) == log

    def test_a_length_of_time_reads_the_duration_form(self) -> None:
        assert serde.structure("1h 30m", timedelta) == timedelta(minutes=90)
        with pytest.raises(ValidationError, match="not a length of time"):
            serde.structure("soon", timedelta)

    def test_bad_article_status_is_refused(self) -> None:
        """An unknown article status is a ValidationError naming the field."""
        data = serde.unstructure(
            Article(
                1,
                "T",
                "B",
                ArticleStatus.DRAFT,
                1,
                "a",
                datetime(2026, 1, 5, tzinfo=UTC),
                "a",
                datetime(2026, 1, 5, tzinfo=UTC),
            )
        )
        data["status"] = "hidden"
        with pytest.raises(ValidationError, match=r"status"):
            serde.structure(data, Article)

    def test_default_matrix_shape(self) -> None:
        """The matrix is {"cells": [{"impact", "urgency", "priority"}]}, high impact first."""
        data = serde.unstructure(DEFAULT_MATRIX)
        assert data["cells"][0] == {"impact": "high", "urgency": "high", "priority": "P1"}
        assert len(data["cells"]) == 9

    def test_field_def_shape(self) -> None:
        """A field definition's limits use the tagged decimal form of custom values."""
        fd = FieldDef("cost", FieldType.DECIMAL, min_value=Decimal("0.5"), max_value=10)
        data = serde.unstructure(fd)
        assert data["type"] == "decimal"
        assert data["min_value"] == {"$decimal": "0.5"}
        assert data["max_value"] == 10


class TestEventRoundTrip:
    @given(strategies.events())
    def test_round_trip(self, event: Event) -> None:
        """Events round-trip; old, new and data are JSON values already."""
        assert round_trip(event) == event
        assert_plain(serde.unstructure(event))

    def test_json_shape(self) -> None:
        """An event's JSON shape is pinned: front ends rely on it."""
        event = Event(
            ticket_id=7,
            ticket_key="HD-7",
            version=3,
            type=EventType.FIELD_CHANGED,
            actor="alice",
            at=AT,
            field="priority",
            old="P3",
            new="P1",
            data={"reason": "customer called"},
            id=42,
        )
        assert serde.unstructure(event) == {
            "ticket_id": 7,
            "ticket_key": "HD-7",
            "version": 3,
            "type": "field_changed",
            "actor": "alice",
            "at": "2026-01-05T09:00:00+00:00",
            "field": "priority",
            "old": "P3",
            "new": "P1",
            "data": {"reason": "customer called"},
            "id": 42,
        }


class TestQueryRoundTrip:
    @given(strategies.conditions())
    def test_condition(self, condition: Condition) -> None:
        """Checked conditions round-trip: values are read back by their field."""
        assert round_trip(condition) == condition

    @given(strategies.queries())
    def test_query(self, query: Query) -> None:
        """Checked queries round-trip, cursor included."""
        assert round_trip(query) == query
        assert_plain(serde.unstructure(query))

    @given(strategies.queries())
    def test_strategy_gives_checked_queries(self, query: Query) -> None:
        """The query strategy draws queries that check_query leaves as they are."""
        assert check_query(query, strategies.SAMPLE_FIELD_DEFS) == query

    def test_condition_shape(self) -> None:
        """A condition is {"field", "op", "value"}; in-lists are sorted."""
        cond = Condition("priority", Op.IN, frozenset({Priority.P2, Priority.P1}))
        assert serde.unstructure(cond) == {"field": "priority", "op": "in", "value": ["P1", "P2"]}

    def test_any_condition(self) -> None:
        """An 'any' condition round-trips with its inner conditions, values read by field."""
        cond = Condition(
            "any",
            Op.ANY,
            (Condition("priority", Op.EQ, Priority.P1), Condition("tenant", Op.EQ, "acme")),
        )
        data = serde.unstructure(cond)
        assert data == {
            "field": "any",
            "op": "any",
            "value": [
                {"field": "priority", "op": "eq", "value": "P1"},
                {"field": "tenant", "op": "eq", "value": "acme"},
            ],
        }
        assert serde.structure(json.loads(json.dumps(data)), Condition) == cond

    def test_raw_query_from_a_front_end(self) -> None:
        """A query typed by a front end reads into the same query once checked."""
        data = {
            "conditions": [
                {"field": "priority", "op": "in", "value": ["P1", "p2"]},
                {"field": "fields.cost", "op": "gt", "value": 1.5},
                {"field": "created", "op": "ge", "value": "2026-01-01T00:00:00Z"},
            ],
            "order_by": ["-priority"],
        }
        query = serde.structure(data, Query)
        built = Query.build(
            [
                Condition("priority", Op.IN, ["P1", "P2"]),
                Condition("fields.cost", Op.GT, 1.5),
                Condition("created", Op.GE, datetime(2026, 1, 1, tzinfo=UTC)),
            ],
            order_by="-priority",
        )
        defs = strategies.SAMPLE_FIELD_DEFS
        assert check_query(query, defs) == check_query(built, defs)


def _needs_review(ctx: GuardContext) -> str | None:
    return None


class TestWorkflowRoundTrip:
    @given(strategies.workflows())
    def test_builtin_workflows(self, workflow: Workflow) -> None:
        """The built-in workflows round-trip in Workflow.to_data's form."""
        assert round_trip(workflow) == workflow
        assert serde.unstructure(workflow) == workflow.to_data()

    def test_custom_guards_come_from_the_converter(self) -> None:
        """Custom guards are named on the way out and found on the way back by guards=."""
        workflow = Workflow(
            "review",
            [State("new", Category.NEW), State("done", Category.CLOSED)],
            [
                Action("finish", frozenset({"new"}), "done", guards=(_needs_review,)),
                Action("reopen", frozenset({"done"}), "new"),
            ],
            "new",
        )
        converter = serde.make_converter(guards={"needs_review": _needs_review})
        data = serde.unstructure(workflow, converter=converter)
        assert data["actions"][0]["guards"] == [{"guard": "needs_review"}]
        assert serde.structure(data, Workflow, converter=converter) == workflow

    def test_unknown_custom_guard_is_refused(self) -> None:
        """Reading a workflow whose custom guard is not registered raises ValidationError."""
        data = {
            "name": "review",
            "initial": "new",
            "states": [{"name": "new", "category": "new"}, {"name": "done", "category": "closed"}],
            "actions": [
                {
                    "name": "finish",
                    "sources": ["new"],
                    "target": "done",
                    "guards": [{"guard": "x"}],
                },
                {"name": "reopen", "sources": ["done"], "target": "new"},
            ],
        }
        with pytest.raises(ValidationError, match="unknown guard 'x'"):
            serde.structure(data, Workflow)


class TestBadData:
    def _ticket_data(self, **changes: Any) -> dict[str, Any]:
        data: dict[str, Any] = serde.unstructure(sample_ticket())
        data.update(changes)
        return data

    def test_wrong_type(self) -> None:
        """A value of the wrong type is named with its path."""
        with pytest.raises(ValidationError, match=r"expected a whole number.*\$\.id") as info:
            serde.structure(self._ticket_data(id="seven"), Ticket)
        assert info.value.field == "id"

    def test_no_silent_str_conversion(self) -> None:
        """Numbers are not turned into strings, nor booleans into numbers."""
        with pytest.raises(ValidationError, match=r"expected a string.*\$\.title"):
            serde.structure(self._ticket_data(title=5), Ticket)
        with pytest.raises(ValidationError, match=r"\$\.version"):
            serde.structure(self._ticket_data(version=True), Ticket)

    def test_missing_key(self) -> None:
        """A missing required key is reported by name."""
        data = self._ticket_data()
        del data["title"]
        with pytest.raises(ValidationError, match=r"required field missing @ \$\.title"):
            serde.structure(data, Ticket)

    def test_extra_key(self) -> None:
        """An unknown key is refused, so typos do not pass silently."""
        with pytest.raises(ValidationError, match=r"extra fields found \(titel\)"):
            serde.structure(self._ticket_data(titel="x"), Ticket)

    def test_naive_datetime(self) -> None:
        """A datetime without an offset is refused."""
        with pytest.raises(ValidationError, match=r"no UTC offset.*\$\.created"):
            serde.structure(self._ticket_data(created="2026-01-05T09:00:00"), Ticket)

    def test_not_a_datetime(self) -> None:
        """A string that is no ISO 8601 datetime is refused."""
        with pytest.raises(ValidationError, match=r"not an ISO 8601.*\$\.updated"):
            serde.structure(self._ticket_data(updated="yesterday"), Ticket)

    def test_unknown_priority(self) -> None:
        """An unknown priority names the allowed ones."""
        with pytest.raises(ValidationError, match=r"unknown priority 'P9'.*P1, P2"):
            serde.structure(self._ticket_data(priority="P9"), Ticket)

    def test_unknown_enum_value(self) -> None:
        """An unknown enum value names the allowed ones."""
        with pytest.raises(ValidationError, match=r"unknown impact 'huge'"):
            serde.structure(self._ticket_data(impact="huge"), Ticket)
        bad_event = serde.unstructure(Event(1, "HD-1", 1, EventType.OPENED, "bob", AT))
        bad_event["type"] = "exploded"
        with pytest.raises(ValidationError, match=r"unknown EventType 'exploded'.*opened"):
            serde.structure(bad_event, Event)

    def test_string_for_a_set(self) -> None:
        """A string where a list belongs is refused, not split into characters."""
        with pytest.raises(ValidationError, match=r"expected a list.*\$\.tags"):
            serde.structure(self._ticket_data(tags="mail"), Ticket)

    def test_bad_custom_field_value(self) -> None:
        """A custom value that is not in the tagged form is refused."""
        with pytest.raises(ValidationError, match=r"custom-field value.*fields"):
            serde.structure(self._ticket_data(fields={"cost": 1.5}), Ticket)

    def test_several_problems_are_all_named(self) -> None:
        """Every problem is listed, not just the first."""
        with pytest.raises(ValidationError) as info:
            serde.structure(self._ticket_data(id="x", priority="P0"), Ticket)
        assert "$.id" in str(info.value)
        assert "$.priority" in str(info.value)

    def test_not_an_object(self) -> None:
        """A list or string where an object belongs is refused."""
        for data in ([1, 2], "ticket", None):
            with pytest.raises(ValidationError, match="cannot read a Ticket"):
                serde.structure(data, Ticket)

    def test_incomplete_matrix(self) -> None:
        """A matrix missing a cell, or listing one twice, is refused."""
        cells = serde.unstructure(DEFAULT_MATRIX)["cells"]
        with pytest.raises(ValidationError, match="no priority for impact/urgency low/low"):
            serde.structure({"cells": cells[:-1]}, PriorityMatrix)
        with pytest.raises(ValidationError, match="twice"):
            serde.structure({"cells": [*cells, cells[0]]}, PriorityMatrix)

    def test_bad_condition_value(self) -> None:
        """A condition value that cannot be read for its field names the field."""
        data = {"conditions": [{"field": "priority", "op": "eq", "value": "urgent"}]}
        with pytest.raises(ValidationError, match=r"'priority'.*unknown priority 'urgent'"):
            serde.structure(data, Query)

    def test_invalid_json(self) -> None:
        """from_json refuses text that is not JSON."""
        with pytest.raises(ValidationError, match="not valid JSON"):
            serde.from_json("{", Ticket)

    def test_validation_error_is_a_ticketkit_error(self) -> None:
        """cattrs' own exception groups never escape."""
        with pytest.raises(ValidationError) as info:
            serde.structure({}, Ticket)
        assert not isinstance(info.value, cattrs.BaseValidationError)


class TestConverter:
    def test_new_converter_each_call(self) -> None:
        """make_converter builds a fresh converter every time."""
        assert serde.make_converter() is not serde.make_converter()

    def test_global_converter_untouched(self) -> None:
        """Nothing is registered on cattrs' global converter."""
        serde.make_converter()
        assert cattrs.unstructure(Priority.P2) == 2
        assert cattrs.global_converter.unstructure(AT) == AT

    def test_configure_functions_compose(self) -> None:
        """A host can apply single configure_* functions to its own converter."""
        converter = cattrs.Converter()
        serde.configure_datetimes(converter)
        serde.configure_enums(converter)
        assert converter.unstructure(AT) == "2026-01-05T09:00:00+00:00"
        assert converter.unstructure(Priority.P3) == "P3"
        assert converter.structure("p4", Priority) is Priority.P4

    def test_default_converter_is_built_lazily(self) -> None:
        """Importing serde builds no converter; the first use does, and it is reused."""
        serde._default_converter.cache_clear()
        assert serde._default_converter.cache_info().currsize == 0
        serde.unstructure(AT)
        first = serde._default_converter()
        serde.to_json(Priority.P1)
        assert serde._default_converter() is first

    def test_to_json_indent(self) -> None:
        """to_json passes indent through to json.dumps."""
        assert serde.to_json(Link(LinkKind.BLOCKS, "HD-1"), indent=2).startswith("{\n  ")
