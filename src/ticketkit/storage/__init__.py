"""Storage backends. A store is anything that satisfies :class:`Store`.

``ticketkit.storage.memory.MemoryStore`` is the reference; the SQL store
lives in ``ticketkit.storage.sql`` and needs the ``sql`` extra.
"""

from __future__ import annotations

from .._access_log import Denial
from .._automation_records import OutboxItem
from ._protocol import Store, Transaction

__all__ = ["Denial", "OutboxItem", "Store", "Transaction"]
