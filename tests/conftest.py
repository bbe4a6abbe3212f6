"""Shared test set-up."""

from __future__ import annotations

import pytest

# The store contract lives in the package; rewrite its asserts so that a
# failing contract test shows the values it compared.
pytest.register_assert_rewrite("ticketkit.testing")
