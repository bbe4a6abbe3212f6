"""``python -m ticketkit demo``: a help desk's morning, replayed step by step.

Several tickets move through the built-in ``helpdesk`` workflow: work starts,
the agent waits for the customer, the customer replies, tickets are resolved
and closed, one is reopened within the reopen window (and one too late), an
agent leaves an internal note and a duplicate is merged. SLA clocks run on
business hours, and the scheduler (``run_due``) records the one target that is
missed. The demo then prints a table of the tickets, their SLA targets and,
for each, its history as the tracker recorded it.

A :class:`~ticketkit.FrozenClock` is advanced between the steps, so the output
is the same on every run. Only the standard library is used for output.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from ._automation import Automation
from ._clock import FrozenClock
from ._errors import TicketkitError, TransitionNotAllowed, ValidationError
from ._events import NOTICE_TYPES, Event, EventType
from ._model import Comment, Ticket
from ._tracker import Tracker
from .sla import BusinessCalendar, SLAPolicy, Target, TargetKind

__all__ = ["describe_event", "main", "run"]

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_TITLE_WIDTH = 34
_EXCERPT = 48
_ACTOR_WIDTH = 18
_STEP_INDENT = 26  # len('  Mon 05 Jan 09:00  HD-1  ')

#: The demo's promises: by priority, on office hours Monday to Friday.
DEMO_SLA = SLAPolicy(
    name="office hours",
    targets=(
        *(
            Target(kind, timedelta(hours=hours), priority=priority)
            for priority, first, resolve in (("P1", 0.5, 4), ("P2", 1, 8), ("P3", 2, 16))
            for kind, hours in (
                (TargetKind.FIRST_RESPONSE, first),
                (TargetKind.RESOLUTION, resolve),
            )
        ),
        Target(TargetKind.FIRST_RESPONSE, timedelta(hours=4)),
        Target(TargetKind.RESOLUTION, timedelta(hours=40)),
    ),
    calendar=BusinessCalendar.weekdays("08:00", "18:00", timezone="UTC"),
)


def _show(value: Any) -> str:
    """An event value (its JSON form) as a person would read it."""
    if value is None or value == []:
        return "–"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, dict):
        if "kind" in value and "key" in value:
            return f"{value['kind']} {value['key']}"
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    return str(value)


def _excerpt(text: str, width: int = _EXCERPT) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def describe_event(event: Event, comments: dict[int, Comment] | None = None) -> str:
    """One line saying what ``event`` changed: ``status: new → open (start)``.

    ``comments`` maps comment ids to comments, to quote the text of a
    ``commented`` event.
    """
    data = event.data
    if event.type is EventType.OPENED:
        opened = data["ticket"]
        return f"opened {opened['title']!r} as {opened['status']}, priority {opened['priority']}"
    if event.type is EventType.STATUS_CHANGED:
        action = data.get("action")
        via = f" ({action})" if action else ""
        return f"status: {_show(event.old)} → {_show(event.new)}{via}"
    if event.type is EventType.COMMENTED:
        kind = "internal note" if data.get("internal") else "reply"
        comment = (comments or {}).get(data.get("comment_id", 0))
        return kind if comment is None else f"{kind}: {_excerpt(comment.body)!r}"
    if event.type is EventType.MERGED and event.field is None:
        return f"merged {data.get('source')} into this ticket"
    if event.type is EventType.MERGED:
        return f"merged into {_show(event.new)}"
    if event.type in (EventType.LINKED, EventType.UNLINKED):
        sign = "+" if event.type is EventType.LINKED else "-"
        changed = data.get("added") or data.get("removed") or []
        return "link: " + ", ".join(f"{sign}{kind} {key}" for kind, key in changed)
    if event.type in (EventType.WATCHER_ADDED, EventType.WATCHER_REMOVED):
        sign = "+" if event.type is EventType.WATCHER_ADDED else "-"
        changed = data.get("added") or data.get("removed") or []
        return "watchers: " + ", ".join(f"{sign}{who}" for who in changed)
    if event.type is EventType.ATTACHMENT_ADDED:
        return f"attached {data.get('filename')} ({data.get('size')} bytes)"
    if event.type in (EventType.SLA_WARNING, EventType.SLA_BREACHED):
        return _sla_notice(event)
    if event.type in NOTICE_TYPES:
        facts = ", ".join(f"{k}={_show(v)}" for k, v in sorted(data.items()))
        return f"{event.type.value}: {facts}"
    return f"{event.field}: {_show(event.old)} → {_show(event.new)}"


def _sla_notice(event: Event) -> str:
    target = str(event.data.get("target", "")).replace("_", " ")
    due = str(event.data.get("due", ""))
    when = f" (due {due[11:16]})" if len(due) >= 16 else ""
    if event.type is EventType.SLA_BREACHED:
        return f"SLA breached: {target}{when}"
    share = event.data.get("threshold")
    at = f" at {share:.0%}" if isinstance(share, float) else ""
    return f"SLA warning: {target}{at}{when}"


class _Narrator:
    """Runs the demo's steps against a tracker and says what each one did."""

    def __init__(self, tracker: Tracker, clock: FrozenClock, out: TextIO) -> None:
        self.tracker = tracker
        self.clock = clock
        self.out = out
        tracker.subscribe(self._notice, EventType.SLA_WARNING, EventType.SLA_BREACHED)

    def _notice(self, event: Event) -> None:
        self.say(event.ticket_key, event.actor, _sla_notice(event))

    def say(self, key: str, actor: str, what: str) -> None:
        when = f"{self.clock.now():%a %d %b %H:%M}"
        print(f"  {when}  {key:<5} {actor:<{_ACTOR_WIDTH}} {what}", file=self.out)

    def later(self, **delta: float) -> None:
        """Let time pass; the scheduler then records what fell due meanwhile."""
        self.clock.advance(**delta)
        self.tracker.run_due()

    def open(self, title: str, reporter: str, **kwargs: Any) -> Ticket:
        ticket = self.tracker.open(title=title, actor=reporter, **kwargs)
        self.say(ticket.key, reporter, f"opened {title!r} ({ticket.priority}, {ticket.status})")
        return ticket

    def assign(self, key: str, agent: str, actor: str) -> None:
        self.tracker.assign(key, agent, actor=actor)
        self.say(key, actor, "took it" if agent == actor else f"assigned it to {agent}")

    def act(self, key: str, action: str, actor: str, **kwargs: Any) -> None:
        before = self.tracker.get(key).status
        after = self.tracker.transition(key, action, actor=actor, **kwargs).status
        said = ", with a reply" if "comment" in kwargs else ""
        self.say(key, actor, f"{action}: {before} → {after}{said}")

    def note(self, key: str, text: str, actor: str) -> None:
        self.tracker.comment(key, text, actor=actor, internal=True)
        self.say(key, actor, f"internal note {_excerpt(text, 40)!r}")

    def reply(self, key: str, text: str, actor: str) -> None:
        self.tracker.comment(key, text, actor=actor)
        self.say(key, actor, f"reply {_excerpt(text, 40)!r}")

    def merge(self, key: str, into: str, actor: str) -> None:
        before = self.tracker.get(key).status
        self.tracker.merge(key, into, actor=actor)
        after = self.tracker.get(key).status
        self.say(key, actor, f"merged into {into} as a duplicate: {before} → {after}")

    def try_act(self, key: str, action: str, actor: str) -> None:
        try:
            self.act(key, action, actor)
        except TransitionNotAllowed as exc:
            self.say(key, actor, f"{action} refused:")
            indent = " " * (_STEP_INDENT + _ACTOR_WIDTH + 1)
            wrapped = textwrap.fill(
                exc.reason or str(exc), 100, initial_indent=indent, subsequent_indent=indent
            )
            print(wrapped, file=self.out)


