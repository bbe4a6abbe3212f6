"""Where the ``ticketkit`` command's settings come from, and ``ticketkit init`` / ``demo``.

Every invocation is a new process, and the store keeps no configuration, so a
tracker's settings (key prefix, workflow, queues, custom fields, automation,
notifiers) live in a TOML file in the format ``ticketkit worker --config``
reads: ``--config FILE`` or ``$TICKETKIT_CONFIG``, else ``ticketkit.toml`` in
the current directory when there is one. ``ticketkit init --prefix HD``
writes that file. Besides what the worker accepts, the ``[tracker]`` table may
give ``fields`` as a list of tables (``FieldDef``'s JSON form) and
``workflow`` as a table (``Workflow.to_data()``'s form).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .cli import database_url, reporting, say, sqlite_url

if TYPE_CHECKING:
    from ._tracker import Tracker

__all__ = [
    "ACTOR_ENV",
    "CONFIG_FILE",
    "actor_option",
    "cli_config",
    "demo_command",
    "init_command",
    "json_option",
    "open_tracker",
    "read_text",
    "url_option",
]

CONFIG_FILE = "ticketkit.toml"
ACTOR_ENV = "TICKETKIT_ACTOR"
F = TypeVar("F", bound=Callable[..., Any])


def config_path(ctx: click.Context) -> Path | None:
    """``--config``/$TICKETKIT_CONFIG, else ``./ticketkit.toml`` if it exists, else ``None``."""
    given = ctx.find_root().params.get("config")
    if given:
        return Path(given)
    default = Path(CONFIG_FILE)
    return default if default.is_file() else None


def cli_config(ctx: click.Context) -> dict[str, Any]:
    """The configuration file's contents (``{}`` without one), read once per invocation."""
    meta = ctx.find_root().meta
    if "ticketkit.config" not in meta:
        from .worker import load_config

        path = config_path(ctx)
        meta["ticketkit.config"] = load_config(path) if path is not None else {}
    loaded: dict[str, Any] = meta["ticketkit.config"]
    return loaded


def open_tracker(ctx: click.Context, url: str | None) -> Tracker:
    """The tracker the command works on; the database must exist (``ticketkit init``).

    Call inside :func:`~ticketkit.cli.reporting`. A SQLite file that is not
    there is refused rather than created, so a command run in the wrong
    directory does not leave an empty database behind.
    """
    from ._tracker import Tracker
    from .worker import check_tables, tracker_settings

    where = database_url(ctx, url)
    config = cli_config(ctx)
    _require_sqlite_file(where)
    check_tables(config)
    settings = tracker_settings(config.get("tracker", {}))
    automation = notifiers = None
    if "automation" in config:
        from ._automation import Automation

        automation = Automation.from_data(config["automation"])
    if "notifiers" in config:
        from .worker import notifiers_from_data

        notifiers = notifiers_from_data(config["notifiers"])
    return Tracker.from_url(
        where, create=False, automation=automation, notifiers=notifiers, **settings
    )


