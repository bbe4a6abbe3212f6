"""``JSONObjectText``: event data kept as JSON text until first read."""

from __future__ import annotations

import types
from datetime import UTC, datetime

import pytest

from ticketkit import Event, EventType
from ticketkit._events import JSONObjectText
from ticketkit.serde import make_converter

TEXT = '{"action":"start","resolved_at":null,"nested":{"n":[1,2]}}'
AS_DICT = {"action": "start", "resolved_at": None, "nested": {"n": [1, 2]}}


def event(data: object) -> Event:
    return Event(
        ticket_id=1,
        ticket_key="TK-1",
        version=2,
        type=EventType.STATUS_CHANGED,
        actor="bob",
        at=datetime(2026, 3, 2, tzinfo=UTC),
        data=data,  # type: ignore[arg-type]
    )


def test_reads_as_the_object_it_holds() -> None:
    data = JSONObjectText(TEXT)
    assert data["action"] == "start"
    assert data["nested"] == {"n": [1, 2]}
    assert list(data) == ["action", "resolved_at", "nested"]
    assert len(data) == 3
    assert "resolved_at" in data
    assert dict(data) == AS_DICT
    with pytest.raises(KeyError):
        data["missing"]


def test_equal_to_any_mapping_with_the_same_items_either_way_round() -> None:
    data = JSONObjectText(TEXT)
    for other in (AS_DICT, types.MappingProxyType(AS_DICT), JSONObjectText(TEXT)):
        assert data == other
        assert other == data
    assert data != {"action": "start"}
    assert data != JSONObjectText('{"action":"resolve"}')
    assert data != "not a mapping"


def test_events_holding_it_compare_and_print_as_events_holding_a_frozen_dict() -> None:
    lazy, eager = event(JSONObjectText(TEXT)), event(AS_DICT)
    assert isinstance(lazy.data, JSONObjectText)  # kept as it is, not decoded on construction
    assert lazy == eager
    assert repr(lazy) == repr(eager)


def test_not_hashable_like_the_mappingproxy_it_stands_for() -> None:
    with pytest.raises(TypeError):
        hash(JSONObjectText(TEXT))


def test_decoded_only_when_read() -> None:
    broken = event(JSONObjectText("{not json"))  # constructing does not parse
    with pytest.raises(ValueError, match="Expecting property name"):
        broken.data["x"]


def test_serde_gives_the_same_data_as_for_a_dict() -> None:
    converter = make_converter()
    assert converter.unstructure(event(JSONObjectText(TEXT))) == converter.unstructure(
        event(AS_DICT)
    )
