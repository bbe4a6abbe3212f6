"""Hypothesis strategies for every public ticketkit value.

Everything drawn here is *valid*: text passes the checks of ``_text``, tags
are normalised, datetimes are aware and in UTC, custom-field values are what
``FieldDef.validate`` returns for :data:`SAMPLE_FIELD_DEFS`, and queries are
in the form ``check_query`` produces. Import them in any test::

    import strategies  # pytest puts tests/ on sys.path (rootdir-relative imports)

    @given(strategies.tickets())
    def test_something(ticket): ...
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st

from ticketkit._access_log import Denial
from ticketkit._events import Event, EventType
from ticketkit._fields import FieldDef, FieldType, FieldValue
from ticketkit._model import Attachment, Comment, Link, LinkKind, Ticket, check_tag
from ticketkit._priority import Impact, Priority, PriorityMatrix, Urgency
from ticketkit._query import MAX_LIMIT, Condition, Op, Page, Query, check_query, encode_cursor
from ticketkit.kb import (
    Article,
    ArticleRevision,
    ArticleStatus,
    ArticleSuggestion,
    Solution,
    Suggestions,
    TicketSuggestion,
)

__all__ = [
    "SAMPLE_FIELD_DEFS",
    "article_revisions",
    "article_statuses",
    "articles",
    "attachments",
    "aware_datetimes",
    "bodies",
    "comments",
    "conditions",
    "custom_field_values",
    "dates",
    "decimals",
    "event_types",
    "events",
    "field_defs",
    "field_value_for",
    "field_values",
    "identifiers",
    "impacts",
    "json_values",
    "link_kinds",
    "links",
    "names",
    "pages",
    "priorities",
    "priority_matrices",
    "queries",
    "scores",
    "solutions",
    "suggestions",
    "tags",
    "ticket_keys",
    "tickets",
    "titles",
    "urgencies",
    "workflows",
]

#: One custom field of every type; tickets and queries draw custom values for these.
SAMPLE_FIELD_DEFS: Mapping[str, FieldDef] = {
    fd.name: fd
    for fd in (
        FieldDef("summary", FieldType.TEXT, label="Summary", max_length=200),
        FieldDef("count", FieldType.INT, min_value=-1000, max_value=1000),
        FieldDef("cost", FieldType.DECIMAL, min_value=Decimal("0"), max_value=Decimal("1e6")),
        FieldDef("billable", FieldType.BOOL),
        FieldDef("due", FieldType.DATE),
        FieldDef("severity", FieldType.CHOICE, choices=("minor", "major", "critical")),
        FieldDef("platforms", FieldType.MULTI_CHOICE, choices=("linux", "mac", "windows")),
        FieldDef("owner", FieldType.USER),
    )
}

# -- text -----------------------------------------------------------------------------

# No control characters (Cc covers C0, DEL and C1), no surrogates, no unassigned.
_LINE = st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"))
_BODY = st.one_of(_LINE, st.sampled_from("\t\n\r"))


def bodies(*, min_size: int = 0, max_size: int = 200) -> st.SearchStrategy[str]:
    """Multi-line unicode text (tabs and line breaks, no other controls): descriptions."""
    return st.text(_BODY, min_size=min_size, max_size=max_size)


def titles(*, max_size: int = 80) -> st.SearchStrategy[str]:
    """Single-line unicode text, stripped and non-empty (what ``check_title`` returns)."""
    return st.text(_LINE, min_size=1, max_size=max_size).map(str.strip).filter(bool)


def names() -> st.SearchStrategy[str]:
    """People, queues, reporters: e-mail-like or free unicode, one line, stripped."""
    emails = st.from_regex(r"\A[a-z][a-z0-9._]{0,15}@[a-z]{1,10}\.(com|org|example)\Z")
    return st.one_of(emails, titles(max_size=40))


def identifiers() -> st.SearchStrategy[str]:
    """Lower-case identifiers such as status and resolution names: ``[a-z][a-z0-9_]*``."""
    return st.from_regex(r"\A[a-z][a-z0-9_]{0,19}\Z")


def tags() -> st.SearchStrategy[str]:
    """Normalised tags: one word, lower case, no commas or controls."""
    raw = st.text(
        st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn", "Z"), exclude_characters=","),
        min_size=1,
        max_size=20,
    )
    return raw.map(str.lower).filter(lambda t: _is_tag(t))


def _is_tag(value: str) -> bool:
    try:
        return check_tag(value) == value
    except ValueError:
        return False


def ticket_keys() -> st.SearchStrategy[str]:
    """Reference keys such as ``TK-1`` or ``HD42-1007``."""
    return st.from_regex(r"\A[A-Z][A-Z0-9]{0,4}-[1-9][0-9]{0,6}\Z")


# -- scalars --------------------------------------------------------------------------


def aware_datetimes(
    *, min_value: datetime | None = None, max_value: datetime | None = None
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes in UTC (microseconds included), years 1970 to 2200."""
    low = (min_value or datetime(1970, 1, 1, tzinfo=UTC)).replace(tzinfo=None)
    high = (max_value or datetime(2200, 1, 1, tzinfo=UTC)).replace(tzinfo=None)
    return st.datetimes(min_value=low, max_value=high, timezones=st.just(UTC))


