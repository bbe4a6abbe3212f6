"""The worker: runs :meth:`Tracker.run_due` in a loop.

Start one or several (on PostgreSQL, on as many hosts as you like: each job
runs once)::

    python -m ticketkit worker sqlite:///helpdesk.db --config helpdesk.toml
    ticketkit worker --config helpdesk.toml          # with the cli extra

or from host code, on a thread of its own::

    stop = threading.Event()
    threading.Thread(target=run_worker, args=(tracker,), kwargs={"stop": stop}).start()

The configuration file (TOML, or JSON by its suffix) holds the tracker's
settings, its :class:`~ticketkit.Automation` and its notifiers::

    url = "sqlite:///helpdesk.db"
    [tracker]
    prefix = "HD"
    [automation.sla]
    ...
    [notifiers.email]
    type = "smtp"
    host = "mail.example.com"
    sender = "help@example.com"
    [notifiers.hooks]
    type = "webhook"
    url = "https://example.com/hooks/ticketkit"
    secret_env = "TICKETKIT_WEBHOOK_SECRET"   # the secret itself stays out of the file
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import tomllib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import StorageError, ValidationError

if TYPE_CHECKING:
    from ._automator import RunReport
    from ._tracker import Tracker
    from .notify import Notifier

__all__ = ["load_config", "main", "notifiers_from_data", "run_worker", "tracker_from_config"]

logger = logging.getLogger("ticketkit.worker")


def run_worker(
    tracker: Tracker,
    *,
    interval: float = 30.0,
    stop: threading.Event | None = None,
    once: bool = False,
) -> RunReport | None:
    """Call ``tracker.run_due()`` until ``stop`` is set (or once, with ``once``).

    Between runs it sleeps ``interval`` seconds, or less when the store's next
    due instant comes sooner. A database that cannot be reached is logged and
    tried again at the next run; the worker itself never stops on it.
    """
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
        raise ValidationError(f"interval must be a positive number of seconds, got {interval!r}")
    stop = stop or threading.Event()
    report: RunReport | None = None
    while not stop.is_set():
        try:
            report = tracker.run_due()
            logger.info("run_due: %s", report)
        except StorageError as exc:
            logger.warning("run_due failed, trying again in %s s: %s", interval, exc)
        if once:
            return report
        stop.wait(_sleep(tracker, interval))
    return report


def _sleep(tracker: Tracker, interval: float) -> float:
    try:
        upcoming = tracker.store.next_due()
    except StorageError:
        return interval
    if upcoming is None:
        return interval
    wait = (upcoming - tracker.clock.now()) / timedelta(seconds=1)
    return min(interval, max(0.05, wait))


def notifiers_from_data(data: Mapping[str, Any]) -> dict[str, Notifier]:
    """Notifiers by name from a ``[notifiers]`` table (types ``smtp`` and ``webhook``).

    A webhook's ``secret_env`` (or an SMTP ``password_env``) names the
    environment variable that holds the secret, so the file carries none.
    """
    from .notify import SMTPNotifier, WebhookNotifier

    made: dict[str, Notifier] = {}
    for name, raw in data.items():
        if not isinstance(raw, Mapping) or "type" not in raw:
            raise ValidationError(
                f"notifier {name!r} must be a table with a type ('smtp' or 'webhook')",
                field=f"notifiers.{name}",
            )
        settings = {k: v for k, v in raw.items() if k != "type"}
        for key in ("secret_env", "password_env"):
            if key in settings:
                variable = settings.pop(key)
                value = os.environ.get(str(variable))
                if value is None:
                    raise ValidationError(
                        f"notifier {name!r}: environment variable {variable!r} is not set",
                        field=f"notifiers.{name}.{key}",
                    )
                settings[key.removesuffix("_env")] = value
        try:
            if raw["type"] == "smtp":
                made[name] = SMTPNotifier(**settings)
            elif raw["type"] == "webhook":
                made[name] = WebhookNotifier(**settings)
            else:
                raise ValidationError(
                    f"notifier {name!r} has unknown type {raw['type']!r}; use 'smtp' or 'webhook'",
                    field=f"notifiers.{name}.type",
                )
        except TypeError as exc:
            raise ValidationError(f"notifier {name!r}: {exc}", field=f"notifiers.{name}") from None
    return made


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a worker configuration file: TOML, or JSON when it ends in ``.json``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read configuration {str(file)!r}: {exc}") from None
    try:
        data = json.loads(text) if file.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"configuration {str(file)!r} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"configuration {str(file)!r} must be a table at the top")
    return data


def check_tables(config: Mapping[str, Any]) -> None:
    """Refuse a configuration with tables other than url, tracker, automation, notifiers."""
    unknown = sorted(set(config) - {"url", "tracker", "automation", "notifiers"})
    if unknown:
        raise ValidationError(
            f"unknown configuration table {unknown[0]!r}; use url, tracker, automation, notifiers"
        )


def tracker_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[tracker]`` table as ``Tracker`` keywords, its fields and workflow tables read.

    ``fields`` is a list of tables (or a table of them by name) as
    ``ticketkit.serde`` writes a ``FieldDef``; ``workflow`` is a built-in's name
    or a table as ``Workflow.to_data`` writes one.
    """
    from . import serde
    from ._fields import FieldDef
    from ._workflow import Workflow

    if not isinstance(data, Mapping):
        raise ValidationError("[tracker] in the configuration must be a table", field="tracker")
    settings = dict(data)
    fields = settings.get("fields")
    if isinstance(fields, Mapping):
        fields = [{"name": name, **spec} for name, spec in fields.items()]
    if isinstance(fields, list):
        settings["fields"] = [
            f if isinstance(f, FieldDef) else serde.structure(f, FieldDef) for f in fields
        ]
    if isinstance(settings.get("workflow"), Mapping):
        settings["workflow"] = Workflow.from_data(settings["workflow"])
    return settings


def tracker_from_config(config: Mapping[str, Any], url: str | None = None) -> Tracker:
    """The tracker a configuration describes (``url`` overrides the file's)."""
    from ._automation import Automation
    from ._tracker import Tracker

    check_tables(config)
    where = url or config.get("url")
    if not isinstance(where, str):
        raise ValidationError("give the database URL on the command line or as url in the file")
    settings = tracker_settings(config.get("tracker", {}))
    automation = Automation.from_data(config.get("automation", {}))
    notifiers = notifiers_from_data(config.get("notifiers", {}))
    return Tracker.from_url(where, automation=automation, notifiers=notifiers, **settings)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ticketkit worker [URL] --config FILE [--interval S] [--once]``."""
    parser = argparse.ArgumentParser(
        prog="ticketkit worker", description="Run scheduled help-desk work in a loop."
    )
    parser.add_argument("url", nargs="?", help="database URL (else url in the config file)")
    parser.add_argument("--config", required=True, help="TOML or JSON configuration file")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between runs")
    parser.add_argument("--once", action="store_true", help="run once and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        tracker = tracker_from_config(load_config(args.config), args.url)
    except ValidationError as exc:
        parser.exit(2, f"ticketkit worker: {exc}\n")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with tracker:
        report = run_worker(tracker, interval=args.interval, stop=stop, once=args.once)
    if args.once:
        print(report)
    return 0