def _story(n: _Narrator) -> None:
    print("Tickets moving through the helpdesk workflow", file=n.out)
    print("", file=n.out)

    mail = n.open(
        "Cannot send e-mail",
        "bob@example.com",
        description="Outlook says 'server not responding' since this morning.",
        impact="high",
        urgency="high",
    )
    vpn = n.open("VPN drops every hour", "carol@example.com", impact="medium", urgency="medium")
    printer = n.open("Printer on floor 2 jams", "dave@example.com", impact="low", urgency="low")
    n.later(minutes=7)
    outbox = n.open("Mail stuck in outbox", "erin@example.com", impact="medium", urgency="high")

    n.later(minutes=3)
    n.assign(mail.key, "alice", actor="alice")
    n.act(mail.key, "start", "alice")
    n.note(mail.key, "Relay queue holds 40k messages; the spam filter is stuck.", "alice")
    n.later(minutes=5)
    n.merge(outbox.key, mail.key, actor="alice")
    n.act(
        mail.key,
        "wait_for_customer",
        "alice",
        comment="Please send us the bounce message you got.",
    )
    n.later(minutes=40)
    n.act(
        mail.key,
        "customer_replied",
        "bob@example.com",
        comment="Here it is: '451 4.3.0 temporary failure'.",
    )
    n.later(minutes=20)
    n.act(mail.key, "resolve", "alice", comment="The relay is flushed; mail flows again.")

    n.later(minutes=10)
    n.assign(vpn.key, "sam", actor="alice")
    n.act(vpn.key, "start", "sam")
    n.later(hours=1)
    n.act(vpn.key, "resolve", "sam", comment="Raised the VPN idle timeout to 8 hours.")

    n.later(minutes=15)
    n.act(printer.key, "start", "sam")
    n.act(printer.key, "resolve", "sam", comment="Replaced the pickup roller.")

    n.later(days=1)
    n.act(mail.key, "close", "alice")
    n.act(printer.key, "close", "sam")
    n.later(days=1, hours=3)
    n.reply(vpn.key, "It dropped again at 11:02.", "carol@example.com")
    n.act(vpn.key, "reopen", "carol@example.com")
    n.later(hours=2)
    n.act(vpn.key, "resolve", "sam", comment="Client upgraded to 5.2; the drops are gone.")
    n.later(days=1)
    n.act(vpn.key, "close", "sam")
    n.later(days=8)
    n.try_act(printer.key, "reopen", "dave@example.com")


