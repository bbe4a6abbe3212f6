"""Alembic's environment for ticketkit's own migrations.

ticketkit runs Alembic programmatically (see ``ticketkit.storage.sql._migrate``):
the caller opens the connection and passes it in ``config.attributes["connection"]``;
there is no ``alembic.ini``. The version is kept in ``tk_alembic_version`` so that a
host application sharing the database keeps its own ``alembic_version``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

VERSION_TABLE = "tk_alembic_version"


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "ticketkit's migrations run on a connection passed in "
            "config.attributes['connection']; use ticketkit.storage.sql.upgrade(url)"
        )
    context.configure(
        connection=connection,
        version_table=VERSION_TABLE,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
