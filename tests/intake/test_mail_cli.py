"""``ticketkit mail ingest`` and ``python -m ticketkit mail ingest``: one parser, one behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ticketkit import Tracker, cli
from ticketkit.intake._sources import EX_TEMPFAIL

from .corpus_support import OUR_DOMAIN
from .pymap_server import Server, make_certificate, running_pymap
from .test_sources import five_messages, mail

PASSWORD_ENV = "TICKETKIT_IMAP_PASSWORD"


@pytest.fixture
def server() -> Iterator[Server]:
    with running_pymap() as running:
        running.append(mail("<a@example.com>").replace(b"\n", b"\r\n"))
        running.append(mail("<b@example.com>", subject="VPN down").replace(b"\n", b"\r\n"))
        yield running


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'desk.db'}"


def run(*args: str, env: dict[str, str | None] | None = None, stdin: bytes | None = None) -> Result:
    """The click command, with no database URL or IMAP password from the real environment."""
    environment: dict[str, str | None] = {"TICKETKIT_URL": None, PASSWORD_ENV: None}
    environment.update(env or {})
    return CliRunner().invoke(cli.build_cli(), list(args), env=environment, input=stdin)


def imap_args(server: Server, *more: str) -> list[str]:
    return [
        "--domain", OUR_DOMAIN, "--imap", "127.0.0.1", "--imap-port", str(server.port),
        "--imap-user", server.user, "--imap-security", "none", *more,
    ]  # fmt: skip


def titles(url: str) -> list[str]:
    with Tracker.from_url(url) as tracker:
        return sorted(t.title for t in tracker.query(None))


class TestClickCommand:
    def test_imap_into_the_database_the_group_names(self, server: Server, url: str) -> None:
        """`ticketkit --url URL mail ingest --imap HOST ...` opens tickets, exit 0; again: none."""
        args = ["--url", url, "mail", "ingest", *imap_args(server)]
        result = run(*args, env={PASSWORD_ENV: server.password})
        assert result.exit_code == 0, result.output
        assert result.stdout == "2 message(s): 2 opened\n"
        assert titles(url) == ["Printer broken", "VPN down"]
        again = run(*args, env={PASSWORD_ENV: server.password})
        assert (again.exit_code, again.stdout) == (0, "0 message(s): nothing to do\n")
        assert len(server.messages('"ticketkit-done"')) == 2

    def test_the_password_variable_can_be_renamed(self, server: Server, url: str) -> None:
        """--imap-password-env names the variable; a URL after `ingest` wins over the group's."""
        other = url.replace("desk.db", "other.db")
        result = run(
            "--url", other, "mail", "ingest", url, *imap_args(server, "--imap-password-env", "PW"),
            env={"PW": server.password},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert titles(url) == ["Printer broken", "VPN down"]
        assert not Path(other.removeprefix("sqlite:///")).exists()

    def test_maildir_with_the_url_from_the_environment(self, tmp_path: Path, url: str) -> None:
        """$TICKETKIT_URL names the database; a Maildir is read as with python -m."""
        folder = five_messages(tmp_path / "inbox", key="TK-1")
        result = run(
            "mail", "ingest", "--domain", OUR_DOMAIN, "--maildir", str(folder),
            env={"TICKETKIT_URL": url},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert result.stdout == "5 message(s): 3 opened, 1 commented, 1 ignored\n"

    def test_stdin(self, url: str) -> None:
        """--stdin takes the one message piped in."""
        result = run("--url", url, "mail", "ingest", "--domain", OUR_DOMAIN, "--stdin",
                     stdin=mail("<p@example.com>", subject="Disk full"))  # fmt: skip
        assert (result.exit_code, result.stdout) == (0, "1 message(s): 1 opened\n")
        assert titles(url) == ["Disk full"]

    def test_the_password_must_be_in_the_environment(self, server: Server, url: str) -> None:
        """No variable set: a usage error (2) naming the variable; nothing is read."""
        result = run("--url", url, "mail", "ingest", *imap_args(server))
        assert result.exit_code == 2
        assert PASSWORD_ENV in result.stderr
        assert "never taken on the command line" in result.stderr
        assert len(server.messages()) == 2

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--stdin", "--imap-user", "desk"], "--imap-user needs --imap HOST"),
            (["--stdin", "--imap-security", "starttls"], "--imap-security needs --imap HOST"),
            (["--imap", "mail.example.com"], "--imap needs --imap-user USER"),
            (["--imap", "h", "--imap-user", "u", "--imap-limit", "0"], "not a positive whole"),
            (["--imap", "h", "--imap-user", "u", "--imap-security", "ssl"], "invalid choice"),
            (["--stdin", "--maildir", "x"], "not allowed with argument"),
            ([], "one of the arguments --stdin --maildir --imap is required"),
        ],
    )
    def test_usage_errors_exit_2(self, url: str, args: list[str], message: str) -> None:
        """Each names the option that is wrong or missing."""
        result = run("--url", url, "mail", "ingest", "--domain", OUR_DOMAIN, *args,
                     env={PASSWORD_ENV: "x"})  # fmt: skip
        assert result.exit_code == 2
        assert message in result.stderr

    def test_no_database_url(self) -> None:
        """Without a URL, --url, $TICKETKIT_URL or --config: a usage error."""
        result = run("mail", "ingest", "--domain", OUR_DOMAIN, "--stdin")
        assert result.exit_code == 2
        assert "give the database URL" in result.stderr

    def test_an_imap_server_that_cannot_be_reached_exits_75(self, url: str) -> None:
        """Connection refused: EX_TEMPFAIL, so cron or a supervisor tries again later."""
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = str(sock.getsockname()[1])
            result = run(
                "--url", url, "mail", "ingest", "--domain", OUR_DOMAIN, "--imap", "127.0.0.1",
                "--imap-port", port, "--imap-user", "u", "--imap-security", "none",
                env={PASSWORD_ENV: "x"},
            )  # fmt: skip
        assert result.exit_code == EX_TEMPFAIL == 75
        assert f"cannot reach IMAP server 127.0.0.1:{port}" in result.stderr

    def test_a_refused_login_exits_2_without_the_password(self, server: Server, url: str) -> None:
        """Wrong settings are not worth retrying: exit 2, the reason on stderr."""
        result = run("--url", url, "mail", "ingest", *imap_args(server),
                     env={PASSWORD_ENV: "not-the-password"})  # fmt: skip
        assert result.exit_code == 2
        assert "refused" in result.stderr
        assert "not-the-password" not in result.output
        assert len(server.messages()) == 2

    def test_a_database_that_cannot_be_reached_exits_75(
        self, server: Server, tmp_path: Path
    ) -> None:
        """The database cannot be opened: 75, and the messages stay on the server."""
        missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'desk.db'}"
        result = run("--url", missing, "mail", "ingest", *imap_args(server),
                     env={PASSWORD_ENV: server.password})  # fmt: skip
        assert result.exit_code == EX_TEMPFAIL
        assert "directory" in result.stderr
        assert len(server.messages()) == 2

    def test_help_lists_the_sources_and_exit_codes(self) -> None:
        """`ticketkit --help` names the mail command; `mail ingest --help` its options."""
        top = run("--help")
        assert top.exit_code == 0
        assert "mail" in top.stdout
        result = run("mail", "ingest", "--help")
        assert result.exit_code == 0
        for option in ("--stdin", "--maildir", "--imap HOST", "--imap-password-env", "75"):
            assert option in result.stdout


