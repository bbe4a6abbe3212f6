"""Where the mail gateway's messages come from: an MTA pipe (stdin), a Maildir or IMAP.

``python -m ticketkit mail ingest URL --domain D (--stdin | --maildir PATH |
--imap HOST ...)`` and ``ticketkit mail ingest ...`` both run :func:`main`, so
the two commands take the same options. The IMAP source itself is
:func:`ticketkit.intake.ingest_imap` (in ``_imap.py``).
"""

from __future__ import annotations

import argparse
import mailbox
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, cast

import attrs

from .._errors import StorageError, TicketkitError
from ._gateway import OUTCOMES, IngestResult, MailGateway

__all__ = [
    "DONE_FOLDER",
    "IngestSummary",
    "MailSourceError",
    "ingest_maildir",
    "ingest_stdin",
    "main",
]

#: Where a taken-in message moves: the Maildir++ subfolder (directory
#: ``.ticketkit-done``), or the IMAP mailbox of that name.
DONE_FOLDER = "ticketkit-done"
#: sysexits.h EX_TEMPFAIL: an MTA keeps the message and delivers it again later.
EX_TEMPFAIL = 75
#: The environment variable that holds the IMAP password unless --imap-password-env names another.
PASSWORD_ENV = "TICKETKIT_IMAP_PASSWORD"
URL_ENV = "TICKETKIT_URL"
_MICRO = re.compile(r"M([0-9]{1,9})")


def _delivery_order(key: str) -> tuple[int, int, str]:
    """Sort Maildir names (``seconds.M<microseconds>P<pid>...``) oldest first."""
    seconds, _, rest = key.partition(".")
    micro = _MICRO.search(rest)
    return (
        int(seconds) if seconds.isdigit() else 0,
        int(micro.group(1)) if micro else 0,
        key,
    )