def _table(tickets: Sequence[Ticket], out: TextIO) -> None:
    header = ("KEY", "STATUS", "PRIO", "ASSIGNEE", "RESOLUTION", "TITLE")
    rows = [
        (
            t.key,
            t.status,
            str(t.priority),
            t.assignee or "–",
            t.resolution or "–",
            _excerpt(t.title, _TITLE_WIDTH),
        )
        for t in tickets
    ]
    _print_rows([header, *rows], out)


def _print_rows(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Rows as left-aligned columns, two spaces apart, indented by two."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        print(f"  {cells}".rstrip(), file=out)


def _sla_table(tracker: Tracker, tickets: Sequence[Ticket], out: TextIO) -> None:
    header = ("KEY", "PRIO", "FIRST RESPONSE", "RESOLUTION")
    rows: list[tuple[str, ...]] = [header]
    for ticket in tickets:
        if ticket.merged_into is not None:
            continue
        status = tracker.sla_status(ticket.key)
        cells = []
        for kind in (TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION):
            target = status.target(kind)
            if target is None:
                cells.append("–")
                continue
            used = int(target.elapsed.total_seconds() // 60)
            limit = int(target.within.total_seconds() // 60)
            cells.append(f"{target.state.value} ({used} of {limit} min)")
        rows.append((ticket.key, str(ticket.priority), *cells))
    _print_rows(rows, out)


def _history(tracker: Tracker, ticket: Ticket, out: TextIO) -> None:
    comments = {c.id: c for c in tracker.comments(ticket.key)}
    print(f"{ticket.key}  {ticket.title}  ({ticket.status})", file=out)
    events = tracker.history(ticket.key)
    width = max(_ACTOR_WIDTH, *(len(e.actor) for e in events))
    for event in events:
        line = describe_event(event, comments)
        print(f"  {event.at:%Y-%m-%d %H:%M}  {event.actor:<{width}} {line}", file=out)


#: Where ``python -m ticketkit demo`` keeps its tickets unless given ``--url``.
DEMO_FILE = "ticketkit-demo.db"


def run(url: str = "memory://", out: TextIO = sys.stdout) -> None:
    """Play the demo on the store ``url`` names and print it to ``out``."""
    clock = FrozenClock(START)
    automation = Automation(sla=DEMO_SLA)
    with Tracker.from_url(url, clock=clock, prefix="HD", automation=automation) as tracker:
        if len(tracker.query(limit=1)):
            raise ValidationError(
                f"the demo needs an empty store, and {url} already holds tickets; "
                "give it a new database, such as sqlite:///ticketkit-demo.db"
            )
        _story(_Narrator(tracker, clock, out))
        tickets = list(tracker.query(order_by="id", limit=100))
        print("\nTickets\n", file=out)
        _table(tickets, out)
        print(f"\nSLA targets ({DEMO_SLA.name}: Mon-Fri 08:00-18:00 UTC)\n", file=out)
        _sla_table(tracker, tickets, out)
        print("\nHistory (time, actor, what changed: old → new)", file=out)
        for ticket in tickets:
            print("", file=out)
            _history(tracker, ticket, out)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``demo`` command: parse ``argv`` and run; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ticketkit demo",
        description="Show tickets moving through the helpdesk workflow, with their history.",
    )
    parser.add_argument(
        "--url",
        default=None,
        help=f"an empty store to play the demo in: a database URL such as "
        f"sqlite:///helpdesk.db, or memory://; by default the SQLite file {DEMO_FILE} in "
        "the current directory, made afresh on each run",
    )
    args = parser.parse_args(argv)
    url = args.url
    if url is None:
        path = Path.cwd() / DEMO_FILE
        for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    try:
        run(url)
    except TicketkitError as exc:
        print(f"ticketkit demo: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:  # the sql extra is missing
        print(f"ticketkit demo: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader (``| head``) went away; that is fine
        # Point stdout at /dev/null so flushing it at exit raises nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0
