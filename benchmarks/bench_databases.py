"""A fresh, private database on a server, for the benchmarks that take ``--url``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["server_database"]


@contextmanager
def server_database(url: str) -> Iterator[str]:
    """A new, empty database on the server of ``url`` (PostgreSQL or MariaDB); dropped after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(url)
    name = f"tk_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    quote = '"' if server.get_backend_name() == "postgresql" else "`"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {quote}{name}{quote}"))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {quote}{name}{quote}"))
        admin.dispose()
