"""Schema migrations: creating, upgrading and checking ticketkit's tables on every backend."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from databases import BACKENDS, MYSQL_URL, POSTGRES_URL, fresh_database
from ticketkit._errors import SchemaVersionError, StorageError, ValidationError
from ticketkit.storage.sql import _migrate, make_engine
from ticketkit.storage.sql._migrate import HEAD, check_schema, current_revision, upgrade
from ticketkit.storage.sql._schema import metadata
from ticketkit.storage.sql._search import TICKET_SEARCH_INDEXES
from ticketkit.storage.sql._search import include_name as search_include_name
from ticketkit.storage.sql._types import Name


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def upgraded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    """A database upgraded to HEAD, shared by the tests that only read it (DDL is slow)."""
    with fresh_database(request.param, tmp_path_factory.mktemp("upgraded")) as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


KB_TABLES = ("tk_articles", "tk_article_tags", "tk_article_revisions", "tk_solutions")


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Run the migrations' ``downgrade`` down to ``revision`` (Alembic's command; ticketkit
    itself never downgrades)."""
    from alembic import command

    with _migrate._migrating(engine) as conn:
        command.downgrade(_migrate._config(conn), revision)


def article_search_structures(engine: sa.Engine) -> set[str]:
    """The names of the articles' full-text structures the database has."""
    inspector = sa.inspect(engine)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT name FROM sqlite_master WHERE name LIKE 'tk_article_search%' "
                    "AND type IN ('table', 'trigger')"
                )
            ).scalars()
            return set(found)
    if "tk_articles" not in inspector.get_table_names():
        return set()
    found = {i["name"] or "" for i in inspector.get_indexes("tk_articles")}
    found |= {c["name"] for c in inspector.get_columns("tk_articles")}
    return found & {"ix_tk_articles_search", "search_text", "search_vector"}


