"""SQL storage: SQLite (the embedded default), PostgreSQL and MariaDB/MySQL.

Needs the ``sql`` extra (``pip install 'ticketkit[sql]'``), plus
``postgresql`` or ``mysql`` for those servers' drivers.
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in the tests_core nox session
    raise ImportError(
        "ticketkit.storage.sql needs SQLAlchemy; install it with: pip install 'ticketkit[sql]'"
    ) from exc

from ._engine import Durability, make_engine
from ._store import SQLStore, SQLTransaction

__all__ = ["Durability", "SQLStore", "SQLTransaction", "make_engine"]
