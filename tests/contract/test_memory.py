"""The store contract, run against the in-memory reference store."""

from __future__ import annotations

from ticketkit.storage.memory import MemoryStore
from ticketkit.testing import StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self) -> MemoryStore:
        return MemoryStore()
