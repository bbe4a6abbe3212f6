"""ticketkit.intake.forms: a submitted form opens a ticket or says what is wrong."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from databases import fresh_database
from ticketkit import FieldDef, FrozenClock, Priority, Tracker, ValidationError
from ticketkit.access import DEFAULT_RULES, Principal, Role, RolePolicy
from ticketkit.intake.forms import FieldError, FormIntake, FormResult

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CODES = {
    "required",
    "invalid",
    "too_long",
    "multiple",
    "conflict",
    "unknown",
    "rate_limited",
    "forbidden",
}
FIELDS = [
    FieldDef("product", "choice", choices=["mail", "web", "vpn"], required=True),
    FieldDef("seats", "int", min_value=1, max_value=500),
    FieldDef("cost", "decimal", min_value=0),
    FieldDef("onsite", "bool"),
    FieldDef("due", "date"),
    FieldDef("platforms", "multi_choice", choices=["linux", "mac", "windows"]),
    FieldDef("contact", "user"),
    FieldDef("note", "text", max_length=20),
    FieldDef("triage", "text", internal=True),
]
QUEUES = {"support": "HD", "billing": "BIL"}


def make_tracker(clock: FrozenClock, url: str | None = None) -> Tracker:
    settings_: dict[str, Any] = {
        "clock": clock,
        "fields": FIELDS,
        "queues": QUEUES,
        "default_queue": "support",
    }
    return Tracker.from_url(url, **settings_) if url else Tracker.in_memory(**settings_)


@pytest.fixture
def tracker(backend: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Tracker]:
    if backend == "memory":
        with make_tracker(clock) as t:
            yield t
        return
    with fresh_database(backend, tmp_path) as url, make_tracker(clock, url) as t:
        yield t


@pytest.fixture
def form(tracker: Tracker) -> FormIntake:
    return FormIntake(tracker)


def valid(**extra: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "title": "Printer on floor 3 jams",
        "email": "ana@example.com",
        "fields.product": "web",
    }
    payload.update(extra)
    return payload


def all_tickets(tracker: Tracker) -> list[Any]:
    return list(tracker.query(None, limit=500))


def codes(result: FormResult) -> dict[str | None, str]:
    return {e.field: e.code for e in result.errors}


class TestAccepted:
    def test_web_form_strings_are_converted_to_the_field_types(
        self, form: FormIntake, tracker: Tracker
    ) -> None:
        """Every custom field type is read from the strings a browser sends."""
        result = form.submit(
            valid(
                **{
                    "description": "It jams.\r\nEvery time.",
                    "priority": "2",
                    "queue": "billing",
                    "tags": "printer, floor3  urgent",
                    "fields.seats": " 12 ",
                    "fields.cost": "19.90",
                    "fields.onsite": "on",
                    "fields.due": "2026-01-05",
                    "fields.platforms": ["mac", "linux"],
                    "fields.contact": "bob",
                    "fields.note": "call first",
                }
            ),
            client="203.0.113.7",
        )
        assert result.accepted
        assert result.errors == ()
        ticket = tracker.get(result.ticket.key)  # type: ignore[union-attr]
        assert ticket.key == "BIL-1"
        assert ticket.description == "It jams.\nEvery time."
        assert ticket.priority is Priority.P2
        assert ticket.tags == {"printer", "floor3", "urgent"}
        assert dict(ticket.fields) == {
            "contact": "bob",
            "cost": Decimal("19.90"),
            "due": date(2026, 1, 5),
            "note": "call first",
            "onsite": True,
            "platforms": ("linux", "mac"),
            "product": "web",
            "seats": 12,
        }

    def test_the_reporter_is_the_address_and_the_actor_of_the_opening(
        self, form: FormIntake, tracker: Tracker
    ) -> None:
        """The ticket is opened by the reporter, with the domain lower-cased."""
        result = form.submit(valid(email="  Ana.Lopez+hd@Example.COM "), client="c")
        assert result.ticket is not None
        assert result.ticket.reporter == "Ana.Lopez+hd@example.com"
        assert [e.actor for e in tracker.history(result.ticket.key)] == ["Ana.Lopez+hd@example.com"]

    def test_a_parsed_query_string_with_lists_of_one_value_is_accepted(
        self, form: FormIntake
    ) -> None:
        """``parse_qs`` output (every value a list) is a valid payload."""
        body = urlencode(
            {"title": "VPN drops", "email": "x@example.org", "fields.product": "vpn", "website": ""}
        )
        result = form.submit(parse_qs(body, keep_blank_values=True), client="c")
        assert result.ticket is not None
        assert result.ticket.title == "VPN drops"

    def test_a_json_body_with_typed_values_and_nested_fields_is_accepted(
        self, form: FormIntake
    ) -> None:
        """Numbers, booleans and lists pass as they are; ``fields`` may be nested."""
        result = form.submit(
            {
                "title": "Laptop",
                "email": "x@example.org",
                "priority": 1,
                "tags": ["Hardware"],
                "fields": {"product": "mail", "seats": 3, "cost": 2.5, "onsite": False},
                "website": None,
            },
            client="c",
        )
        assert result.ticket is not None
        assert result.ticket.priority is Priority.P1
        assert result.ticket.tags == {"hardware"}
        assert dict(result.ticket.fields) == {
            "cost": Decimal("2.5"),
            "onsite": False,
            "product": "mail",
            "seats": 3,
        }

    def test_impact_and_urgency_derive_the_priority(self, form: FormIntake) -> None:
        """Impact and urgency go through the tracker's priority matrix."""
        result = form.submit(valid(impact="high", urgency="high"), client="c")
        assert result.ticket is not None
        assert result.ticket.priority is Priority.P1

    def test_blank_optional_inputs_mean_not_given(self, form: FormIntake) -> None:
        """Empty strings from untouched inputs leave fields unset and defaults in place."""
        blank = dict.fromkeys(("description", "priority", "queue", "tags", "fields.seats"), "")
        result = form.submit(valid(**blank, **{"fields.platforms": []}), client="c")
        assert result.ticket is not None
        assert dict(result.ticket.fields) == {"product": "web"}
        assert result.ticket.queue == "support"
        assert result.ticket.priority is Priority.P3

    def test_to_json_names_the_new_key(self, form: FormIntake) -> None:
        """The client is told its ticket's key."""
        assert form.submit(valid(), client="c").to_json() == {"accepted": True, "key": "HD-1"}