def _sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names, or ``None`` (another database, memory)."""
    if not url.startswith("sqlite"):
        return None
    rest = url.split("://", 1)[-1]
    path = rest[1:].split("?", 1)[0] if rest.startswith("/") else ""
    return Path(path) if path and path != ":memory:" else None


def _require_sqlite_file(url: str) -> None:
    from ._errors import ValidationError

    path = _sqlite_file(url)
    if path is not None and not path.exists():
        raise ValidationError(
            f"there is no database file {str(path)!r}; create it with: ticketkit init "
            "(or name another with --url or $TICKETKIT_URL)",
            field="url",
        )


# -- options every ticket command shares ------------------------------------------------


def url_option(command: F) -> F:
    return click.option(
        "--url", help="Database URL or SQLite file (else ticketkit --url, $TICKETKIT_URL)."
    )(command)


def json_option(command: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (ticketkit.serde's form) instead."
    )(command)


def default_actor() -> str:
    """$TICKETKIT_ACTOR, else the login name."""
    return os.environ.get(ACTOR_ENV) or getpass.getuser()


def actor_option(command: F) -> F:
    return click.option(
        "--actor",
        default=default_actor,
        show_default="$TICKETKIT_ACTOR, else your login name",
        help="Who does it, as the history records it.",
    )(command)


def read_text(value: str) -> str:
    """``value``, or all of stdin when it is ``-``."""
    if value == "-":
        return sys.stdin.read().rstrip("\n")
    return value


# -- ticketkit init ------------------------------------------------------------------------


def _toml_file(url: str | None, settings: Mapping[str, str]) -> str:
    """A small TOML configuration (strings only: JSON's escapes are TOML's)."""
    lines = [
        "# ticketkit's settings: read by every ticketkit command and by",
        "# ticketkit worker --config. See docs/cli.md.",
    ]
    if url is not None:
        lines.append(f"url = {json.dumps(url)}")
    lines.append("")
    lines.append("[tracker]")
    lines += [f"{name} = {json.dumps(value)}" for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def _settings_file(ctx: click.Context, wanted: Mapping[str, str]) -> Path | None:
    """Where to write ``wanted``: the file's path, or ``None`` when it already says so.

    A file that says otherwise, or a bad prefix or workflow, is refused here,
    before the database or the file is touched.
    """
    from ._config import TrackerConfig
    from ._errors import ValidationError

    path = config_path(ctx) or Path(CONFIG_FILE)
    if not path.exists():
        settings: dict[str, Any] = dict(wanted)
        TrackerConfig(**settings)
        return path
    present = cli_config(ctx).get("tracker", {})
    for name, value in wanted.items():
        if present.get(name, value) != value:
            raise ValidationError(
                f"{path} sets {name} = {present[name]!r}, not {value!r}; edit the file to "
                "change it (keys of tickets already opened keep their prefix)",
                field=name,
            )
    missing = {k: v for k, v in wanted.items() if k not in present}
    if missing:
        raise ValidationError(
            f"{path} exists and does not set {', '.join(missing)}; add "
            + ", ".join(f"{k} = {json.dumps(v)}" for k, v in missing.items())
            + " under [tracker] yourself",
            field=next(iter(missing)),
        )
    return None


def _write_settings(ctx: click.Context, path: Path, url: str, wanted: Mapping[str, str]) -> None:
    """Write a new configuration file; ``url`` goes in unless it holds a password."""
    from sqlalchemy.engine import make_url

    keep_url = url if make_url(url).password is None else None
    path.write_text(_toml_file(keep_url, wanted), encoding="utf-8")
    ctx.find_root().meta.pop("ticketkit.config", None)


def init_command() -> click.Command:
    """``ticketkit init``: the database at the newest schema, and the settings file."""

    @click.command("init", short_help="Create the database and the settings file.")
    @url_option
    @click.option("--prefix", help="Key prefix of new tickets (HD gives HD-1), kept in the file.")
    @click.option(
        "--workflow",
        type=click.Choice(["helpdesk", "bugtracker", "simple"]),
        help="Built-in workflow, kept in the configuration file.",
    )
    @json_option
    @click.pass_context
    def init(
        ctx: click.Context,
        url: str | None,
        prefix: str | None,
        workflow: str | None,
        as_json: bool,
    ) -> None:
        """Create the database (tables at the newest schema); safe to run again.

        With --prefix or --workflow, also write them to the configuration file
        (./ticketkit.toml, or ticketkit --config FILE) that every command reads.
        """
        from .storage.sql import _migrate, make_engine

        where = database_url(ctx, url)
        wanted = {k: v for k, v in (("prefix", prefix), ("workflow", workflow)) if v}
        with reporting():
            written = _settings_file(ctx, wanted) if wanted else None
            engine = make_engine(where)
            try:
                before = _migrate.current_revision(engine)
                reached = _migrate.upgrade(engine)
            finally:
                engine.dispose()
            if written is not None:
                _write_settings(ctx, written, where, wanted)
            with open_tracker(ctx, where) as tracker:  # the settings must fit the database
                settings = tracker.config
        shown = engine.url.render_as_string(hide_password=True)
        if before is None:
            say(f"created the ticketkit database {shown} (schema revision {reached})")
        elif before == reached:
            say(f"{shown} is already a ticketkit database at schema revision {reached}")
        else:
            say(f"upgraded {shown} from schema revision {before} to {reached}")
        if written is not None:
            say(f"wrote the settings to {written}")
        result = {
            "url": shown,
            "revision": reached,
            "created": before is None,
            "config": str(config_path(ctx) or "") or None,
            "prefix": settings.prefix,
            "workflow": settings.workflow.name,
        }
        if as_json:
            click.echo(json.dumps(result))
        else:
            click.echo(shown)

    return init


def demo_command() -> click.Command:
    """``ticketkit demo``: :func:`ticketkit.demo.main`, as ``python -m ticketkit demo``."""

    @click.command("demo", short_help="Play the help-desk demo.")
    @click.option(
        "--url",
        help="An empty store to play the demo in [default: a fresh SQLite file in this directory].",
    )
    @click.pass_context
    def demo(ctx: click.Context, url: str | None) -> None:
        """Show tickets moving through the helpdesk workflow, with their history.

        The same as python -m ticketkit demo: by default in a fresh SQLite file
        in this directory, made afresh on each run.
        """
        from .demo import DEMO_FILE, run

        if url is None:
            path = Path.cwd() / DEMO_FILE
            for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        with reporting():
            run(sqlite_url(url), sys.stdout)

    return demo