def _counts(results: Iterable[IngestResult]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for result in results:
        counts[result.outcome] += 1
    return counts


class MailSourceError(TicketkitError):
    """A mail source cannot be read: not a Maildir, an IMAP server unreachable or refusing.

    ``temporary`` is True when trying again later may well work (the server
    cannot be reached, timed out or dropped the connection) and False when
    the settings are wrong (a refused login, no such mailbox, an untrusted
    certificate). The message names the place and what failed, never a password.
    """

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary


@attrs.frozen
class IngestSummary:
    """What one run of a source did: ``counts`` per outcome, and every result in order.

    ``pending`` counts the messages a batch limit left for the next run.
    """

    results: tuple[IngestResult, ...] = ()
    counts: Mapping[str, int] = attrs.field(
        default=attrs.Factory(lambda self: _counts(self.results), takes_self=True)
    )
    pending: int = 0

    @property
    def total(self) -> int:
        """How many messages were read."""
        return len(self.results)

    def __str__(self) -> str:
        done = ", ".join(f"{n} {outcome}" for outcome, n in self.counts.items() if n)
        left = f"; {self.pending} left for the next run" if self.pending else ""
        return f"{self.total} message(s): {done or 'nothing to do'}{left}"


def ingest_stdin(gateway: MailGateway, stream: BinaryIO | None = None) -> IngestSummary:
    """Take in the one message on ``stream`` (default: standard input, as an MTA pipes it).

    At most one byte more than the gateway's ``max_message_bytes`` is read, so
    an endless stream is refused as oversized rather than filling memory.
    """
    source = sys.stdin.buffer if stream is None else stream
    raw = source.read(gateway.limits.max_message_bytes + 1)
    return IngestSummary((gateway.ingest(raw),))


def ingest_maildir(gateway: MailGateway, path: str | Path) -> IngestSummary:
    """Take in every message in the Maildir's ``new/`` and ``cur/``, oldest first.

    Each message, whatever the outcome, is then moved to the ``.ticketkit-done``
    subfolder, so no run reads it twice. A crash (or a ``StorageError``, which
    is raised) leaves the current message where it was; the next run takes it
    in again, which its Message-ID reference makes harmless.
    """
    folder = Path(path)
    if not (folder / "cur").is_dir() or not (folder / "new").is_dir():
        raise MailSourceError(
            f"{str(folder)!r} is not a Maildir (it needs cur/, new/ and tmp/);"
            " give the directory that holds them"
        )
    box = mailbox.Maildir(folder, factory=None, create=False)
    done = box.add_folder(DONE_FOLDER)
    results: list[IngestResult] = []
    for key in sorted(box.keys(), key=_delivery_order):
        try:
            raw = box.get_bytes(key)
        except KeyError:
            continue  # another reader moved it meanwhile
        results.append(gateway.ingest(raw))
        done.add(raw)
        box.discard(key)
    return IngestSummary(tuple(results))


def _whole(text: str) -> int:
    """A positive whole number, for argparse."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The ``ticketkit mail`` parser and its ``ingest`` subcommand's."""
    parser = argparse.ArgumentParser(
        prog="ticketkit mail", description="Take in e-mail: open tickets, add replies."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ingest = commands.add_parser(
        "ingest",
        help="take in mail from stdin, a Maildir or IMAP",
        description="Take in mail from stdin, a Maildir or an IMAP mailbox. Exits 0 whatever"
        " the messages' outcomes, 75 when the database or the IMAP server cannot be"
        " reached (try again later), 2 when the command or its settings are wrong.",
    )
    ingest.add_argument("url", nargs="?", help="database URL, such as sqlite:///helpdesk.db")
    ingest.add_argument(
        "--url",
        dest="url_option",
        default=os.environ.get(URL_ENV) or None,
        help=f"database URL when not given first (default: ${URL_ENV}, else the config's url)",
    )
    ingest.add_argument("--domain", required=True, help="domain of the mail ticketkit sends")
    where = ingest.add_mutually_exclusive_group(required=True)
    where.add_argument("--stdin", action="store_true", help="read one message from stdin")
    where.add_argument("--maildir", help="Maildir to read (messages move to .ticketkit-done)")
    where.add_argument("--imap", metavar="HOST", help="IMAP server to read")
    ingest.add_argument("--config", help="worker configuration file (TOML or JSON)")
    ingest.add_argument("--queue", help="queue for new tickets (default: the tracker's)")
    ingest.add_argument("--tenant", default="default", help="tenant of new tickets")
    imap = ingest.add_argument_group("IMAP (with --imap HOST)")
    imap.add_argument("--imap-user", help="user name to log in as (required)")
    imap.add_argument(
        "--imap-password-env",
        metavar="VAR",
        default=PASSWORD_ENV,
        help=f"environment variable holding the password (default: {PASSWORD_ENV});"
        " a password is never taken on the command line",
    )
    from ._imap import SECURITY

    imap.add_argument(
        "--imap-security",
        choices=tuple(SECURITY),
        default="tls",
        help="tls (IMAPS, port 993), starttls (port 143) or none (default: tls)",
    )
    imap.add_argument("--imap-port", type=_whole, help="port (default: 993, or 143)")
    imap.add_argument("--imap-mailbox", default="INBOX", help="mailbox to read (default: INBOX)")
    imap.add_argument(
        "--imap-done-mailbox",
        default=DONE_FOLDER,
        help=f"mailbox taken-in messages move to, created if missing (default: {DONE_FOLDER})",
    )
    imap.add_argument(
        "--imap-limit", type=_whole, default=100, help="most messages per run (default: 100)"
    )
    imap.add_argument(
        "--imap-timeout", type=float, default=60.0, help="seconds to wait for the server"
    )
    return parser, ingest


_IMAP_OPTIONS = (
    "user",
    "password_env",
    "security",
    "port",
    "mailbox",
    "done_mailbox",
    "limit",
    "timeout",
)


def _imap_source(
    ingest: argparse.ArgumentParser, args: argparse.Namespace
) -> Callable[[MailGateway], IngestSummary] | None:
    """What ``--imap HOST`` and its options ask for, or None without ``--imap``."""
    if args.imap is None:
        for name in _IMAP_OPTIONS:
            if getattr(args, f"imap_{name}") != ingest.get_default(f"imap_{name}"):
                ingest.error(f"--imap-{name.replace('_', '-')} needs --imap HOST")
        return None
    if not args.imap_user:
        ingest.error("--imap needs --imap-user USER")
    password = os.environ.get(args.imap_password_env)
    if not password:
        ingest.error(
            f"put the IMAP password in the environment variable {args.imap_password_env}"
            " (--imap-password-env names another); it is never taken on the command line"
        )
    from ._imap import Security, ingest_imap

    def read(gateway: MailGateway) -> IngestSummary:
        return ingest_imap(
            gateway,
            args.imap,
            user=args.imap_user,
            password=password,
            port=args.imap_port,
            mailbox=args.imap_mailbox,
            done_mailbox=args.imap_done_mailbox,
            security=cast(Security, args.imap_security),
            max_messages=args.imap_limit,
            timeout=args.imap_timeout,
        )

    return read


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ticketkit mail ingest [URL] --domain D (--stdin | --maildir P | --imap H)``.

    ``argv`` is what follows ``mail`` on the command line; ``ticketkit mail``
    (the click command) runs this too. Exits 0 whatever the messages'
    outcomes (a refused mail must not bounce into a loop), 75 (EX_TEMPFAIL,
    "try again later") when the database or the IMAP server cannot be
    reached, and 2 when the command or its settings are wrong.
    """
    parser, ingest = _parser()
    args = parser.parse_args(argv)
    imap = _imap_source(ingest, args)
    from .._tracker import Tracker
    from ..worker import load_config, tracker_from_config

    url = args.url or args.url_option
    try:
        if args.config:
            tracker = tracker_from_config(load_config(args.config), url)
        elif url:
            tracker = Tracker.from_url(url)
        else:
            ingest.error(f"give the database URL (or --url, ${URL_ENV}, or --config FILE)")
    except StorageError as exc:
        print(f"ticketkit mail: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except TicketkitError as exc:
        parser.exit(2, f"ticketkit mail: {exc}\n")
    with tracker:
        try:
            gateway = MailGateway(tracker, domain=args.domain, queue=args.queue, tenant=args.tenant)
            if imap is not None:
                summary = imap(gateway)
            elif args.stdin:
                summary = ingest_stdin(gateway)
            else:
                summary = ingest_maildir(gateway, args.maildir)
        except (StorageError, MailSourceError) as exc:
            print(f"ticketkit mail: {exc}", file=sys.stderr)
            temporary = isinstance(exc, StorageError) or exc.temporary
            return EX_TEMPFAIL if temporary else 2
        except TicketkitError as exc:
            print(f"ticketkit mail: {exc}", file=sys.stderr)
            return 2
    print(summary)
    return 0