BAD = [
    ({"title": "   "}, "title", "required"),
    ({"title": "x" * 256}, "title", "too_long"),
    ({"title": "two\nlines"}, "title", "invalid"),
    ({"title": ["a", "b"]}, "title", "multiple"),
    ({"title": 5}, "title", "invalid"),
    ({"description": "bell\x07"}, "description", "invalid"),
    ({"priority": "P9"}, "priority", "invalid"),
    ({"impact": "huge"}, "impact", "invalid"),
    ({"queue": "sales"}, "queue", "invalid"),
    ({"tags": ["ok", "x" * 65]}, "tags", "invalid"),
    ({"fields.product": "fax"}, "fields.product", "invalid"),
    ({"fields.product": ""}, "fields.product", "required"),
    ({"fields.seats": "3.0"}, "fields.seats", "invalid"),
    ({"fields.seats": "١٢"}, "fields.seats", "invalid"),
    ({"fields.seats": "501"}, "fields.seats", "invalid"),
    ({"fields.seats": True}, "fields.seats", "invalid"),
    ({"fields.cost": "NaN"}, "fields.cost", "invalid"),
    ({"fields.cost": "-1"}, "fields.cost", "invalid"),
    ({"fields.onsite": "maybe"}, "fields.onsite", "invalid"),
    ({"fields.due": "2026-02-30"}, "fields.due", "invalid"),
    ({"fields.due": "20260105"}, "fields.due", "invalid"),
    ({"fields.platforms": ["mac", "bsd"]}, "fields.platforms", "invalid"),
    ({"fields.contact": "a\nb"}, "fields.contact", "invalid"),
    ({"fields.note": "x" * 21}, "fields.note", "too_long"),
    ({"fields.triage": "hot"}, "fields.triage", "unknown"),
    ({"fields.colour": "red"}, "fields.colour", "unknown"),
    ({"assignee": "mallory"}, "assignee", "unknown"),
    ({"priority": "P1", "urgency": "low"}, "priority", "conflict"),
]

