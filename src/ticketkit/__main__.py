"""``python -m ticketkit``: commands that need nothing beyond the standard library.

``python -m ticketkit demo [--url URL]`` plays the help-desk demo;
``python -m ticketkit worker [URL] --config FILE`` runs the scheduler;
``python -m ticketkit mail ingest URL --domain D --maildir PATH`` (or ``--stdin``, or
``--imap HOST --imap-user USER``) takes in mail.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

COMMANDS = {
    "demo": "show tickets moving through the helpdesk workflow, with their history",
    "worker": "run scheduled work (SLA, rules, auto-close, notifications) in a loop",
    "mail": "take in e-mail from stdin, a Maildir or IMAP (mail ingest URL --domain D ...)",
}

USAGE = "usage: python -m ticketkit COMMAND [OPTIONS]\n\ncommands:\n" + "".join(
    f"  {name:<8}{text}\n" for name, text in COMMANDS.items()
)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the command named first in ``argv``; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "demo":
        from .demo import main as demo_main

        return demo_main(rest)
    if command == "worker":
        from .worker import main as worker_main

        return worker_main(rest)
    if command == "mail":
        from .intake._sources import main as mail_main

        return mail_main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
