"""Two tenants with customers, agents and admins, on any store: the attack suites' world.

``default`` (tenant A) and ``globex`` (tenant B) each have tickets with public
comments, internal notes, internal fields, attachments, watchers and external
references; tenant A also has a crash-report ticket filed by ``ticketkit.crash``.
Every secret is a sentinel word that appears nowhere else, so a leak shows up
as the sentinel in something an attacker got back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

from databases import fresh_database
from ticketkit import FieldDef, Tracker
from ticketkit.access import Principal, Role, Session

BACKENDS = ("memory", "sqlite", "postgresql", "mysql")
A, B = "default", "globex"
SECRET_NOTE = "zanzibarnote"  # only in tenant A's internal note
SECRET_FIELD = "quokkafield"  # only in tenant A's internal field
SECRET_TITLE = "marmotpassword"  # only in tenant A's ticket title
B_WORD = "platypusbeta"  # only in tenant B's ticket


@contextmanager
def tracker_on(backend: str, tmp_path: Path) -> Iterator[Tracker]:
    """A new, empty tracker on ``backend`` with the world's queues and fields."""
    settings = {
        "queues": {"support": "HD", "billing": "BIL"},
        "default_queue": "support",
        "fields": [
            FieldDef("triage", "text", internal=True),
            FieldDef("product", "text"),
            FieldDef("contact", "user"),
        ],
    }
    if backend == "memory":
        with Tracker.in_memory(**settings) as tracker:
            yield tracker
        return
    with fresh_database(backend, tmp_path) as url, Tracker.from_url(url, **settings) as tracker:
        yield tracker


@attrs.define
class World:
    tracker: Tracker
    people: dict[str, Principal]
    keys: dict[str, str]
    ids: dict[str, int]
    attachments: dict[str, int]
    comments: dict[str, int]
    crash_reference: str

    def session(self, who: str) -> Session:
        return self.tracker.session(self.people[who])


PEOPLE = [
    # tenant A
    Principal("alice@a.example", Role.CUSTOMER, A, organisation="acme"),
    Principal("carol@a.example", Role.CUSTOMER, A, organisation="acme"),
    Principal("ann", Role.AGENT, A, queues={"support"}),
    Principal("olga", Role.AGENT, A, queues={"billing"}),
    Principal("lead-a", Role.TEAM_LEAD, A, queues={"support"}),
    Principal("root-a", Role.ADMIN, A),
    # tenant B
    Principal("bob@b.example", Role.CUSTOMER, B, organisation="globex-corp"),
    Principal("ben", Role.AGENT, B, queues={"support", "billing"}),
    Principal("root-b", Role.ADMIN, B),
]


def build(tracker: Tracker) -> World:
    """Fill ``tracker`` with both tenants' tickets, through the trusted Tracker."""
    keys: dict[str, str] = {}
    attachments: dict[str, int] = {}
    comments: dict[str, int] = {}
    t = tracker.open(
        f"Printer on fire {SECRET_TITLE}",
        "The office printer is burning",
        actor="alice@a.example",
        tenant=A,
        organisation="acme",
        queue="support",
        watchers=["dave@a.example"],
        fields={
            "triage": f"suspect {SECRET_FIELD}",
            "product": "laser",
            "contact": "alice@a.example",
        },
        reference="mail-a-1",
    )
    keys["a1"] = t.key
    tracker.comment(t.key, "Have you tried water?", actor="ann")
    comments["a1_note"] = tracker.comment(
        t.key, f"Customer seems confused {SECRET_NOTE}", actor="ann", internal=True
    ).id
    comments["a1_public"] = tracker.comment(
        t.key, "It is still burning", actor="alice@a.example"
    ).id
    attachments["a1"] = tracker.attach(t.key, "fire.txt", b"smoke", actor="alice@a.example").id
    tracker.assign(t.key, "ann", actor="ann")
    keys["a2"] = tracker.open(
        "Carol's own problem", "VPN drops", actor="carol@a.example", tenant=A, organisation="acme"
    ).key
    keys["a_billing"] = tracker.open(
        "Invoice wrong",
        "billing detail",
        actor="alice@a.example",
        tenant=A,
        organisation="acme",
        queue="billing",
    ).key
    t = tracker.open(
        f"Globex outage {B_WORD}",
        "Everything is down",
        actor="bob@b.example",
        tenant=B,
        organisation="globex-corp",
        fields={"triage": "B internal", "product": "router"},
        reference="mail-b-1",
    )
    keys["b1"] = t.key
    comments["b1_note"] = tracker.comment(t.key, "B note", actor="ben", internal=True).id
    attachments["b1"] = tracker.attach(t.key, "b.txt", b"bee", actor="bob@b.example").id
    keys["b2"] = tracker.open("Second globex ticket", "", actor="bob@b.example", tenant=B).key
    keys["crash"], reference = _file_crash(tracker)
    ids = {name: tracker.get(key).id for name, key in keys.items()}
    people = {p.id: p for p in PEOPLE}
    return World(tracker, people, keys, ids, attachments, comments, reference)


def _file_crash(tracker: Tracker) -> tuple[str, str]:
    from ticketkit.crash import CaptureOptions, build_report, file_report, reference_for

    try:
        raise RuntimeError("database password rejected")
    except RuntimeError as exc:
        report = build_report(exc, options=CaptureOptions(), mechanism="capture", handled=True)
    return file_report(tracker, report).key, reference_for(report)
