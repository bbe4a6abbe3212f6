"""The ``ticketkit db`` commands: create, upgrade and inspect the schema from a shell."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from databases import BACKENDS, MYSQL_URL, POSTGRES_URL, fresh_database
from ticketkit import cli
from ticketkit.storage.sql._migrate import HEAD, upgrade


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.build_cli(), list(args), env=env)


def unreachable(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'tickets.db'}"
    server = make_url(POSTGRES_URL if backend == "postgresql" else MYSQL_URL)
    return server.set(port=1).render_as_string(hide_password=False)


def assert_refused(result: Result, *needles: str, code: int = 1) -> None:
    """Exit code 1 (or ``code``), one line on stderr naming the problem, no traceback."""
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


class TestDbUpgrade:
    def test_creates_and_prints_the_revision(self, url: str) -> None:
        """``db upgrade URL`` creates the schema, prints the revision and exits 0; again: no-op."""
        result = run("db", "upgrade", url)
        assert result.exit_code == 0, result.output
        assert result.stdout == f"{HEAD}\n"
        assert "created ticketkit's tables" in result.stderr
        result = run("db", "upgrade", url)
        assert result.exit_code == 0, result.output
        assert result.stdout == f"{HEAD}\n"
        assert "already at schema revision" in result.stderr

    def test_url_from_environment_or_option(self, url: str) -> None:
        """Without a URL argument the command uses $TICKETKIT_URL, or ``ticketkit --url``."""
        result = run("db", "upgrade", env={"TICKETKIT_URL": url})
        assert result.exit_code == 0, result.output
        result = run("--url", url, "db", "current", env={"TICKETKIT_URL": ""})
        assert result.stdout == f"{HEAD}\n"

    def test_default_url_is_tickets_db(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without any URL the command uses ``sqlite:///tickets.db`` in the current directory."""
        monkeypatch.chdir(tmp_path)
        result = run("db", "upgrade", env={"TICKETKIT_URL": ""})
        assert result.exit_code == 0, result.output
        assert (tmp_path / "tickets.db").exists()

    def test_unknown_revision(self, url: str) -> None:
        """An unknown ``--revision`` is refused with exit code 1."""
        assert_refused(run("db", "upgrade", url, "--revision", "nosuch"), "'nosuch'")

    def test_database_of_a_newer_ticketkit(self, url: str) -> None:
        """A database written by a newer ticketkit is refused, saying to upgrade the package."""
        upgrade(url)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE tk_alembic_version SET version_num = 'f00d'"))
        engine.dispose()
        assert_refused(run("db", "upgrade", url), "newer ticketkit")

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_unreachable_database(self, backend: str, tmp_path: Path) -> None:
        """An unreachable database exits 75 (try again later) with one line and no traceback."""
        assert_refused(run("db", "upgrade", unreachable(backend, tmp_path)), "cannot", code=75)

    def test_unknown_dialect(self) -> None:
        """A URL naming no supported database exits 1 with a message naming it."""
        assert_refused(run("db", "upgrade", "foo://x"), "'foo'")


class TestDbCurrent:
    def test_prints_the_revision(self, url: str) -> None:
        """``db current`` prints the revision of an upgraded database."""
        upgrade(url)
        result = run("db", "current", url)
        assert result.exit_code == 0, result.output
        assert result.stdout == f"{HEAD}\n"

    def test_json(self, tmp_path: Path) -> None:
        """``db current --json`` prints the URL, the revision (null: none) and this HEAD."""
        with fresh_database("sqlite", tmp_path) as url:
            result = run("db", "current", url, "--json")
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout) == {"url": url, "revision": None, "head": HEAD}
            upgrade(url)
            assert json.loads(run("db", "current", url, "--json").stdout)["revision"] == HEAD

    def test_empty_database(self, url: str) -> None:
        """On an empty database ``db current`` prints nothing and says how to create it."""
        result = run("db", "current", url)
        assert result.exit_code == 0, result.output
        assert result.stdout == ""
        assert "ticketkit db upgrade" in result.stderr

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_unreachable_database(self, backend: str, tmp_path: Path) -> None:
        """An unreachable database exits 75 with a one-line message."""
        assert_refused(run("db", "current", unreachable(backend, tmp_path)), "cannot", code=75)


class TestMain:
    def test_usage_error_exits_2(self) -> None:
        """An unknown command is a usage error: exit code 2."""
        with pytest.raises(SystemExit) as info:
            cli.main(["db", "nosuch"])
        assert info.value.code == 2

    def test_success_exits_0(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The console script exits 0 after a successful command."""
        with fresh_database("sqlite", tmp_path) as url, pytest.raises(SystemExit) as info:
            cli.main(["db", "upgrade", url])
        assert info.value.code == 0
        assert capsys.readouterr().out == f"{HEAD}\n"

    def test_without_click(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without click installed the command says which extra to install."""
        monkeypatch.setitem(sys.modules, "click", None)
        with pytest.raises(SystemExit) as info:
            cli.main(["db", "current"])
        assert "pip install 'ticketkit[cli]'" in str(info.value.code)

    def test_import_is_cheap(self) -> None:
        """Importing the command module loads neither click nor SQLAlchemy."""
        code = (
            "import sys, ticketkit.cli; "
            "assert not {'click', 'sqlalchemy'} & set(sys.modules), sorted(sys.modules)"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
