"""Build a Roundup tracker with issues, messages and history, and export it.

Run by the Python of a throwaway virtual environment that has Roundup
installed (never by the test suite's own interpreter):
``python make_roundup.py HOME EXPORT_DIR OUT.json``. It installs a tracker
from the classic template with ``roundup-admin``, fills it through Roundup's
own Python API as several users at set times, exports it with
``roundup-admin export``, and writes what Roundup itself reports (each issue's
values, messages and journal) to OUT.json for the tests to compare.
"""

import contextlib
import datetime
import io
import json
import sys
from pathlib import Path

import roundup.admin
import roundup.date
import roundup.instance

T0 = datetime.datetime(2024, 5, 1, 9, 30)  # Roundup keeps naive UTC times
clock = [T0]


def admin(home, *args):
    """Run a roundup-admin command, in this process (starting Python anew costs seconds)."""
    saved = sys.argv
    sys.argv = ["roundup-admin", "-i", home, *args]
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = roundup.admin.AdminTool().main()
    finally:
        sys.argv = saved
    if code:
        raise SystemExit(f"roundup-admin {' '.join(args)} failed:\n{out.getvalue()}")


def tick(minutes=5):
    clock[0] += datetime.timedelta(minutes=minutes)


def main(home, export_dir, out):
    admin(
        home,
        "install",
        "classic",
        "sqlite",
        "tracker_web=http://localhost/rt/,mail_domain=example.com,mail_host=localhost,mail_debug=mail.log",
    )
    admin(home, "initialise", "secret")
    roundup.date.Date.now = lambda self: clock[0]  # Roundup's own hook for tests
    tracker = roundup.instance.open(home)

    db = tracker.open("admin")
    users = {}
    for name in ("ann", "bob", "carl"):
        users[name] = db.user.create(
            username=name, address=f"{name}@example.com", realname=name.title(), roles="User"
        )
    db.keyword.create(name="printer")
    db.keyword.create(name="network")
    db.commit()
    db.close()

    def as_user(name, work):
        tick()
        session = tracker.open(name)
        work(session)
        session.commit()
        session.close()

    status = {}
    priority = {}
    db = tracker.open("admin")
    for sid in db.status.list():
        status[db.status.get(sid, "name")] = sid
    for pid in db.priority.list():
        priority[db.priority.get(pid, "name")] = pid
    keyword = {db.keyword.get(k, "name"): k for k in db.keyword.list()}
    db.close()
    issues = []

    def new_issue(title, body, prio, kw=()):
        def work(s):
            msg = s.msg.create(content=body, author=s.getuid(), date=roundup.date.Date(clock[0]))
            issues.append(
                s.issue.create(
                    title=title,
                    messages=[msg],
                    priority=priority[prio],
                    status=status["unread"],
                    keyword=[keyword[k] for k in kw],
                    nosy=[s.getuid()],
                )
            )

        return work

    def reply(issue, body, **changes):
        def work(s):
            values = dict(changes)
            if body:
                msg = s.msg.create(
                    content=body, author=s.getuid(), date=roundup.date.Date(clock[0])
                )
                values["messages"] = [*s.issue.get(issue, "messages"), msg]
            s.issue.set(issue, **values)

        return work

    as_user(
        "ann", new_issue("Printer on fire", "Smoke from the second floor.", "critical", ["printer"])
    )
    one = issues[0]
    as_user("bob", reply(one, "On it.", status=status["in-progress"], assignedto=users["bob"]))
    as_user("ann", reply(one, "It is spreading!", priority=priority["urgent"]))
    as_user(
        "bob",
        reply(
            one,
            "Put it out.",
            status=status["resolved"],
            keyword=[keyword["printer"], keyword["network"]],
            nosy=[users["ann"], users["bob"]],
        ),
    )
    as_user("carl", reply(one, "", title="Printer was on fire"))

    def attach(s):
        photo = s.file.create(name="fire.png", type="image/png", content="not really a PNG")
        s.issue.set(one, files=[photo])

    as_user("ann", attach)
    names = ["ann", "bob", "carl"]
    steps = ["chatting", "in-progress", "testing", "resolved"]
    for n in range(20):
        as_user(
            names[n % 3],
            new_issue(f"Issue number {n}", f"Body {n}", ["bug", "feature", "wish"][n % 3]),
        )
        issue = issues[-1]
        for step in range(n % 4):
            changes = {"status": status[steps[step]]}
            if step == 1:
                changes["assignedto"] = users[names[(n + 1) % 3]]
            as_user(
                names[(n + step + 1) % 3],
                reply(issue, f"Step {step}" if step % 2 else "", **changes),
            )

    def retire(s):
        s.issue.retire(issues[-1])

    as_user("carl", retire)
    admin(home, "export", export_dir)

    db = tracker.open("admin")
    result = {}
    for iid in db.issue.getnodeids(retired=False):
        node = db.issue.getnode(iid)
        result[iid] = {
            "title": node.title,
            "status": db.status.get(node.status, "name"),
            "priority": db.priority.get(node.priority, "name"),
            "creation": str(node.creation),
            "creator": db.user.get(node.creator, "username"),
            "messages": [
                [
                    db.user.get(db.msg.get(m, "author"), "username"),
                    str(db.msg.get(m, "date")),
                    db.msg.get(m, "content"),
                ]
                for m in node.messages
            ],
            "journal": [
                [
                    str(when),
                    db.user.get(who, "username"),
                    action,
                    sorted(params) if isinstance(params, dict) else params,
                ]
                for _, when, who, action, params in db.issue.history(iid)
            ],
        }
    db.close()
    Path(out).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