BAD_ADDRESSES = [
    "Ana <ana@example.com>",
    "ana@example.com, eve@example.net",
    "ana@example.com\r\nBcc: eve@example.net",
    "ana@localhost",
    "ana@exa_mple.com",
    "@example.com",
    "ana..x@example.com",
    ".ana@example.com",
    '"ana x"@example.com',
    "ana@[192.0.2.1]",
    "ana@-example.com",
    "anä@example.com",
    "a" * 65 + "@example.com",
    "ana@example.com (Ana)",
]


ANA = Principal("ana@acme.example", Role.CUSTOMER, "acme", organisation="Acme Ltd")


class TestThroughASession:
    def test_opens_as_the_principal_in_their_tenant_and_organisation(
        self, tracker: Tracker
    ) -> None:
        """A logged-in customer's form opens their ticket: no email needed, no other tenant."""
        result = FormIntake(tracker).submit(
            valid(email=None, description="Since Monday"),
            client="user:ana",
            session=tracker.session(ANA),
        )
        assert result.accepted, result.errors
        ticket = tracker.get(result.ticket.key)  # type: ignore[union-attr]
        assert (ticket.reporter, ticket.tenant, ticket.organisation) == (
            ANA.id,
            "acme",
            "Acme Ltd",
        )
        assert tracker.history(ticket.key)[0].actor == ANA.id
        assert tracker.session(ANA).get(ticket.key).description == "Since Monday"

    def test_their_own_address_is_accepted_another_refused(self, tracker: Tracker) -> None:
        form, session = FormIntake(tracker), tracker.session(ANA)
        own = form.submit(valid(email="Ana@Acme.example"), client="c", session=session)
        assert own.accepted
        other = form.submit(valid(email="bob@acme.example"), client="c", session=session)
        assert codes(other) == {"email": "invalid"}
        assert len(all_tickets(tracker)) == 1

    def test_a_principal_the_policy_forbids_is_refused_and_stores_nothing(
        self, tracker: Tracker
    ) -> None:
        """The session's policy decides create: a forbidden error, logged, no ticket."""
        tracker.policy = RolePolicy(
            {**DEFAULT_RULES, Role.CUSTOMER: DEFAULT_RULES[Role.CUSTOMER].revoke("create")}
        )
        session = tracker.session(ANA)
        result = FormIntake(tracker).submit(valid(email=None), client="c", session=session)
        assert codes(result) == {None: "forbidden"}
        assert "'create'" in result.errors[0].message
        assert all_tickets(tracker) == []
        admin = tracker.session(Principal("root", Role.ADMIN, "acme"))
        assert [d.permission for d in admin.denials()] == ["create"]

    def test_the_form_decides_the_fields_as_for_a_visitor(self, tracker: Tracker) -> None:
        """A customer sets what the form accepts (priority too), never an internal field."""
        form = FormIntake(tracker)
        result = form.submit(
            valid(email=None, priority="P2"), client="c", session=tracker.session(ANA)
        )
        assert result.ticket is not None
        assert result.ticket.priority == Priority.P2
        hidden = form.submit(
            valid(email=None, **{"fields.triage": "x"}), client="c", session=tracker.session(ANA)
        )
        assert codes(hidden) == {"fields.triage": "unknown"}

    def test_the_session_must_be_of_the_forms_tracker(self, tracker: Tracker) -> None:
        other = Tracker.in_memory()
        with pytest.raises(ValidationError, match="another tracker"):
            FormIntake(tracker).submit(valid(), client="c", session=other.session(ANA))

    def test_anonymous_forms_open_in_the_forms_tenant(self, tracker: Tracker) -> None:
        result = FormIntake(tracker, tenant="acme").submit(valid(), client="c")
        assert result.ticket is not None
        assert tracker.get(result.ticket.key).tenant == "acme"


