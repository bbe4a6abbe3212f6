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

from typing import Any

from ._engine import Durability, make_engine
from ._migrate import HEAD, check_schema, current_revision, upgrade
from ._store import SQLStore, SQLTransaction

__all__ = [
    "HEAD",
    "Durability",
    "SQLStore",
    "SQLTransaction",
    "check_schema",
    "current_revision",
    "make_engine",
    "open_store",
    "upgrade",
]


def open_store(url: str, *, create: bool = True, **options: Any) -> SQLStore:
    """Open the database at ``url`` and check its schema.

    An empty database gets ticketkit's tables when ``create`` is true; one at
    another schema version raises :class:`~ticketkit.SchemaVersionError` saying
    what to run. ``options`` go to :meth:`SQLStore.from_url`.
    """
    store = SQLStore.from_url(url, **options)
    try:
        check_schema(store.engine, create=create)
    except BaseException:
        store.close()
        raise
    return store