def ticket_search_structures(engine: sa.Engine) -> set[str]:
    """The ticket and comment full-text structures the database has, each described.

    SQLite: the FTS5 table and its triggers. PostgreSQL: each index's definition and
    each generated column. MariaDB/MySQL: each index's columns and each generated column.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            found = conn.execute(
                sa.text(
                    "SELECT type || ' ' || name FROM sqlite_master WHERE name LIKE 'tk_search%' "
                    "AND type IN ('table', 'trigger')"
                )
            ).scalars()
            return set(found)
        inspector = sa.inspect(conn)
        described = set()
        for table in ("tk_tickets", "tk_comments"):
            for column in inspector.get_columns(table):
                if "computed" in column:
                    stored = "stored" if column["computed"].get("persisted") else "virtual"
                    described.add(f"{stored} generated column {table}.{column['name']}")
        if engine.dialect.name == "postgresql":
            definitions = conn.execute(
                sa.text("SELECT indexdef FROM pg_indexes WHERE indexname IN :names").bindparams(
                    sa.bindparam("names", list(TICKET_SEARCH_INDEXES), expanding=True)
                )
            ).scalars()
            return described | set(definitions)
        for table in ("tk_tickets", "tk_comments"):
            for index in inspector.get_indexes(table):
                if index["name"] in TICKET_SEARCH_INDEXES:
                    described.add(f"{index['name']} on {table}({', '.join(index['column_names'])})")
        return described


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def execute(engine: sa.Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(statement))


def strict_types(
    context: MigrationContext,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """Also compare what Alembic's default type comparison leaves out.

    Alembic compares the dialect-level type (so ``Name(255)`` is seen as
    ``VARCHAR(255)``) but not collations nor MySQL's fractional seconds, which
    ``_types`` relies on for code-point ordering and microseconds. ``None``
    falls back to the default comparison for everything else.
    """
    impl = metadata_type.dialect_impl(context.dialect)
    for attribute in ("collation", "fsp"):
        declared = hasattr(impl, attribute) or hasattr(inspected_type, attribute)
        if declared and getattr(impl, attribute, None) != getattr(inspected_type, attribute, None):
            return True
    return None


def differences(engine: sa.Engine, target: sa.MetaData) -> list[Any]:
    """What Alembic finds different between the database and ``target``.

    The full-text search structures (SQLite's FTS5 table and its shadow tables,
    the GIN and FULLTEXT indexes, MariaDB's generated column) are left out: they
    exist per dialect, so ``_schema.metadata`` cannot describe them;
    ``tests/storage/test_search.py`` checks them instead.
    """
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": strict_types,
                "version_table": _migrate.VERSION_TABLE,
                "include_name": search_include_name,
            },
        )
        return list(compare_metadata(context, target))


def changed_columns(diffs: list[Any]) -> set[tuple[str, str]]:
    found = set()
    for diff in diffs:
        for change in diff if isinstance(diff, list) else [diff]:
            if change[0].startswith("modify_"):
                found.add((change[2], change[3]))
    return found


class TestHead:
    def test_head_is_the_newest_script(self) -> None:
        """HEAD names the newest migration shipped in the package."""
        assert ScriptDirectory.from_config(_migrate._config()).get_current_head() == HEAD

    def test_import_does_not_load_alembic(self) -> None:
        """Importing the migration module leaves Alembic unimported until it is needed."""
        code = (
            "import sys, ticketkit.storage.sql._migrate; "
            "assert 'alembic' not in sys.modules, 'alembic imported'"
        )
        subprocess.run([sys.executable, "-c", code], check=True)


class TestUpgrade:
    def test_creates_every_table_at_head(self, url: str) -> None:
        """Upgrading an empty database by URL creates every table and records HEAD."""
        assert upgrade(url) == HEAD
        engine = make_engine(url)
        try:
            assert set(metadata.tables) | {_migrate.VERSION_TABLE} <= table_names(engine)
            assert current_revision(engine) == HEAD
        finally:
            engine.dispose()

    def test_schema_matches_the_tables_in_code(self, upgraded: sa.Engine) -> None:
        """After upgrading, Alembic finds no difference from ``_schema.metadata``."""
        assert differences(upgraded, metadata) == []

    def test_comparison_notices_drift(self, upgraded: sa.Engine) -> None:
        """The schema comparison is not vacuous: changed types, nullability and indexes show."""
        engine = upgraded
        drifted = sa.MetaData()
        for table in metadata.sorted_tables:
            table.to_metadata(drifted)
        tickets = drifted.tables["tk_tickets"]
        tickets.c.title.type = Name(200)
        tickets.c.assignee.nullable = False
        tickets.c.key.type = sa.String(32)  # loses the code-point collation on servers
        tickets.c.created.type = sa.DateTime()  # loses MySQL's microseconds
        sa.Index("ix_tk_tickets_reporter", tickets.c.reporter)
        diffs = differences(engine, drifted)
        expected = {("tk_tickets", "title"), ("tk_tickets", "assignee")}
        if engine.dialect.name != "sqlite":
            expected.add(("tk_tickets", "key"))
        if engine.dialect.name in ("mysql", "mariadb"):
            expected.add(("tk_tickets", "created"))
        assert changed_columns(diffs) == expected
        assert ("add_index", "ix_tk_tickets_reporter") in {
            (d[0], d[1].name) for d in diffs if isinstance(d, tuple)
        }

    def test_upgrading_twice_is_harmless(self, engine: sa.Engine) -> None:
        """A second upgrade changes nothing and keeps the data."""
        upgrade(engine)
        execute(engine, "INSERT INTO tk_key_sequences (prefix, last_number) VALUES ('TK', 7)")
        assert upgrade(engine) == HEAD
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT last_number FROM tk_key_sequences")).all()
        assert rows == [(7,)]

    def test_host_alembic_version_is_left_alone(self, engine: sa.Engine) -> None:
        """A host application's own tables and ``alembic_version`` survive untouched."""
        execute(engine, "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        execute(engine, "INSERT INTO alembic_version (version_num) VALUES ('hostrev1')")
        execute(engine, "CREATE TABLE host_orders (id INTEGER PRIMARY KEY)")
        check_schema(engine)
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        assert rows == [("hostrev1",)]
        assert {"alembic_version", "host_orders"} <= table_names(engine)
        assert current_revision(engine) == HEAD

    def test_references_table_is_added_to_a_0002_database(self, engine: sa.Engine) -> None:
        """0002 to 0003 adds tk_ticket_references; the schema then matches the code."""
        upgrade(engine, "0002")
        assert "tk_ticket_references" not in table_names(engine)
        assert upgrade(engine, "0003") == "0003"
        assert "tk_ticket_references" in table_names(engine)
        assert upgrade(engine) == HEAD
        assert differences(engine, metadata) == []

    def test_tenant_columns_are_added_to_a_0003_database(self, engine: sa.Engine) -> None:
        """0003 to 0004 adds the tenant, organisation and redaction columns, their indexes
        and tk_access_denials; the schema then matches the code."""
        upgrade(engine, "0003")
        assert "tenant" not in {c["name"] for c in sa.inspect(engine).get_columns("tk_tickets")}
        assert upgrade(engine, "0004") == "0004"
        inspector = sa.inspect(engine)
        assert {"tenant", "organisation"} <= {
            c["name"] for c in inspector.get_columns("tk_tickets")
        }
        assert {"redacted_at", "redacted_by"} <= {
            c["name"] for c in inspector.get_columns("tk_comments")
        }
        assert {"ix_tk_tickets_tenant_id", "ix_tk_tickets_tenant_status"} <= {
            i["name"] for i in inspector.get_indexes("tk_tickets")
        }
        assert "tk_access_denials" in table_names(engine)
        assert upgrade(engine) == HEAD
        assert differences(engine, metadata) == []

    def test_automation_tables_are_added_to_a_0004_database(self, engine: sa.Engine) -> None:
        """0004 to 0005 adds tk_schedule, tk_outbox and tk_counters with their indexes and
        replaces the assignee index by (assignee, status); the schema then matches the code."""
        upgrade(engine, "0004")
        assert not {"tk_schedule", "tk_outbox", "tk_counters"} & table_names(engine)
        assert upgrade(engine, "0005") == "0005"
        assert {"tk_schedule", "tk_outbox", "tk_counters"} <= table_names(engine)
        inspector = sa.inspect(engine)
        ticket_indexes = {i["name"] for i in inspector.get_indexes("tk_tickets")}
        assert "ix_tk_tickets_assignee_status" in ticket_indexes
        assert "ix_tk_tickets_assignee" not in ticket_indexes
        assert "ix_tk_schedule_due_at_ticket_id" in {
            i["name"] for i in inspector.get_indexes("tk_schedule")
        }
        assert upgrade(engine) == HEAD
        assert differences(engine, metadata) == []

    def test_knowledge_base_tables_are_added_to_a_0005_database(self, engine: sa.Engine) -> None:
        """0005 to 0006 adds the article, tag, revision and solution tables with their indexes
        and the articles' full-text index; the schema then matches the code."""
        upgrade(engine, "0005")
        assert not set(KB_TABLES) & table_names(engine)
        assert upgrade(engine, "0006") == "0006"
        assert set(KB_TABLES) <= table_names(engine)
        inspector = sa.inspect(engine)
        article_indexes = {i["name"] for i in inspector.get_indexes("tk_articles")}
        assert "ix_tk_articles_tenant_status_id" in article_indexes
        assert "ix_tk_article_tags_tag_article_id" in {
            i["name"] for i in inspector.get_indexes("tk_article_tags")
        }
        assert "ix_tk_solutions_article_id" in {
            i["name"] for i in inspector.get_indexes("tk_solutions")
        }
        assert article_search_structures(engine)
        assert differences(engine, metadata) == []

    def test_knowledge_base_migration_finishes_an_interrupted_run(self, engine: sa.Engine) -> None:
        """A 0006 run cut short after some DDL committed (MariaDB/MySQL) is finished, not failed."""
        upgrade(engine, "0005")
        # What an interrupted run can leave on MariaDB: some tables and one index.
        with engine.begin() as conn:
            metadata.tables["tk_articles"].create(conn, checkfirst=False)
            metadata.tables["tk_article_revisions"].create(conn)
        assert current_revision(engine) == "0005"
        assert upgrade(engine) == HEAD
        assert article_search_structures(engine)
        assert differences(engine, metadata) == []

    def test_knowledge_base_migration_downgrades(self, engine: sa.Engine) -> None:
        """Down from 0006 to 0005 drops the knowledge base, its search index included, and
        keeps the tickets; upgrading again restores it."""
        upgrade(engine)
        execute(engine, "INSERT INTO tk_key_sequences (prefix, last_number) VALUES ('TK', 7)")
        downgrade(engine, "0005")
        assert current_revision(engine) == "0005"
        assert not set(KB_TABLES) & table_names(engine)
        assert not article_search_structures(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT last_number FROM tk_key_sequences")).all() == [(7,)]
        assert upgrade(engine) == HEAD
        assert article_search_structures(engine)
        assert differences(engine, metadata) == []

    def test_stored_search_vectors_replace_expression_indexes(self, engine: sa.Engine) -> None:
        """0006 to 0007 gives PostgreSQL's tickets and comments stored generated vectors and
        puts the search indexes on them; the other databases are left as they were."""
        upgrade(engine, "0006")
        before = ticket_search_structures(engine)
        assert upgrade(engine, "0007") == "0007" == HEAD
        after = ticket_search_structures(engine)
        if engine.dialect.name == "postgresql":
            assert len(before) == 2
            assert all("USING gin" in d and "to_tsvector" in d for d in before), before
            assert after == {
                "stored generated column tk_tickets.search_vector",
                "stored generated column tk_comments.search_vector",
                "CREATE INDEX ix_tk_tickets_search ON public.tk_tickets USING gin (search_vector)",
                "CREATE INDEX ix_tk_comments_search ON public.tk_comments USING gin "
                "(search_vector)",
            }
        else:
            assert after == before
            assert len(before) == (12 if engine.dialect.name == "sqlite" else 3), before
        assert differences(engine, metadata) == []

    def test_stored_search_vectors_migration_downgrades(self, engine: sa.Engine) -> None:
        """Down from 0007 to 0006 restores 0006's ticket and comment search structures;
        upgrading again restores 0007's."""
        upgrade(engine, "0006")
        at_0006 = ticket_search_structures(engine)
        upgrade(engine)
        at_head = ticket_search_structures(engine)
        downgrade(engine, "0006")
        assert current_revision(engine) == "0006"
        assert ticket_search_structures(engine) == at_0006
        assert upgrade(engine) == HEAD
        assert ticket_search_structures(engine) == at_head
        assert differences(engine, metadata) == []

    def test_automation_migration_finishes_an_interrupted_run(self, engine: sa.Engine) -> None:
        """A 0005 run cut short after some DDL committed (MariaDB/MySQL) is finished, not failed."""
        upgrade(engine, "0004")
        # What an interrupted run can leave on MariaDB: some tables and one new index.
        with engine.begin() as conn:
            metadata.tables["tk_schedule"].create(conn)
            metadata.tables["tk_counters"].create(conn)
            conn.execute(
                sa.text(
                    "CREATE INDEX ix_tk_tickets_assignee_status ON tk_tickets (assignee, status)"
                )
            )
        assert current_revision(engine) == "0004"
        assert upgrade(engine) == HEAD
        assert differences(engine, metadata) == []

    def test_tenants_migration_finishes_an_interrupted_run(self, engine: sa.Engine) -> None:
        """A 0004 run cut short after some DDL committed (MariaDB/MySQL) is finished, not failed."""
        upgrade(engine, "0003")
        # What an interrupted run can leave on MariaDB: some columns and the table.
        name = Name().compile(dialect=engine.dialect)
        execute(
            engine, f"ALTER TABLE tk_tickets ADD COLUMN tenant {name} DEFAULT 'default' NOT NULL"
        )
        with engine.begin() as conn:
            metadata.tables["tk_access_denials"].create(conn)
        assert current_revision(engine) == "0003"
        assert upgrade(engine) == HEAD
        assert differences(engine, metadata) == []

    def test_references_migration_finishes_an_interrupted_run(self, engine: sa.Engine) -> None:
        """A 0003 run cut short after its DDL committed (MariaDB/MySQL) is finished, not failed."""
        upgrade(engine, "0002")
        # What an interrupted run can leave on MariaDB: the table, without the revision.
        with engine.begin() as conn:
            metadata.tables["tk_ticket_references"].create(conn)
        assert current_revision(engine) == "0002"
        assert upgrade(engine) == HEAD
        assert differences(engine, metadata) == []

    def test_unknown_target_revision(self, upgraded: sa.Engine) -> None:
        """Upgrading to a revision that does not exist is refused, naming it."""
        with pytest.raises(ValidationError, match="'nosuch'") as info:
            upgrade(upgraded, "nosuch")
        assert info.value.field == "revision"
        assert current_revision(upgraded) == HEAD

    def test_concurrent_first_opens(self, engine: sa.Engine) -> None:
        """Processes that open an empty database at the same moment create the schema once."""
        errors: list[BaseException] = []
        start = threading.Barrier(3)

        def open_it() -> None:
            try:
                start.wait()
                check_schema(engine)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert current_revision(engine) == HEAD


class TestCheckSchema:
    def test_creates_an_empty_database(self, engine: sa.Engine) -> None:
        """An empty database is brought to HEAD."""
        check_schema(engine)
        assert current_revision(engine) == HEAD
        assert set(metadata.tables) <= table_names(engine)

    def test_at_head_is_fine(self, upgraded: sa.Engine) -> None:
        """A database at HEAD passes and is left as it is."""
        check_schema(upgraded, create=False)
        assert current_revision(upgraded) == HEAD

    def test_empty_without_create(self, engine: sa.Engine) -> None:
        """With ``create=False`` an empty database is refused, saying how to create it."""
        with pytest.raises(SchemaVersionError, match="ticketkit db upgrade") as info:
            check_schema(engine, create=False)
        assert (info.value.found, info.value.expected) == (None, HEAD)
        assert not any(n.startswith("tk_") for n in table_names(engine))

    def test_older_revision(
        self, url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An older schema is refused with both revisions and the command to upgrade it."""
        upgrade(engine, "0001")
        monkeypatch.setattr(_migrate, "HEAD", "0002")  # as if this ticketkit shipped 0002
        with pytest.raises(SchemaVersionError) as info:
            check_schema(engine)
        message = str(info.value)
        assert (info.value.found, info.value.expected) == ("0001", "0002")
        assert "revision 0001" in message
        assert "needs revision 0002" in message
        plain = make_url(url).render_as_string(hide_password=False)  # test URLs have none
        assert f"ticketkit db upgrade {plain}" in message
        assert f"ticketkit.storage.sql.upgrade({plain!r})" in message

    def test_upgrade_command_hides_the_password(self) -> None:
        """The command suggested in the message never contains the password."""
        engine = make_engine("postgresql+psycopg://bob:s3cret@db.example/helpdesk")
        fix = _migrate._fix(engine)
        assert "s3cret" not in fix
        assert "ticketkit db upgrade postgresql+psycopg://bob@db.example/helpdesk" in fix

    def test_newer_revision(self, engine: sa.Engine) -> None:
        """A revision this ticketkit does not know means a newer ticketkit wrote the database."""
        upgrade(engine)
        execute(engine, "UPDATE tk_alembic_version SET version_num = 'f00d_future'")
        with pytest.raises(SchemaVersionError, match="newer ticketkit") as info:
            check_schema(engine)
        assert "upgrade the package" in str(info.value)
        assert (info.value.found, info.value.expected) == ("f00d_future", HEAD)
        with pytest.raises(SchemaVersionError, match="newer ticketkit"):
            upgrade(engine)

    def test_tables_without_version_table(self, engine: sa.Engine) -> None:
        """ticketkit tables without a recorded revision are refused as foreign or damaged."""
        upgrade(engine)
        execute(engine, "DROP TABLE tk_alembic_version")
        with pytest.raises(SchemaVersionError, match="not a ticketkit database or it is damaged"):
            check_schema(engine)
        with pytest.raises(SchemaVersionError, match="damaged"):
            upgrade(engine)
        assert current_revision(engine) is None


def unreachable(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'tickets.db'}"
    server = make_url(POSTGRES_URL if backend == "postgresql" else MYSQL_URL)
    return server.set(port=1).render_as_string(hide_password=False)


class TestDriverErrors:
    @pytest.mark.parametrize("backend", BACKENDS)
    def test_unreachable_database(self, backend: str, tmp_path: Path) -> None:
        """A server that cannot be reached (or a missing directory) is a StorageError."""
        url = unreachable(backend, tmp_path)
        engine = make_engine(url)
        try:
            for attempt in (
                lambda: check_schema(engine),
                lambda: current_revision(engine),
                lambda: upgrade(url),
            ):
                with pytest.raises(StorageError, match="cannot") as info:
                    attempt()
                assert not isinstance(info.value, SchemaVersionError)
                assert isinstance(info.value.__cause__, DBAPIError)
        finally:
            engine.dispose()

    def test_read_only_database_file(self, tmp_path: Path) -> None:
        """A database file ticketkit may not write to is a StorageError saying so."""
        with fresh_database("sqlite", tmp_path) as url:
            path = Path(make_url(url).database or "")
            host = sa.create_engine(url)
            with host.begin() as conn:
                conn.execute(sa.text("CREATE TABLE host_orders (id INTEGER PRIMARY KEY)"))
            host.dispose()
            # A file in a read-only directory cannot get its -wal/-journal files, so SQLite
            # fails the first write with SQLITE_READONLY. The tests run as root, which
            # ignores permission bits (chmod would change nothing), so SQLite is asked to
            # open the file read-only instead: the first write fails with the same driver
            # error, through the same path in ticketkit.
            engine = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
            try:
                with pytest.raises(StorageError, match="read-only") as info:
                    check_schema(engine)
                assert isinstance(info.value.__cause__, DBAPIError)
            finally:
                engine.dispose()
            check = sa.create_engine(url)
            assert "tk_tickets" not in table_names(check)
            check.dispose()