def python_m(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("TICKETKIT_URL", PASSWORD_ENV)}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "ticketkit", "mail", "ingest", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


class TestPythonM:
    def test_imaps_with_the_ca_from_ssl_cert_file(self, tmp_path: Path, url: str) -> None:
        """`python -m ticketkit mail ingest --imap` over TLS, trusting the CA in SSL_CERT_FILE."""
        import ssl

        cert, key = make_certificate(tmp_path)
        server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_side.load_cert_chain(cert, key)
        with running_pymap(
            implicit_tls=server_side, client_context=ssl.create_default_context(cafile=str(cert))
        ) as server:
            server.append(mail("<a@example.com>").replace(b"\n", b"\r\n"))
            done = python_m(
                url, "--domain", OUR_DOMAIN, "--imap", "127.0.0.1", "--imap-port",
                str(server.port), "--imap-user", server.user,
                env={PASSWORD_ENV: server.password, "SSL_CERT_FILE": str(cert)},
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert done.stdout == "1 message(s): 1 opened\n"
            assert server.password not in done.stdout + done.stderr
            assert server.messages() == []
        assert titles(url) == ["Printer broken"]

    def test_the_same_help_as_the_click_command(self) -> None:
        """Both commands are one parser: their help is the same text."""
        done = python_m("--help", env={"COLUMNS": "100"})
        assert done.returncode == 0, done.stderr
        clicked = run("mail", "ingest", "--help", env={"COLUMNS": "100"})
        assert clicked.stdout == done.stdout
