"""The store contract, run against the SQL store on SQLite, PostgreSQL and MariaDB.

Each class gets one private database for all its tests (see ``tests/databases.py``),
built by the migrations so that it has the search index too; each test empties it
first, so every test starts from an empty store. Emptying the tables empties the
search indexes with them: SQLite's triggers delete the rows of ``tk_search`` and
``tk_article_search`` as the tickets and articles go (checked each time); the
indexes of the servers are on the tables themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, text

from databases import fresh_database
from ticketkit.storage.sql import SQLStore, upgrade
from ticketkit.storage.sql._schema import metadata
from ticketkit.storage.sql._search import SEARCH_TABLES
from ticketkit.testing import StoreContract


class _SQLContract(StoreContract):
    backend: str
    url: str

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _database(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
        tmp: Path = tmp_path_factory.mktemp(cls.backend)
        with fresh_database(cls.backend, tmp) as url:
            upgrade(url)
            cls.url = url
            yield

    def make_store(self) -> SQLStore:
        """The class's database, emptied, with id sequences restarted, as if new."""
        store = SQLStore.from_url(self.url)
        names = [t.name for t in metadata.sorted_tables]
        with store.engine.begin() as conn:
            if self.backend == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
            elif self.backend == "mysql":
                conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
                for name in names:
                    conn.execute(text(f"TRUNCATE TABLE {name}"))
                conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
            else:
                for table in reversed(metadata.sorted_tables):
                    conn.execute(delete(table))
                for index in SEARCH_TABLES:
                    left = conn.execute(text(f"SELECT count(*) FROM {index}")).scalar()
                    assert left == 0, f"{index} kept {left} rows of deleted tickets or articles"
        return store


class TestSQLiteStore(_SQLContract):
    backend = "sqlite"


class TestPostgreSQLStore(_SQLContract):
    backend = "postgresql"


class TestMySQLStore(_SQLContract):
    backend = "mysql"
