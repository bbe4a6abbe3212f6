"""``ticketkit open``, ``show``, ``list``, ``search``, ``transition``, ``comment``, ``assign``."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

import ticketkit
from cli.support import Run, as_json, ok, refused


class TestOpen:
    def test_prints_the_new_key(self, desk: Run) -> None:
        """``open TITLE`` prints the key and nothing else; the options become the ticket."""
        result = ok(desk("open", "Mail is down", "-p", "P1", "-q", "default", "-t", "Mail"))
        assert result.stdout == "HD-3\n"
        ticket = as_json(desk("show", "HD-3", "--json"))["ticket"]
        assert (ticket["title"], ticket["priority"], ticket["tags"]) == (
            "Mail is down",
            "P1",
            ["mail"],
        )
        assert (ticket["reporter"], ticket["status"], ticket["version"]) == ("alice", "new", 1)

    def test_description_from_stdin(self, desk: Run) -> None:
        """``-d -`` reads the description from stdin (without its last newline)."""
        ok(desk("open", "Long story", "-d", "-", input="line one\nline two\n"))
        assert as_json(desk("show", "HD-3", "--json"))["ticket"]["description"] == (
            "line one\nline two"
        )

    def test_json_is_the_ticket(self, desk: Run) -> None:
        """``open --json`` prints the new ticket in ticketkit.serde's form."""
        data = as_json(desk("open", "Json", "--reporter", "carl@example.com", "--json"))
        ticket = ticketkit.serde.structure(data, ticketkit.Ticket)
        assert (ticket.key, ticket.reporter) == ("HD-3", "carl@example.com")

    def test_actor_from_option_variable_or_login(self, desk: Run) -> None:
        """``--actor`` beats $TICKETKIT_ACTOR, which beats the login name."""
        ok(desk("open", "By option", "--actor", "dave"))
        ok(desk("open", "By variable", env={"TICKETKIT_ACTOR": "erin"}))
        ok(desk("open", "By login", env={"TICKETKIT_ACTOR": None}))
        reporters = [t["reporter"] for t in as_json(desk("list", "--json"))["items"][2:]]
        assert reporters == ["dave", "erin", getpass.getuser()]

    def test_bad_values_are_refused(self, desk: Run) -> None:
        """A blank title or unknown priority exits 1 and opens nothing."""
        refused(desk("open", "   "), 1, "title")
        refused(desk("open", "Fine", "-p", "P9"), 1, "P9")
        assert len(as_json(desk("list", "--json"))["items"]) == 2


class TestShow:
    def test_plain_text(self, desk: Run) -> None:
        """``show`` prints fields, the description, comments with internal ones marked, history."""
        ok(desk("comment", "HD-1", "Tray cleaned", "--actor", "bob"))
        ok(desk("comment", "HD-1", "Customer is grumpy", "--internal", "--actor", "bob"))
        out = ok(desk("show", "hd-1")).stdout
        assert out.startswith("HD-1  Printer jams\n")
        assert "priority:   P2" in out
        assert "    Paper tray 3" in out
        assert "bob:\n    Tray cleaned" in out
        assert "bob [internal]:\n    Customer is grumpy" in out
        history = out.split("history:\n")[1]
        assert "alice  opened 'Printer jams'" in history
        assert "bob  internal note: 'Customer is grumpy'" in history
        assert "\x1b" not in out

    def test_json_shape(self, desk: Run) -> None:
        """``show --json``: {"ticket", "comments", "history"}, each in ticketkit.serde's form."""
        ok(desk("transition", "HD-1", "start", "-m", "Looking", "--actor", "bob"))
        data = as_json(desk("show", "HD-1", "--json"))
        assert set(data) == {"ticket", "comments", "history"}
        assert data["ticket"]["status"] == "open"
        assert [(c["author"], c["body"], c["internal"]) for c in data["comments"]] == [
            ("bob", "Looking", False)
        ]
        events = [ticketkit.serde.structure(e, ticketkit.Event) for e in data["history"]]
        assert [(e.type.value, e.actor) for e in events] == [
            ("opened", "alice"),
            ("status_changed", "bob"),
            ("commented", "bob"),
        ]

    def test_public_leaves_out_internal_notes(self, desk: Run) -> None:
        """``show --public`` shows what a customer may read: no internal notes."""
        ok(desk("comment", "HD-1", "secret", "--internal"))
        ok(desk("comment", "HD-1", "hello"))
        bodies = [
            c["body"] for c in as_json(desk("show", "HD-1", "--public", "--json"))["comments"]
        ]
        assert bodies == ["hello"]