class TestRefused:
    def test_every_problem_is_reported_at_once(self, form: FormIntake) -> None:
        """Missing keys and bad values come back together, one error each, in form order."""
        result = form.submit({"fields.seats": "many", "priority": "P0"}, client="c")
        assert not result.accepted
        assert result.ticket is None
        assert [(e.field, e.code) for e in result.errors] == [
            ("title", "required"),
            ("email", "required"),
            ("priority", "invalid"),
            ("fields.product", "required"),
            ("fields.seats", "invalid"),
        ]
        assert all(e.message for e in result.errors)

    @pytest.mark.parametrize(("extra", "key", "code"), BAD)
    def test_a_bad_value_is_refused_with_its_key_and_code(
        self, form: FormIntake, extra: dict[str, object], key: str, code: str
    ) -> None:
        """Each bad input is reported on the key the client sent."""
        result = form.submit(valid(**extra), client="c")
        assert codes(result) == {key: code}

    @pytest.mark.parametrize("address", BAD_ADDRESSES)
    def test_only_one_plain_address_is_a_reporter(self, form: FormIntake, address: str) -> None:
        """Names, lists, header injections and odd domains are refused."""
        result = form.submit(valid(email=address), client="c")
        assert codes(result) == {"email": "invalid"}
        assert "such as ana@example.com" in result.errors[0].message

    @pytest.mark.parametrize("payload", [["title", "x"], "title=x", None, {1: "x"}])
    def test_something_other_than_a_form_is_refused_as_a_whole(
        self, form: FormIntake, payload: Any
    ) -> None:
        """A payload that is not a mapping of names gets a form-wide error."""
        result = form.submit(payload, client="c")
        assert not result.accepted
        assert None in codes(result)

    def test_a_flood_of_keys_is_refused_without_a_list_of_them(self, form: FormIntake) -> None:
        """More than 100 keys is one error, not one per key."""
        result = form.submit({f"k{i}": "v" for i in range(5000)}, client="c")
        assert codes(result) == {None: "invalid"}

    def test_a_custom_field_given_flat_and_nested_is_refused(self, form: FormIntake) -> None:
        """``fields.<name>`` and ``{"fields": {name: ...}}`` may not both be given."""
        result = form.submit(valid(fields={"product": "mail"}), client="c")
        assert codes(result) == {"fields.product": "multiple"}

    def test_fields_that_is_not_a_mapping_is_an_unknown_key(self, form: FormIntake) -> None:
        """Only a JSON object nests custom fields."""
        assert codes(form.submit(valid(fields="product=web"), client="c")) == {"fields": "unknown"}

    def test_deeply_nested_lists_are_refused_not_recursed_into(self, form: FormIntake) -> None:
        """A JSON body of lists within lists is an invalid value, also in the honeypot."""
        deep: list[object] = []
        for _ in range(5000):
            deep = [deep]
        for key in ("title", "email", "tags", "priority", "fields.seats", "fields.platforms"):
            assert codes(form.submit(valid(**{key: deep}), client="c")) == {key: "invalid"}
        assert form.submit(valid(website=deep), client="c").spam
        assert codes(form.submit(deep, client="c")) == {None: "invalid"}  # type: ignore[arg-type]

    @pytest.mark.parametrize("key", ["priority", "queue", "fields.product", "fields.seats"])
    def test_an_error_never_echoes_a_huge_value(self, form: FormIntake, key: str) -> None:
        """Messages are at most 300 characters, whatever the client sent."""
        result = form.submit(valid(**{key: "x" * 100_000}), client="c")
        assert codes(result) == {key: "invalid"}
        assert len(result.errors[0].message) <= 300

    def test_a_huge_field_name_is_not_echoed_back(self, form: FormIntake) -> None:
        """Names longer than 100 characters get a short, form-wide error."""
        result = form.submit(valid(**{"x" * 10_000: "v"}), client="c")
        assert codes(result) == {None: "invalid"}
        assert len(result.errors[0].message) < 200

    def test_a_required_field_is_named_by_its_label(self, tracker: Tracker) -> None:
        """The message uses the field's label when it has one."""
        tracker.define_fields(FieldDef("asset", "text", label="Asset tag", required=True))
        result = FormIntake(tracker).submit(valid(), client="c")
        assert result.errors == (FieldError("fields.asset", "Asset tag is required", "required"),)

    def test_refusals_leave_the_store_unchanged(self, form: FormIntake, tracker: Tracker) -> None:
        """No ticket, no event and no key number is used up by a refused form."""
        for extra, _, _ in BAD:
            assert not form.submit(valid(**extra), client="c").accepted
        for address in BAD_ADDRESSES:
            assert not form.submit(valid(email=address), client="c").accepted
        assert not form.submit(valid(website="http://spam.example"), client="c").accepted
        assert all_tickets(tracker) == []
        result = form.submit(valid(), client="c")
        assert result.ticket is not None
        assert result.ticket.key == "HD-1"
        assert [e.type.value for e in tracker.history("HD-1")] == ["opened"]
        assert len(all_tickets(tracker)) == 1

    def test_an_error_serialises_to_plain_json(self, form: FormIntake) -> None:
        """``to_json`` gives the list a form shows next to its inputs."""
        assert form.submit(valid(title=""), client="c").to_json() == {
            "accepted": False,
            "errors": [{"field": "title", "message": "title is required", "code": "required"}],
        }


