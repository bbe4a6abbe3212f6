"""Shared test set-up."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# The store contract lives in the package; rewrite its asserts so that a
# failing contract test shows the values it compared.
pytest.register_assert_rewrite(
    "ticketkit.testing",
    "ticketkit._testing_tenants",
    "ticketkit._testing_personal",
    "ticketkit._testing_automation",
    "ticketkit._testing_kb",
    "ticketkit._testing_support",
)

# Timing is checked by benchmarks/, never by tests: a loaded CI machine must not
# turn a slow example into a failure.
settings.register_profile("ticketkit", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ticketkit")