class TestList:
    def test_plain_lines(self, desk: Run) -> None:
        """In a pipe: a tab-separated line per ticket: key status priority assignee queue title."""
        assert ok(desk("list")).stdout == (
            "HD-1\tnew\tP2\t–\tdefault\tPrinter jams\nHD-2\tnew\tP3\tbob\tdefault\tVPN drops\n"
        )

    @pytest.mark.parametrize(
        ("options", "keys"),
        [
            (["--status", "open"], ["HD-1"]),
            (["--assignee", "bob"], ["HD-2"]),
            (["--assignee", "none"], ["HD-1", "HD-3"]),
            (["--tag", "printer"], ["HD-1", "HD-3"]),
            (["--tag", "printer", "--tag", "urgent"], ["HD-3"]),
            (["--priority", "P2", "--priority", "P1"], ["HD-1", "HD-3"]),
            (["--queue", "default", "--status", "new"], ["HD-2", "HD-3"]),
            (["--tenant", "default", "--text", "vpn"], ["HD-2"]),
            (["--tenant", "other"], []),
            (["--order-by", "priority", "--limit", "2"], ["HD-3", "HD-1"]),
            (["--order-by", "-priority,-id", "--limit", "1"], ["HD-2"]),
        ],
    )
    def test_filters(self, desk: Run, options: list[str], keys: list[str]) -> None:
        """Filters combine with AND; repeated --status/--priority/--queue mean any of them."""
        ok(desk("open", "Toner", "-t", "printer", "-t", "urgent", "-p", "P1"))
        ok(desk("transition", "HD-1", "start"))
        items = as_json(desk("list", *options, "--json"))["items"]
        assert [t["key"] for t in items] == keys

    def test_pages_and_all(self, desk: Run) -> None:
        """``--limit`` gives a page and a cursor (on stderr, in JSON); ``--all`` every ticket."""
        for n in range(3):
            ok(desk("open", f"More {n}"))
        first = as_json(desk("list", "--limit", "2", "--json"))
        assert [t["key"] for t in first["items"]] == ["HD-1", "HD-2"]
        assert first["next_cursor"]
        plain = ok(desk("list", "--limit", "2"))
        assert f"--cursor {first['next_cursor']}" in plain.stderr
        second = as_json(desk("list", "--limit", "2", "--cursor", first["next_cursor"], "--json"))
        assert [t["key"] for t in second["items"]] == ["HD-3", "HD-4"]
        every = as_json(desk("list", "--all", "--limit", "1", "--json"))
        assert len(every["items"]) == 5
        assert every["next_cursor"] is None

    def test_bad_cursor_and_priority(self, desk: Run) -> None:
        """A tampered cursor or an unknown priority exits 1."""
        refused(desk("list", "--cursor", "nonsense"), 1, "cursor")
        refused(desk("list", "--priority", "P7"), 1, "P7")


class TestSearch:
    def test_finds_by_words(self, desk: Run) -> None:
        """``search`` finds tickets by words of title, description or comments; plain and JSON."""
        ok(desk("comment", "HD-2", "The tunnel drops every hour"))
        assert ok(desk("search", "tunnel")).stdout.startswith("HD-2\t")
        hits = as_json(desk("search", "printer tray", "--json"))
        assert [h["ticket"]["key"] for h in hits] == ["HD-1"]
        assert isinstance(hits[0]["score"], float)
        assert as_json(desk("search", "nothing-like-this", "--json")) == []