class TestHoneypot:
    def test_a_filled_honeypot_looks_like_a_rate_limit_and_opens_nothing(
        self, tracker: Tracker
    ) -> None:
        """The client cannot tell a caught bot from a rate-limited client."""
        form = FormIntake(tracker, rate_limit=(1, timedelta(hours=1)))
        caught = form.submit(valid(website="http://cheap.example"), client="bot")
        assert form.submit(valid(), client="human").accepted
        limited = form.submit(valid(), client="human")
        assert caught.spam
        assert not limited.spam
        assert caught.to_json() == limited.to_json()
        assert codes(caught) == {None: "rate_limited"}
        assert [t.key for t in all_tickets(tracker)] == ["HD-1"]

    def test_the_honeypot_is_checked_before_anything_else(self, form: FormIntake) -> None:
        """An otherwise invalid bot submission gets the same answer."""
        result = form.submit({"website": ["x"], "title": ""}, client="bot")
        assert result.spam
        assert codes(result) == {None: "rate_limited"}

    def test_without_a_honeypot_its_name_is_an_unknown_field(self, tracker: Tracker) -> None:
        """``honeypot=None`` turns the trap off."""
        result = FormIntake(tracker, honeypot=None).submit(valid(website="x"), client="c")
        assert codes(result) == {"website": "unknown"}


