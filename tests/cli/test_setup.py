"""``ticketkit init``, the configuration file, database URLs and ``ticketkit demo``."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from cli.support import Run, as_json, ok, refused
from ticketkit.storage.sql._migrate import HEAD


class TestInit:
    def test_creates_the_database_and_says_so(self, run: Run, tmp_path: Path) -> None:
        """``init`` creates ./tickets.db at the newest schema, says so on stderr, prints the URL."""
        result = ok(run("init"))
        assert (tmp_path / "tickets.db").exists()
        assert "created the ticketkit database" in result.stderr
        assert HEAD in result.stderr
        assert result.stdout == "sqlite:///tickets.db\n"
        assert not (tmp_path / "ticketkit.toml").exists()

    def test_is_idempotent(self, run: Run) -> None:
        """A second ``init`` changes nothing and says the database is already there."""
        ok(run("init", "--prefix", "HD"))
        ok(run("open", "Kept"))
        result = ok(run("init", "--prefix", "HD"))
        assert "already a ticketkit database" in result.stderr
        assert ok(run("list")).stdout.startswith("HD-1\t")

    def test_prefix_and_workflow_go_to_the_config_file(self, run: Run, tmp_path: Path) -> None:
        """``--prefix``/``--workflow`` are written to ./ticketkit.toml, which later runs read."""
        data = as_json(run("init", "--prefix", "BUG", "--workflow", "bugtracker", "--json"))
        assert data == {
            "url": "sqlite:///tickets.db",
            "revision": HEAD,
            "created": True,
            "config": "ticketkit.toml",
            "prefix": "BUG",
            "workflow": "bugtracker",
        }
        config = tomllib.loads((tmp_path / "ticketkit.toml").read_text(encoding="utf-8"))
        assert config == {
            "url": "sqlite:///tickets.db",
            "tracker": {"prefix": "BUG", "workflow": "bugtracker"},
        }
        assert ok(run("open", "Crash")).stdout == "BUG-1\n"
        ok(run("transition", "BUG-1", "accept", "--actor", "dev"))
        assert as_json(run("show", "BUG-1", "--json"))["ticket"]["assignee"] == "dev"

    def test_a_different_prefix_is_refused(self, run: Run, tmp_path: Path) -> None:
        """``init --prefix`` that contradicts the config file exits 1 and keeps the file."""
        ok(run("init", "--prefix", "HD"))
        before = (tmp_path / "ticketkit.toml").read_text(encoding="utf-8")
        refused(run("init", "--prefix", "XY"), 1, "prefix = 'HD'", "edit the file")
        assert (tmp_path / "ticketkit.toml").read_text(encoding="utf-8") == before

    def test_a_bad_prefix_writes_nothing(self, run: Run, tmp_path: Path) -> None:
        """A prefix ticketkit cannot use is refused before any file is written."""
        refused(run("init", "--prefix", "hd-1"), 1, "'hd-1'")
        assert not (tmp_path / "ticketkit.toml").exists()
        assert not (tmp_path / "tickets.db").exists()

    def test_plain_path_is_a_sqlite_file(self, run: Run, tmp_path: Path) -> None:
        """``--url ./x.db`` (no ``://``) names a SQLite file."""
        ok(run("--url", "sub.db", "init"))
        assert (tmp_path / "sub.db").exists()
        assert ok(run("open", "Here", "--url", "sub.db")).stdout == "TK-1\n"
        assert ok(run("--url", "sqlite:///sub.db", "list")).stdout.startswith("TK-1\t")


class TestConfiguration:
    def test_config_option_and_variable(self, run: Run, tmp_path: Path) -> None:
        """``--config FILE`` or $TICKETKIT_CONFIG names the file; its url and prefix apply."""
        (tmp_path / "desk.toml").write_text(
            'url = "sqlite:///desk.db"\n[tracker]\nprefix = "SD"\n', encoding="utf-8"
        )
        ok(run("--config", "desk.toml", "init"))
        assert (tmp_path / "desk.db").exists()
        assert ok(run("--config", "desk.toml", "open", "One")).stdout == "SD-1\n"
        env = {"TICKETKIT_CONFIG": "desk.toml"}
        assert ok(run("show", "SD-1", env=env)).stdout.startswith("SD-1  One")

    def test_url_option_beats_config_url(self, run: Run, tmp_path: Path) -> None:
        """The command's --url beats the group's --url, which beats the file's url."""
        (tmp_path / "ticketkit.toml").write_text('url = "file.db"\n', encoding="utf-8")
        ok(run("init"))
        ok(run("--url", "group.db", "init"))
        ok(run("--url", "group.db", "init", "--url", "command.db"))
        assert {p.name for p in tmp_path.glob("*.db")} == {"file.db", "group.db", "command.db"}

    def test_custom_fields_from_the_file(self, run: Run, tmp_path: Path) -> None:
        """``[[tracker.fields]]`` tables define custom fields; --field values take their types."""
        (tmp_path / "ticketkit.toml").write_text(
            '[tracker]\nprefix = "HD"\n'
            '[[tracker.fields]]\nname = "seats"\ntype = "int"\n'
            '[[tracker.fields]]\nname = "os"\ntype = "multi_choice"\nchoices = ["linux", "mac"]\n',
            encoding="utf-8",
        )
        ok(run("init"))
        ticket = as_json(run("open", "Laptops", "-f", "seats=3", "-f", "os=mac,linux", "--json"))
        assert ticket["fields"] == {"seats": 3, "os": ["linux", "mac"]}
        refused(run("open", "Bad", "-f", "seats=many"), 1, "seats", "whole number")
        refused(run("open", "Bad", "-f", "nosuch=1"), 1, "nosuch")

    def test_broken_config_file(self, run: Run, tmp_path: Path) -> None:
        """A configuration file that is not TOML exits 1 naming the file."""
        (tmp_path / "ticketkit.toml").write_text("prefix = \n", encoding="utf-8")
        refused(run("list"), 1, "ticketkit.toml")

    def test_missing_database_is_not_created(self, run: Run, tmp_path: Path) -> None:
        """A command other than init on a missing SQLite file exits 1 and creates nothing."""
        refused(run("list"), 1, "ticketkit init")
        assert list(tmp_path.iterdir()) == []


class TestDemo:
    def test_plays_the_demo(self, run: Run, tmp_path: Path) -> None:
        """``ticketkit demo`` plays python -m ticketkit demo's story."""
        result = ok(run("demo", "--url", "memory://"))
        assert "HD-1" in result.stdout
        assert "history" in result.stdout.lower()


class TestWorker:
    def test_group_config_goes_to_the_worker(self, run: Run, tmp_path: Path) -> None:
        """``ticketkit --config FILE worker --once`` runs the worker on that file."""
        (tmp_path / "desk.toml").write_text(
            'url = "sqlite:///desk.db"\n[tracker]\nprefix = "SD"\n', encoding="utf-8"
        )
        ok(run("--config", "desk.toml", "init"))
        result = ok(run("--config", "desk.toml", "worker", "--once"))
        assert "RunReport" in result.stdout


class TestInitFailures:
    def test_unreachable_database_writes_no_settings(self, run: Run, tmp_path: Path) -> None:
        """When the database cannot be created, init exits 75 and writes no settings file."""
        url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
        refused(run("init", "--url", url, "--prefix", "HD"), 75, "cannot connect")
        assert not (tmp_path / "ticketkit.toml").exists()


class TestStartUp:
    def test_building_the_command_imports_little(self) -> None:
        """Building every command (for --help, say) imports neither Rich nor SQLAlchemy."""
        code = (
            "import sys\n"
            "from ticketkit.cli import build_cli\n"
            "build_cli()\n"
            "heavy = {m.split('.')[0] for m in sys.modules} & {'rich', 'sqlalchemy', 'cattrs'}\n"
            "assert not heavy, heavy\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


class TestMail:
    def test_group_config_goes_to_mail_ingest(self, run: Run, tmp_path: Path) -> None:
        """``ticketkit --config FILE mail ingest`` opens tickets with the file's settings."""
        (tmp_path / "desk.toml").write_text(
            'url = "sqlite:///desk.db"\n[tracker]\nprefix = "SD"\n', encoding="utf-8"
        )
        ok(run("--config", "desk.toml", "init"))
        message = (
            "From: Ann <ann@example.org>\r\nTo: help@example.com\r\nSubject: Disk full\r\n"
            "Message-ID: <p1@example.org>\r\nDate: Mon, 05 Jan 2026 09:00:00 +0000\r\n\r\n"
            "The disk is full.\r\n"
        )
        args = ["mail", "ingest", "--domain", "example.com", "--stdin"]
        result = ok(run("--config", "desk.toml", *args, input=message))
        assert result.stdout == "1 message(s): 1 opened\n"
        listed = ok(run("--config", "desk.toml", "list")).stdout
        assert listed.startswith("SD-1\tnew\t")
        assert "Disk full" in listed
