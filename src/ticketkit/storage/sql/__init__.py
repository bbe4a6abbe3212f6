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
from ._store import SQLStore, SQLTransaction

__all__ = ["Durability", "SQLStore", "SQLTransaction", "make_engine", "open_store"]


def open_store(url: str, *, create: bool = True, **options: Any) -> SQLStore:
    """Open the database at ``url``, creating ticketkit's tables in an empty one."""
    from sqlalchemy import inspect

    from ._engine import translate_errors
    from ._schema import metadata

    store = SQLStore.from_url(url, **options)
    try:
        where = store.engine.url.render_as_string(hide_password=True)
        with translate_errors(where), store.engine.begin() as conn:
            if create and not inspect(conn).has_table("tk_tickets"):
                metadata.create_all(conn)
    except BaseException:
        store.close()
        raise
    return store