class TestRateLimit:
    def test_a_client_opens_at_most_count_tickets_per_window(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """The sixth ticket within ten minutes is refused; another client is not."""
        form = FormIntake(tracker)
        for _ in range(5):
            assert form.submit(valid(), client="a").accepted
            clock.advance(minutes=1)
        assert codes(form.submit(valid(), client="a")) == {None: "rate_limited"}
        assert form.submit(valid(), client="b").accepted
        assert len(all_tickets(tracker)) == 6

    def test_the_window_slides(self, tracker: Tracker, clock: FrozenClock) -> None:
        """Each submission frees its slot exactly one window later."""
        form = FormIntake(tracker, rate_limit=(2, timedelta(minutes=10)))
        assert form.submit(valid(), client="a").accepted  # 09:00
        clock.advance(minutes=5)
        assert form.submit(valid(), client="a").accepted  # 09:05
        clock.advance(minutes=4, seconds=59)
        assert not form.submit(valid(), client="a").accepted  # 09:09:59
        clock.advance(seconds=1)
        assert form.submit(valid(), client="a").accepted  # 09:10, the 09:00 slot is free
        assert not form.submit(valid(), client="a").accepted

    def test_refused_submissions_do_not_count_but_honeypot_hits_do(self, tracker: Tracker) -> None:
        """A person fixing typos is not locked out; a bot is."""
        form = FormIntake(tracker, rate_limit=(2, timedelta(minutes=10)))
        for _ in range(10):
            assert codes(form.submit(valid(email="nope"), client="a")) == {"email": "invalid"}
        assert form.submit(valid(), client="a").accepted
        assert form.submit(valid(website="x"), client="a").spam
        assert codes(form.submit(valid(), client="a")) == {None: "rate_limited"}

    def test_no_limit_when_rate_limit_is_none(self, tracker: Tracker) -> None:
        """``rate_limit=None`` accepts every valid submission."""
        form = FormIntake(tracker, rate_limit=None)
        assert all(form.submit(valid(), client="a").accepted for _ in range(12))

    def test_the_limit_holds_under_concurrent_submissions(self, tracker: Tracker) -> None:
        """Sixteen threads at once still open exactly ``count`` tickets."""
        form = FormIntake(tracker, rate_limit=(5, timedelta(minutes=10)))
        start = threading.Barrier(16)
        results: list[FormResult] = []

        def submit() -> None:
            start.wait()
            results.append(form.submit(valid(), client="a"))

        threads = [threading.Thread(target=submit) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.accepted for r in results) == 5
        assert len(all_tickets(tracker)) == 5

    def test_an_injected_clock_times_the_limit(self, tracker: Tracker) -> None:
        """``clock=`` overrides the tracker's clock for the rate limit only."""
        own = FrozenClock(MONDAY)
        form = FormIntake(tracker, rate_limit=(1, timedelta(minutes=1)), clock=own)
        assert form.submit(valid(), client="a").accepted
        assert not form.submit(valid(), client="a").accepted
        own.advance(minutes=1)
        assert form.submit(valid(), client="a").accepted


class TestConfiguration:
    @pytest.mark.parametrize(
        "limit", [(0, timedelta(minutes=1)), (5, timedelta(0)), (5, 60), (True, timedelta(1)), 5]
    )
    def test_a_bad_rate_limit_is_refused(self, tracker: Tracker, limit: Any) -> None:
        """``rate_limit`` is (a positive count, a positive timedelta) or None."""
        with pytest.raises(ValidationError, match="rate_limit"):
            FormIntake(tracker, rate_limit=limit)

    @pytest.mark.parametrize("name", ["title", "fields.product", "fields", "", "a b", 3])
    def test_a_honeypot_may_not_shadow_a_field(self, tracker: Tracker, name: Any) -> None:
        """The honeypot needs a name of its own."""
        with pytest.raises(ValidationError, match="honeypot"):
            FormIntake(tracker, honeypot=name)

    def test_fields_limits_what_the_form_accepts(self, tracker: Tracker) -> None:
        """Keys left out of ``fields`` are unknown; an internal field can be let in."""
        form = FormIntake(tracker, fields=["description", "fields.product", "fields.triage"])
        result = form.submit(valid(priority="P1", queue="billing"), client="c")
        assert codes(result) == {"priority": "unknown", "queue": "unknown"}
        result = form.submit(valid(**{"fields.triage": "hot"}), client="c")
        assert result.ticket is not None
        assert result.ticket.fields["triage"] == "hot"

    @pytest.mark.parametrize(
        ("fields", "match"),
        [(["assignee"], "cannot accept"), (["fields.nope"], "cannot accept"), ([], "required")],
    )
    def test_fields_must_be_known_and_include_required_ones(
        self, tracker: Tracker, fields: list[str], match: str
    ) -> None:
        """A form that could never open a ticket is refused when it is built."""
        with pytest.raises(ValidationError, match=match):
            FormIntake(tracker, fields=fields)

    def test_a_required_internal_field_needs_naming(self, clock: FrozenClock) -> None:
        """By default a form never accepts internal fields, so a required one must be named."""
        with Tracker.in_memory(
            clock=clock, fields=[FieldDef("team", "text", internal=True, required=True)]
        ) as tracker:
            with pytest.raises(ValidationError, match=r"fields\.team"):
                FormIntake(tracker)
            form = FormIntake(tracker, fields=["fields.team"])
            payload = {"title": "Badge", "email": "x@example.org", "fields.team": "ops"}
            result = form.submit(payload, client="c")
            assert result.ticket is not None
            assert result.ticket.fields["team"] == "ops"

    def test_a_field_defined_later_is_accepted(self, tracker: Tracker) -> None:
        """With the default ``fields``, the form follows ``tracker.define_fields``."""
        form = FormIntake(tracker)
        tracker.define_fields(FieldDef("floor", "int"))
        result = form.submit(valid(**{"fields.floor": "3"}), client="c")
        assert result.ticket is not None
        assert result.ticket.fields["floor"] == 3

    def test_a_result_is_either_accepted_or_refused(self) -> None:
        """A result with neither (or both) a ticket and errors cannot be made."""
        with pytest.raises(ValidationError):
            FormResult()
        assert FieldError("title", "m", "required").to_json()["code"] == "required"


# -- properties (memory store) ------------------------------------------------------

_form_value = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.lists(st.text(max_size=10), max_size=3),
    st.integers(),
    st.booleans(),
)
_keys = st.one_of(
    st.sampled_from(
        ["title", "email", "description", "priority", "impact", "urgency", "queue", "tags"]
        + [fd.path for fd in FIELDS]
        + ["website", "fields", "x"]
    ),
    st.text(max_size=8),
)
_payloads = st.dictionaries(
    _keys,
    st.one_of(
        _form_value,
        st.dictionaries(st.sampled_from([fd.name for fd in FIELDS] + ["nope"]), _form_value),
    ),
    max_size=12,
)


