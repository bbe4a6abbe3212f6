"""Fresh, private databases on the real servers, for tests.

``TICKETKIT_TEST_POSTGRES_URL`` and ``TICKETKIT_TEST_MYSQL_URL`` name the
servers (``.ci/run`` sets both; the defaults are this project's development
machines). Each call creates a database with a unique name and drops it
afterwards, so concurrent runs never collide. There is no skipping: when a
server is down, the tests that need it fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get(
    "TICKETKIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MYSQL_URL = os.environ.get("TICKETKIT_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")

BACKENDS = ("sqlite", "postgresql", "mysql")


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database on ``backend``; drop it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'tk-{uuid.uuid4().hex[:8]}.db'}"
        return
    server = make_url(POSTGRES_URL if backend == "postgresql" else MYSQL_URL)
    name = f"tk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    quote = '"' if backend == "postgresql" else "`"
    try:
        with admin.connect() as conn:
            extra = " CHARACTER SET utf8mb4" if backend == "mysql" else ""
            conn.execute(text(f"CREATE DATABASE {quote}{name}{quote}{extra}"))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                if backend == "postgresql":
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": name},
                    )
                conn.execute(text(f"DROP DATABASE IF EXISTS {quote}{name}{quote}"))
    finally:
        admin.dispose()