def dates() -> st.SearchStrategy[date]:
    return st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


def decimals(
    *, min_value: Decimal | None = None, max_value: Decimal | None = None
) -> st.SearchStrategy[Decimal]:
    """Finite decimals, including ones with many places or exponents."""
    return st.decimals(
        min_value=min_value, max_value=max_value, allow_nan=False, allow_infinity=False
    )


def priorities() -> st.SearchStrategy[Priority]:
    return st.sampled_from(Priority)


def impacts() -> st.SearchStrategy[Impact]:
    return st.sampled_from(Impact)


def urgencies() -> st.SearchStrategy[Urgency]:
    return st.sampled_from(Urgency)


def link_kinds() -> st.SearchStrategy[LinkKind]:
    return st.sampled_from(LinkKind)


def event_types() -> st.SearchStrategy[EventType]:
    return st.sampled_from(EventType)


def json_values(*, max_leaves: int = 10) -> st.SearchStrategy[Any]:
    """Anything ``json.dumps`` takes and ``json.loads`` gives back equal: event values."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(_BODY, max_size=20),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.text(_LINE, max_size=10), inner, max_size=4),
        ),
        max_leaves=max_leaves,
    )


# -- custom fields --------------------------------------------------------------------


@st.composite
def field_defs(draw: st.DrawFn) -> FieldDef:
    """Any valid field definition, of every type, with choices and limits as they fit."""
    ftype = draw(st.sampled_from(FieldType))
    kwargs: dict[str, Any] = {
        "label": draw(st.one_of(st.just(""), titles(max_size=30))),
        "required": draw(st.booleans()),
        "internal": draw(st.booleans()),
    }
    if ftype in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
        kwargs["choices"] = tuple(
            draw(st.lists(titles(max_size=15), min_size=1, max_size=5, unique=True))
        )
    if ftype is FieldType.TEXT:
        kwargs["max_length"] = draw(st.none() | st.integers(min_value=1, max_value=10_000))
    if ftype in (FieldType.INT, FieldType.DECIMAL):
        number = st.integers(-(10**9), 10**9)
        if ftype is FieldType.DECIMAL:
            number = number | decimals(min_value=Decimal(-(10**9)), max_value=Decimal(10**9))
        low, high = draw(st.none() | number), draw(st.none() | number)
        if low is not None and high is not None and low > high:
            low, high = high, low
        kwargs["min_value"], kwargs["max_value"] = low, high
    return FieldDef(draw(st.from_regex(r"\A[a-z][a-z0-9_]{0,20}\Z")), ftype, **kwargs)


def field_value_for(fd: FieldDef) -> st.SearchStrategy[FieldValue]:
    """Values that ``fd`` accepts, in the canonical form ``fd.validate`` returns."""
    if fd.type is FieldType.TEXT:
        raw: st.SearchStrategy[Any] = bodies(max_size=fd.max_length or 200)
    elif fd.type is FieldType.INT:
        raw = st.integers(
            min_value=None if fd.min_value is None else int(fd.min_value),
            max_value=None if fd.max_value is None else int(fd.max_value),
        )
    elif fd.type is FieldType.DECIMAL:
        raw = decimals(
            min_value=None if fd.min_value is None else Decimal(fd.min_value),
            max_value=None if fd.max_value is None else Decimal(fd.max_value),
        )
    elif fd.type is FieldType.BOOL:
        raw = st.booleans()
    elif fd.type is FieldType.DATE:
        raw = dates()
    elif fd.type is FieldType.CHOICE:
        raw = st.sampled_from(fd.choices)
    elif fd.type is FieldType.MULTI_CHOICE:
        raw = st.lists(st.sampled_from(fd.choices), unique=True, min_size=1)
    else:
        raw = names()
    return raw.map(fd.validate)


def field_values() -> st.SearchStrategy[FieldValue]:
    """Any custom-field value: text, int, Decimal, bool, date or a tuple of choices."""
    return st.sampled_from(list(SAMPLE_FIELD_DEFS.values())).flatmap(field_value_for)


@st.composite
def custom_field_values(
    draw: st.DrawFn, defs: Mapping[str, FieldDef] = SAMPLE_FIELD_DEFS
) -> dict[str, FieldValue]:
    """A valid ``Ticket.fields`` for ``defs`` (a subset of the fields, sorted by name)."""
    chosen = draw(st.lists(st.sampled_from(sorted(defs)), unique=True)) if defs else []
    return {name: draw(field_value_for(defs[name])) for name in sorted(chosen)}


# -- model ----------------------------------------------------------------------------


def links() -> st.SearchStrategy[Link]:
    return st.builds(Link, link_kinds(), ticket_keys())


@st.composite
def tickets(draw: st.DrawFn, defs: Mapping[str, FieldDef] = SAMPLE_FIELD_DEFS) -> Ticket:
    """Any valid ticket; ``updated`` is never before ``created``, nor ``resolved_at``."""
    created = draw(aware_datetimes(max_value=datetime(2100, 1, 1, tzinfo=UTC)))
    updated = created + draw(st.timedeltas(timedelta(0), timedelta(days=3650)))
    resolved = draw(st.none() | st.just(updated))
    return Ticket(
        id=draw(st.integers(min_value=1, max_value=2**53)),
        key=draw(ticket_keys()),
        title=draw(titles()),
        description=draw(bodies()),
        status=draw(identifiers()),
        priority=draw(priorities()),
        reporter=draw(names()),
        queue=draw(identifiers()),
        created=created,
        updated=updated,
        version=draw(st.integers(min_value=1, max_value=10_000)),
        assignee=draw(st.none() | names()),
        impact=draw(st.none() | impacts()),
        urgency=draw(st.none() | urgencies()),
        resolution=draw(st.none() | identifiers()),
        tags=draw(st.frozensets(tags(), max_size=4)),
        fields=draw(custom_field_values(defs)),
        watchers=draw(st.frozensets(names(), max_size=3)),
        links=draw(st.frozensets(links(), max_size=3)),
        merged_into=draw(st.none() | ticket_keys()),
        resolved_at=resolved,
        tenant=draw(identifiers()),
        organisation=draw(st.none() | names()),
    )


def comments() -> st.SearchStrategy[Comment]:
    return st.builds(
        Comment,
        id=st.integers(min_value=1, max_value=2**53),
        ticket_id=st.integers(min_value=1, max_value=2**53),
        ticket_key=ticket_keys(),
        author=names(),
        body=bodies(min_size=1).filter(str.strip),
        created=aware_datetimes(),
        internal=st.booleans(),
        redacted_at=st.none() | aware_datetimes(),
        redacted_by=st.none() | names(),
    )


def denials() -> st.SearchStrategy[Denial]:
    return st.builds(
        Denial,
        at=aware_datetimes(),
        principal=names(),
        role=st.sampled_from(["customer", "agent", "team_lead", "admin"]),
        tenant=identifiers(),
        permission=identifiers(),
        target=st.none() | ticket_keys() | names(),
        reason=bodies(min_size=1, max_size=100),
        id=st.integers(min_value=0, max_value=2**53),
    )


def attachments() -> st.SearchStrategy[Attachment]:
    return st.builds(
        Attachment,
        id=st.integers(min_value=1, max_value=2**53),
        ticket_id=st.integers(min_value=1, max_value=2**53),
        ticket_key=ticket_keys(),
        filename=titles(max_size=40),
        media_type=st.sampled_from(
            ["text/plain", "image/png", "application/pdf", "application/octet-stream"]
        ),
        size=st.integers(min_value=0, max_value=2**40),
        sha256=st.text(string.hexdigits[:16], min_size=64, max_size=64),
        uploaded_by=names(),
        created=aware_datetimes(),
    )


def events() -> st.SearchStrategy[Event]:
    """Any event; ``old``, ``new`` and ``data`` hold arbitrary JSON values."""
    return st.builds(
        Event,
        ticket_id=st.integers(min_value=1, max_value=2**53),
        ticket_key=ticket_keys(),
        version=st.integers(min_value=1, max_value=10_000),
        type=event_types(),
        actor=names(),
        at=aware_datetimes(),
        field=st.none() | st.sampled_from(["title", "priority", "assignee", "fields.cost"]),
        old=json_values(),
        new=json_values(),
        data=st.dictionaries(identifiers(), json_values(max_leaves=4), max_size=3),
        id=st.integers(min_value=0, max_value=2**53),
    )


@st.composite
def priority_matrices(draw: st.DrawFn) -> PriorityMatrix:
    """A full impact × urgency matrix with any priority in each cell."""
    return PriorityMatrix({(i, u): draw(priorities()) for i in Impact for u in Urgency})


# -- queries --------------------------------------------------------------------------

_BUILTIN_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "id": st.integers(min_value=1, max_value=2**53),
    "version": st.integers(min_value=1, max_value=10_000),
    "key": ticket_keys(),
    "title": titles(max_size=20),
    "description": titles(max_size=20),
    "status": identifiers(),
    "priority": priorities(),
    "reporter": names(),
    "queue": identifiers(),
    "assignee": names(),
    "resolution": identifiers(),
    "impact": impacts(),
    "urgency": urgencies(),
    "created": aware_datetimes(),
    "updated": aware_datetimes(),
    "resolved_at": aware_datetimes(),
    "merged_into": ticket_keys(),
    "tenant": identifiers(),
    "organisation": names(),
    "tags": tags(),
    "watchers": names(),
}
_TEXT_FIELDS = ("title", "description")
_SET_FIELDS = ("tags", "watchers")
_ORDERED_TYPES = (
    FieldType.INT,
    FieldType.DECIMAL,
    FieldType.DATE,
    FieldType.TEXT,
    FieldType.CHOICE,
    FieldType.USER,
    FieldType.BOOL,
)
_UNORDERED = ("impact", "urgency", "key")


def _field_strategy(name: str, defs: Mapping[str, FieldDef]) -> st.SearchStrategy[Any]:
    if name in _BUILTIN_VALUES:
        return _BUILTIN_VALUES[name]
    fd = defs[name.removeprefix("fields.")]
    if fd.type is FieldType.MULTI_CHOICE:
        return st.sampled_from(fd.choices)
    return field_value_for(fd)


def _ops_for(name: str, defs: Mapping[str, FieldDef]) -> list[Op]:
    fd = defs.get(name.removeprefix("fields.")) if name.startswith("fields.") else None
    if name in _SET_FIELDS:
        return [Op.CONTAINS]
    if fd is not None and fd.type is FieldType.MULTI_CHOICE:
        return [Op.CONTAINS, Op.IS_NULL]
    ops = [Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.IS_NULL]
    if (fd is None and name not in _UNORDERED) or (fd is not None and fd.type in _ORDERED_TYPES):
        ops += [Op.LT, Op.LE, Op.GT, Op.GE]
    if name in _TEXT_FIELDS:
        ops.append(Op.CONTAINS)
    return ops


@st.composite
def conditions(draw: st.DrawFn, defs: Mapping[str, FieldDef] = SAMPLE_FIELD_DEFS) -> Condition:
    """A condition in checked form (values normalised: ``Priority``, UTC, frozensets)."""
    name = draw(st.sampled_from([*_BUILTIN_VALUES, *(f"fields.{n}" for n in sorted(defs))]))
    op = draw(st.sampled_from(_ops_for(name, defs)))
    values = _field_strategy(name, defs)
    if op is Op.IS_NULL:
        value: Any = draw(st.booleans())
    elif op in (Op.IN, Op.NOT_IN):
        value = draw(st.lists(values, min_size=1, max_size=3))
    else:
        value = draw(values)
    return check_query(Query((Condition(name, op, value),)), defs).conditions[0]


@st.composite
def queries(
    draw: st.DrawFn,
    defs: Mapping[str, FieldDef] = SAMPLE_FIELD_DEFS,
    *,
    with_cursor: bool | None = None,
) -> Query:
    """A query as ``check_query`` returns it; sometimes with a valid cursor."""
    sortable = [n for n in _BUILTIN_VALUES if n not in _SET_FIELDS and n not in _UNORDERED] + [
        f"fields.{n}" for n in sorted(defs) if defs[n].type is not FieldType.MULTI_CHOICE
    ]
    order = draw(
        st.lists(
            st.sampled_from(sortable).flatmap(lambda n: st.sampled_from([n, f"-{n}"])),
            max_size=3,
            unique_by=lambda o: o.removeprefix("-"),
        )
    )
    query = Query(
        conditions=tuple(draw(st.lists(conditions(defs), max_size=4))),
        text=draw(st.none() | titles(max_size=20)),
        order_by=tuple(order),
        limit=draw(st.integers(min_value=1, max_value=MAX_LIMIT)),
    )
    checked = check_query(query, defs)
    if with_cursor if with_cursor is not None else draw(st.booleans()):
        cursor = encode_cursor(checked, draw(tickets(defs)))
        checked = check_query(attrs.evolve(checked, cursor=cursor), defs)
    return checked


def pages(*, max_items: int = 3) -> st.SearchStrategy[Page]:
    """A page of tickets with or without a next cursor."""
    return st.builds(
        Page,
        items=st.lists(tickets(), max_size=max_items).map(tuple),
        next_cursor=st.none() | st.text(string.ascii_letters + string.digits + "-_", min_size=1),
    )


# -- workflows ------------------------------------------------------------------------


def workflows() -> st.SearchStrategy[Any]:
    """The built-in workflows (the help-desk one with various reopen windows)."""
    from ticketkit import _builtin_workflows as builtin

    return st.one_of(
        st.integers(min_value=1, max_value=90).map(lambda days: builtin.helpdesk(days)),
        st.sampled_from([builtin.bugtracker(), builtin.simple()]),
    )


def article_statuses() -> st.SearchStrategy[ArticleStatus]:
    return st.sampled_from(list(ArticleStatus))


def articles() -> st.SearchStrategy[Article]:
    return st.builds(
        Article,
        id=st.integers(min_value=1, max_value=2**53),
        title=titles(),
        body=bodies(min_size=1).filter(str.strip),
        status=article_statuses(),
        version=st.integers(min_value=1, max_value=10_000),
        author=names(),
        created=aware_datetimes(),
        updated_by=names(),
        updated=aware_datetimes(),
        tags=st.frozensets(tags(), max_size=4),
        tenant=identifiers(),
        source_ticket=st.none() | ticket_keys(),
    )


def article_revisions() -> st.SearchStrategy[ArticleRevision]:
    return st.builds(
        ArticleRevision,
        article_id=st.integers(min_value=1, max_value=2**53),
        version=st.integers(min_value=1, max_value=10_000),
        title=titles(),
        body=bodies(min_size=1).filter(str.strip),
        tags=st.frozensets(tags(), max_size=4),
        status=article_statuses(),
        author=names(),
        at=aware_datetimes(),
        note=st.none() | titles(max_size=40),
    )


def solutions() -> st.SearchStrategy[Solution]:
    return st.builds(
        Solution,
        ticket_id=st.integers(min_value=1, max_value=2**53),
        ticket_key=ticket_keys(),
        article_id=st.integers(min_value=1, max_value=2**53),
        linked_by=names(),
        linked_at=aware_datetimes(),
        tenant=identifiers(),
    )


def scores() -> st.SearchStrategy[float]:
    return st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def suggestions(draw: st.DrawFn) -> Suggestions:
    """Suggestions with a few articles and tickets of any kind."""
    found_articles = draw(
        st.lists(
            st.builds(
                ArticleSuggestion,
                article=articles(),
                score=scores(),
                solved=st.lists(ticket_keys(), max_size=3).map(tuple),
            ),
            max_size=3,
        )
    )
    found_tickets = draw(
        st.lists(
            st.builds(
                TicketSuggestion,
                ticket=tickets(),
                score=scores(),
                likely_duplicate=st.booleans(),
            ),
            max_size=2,
        )
    )
    return Suggestions(articles=tuple(found_articles), tickets=tuple(found_tickets))