class TestProperties:
    @settings(max_examples=200)
    @given(_payloads)
    def test_any_payload_is_accepted_or_refused_with_known_codes(
        self, payload: dict[str, object]
    ) -> None:
        """Nothing but a FormResult comes back, and only accepted forms store a ticket."""
        with make_tracker(FrozenClock(MONDAY)) as tracker:
            form = FormIntake(tracker, rate_limit=None)
            result = form.submit(payload, client="fuzz")
            assert {e.code for e in result.errors} <= CODES
            nested = payload.get("fields")
            inner = {f"fields.{k}" for k in nested} if isinstance(nested, dict) else set()
            named = {*payload, *inner, "title", "email", "fields.product", None}
            assert {e.field for e in result.errors} <= named
            assert len(all_tickets(tracker)) == (1 if result.accepted else 0)

    @settings(max_examples=50)
    @given(
        st.integers(min_value=1, max_value=500),
        st.decimals(min_value=0, max_value=10**6, places=2),
        st.dates(),
        st.booleans(),
    )
    def test_form_strings_give_the_typed_value_back(
        self, seats: int, cost: Decimal, due: date, onsite: bool
    ) -> None:
        """A value written as a form string is stored as the value itself."""
        with make_tracker(FrozenClock(MONDAY)) as tracker:
            payload = valid(
                **{
                    "fields.seats": str(seats),
                    "fields.cost": str(cost),
                    "fields.due": due.isoformat(),
                    "fields.onsite": "true" if onsite else "false",
                }
            )
            result = FormIntake(tracker).submit(payload, client="c")
            assert result.ticket is not None
            fields = result.ticket.fields
            assert (fields["seats"], fields["cost"], fields["due"], fields["onsite"]) == (
                seats,
                cost,
                due,
                onsite,
            )
