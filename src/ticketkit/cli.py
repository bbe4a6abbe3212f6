"""The ``ticketkit`` command (needs the ``cli`` extra: ``pip install 'ticketkit[cli]'``).

Importing this module is cheap: click and SQLAlchemy are imported when the
command runs. Each command group is built by a function in :data:`GROUPS`
(``ticketkit db …`` by :func:`db_group`); a new group is one more such function,
here or in a sibling module. Results go to stdout, messages to stderr. Exit
codes: 0 on success, 1 when ticketkit refuses (the message, no traceback),
2 on a usage error; ``ticketkit mail`` also exits 75 (try again later) when
the database or the IMAP server cannot be reached.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click
    from sqlalchemy import Engine

__all__ = ["DEFAULT_URL", "GROUPS", "build_cli", "db_group", "mail_command", "main"]

DEFAULT_URL = "sqlite:///tickets.db"
URL_ENV = "TICKETKIT_URL"
_NO_CLICK = "the ticketkit command needs click; install it with: pip install 'ticketkit[cli]'"


@contextmanager
def reporting() -> Iterator[None]:
    """Turn ticketkit's refusals (and a missing driver) into a one-line error, exit code 1."""
    import click

    from ._errors import TicketkitError

    try:
        yield
    except (TicketkitError, ImportError) as exc:
        raise click.ClickException(str(exc)) from exc


def say(message: str) -> None:
    """A message for the person at the terminal (stderr)."""
    import click

    click.echo(message, err=True)


def database_url(ctx: click.Context, url: str | None) -> str:
    """The URL given to the command, else the one given to ``ticketkit --url``/$TICKETKIT_URL."""
    if url:
        return url
    chosen: str = ctx.find_root().params.get("url") or DEFAULT_URL
    return chosen


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
    @click.pass_context
    def current_command(ctx: click.Context, url: str | None) -> None:
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
            given.insert(0, url)  # the group's --url (or its variable) names the database
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
            given[1:1] = ["--url", url]  # a URL given after "ingest" still wins
        ctx.exit(mail_main(given))

    return mail


#: Builders of the command groups under ``ticketkit``, in the order ``--help`` lists them.
GROUPS: list[Callable[[], click.Command]] = [db_group, mail_command, worker_command]


def build_cli() -> click.Group:
    """The ``ticketkit`` command with every group in :data:`GROUPS`."""
    import click

    @click.group("ticketkit", context_settings={"help_option_names": ["-h", "--help"]})
    @click.option(
        "--url",
        envvar=URL_ENV,
        show_envvar=True,
        help=f"Database URL for commands not given one [default: {DEFAULT_URL}].",
    )
    def cli(url: str | None) -> None:
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
