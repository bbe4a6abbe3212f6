"""The ``ticketkit`` command (needs the ``cli`` extra: ``pip install 'ticketkit[cli]'``).

Importing this module is cheap: click, rich and SQLAlchemy are imported when a
command runs. Each command (or group) is built by a function in :data:`GROUPS`
(``ticketkit db …`` by :func:`db_group`, the ticket commands in the sibling
``_cli_*`` modules); a new one is one more such function. Results go to
stdout, messages to stderr. Every command exits with the same codes
(:data:`EXIT_CODES`, see ``docs/cli.md``): 0 on success, 1 when ticketkit
refuses (a one-line ``Error: …``, no traceback), 2 on a usage error, 3 when
a ticket is not found, 4 on a stale ``--expected-version`` and 75 (try again
later) when the database cannot do the work.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click
    from sqlalchemy import Engine

__all__ = [
    "DEFAULT_URL",
    "EXIT_CODES",
    "GROUPS",
    "build_cli",
    "database_url",
    "db_group",
    "mail_command",
    "main",
    "reporting",
    "say",
]

DEFAULT_URL = "sqlite:///tickets.db"
URL_ENV = "TICKETKIT_URL"
CONFIG_ENV = "TICKETKIT_CONFIG"

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_TEMPFAIL = 75  # sysexits.h EX_TEMPFAIL, as ``ticketkit mail`` uses it

#: What each exit code of every ``ticketkit`` command means.
EXIT_CODES = {
    0: "success",
    EXIT_REFUSED: "ticketkit refused: a bad value, a workflow action not allowed, a bad record",
    EXIT_USAGE: "usage error: unknown command or option, missing argument",
    EXIT_NOT_FOUND: "no such ticket",
    EXIT_CONFLICT: "the ticket is no longer at --expected-version; nothing changed",
    EXIT_TEMPFAIL: "the database cannot do it now (unreachable, locked, full); nothing changed",
}
_NO_CLICK = "the ticketkit command needs click; install it with: pip install 'ticketkit[cli]'"


@contextmanager
def reporting() -> Iterator[None]:
    """Turn ticketkit's refusals (and a missing driver) into a one-line error and exit code.

    ``NotFound`` exits 3, ``ConflictError`` 4, a ``StorageError`` 75 (but a
    ``SchemaVersionError``, which waiting does not mend, 1), any other
    ``TicketkitError`` or a missing driver 1.
    """
    import click

    from ._errors import (
        ConflictError,
        NotFound,
        SchemaVersionError,
        StorageError,
        TicketkitError,
    )

    try:
        yield
    except (TicketkitError, ImportError) as exc:
        code = EXIT_REFUSED
        if isinstance(exc, NotFound):
            code = EXIT_NOT_FOUND
        elif isinstance(exc, ConflictError):
            code = EXIT_CONFLICT
        elif isinstance(exc, StorageError) and not isinstance(exc, SchemaVersionError):
            code = EXIT_TEMPFAIL

        class Refused(click.ClickException):
            exit_code = code

        raise Refused(" ".join(str(exc).split())) from exc


def say(message: str) -> None:
    """A message for the person at the terminal (stderr)."""
    import click

    click.echo(message, err=True)


def database_url(ctx: click.Context, url: str | None) -> str:
    """The URL given to the command, else ``ticketkit --url``/$TICKETKIT_URL, else the
    ``url`` of the configuration file, else :data:`DEFAULT_URL`.

    A value without ``://`` (``./helpdesk.db``) is the path of a SQLite file.
    """
    chosen = url or ctx.find_root().params.get("url")
    if not chosen:
        from ._cli_config import cli_config

        with reporting():
            configured = cli_config(ctx).get("url")
        chosen = configured if isinstance(configured, str) and configured else DEFAULT_URL
    return sqlite_url(chosen)


def sqlite_url(url: str) -> str:
    """``url`` itself, or for a plain path (no ``://``) the SQLite URL of that file."""
    if "://" in url or url.strip() == "memory:":
        return url
    return f"sqlite:///{url}"


def db_group() -> click.Group:
    """``ticketkit db``: create, upgrade and inspect the database schema."""
    import click

    @click.group("db")
    def db() -> None:
        """Create, upgrade and inspect ticketkit's database schema."""

    @db.command("upgrade")
    @click.argument("url", required=False)
    @click.option(
        "--revision",
        default="head",
        show_default=True,
        help="Schema revision to upgrade to.",
    )
    @click.pass_context
    def upgrade_command(ctx: click.Context, url: str | None, revision: str) -> None:
        """Create ticketkit's tables in the database at URL, or bring them up to date."""
        from .storage.sql import _migrate

        url = database_url(ctx, url)
        with reporting():
            engine = _make_engine(url)
            try:
                before = _migrate.current_revision(engine)
                reached = _migrate.upgrade(engine, revision)
            finally:
                engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        if before == reached:
            say(f"{where} is already at schema revision {reached}")
        elif before is None:
            say(f"created ticketkit's tables in {where} at schema revision {reached}")
        else:
            say(f"upgraded {where} from schema revision {before} to {reached}")
        click.echo(reached)

    @db.command("current")
    @click.argument("url", required=False)
    @click.option(
        "--json",
        "as_json",
        is_flag=True,
        help='Print {"url", "revision", "head"} (revision null: no schema).',
    )
    @click.pass_context
    def current_command(ctx: click.Context, url: str | None, as_json: bool) -> None:
        """Print the schema revision of the database at URL."""
        from .storage.sql import _migrate

        url = database_url(ctx, url)
        with reporting():
            engine = _make_engine(url)
            try:
                revision = _migrate.current_revision(engine)
            finally:
                engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        if as_json:
            import json

            click.echo(json.dumps({"url": where, "revision": revision, "head": _migrate.HEAD}))
            return
        if revision is None:
            say(f"{where} has no ticketkit schema; create it with: ticketkit db upgrade")
            return
        if revision == _migrate.HEAD:
            say(f"{where} is at schema revision {revision}, the newest this ticketkit knows")
        else:
            say(f"{where} is at schema revision {revision}; this ticketkit's is {_migrate.HEAD}")
        click.echo(revision)

    return db


def _make_engine(url: str) -> Engine:
    from .storage.sql import make_engine

    return make_engine(url)


def worker_command() -> click.Command:
    """``ticketkit worker``: :func:`ticketkit.worker.main` under the click command."""
    import click

    @click.command(
        "worker", context_settings={"ignore_unknown_options": True, "help_option_names": []}
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    @click.pass_context
    def worker(ctx: click.Context, args: tuple[str, ...]) -> None:
        """Run scheduled work (SLA, rules, auto-close, notifications) in a loop."""
        from .worker import main as worker_main

        url = ctx.parent.params.get("url") if ctx.parent else None
        given = list(args)
        if url and (not given or given[0].startswith("-")):
            given.insert(
                0, sqlite_url(url)
            )  # the group's --url (or its variable) names the database
        config = _config_option(ctx)
        if config and not _has_config(given):
            given += ["--config", config]
        ctx.exit(worker_main(given))

    return worker


def mail_command() -> click.Command:
    """``ticketkit mail ingest``: the mail gateway's sources, as ``python -m ticketkit mail``.

    The arguments go to :func:`ticketkit.intake._sources.main` as they are, so
    both commands take the same options and exit with the same codes: 0
    whatever the messages' outcomes, 75 when the database or the IMAP server
    cannot be reached, 2 when the command or its settings are wrong.
    """
    import click

    @click.command(
        "mail", context_settings={"ignore_unknown_options": True, "help_option_names": []}
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    @click.pass_context
    def mail(ctx: click.Context, args: tuple[str, ...]) -> None:
        """Take in e-mail from stdin, a Maildir or IMAP: mail ingest --help."""
        from .intake._sources import main as mail_main

        url = ctx.parent.params.get("url") if ctx.parent else None
        given = list(args)
        if url and given[:1] == ["ingest"]:
            given[1:1] = ["--url", sqlite_url(url)]  # a URL given after "ingest" still wins
        config = _config_option(ctx)
        if config and given[:1] == ["ingest"] and not _has_config(given):
            given += ["--config", config]
        ctx.exit(mail_main(given))

    return mail


def _config_option(ctx: click.Context) -> str | None:
    """The group's ``--config`` (or $TICKETKIT_CONFIG), for commands that take a file."""
    given = ctx.find_root().params.get("config")
    return str(given) if given else None


def _has_config(args: Sequence[str]) -> bool:
    return any(a == "--config" or a.startswith("--config=") for a in args)


def _lazy(module: str, name: str) -> Callable[[], click.Command]:
    """A builder that imports ``module`` (a sibling) only when the command is built."""

    def build() -> click.Command:
        from importlib import import_module

        made: click.Command = getattr(import_module(module, __package__), name)()
        return made

    build.__name__ = build.__qualname__ = name
    return build


#: Builders of the commands under ``ticketkit``, in the order ``--help`` lists them.
GROUPS: list[Callable[[], click.Command]] = [
    _lazy("._cli_config", "init_command"),
    _lazy("._cli_write", "open_command"),
    _lazy("._cli_read", "show_command"),
    _lazy("._cli_read", "list_command"),
    _lazy("._cli_read", "search_command"),
    _lazy("._cli_write", "transition_command"),
    _lazy("._cli_write", "comment_command"),
    _lazy("._cli_write", "assign_command"),
    _lazy("._cli_transfer", "import_command"),
    _lazy("._cli_transfer", "export_command"),
    _lazy("._cli_report", "report_command"),
    _lazy("._cli_config", "demo_command"),
    db_group,
    mail_command,
    worker_command,
]


def build_cli() -> click.Group:
    """The ``ticketkit`` command with every command in :data:`GROUPS`."""
    import click

    @click.group("ticketkit", context_settings={"help_option_names": ["-h", "--help"]})
    @click.option(
        "--url",
        envvar=URL_ENV,
        show_envvar=True,
        help=f"Database URL (or a SQLite file's path) for commands not given one "
        f"[default: the config file's url, else {DEFAULT_URL}].",
    )
    @click.option(
        "--config",
        envvar=CONFIG_ENV,
        show_envvar=True,
        type=click.Path(dir_okay=False),
        help="Configuration file (TOML, as ticketkit worker reads) [default: ./ticketkit.toml "
        "when it exists].",
    )
    @click.option(
        "--color/--no-color",
        default=None,
        help="Tables and colours even when stdout is not a terminal (or never) "
        "[default: only on a terminal].",
    )
    def cli(url: str | None, config: str | None, color: bool | None) -> None:
        """Embeddable issue tracking: manage a ticketkit database."""

    for build in GROUPS:
        cli.add_command(build())
    return cli


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``ticketkit`` command (the console script's entry point)."""
    try:
        import click  # noqa: F401
    except ImportError:
        sys.exit(_NO_CLICK)
    build_cli().main(args=argv, prog_name="ticketkit")


if __name__ == "__main__":
    main()
