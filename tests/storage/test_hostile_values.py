"""Hostile values in queries are matched as plain data on every store.

SQL fragments, LIKE wildcards (``%``, ``_``) and the escape character ``\\``
must neither change the statement nor widen a match: every value is a bound
parameter and every pattern is escaped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from databases import BACKENDS, fresh_database
from ticketkit import FieldDef, FrozenClock, Tracker

HOSTILE = [
    "'; DROP TABLE tk_tickets; --",
    '" OR 1=1 --',
    "100%",
    "a_b",
    "back\\slash",
    "%",
    "_",
    "\\",
    "\\%",
]
INNOCENT = ["100 percent", "axb", "backslash", "plain"]
FIELDS = [FieldDef("note", "text"), FieldDef("owner", "user")]


@pytest.fixture(scope="module", params=("memory", *BACKENDS))
def tracker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tracker]:
    clock = FrozenClock()
    if request.param == "memory":
        yield Tracker.in_memory(clock=clock, fields=FIELDS)
        return
    with fresh_database(request.param, tmp_path_factory.mktemp("hostile")) as url:
        tracker = Tracker.from_url(url, clock=clock, fields=FIELDS)
        try:
            yield tracker
        finally:
            tracker.close()


@pytest.fixture(scope="module")
def filled(tracker: Tracker) -> Tracker:
    """The same tickets on every store; the tests only read them."""
    for value in HOSTILE + INNOCENT:
        tracker.open(
            title=f"about {value}",
            description=value,
            actor="bob",
            tags=[value.replace(" ", "-")],
            fields={"note": value, "owner": value.strip() or "x"},
        )
    return tracker


def titles(tracker: Tracker, **query: object) -> list[str]:
    return [t.description for t in tracker.query(limit=100, **query)]  # type: ignore[arg-type]


class TestHostileValues:
    @pytest.mark.parametrize("value", HOSTILE)
    def test_equality_matches_only_the_same_value(self, filled: Tracker, value: str) -> None:
        """An exact filter on a hostile value finds exactly the ticket holding it."""
        assert titles(filled, where={"description": value}) == [value]
        assert titles(filled, where={"fields.note": value}) == [value]
        assert titles(filled, where={"title": {"in": [f"about {value}", "nothing"]}}) == [value]

    @pytest.mark.parametrize("value", HOSTILE)
    def test_contains_treats_wildcards_as_characters(self, filled: Tracker, value: str) -> None:
        """Substring search for a hostile value finds only texts that contain it literally."""
        expected = sorted(v for v in HOSTILE + INNOCENT if value.casefold() in v.casefold())
        assert sorted(titles(filled, where={"description": {"contains": value}})) == expected
        assert sorted(titles(filled, text=value)) == expected
        assert sorted(titles(filled, where={"fields.note": {"contains": value}})) == expected

    def test_tables_survive(self, filled: Tracker) -> None:
        """After every hostile query the tickets are all still there and unchanged."""
        for value in HOSTILE:
            titles(filled, where={"description": value})
            titles(filled, text=value)
            titles(filled, where={"tags": {"contains": value.replace(" ", "-")}})
        assert len(titles(filled)) == len(HOSTILE) + len(INNOCENT)
        assert filled.get("TK-1").description == HOSTILE[0]

    @pytest.mark.parametrize("value", ["100%", "a_b", "back\\slash", "%", "_", "\\"])
    def test_tags_match_exactly(self, filled: Tracker, value: str) -> None:
        """A tag with wildcard characters matches only itself."""
        assert titles(filled, where={"tags": {"contains": value}}) == [value]
