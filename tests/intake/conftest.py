"""Fixtures the intake tests share: the stores they run on and a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ticketkit import FrozenClock

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY)
