"""Where the mail gateway's messages come from: an MTA pipe (stdin) or a Maildir.

``python -m ticketkit mail ingest URL --domain D (--stdin | --maildir PATH)``
runs :func:`main`. IMAP is not supported yet: fetch into a Maildir (with
fetchmail, getmail or mbsync) and ingest that.
"""

from __future__ import annotations

import argparse
import mailbox
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import attrs

from .._errors import StorageError, TicketkitError
from ._gateway import OUTCOMES, IngestResult, MailGateway

__all__ = ["DONE_FOLDER", "IngestSummary", "ingest_maildir", "ingest_stdin", "main"]

#: The Maildir++ subfolder (directory ``.ticketkit-done``) a taken-in message moves to.
DONE_FOLDER = "ticketkit-done"
#: sysexits.h EX_TEMPFAIL: an MTA keeps the message and delivers it again later.
EX_TEMPFAIL = 75
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


@attrs.frozen
class IngestSummary:
    """What one run of a source did: ``counts`` per outcome, and every result in order."""

    results: tuple[IngestResult, ...] = ()
    counts: Mapping[str, int] = attrs.field(
        default=attrs.Factory(lambda self: _counts(self.results), takes_self=True)
    )

    @property
    def total(self) -> int:
        """How many messages were read."""
        return len(self.results)

    def __str__(self) -> str:
        done = ", ".join(f"{n} {outcome}" for outcome, n in self.counts.items() if n)
        return f"{self.total} message(s): {done or 'nothing to do'}"


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
        raise TicketkitError(
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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ticketkit mail ingest URL --domain D (--stdin | --maildir PATH)``.

    ``argv`` is what follows ``mail`` on the command line. Exits 0 whatever
    the messages' outcomes (a refused mail must not bounce into a loop) and
    75 (EX_TEMPFAIL, "try again later") when the database cannot be used.
    """
    parser = argparse.ArgumentParser(
        prog="ticketkit mail", description="Take in e-mail: open tickets, add replies."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ingest = commands.add_parser("ingest", help="take in mail from stdin or a Maildir")
    ingest.add_argument("url", help="database URL, such as sqlite:///helpdesk.db")
    ingest.add_argument("--domain", required=True, help="domain of the mail ticketkit sends")
    where = ingest.add_mutually_exclusive_group(required=True)
    where.add_argument("--maildir", help="Maildir to read (messages move to .ticketkit-done)")
    where.add_argument("--stdin", action="store_true", help="read one message from stdin")
    ingest.add_argument("--config", help="worker configuration file (TOML or JSON)")
    ingest.add_argument("--queue", help="queue for new tickets (default: the tracker's)")
    ingest.add_argument("--tenant", default="default", help="tenant of new tickets")
    args = parser.parse_args(argv)
    from .._tracker import Tracker
    from ..worker import load_config, tracker_from_config

    try:
        tracker = (
            tracker_from_config(load_config(args.config), args.url)
            if args.config
            else Tracker.from_url(args.url)
        )
    except StorageError as exc:
        print(f"ticketkit mail: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except TicketkitError as exc:
        parser.exit(2, f"ticketkit mail: {exc}\n")
    with tracker:
        try:
            gateway = MailGateway(tracker, domain=args.domain, queue=args.queue, tenant=args.tenant)
            if args.stdin:
                summary = ingest_stdin(gateway)
            else:
                summary = ingest_maildir(gateway, args.maildir)
        except StorageError as exc:
            print(f"ticketkit mail: {exc}", file=sys.stderr)
            return EX_TEMPFAIL
        except TicketkitError as exc:
            print(f"ticketkit mail: {exc}", file=sys.stderr)
            return 2
    print(summary)
    return 0
