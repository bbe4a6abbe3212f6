"""Build a Trac environment with tickets, history, comments and attachments.

Run by the Python of a throwaway virtual environment that has Trac installed
(never by the test suite's own interpreter): ``python make_trac.py ENV OUT.json``.
It creates the environment with ``trac-admin``'s commands, fills it through Trac's own
Python API with set actors and times, and writes what Trac itself reports
(each ticket's changelog and attachments) to OUT.json for the tests to compare.
"""

import contextlib
import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trac.admin.console
from trac.attachment import Attachment
from trac.env import Environment
from trac.ticket.model import Ticket
from trac.util.datefmt import to_utimestamp

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
PEOPLE = ["ann", "bob", "carl", "dora@example.com"]
CUSTOM = """
[ticket-custom]
site = text
site.label = Site
billable = checkbox
billable.value = 0
"""


def admin(env, *args):
    """Run a trac-admin command, in this process (starting Python anew costs seconds)."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = trac.admin.console.run([env, *args])
    if code:
        raise SystemExit(f"trac-admin {env} {' '.join(args)} failed:\n{out.getvalue()}")


def main(env_path, out):
    admin(env_path, "initenv", "Imported", "sqlite:db/trac.db")
    with open(Path(env_path) / "conf" / "trac.ini", "a", encoding="utf-8") as ini:
        ini.write(CUSTOM)
    admin(env_path, "component", "add", "Printing and scanning", "bob")
    admin(env_path, "component", "add", "Mail", "carl")
    env = Environment(env_path)
    at = T0

    def tick(minutes=7):
        nonlocal at
        at += timedelta(minutes=minutes)
        return at

    # Ticket 1: the full life of a defect.
    t = Ticket(env)
    t.populate(
        {
            "summary": "Printer on fire",
            "description": "Smoke from the '''second''' floor printer.",
            "reporter": "ann",
            "type": "defect",
            "priority": "critical",
            "component": "Printing and scanning",
            "keywords": "printer hardware",
            "cc": "dora@example.com",
            "site": "Berlin",
            "status": "new",
            "owner": "",
        }
    )
    t.insert(when=tick())
    t = Ticket(env, t.id)
    t["owner"] = "bob"
    t["status"] = "assigned"
    t.save_changes("carl", "Bob, please have a look.", when=tick())
    t = Ticket(env, t.id)
    t["status"] = "accepted"
    t["priority"] = "blocker"
    t.save_changes("bob", "On it.", when=tick())
    t = Ticket(env, t.id)
    t.save_changes("ann", "It is spreading!", when=tick())
    att = Attachment(env, "ticket", t.id)
    att.author = "ann"
    att.description = "photo"
    data = b"\x89PNG not really"
    att.insert("fire.png", io.BytesIO(data), len(data), t=tick())
    t = Ticket(env, t.id)
    t["status"] = "closed"
    t["resolution"] = "fixed"
    t["keywords"] = "printer hardware urgent"
    t["site"] = "Berlin-Mitte"
    t["billable"] = "1"
    t["cc"] = "dora@example.com, ann"
    t.save_changes("bob", "Put it out.", when=tick())
    t = Ticket(env, t.id)
    t["status"] = "reopened"
    t["resolution"] = ""
    t["summary"] = "Printer on fire (again)"
    t.save_changes("ann", "", when=tick())
    t = Ticket(env, t.id)
    t["component"] = "Mail"
    t["description"] = "Smoke from the '''second''' floor printer.\n\nAnd the mail server."
    t.save_changes("dora@example.com", "Moved.", when=tick())

    # Tickets 2..41: varied, deterministic.
    statuses = ["new", "assigned", "accepted", "closed", "reopened"]
    priorities = ["blocker", "critical", "major", "minor", "trivial"]
    for n in range(40):
        t = Ticket(env)
        t.populate(
            {
                "summary": f"Ticket number {n}",
                "description": f"Body {n}" if n % 3 else "",
                "reporter": PEOPLE[n % 4],
                "type": ["defect", "task", "enhancement"][n % 3],
                "priority": priorities[n % 5],
                "component": ["Mail", "Printing and scanning", ""][n % 3],
                "keywords": "" if n % 2 else f"k{n % 4}",
                "status": "new",
                "owner": "",
                "milestone": "milestone1" if n % 5 == 0 else "",
            }
        )
        t.insert(when=tick(3))
        for step in range(n % 4):
            t = Ticket(env, t.id)
            status = statuses[(n + step) % 5]
            t["status"] = status
            t["resolution"] = "wontfix" if status == "closed" else ""
            if status in ("assigned", "accepted"):
                t["owner"] = PEOPLE[(n + step + 1) % 4]
            if step == 1:
                t["priority"] = priorities[(n + 2) % 5]
            comment = f"Step {step} of {n}" if (n + step) % 2 else ""
            t.save_changes(PEOPLE[(n + step) % 4], comment, when=tick(2))

    result = {}
    with env.db_query as db:
        ids = [row[0] for row in db("SELECT id FROM ticket ORDER BY id")]
    for tid in ids:
        t = Ticket(env, tid)
        changes = [
            [to_utimestamp(when), author, field, old, new]
            for when, author, field, old, new, _ in t.get_changelog()
        ]
        result[str(tid)] = {
            "values": {k: t[k] for k in t.values},
            "time": to_utimestamp(t["time"]),
            "changelog": changes,
            "attachments": [a.filename for a in Attachment.select(env, "ticket", tid)],
        }
    Path(out).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
