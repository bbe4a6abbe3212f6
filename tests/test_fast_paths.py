"""Shortcuts the SQLite read path takes build exactly what the ordinary way builds."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import conditions, tickets
from ticketkit import Query, Ticket
from ticketkit.storage.sql._driver_reads import _trusted_constructor

build_ticket = _trusted_constructor(Ticket)
NAMES = [a.name for a in attrs.fields(Ticket)]


@given(tickets())
def test_trusted_constructor_builds_what_ticket_builds(ticket: Ticket) -> None:
    built = build_ticket(*(getattr(ticket, name) for name in NAMES))
    assert type(built) is Ticket
    assert built == ticket
    assert repr(built) == repr(ticket)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.title = "changed"  # type: ignore[misc]


def test_trusted_constructor_refuses_classes_that_check_their_values() -> None:
    @attrs.frozen
    class Checked:
        count: int = attrs.field(validator=attrs.validators.instance_of(int))

    with pytest.raises(AssertionError, match=r"Checked\.count validates or converts"):
        _trusted_constructor(Checked)


@given(st.lists(conditions(), max_size=3), st.sampled_from([("id",), ("-updated", "id")]))
def test_remembered_fingerprints_are_the_computed_ones(
    where: list[object], order_by: tuple[str, ...]
) -> None:
    query = Query(conditions=tuple(where), order_by=order_by)  # type: ignore[arg-type]
    assert query.fingerprint() == query._fingerprint()
    assert query.fingerprint() == query.fingerprint()  # now from the cache
    other = attrs.evolve(query, order_by=(*order_by, "priority"))
    assert other.fingerprint() != query.fingerprint()