class TestTransition:
    def test_moves_the_ticket(self, desk: Run) -> None:
        """``transition KEY ACTION`` prints the new state; --comment - reads stdin."""
        result = ok(desk("transition", "HD-1", "start", "-m", "-", input="On it\n"))
        assert result.stdout == "HD-1 open (assigned to nobody, version 2)\n"
        data = as_json(desk("show", "HD-1", "--json"))
        assert data["comments"][0]["body"] == "On it"

    def test_json_is_the_ticket(self, desk: Run) -> None:
        """``transition --json`` prints the ticket after the change."""
        ticket = as_json(desk("transition", "HD-2", "start", "--json"))
        assert (ticket["key"], ticket["status"], ticket["version"]) == ("HD-2", "open", 2)

    def test_refused_action_names_the_allowed_ones(self, desk: Run) -> None:
        """An action not allowed from the status exits 1, naming the actions that are."""
        line = refused(desk("transition", "HD-1", "close"), 1, "'close'")
        assert "start" in line
        assert "resolve" in line
        refused(desk("transition", "HD-1", "fly"), 1, "unknown action 'fly'", "start")

    def test_resolution_and_internal_comment(self, run: Run) -> None:
        """``--resolution`` for actions that need one; ``--internal`` makes the comment a note."""
        ok(run("init", "--workflow", "bugtracker", "--prefix", "BUG"))
        ok(run("open", "Crash"))
        ok(run("transition", "BUG-1", "accept"))
        refused(run("transition", "BUG-1", "resolve"), 1, "resolution")
        ok(run("transition", "BUG-1", "resolve", "-r", "fixed", "-m", "patched", "--internal"))
        data = as_json(run("show", "BUG-1", "--json"))
        assert (data["ticket"]["status"], data["ticket"]["resolution"]) == ("closed", "fixed")
        assert data["comments"][0]["internal"] is True

    def test_expected_version(self, desk: Run) -> None:
        """With a stale --expected-version the action exits 4 and changes nothing."""
        refused(desk("transition", "HD-1", "start", "--expected-version", "7"), 4, "version 1")
        ok(desk("transition", "HD-1", "start", "--expected-version", "1"))


class TestComment:
    def test_reply_and_internal_note(self, desk: Run) -> None:
        """``comment`` adds a reply, ``--internal`` a note; ``-`` reads stdin; --json prints it."""
        assert ok(desk("comment", "HD-1", "Hello")).stdout == "HD-1 comment 1 (version 2)\n"
        note = as_json(desk("comment", "HD-1", "-", "--internal", "--json", input="psst\n"))
        assert (note["body"], note["internal"], note["author"]) == ("psst", True, "alice")
        refused(desk("comment", "HD-1", "stale", "--expected-version", "1"), 4)
        refused(desk("comment", "HD-1", "  "), 1)


class TestAssign:
    def test_assign_and_unassign(self, desk: Run) -> None:
        """``assign KEY WHO`` gives the ticket to WHO; ``--none`` to nobody."""
        assert ok(desk("assign", "HD-1", "carl")).stdout == (
            "HD-1 new (assigned to carl, version 2)\n"
        )
        ticket = as_json(desk("assign", "HD-1", "--none", "--json", "--expected-version", "2"))
        assert (ticket["assignee"], ticket["version"]) == (None, 3)

    def test_who_or_none(self, desk: Run) -> None:
        """Neither WHO nor --none, or both, is a usage error (exit 2)."""
        assert desk("assign", "HD-1").exit_code == 2
        assert desk("assign", "HD-1", "carl", "--none").exit_code == 2


GATED = {
    "url": "sqlite:///tickets.db",
    "tracker": {
        "prefix": "GT",
        "workflow": {
            "name": "gated",
            "initial": "new",
            "states": [
                {"name": "new", "category": "new"},
                {"name": "done", "category": "closed"},
            ],
            "actions": [
                {
                    "name": "finish",
                    "sources": ["new"],
                    "target": "done",
                    "guards": [{"guard": "has_assignee"}],
                },
                {"name": "drop", "sources": ["new"], "target": "done"},
                {"name": "reopen", "sources": ["done"], "target": "new"},
            ],
        },
    },
}


class TestGuardedTransition:
    def test_guard_refusal_names_what_is_allowed(self, run: Run, tmp_path: Path) -> None:
        """A guard's refusal exits 1 with its reason and the actions the actor may take now."""
        (tmp_path / "desk.json").write_text(json.dumps(GATED), encoding="utf-8")
        env = {"TICKETKIT_CONFIG": "desk.json"}
        ok(run("init", env=env))
        assert ok(run("open", "Gate", env=env)).stdout == "GT-1\n"
        line = refused(run("transition", "GT-1", "finish", env=env), 1, "no assignee")
        assert line.endswith("what alice can do now: drop")
        ok(run("assign", "GT-1", "bob", env=env))
        assert ok(run("transition", "GT-1", "finish", env=env)).stdout.startswith("GT-1 done")
