"""Every report test runs on the memory store and on SQLite, and must agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .desk import STORES, MakeTracker, tracker_factory


@pytest.fixture(params=STORES)
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeTracker]:
    """Makes empty trackers on the store of the parameter; closes them afterwards."""
    factory = tracker_factory(request.param, tmp_path)
    yield factory
    for tracker in factory.made:  # type: ignore[attr-defined]
        tracker.close()
