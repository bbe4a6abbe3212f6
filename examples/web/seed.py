"""The demo help desk: its configuration, its SLA, and a morning's worth of tickets.

:func:`make_tracker` is how the app gets its tracker (any URL ``Tracker.from_url``
takes); :func:`seed` fills an empty one so that the pages have something to show.
Seeding goes through sessions, as the people in :mod:`auth` would work, so the
history reads as theirs.
"""

from __future__ import annotations

from ticketkit import (
    Action,
    Automation,
    Clock,
    RequireResolution,
    Tracker,
    Workflow,
    helpdesk,
)
from ticketkit.access import Session
from ticketkit.sla import BusinessCalendar, SLAPolicy, Target

from auth import DEMO_PEOPLE

#: Queues and their key prefixes: support tickets are HD-n, billing ones BIL-n.
QUEUES = {"support": "HD", "billing": "BIL"}

#: What "resolve" must say; the ticket page offers these as a drop-down.
RESOLUTIONS = ("fixed", "answered", "wont_fix")


def demo_workflow() -> Workflow:
    """The built-in helpdesk workflow, but resolving a ticket needs a resolution."""
    base = helpdesk()
    resolve = base.action("resolve")
    needs_resolution = Action(
        resolve.name,
        resolve.sources,
        resolve.target,
        resolve.label,
        effects=(*resolve.effects, RequireResolution(RESOLUTIONS)),
    )
    actions = tuple(needs_resolution if a.name == "resolve" else a for a in base.actions)
    return Workflow("demo_helpdesk", base.states, actions, base.initial)


#: The promises the help desk makes, counted on office hours in Berlin.
DEMO_SLA = SLAPolicy(
    name="office hours",
    targets=(
        Target("first_response", "4h"),
        Target("first_response", "1h", priority="P1"),
        Target("resolution", "3d"),
        Target("resolution", "1d", priority="P1"),
    ),
    calendar=BusinessCalendar.weekdays("09:00", "17:00", timezone="Europe/Berlin"),
    warn_at=(0.5, 0.75),
)

#: Published knowledge-base articles, for the "suggested articles" box.
ARTICLES = [
    (
        "Printer prints blank pages",
        "Usually the toner cartridge still has its seal. Open the front cover, pull "
        "the orange tab out of the cartridge, close the cover and print a test page.",
        ["printer"],
    ),
    (
        "Outlook keeps asking for the password",
        "Open Credential Manager, remove the saved Outlook entries, start Outlook "
        "and sign in once.",
        ["outlook", "password"],
    ),
    (
        "VPN disconnects every few minutes",
        "Update the VPN client to the latest version and turn off Wi-Fi power saving.",
        ["vpn"],
    ),
    (
        "Invoice shows the wrong VAT number",
        "Send us the correct VAT number; we re-issue the invoice within two days.",
        ["billing", "invoice"],
    ),
]


def make_tracker(url: str, *, clock: Clock | None = None) -> Tracker:
    """The demo tracker on ``url`` (created if new), with queues and the SLA."""
    return Tracker.from_url(
        url,
        clock=clock,
        workflow=demo_workflow(),
        queues=QUEUES,
        default_queue="support",
        automation=Automation(sla=DEMO_SLA),
    )


def seed(tracker: Tracker) -> int:
    """Fill an empty tracker with articles and tickets; returns how many tickets it opened.

    A tracker that holds tickets already is left alone, so ``--demo`` is safe to
    pass on every start.
    """
    if len(tracker.query(None, limit=1)) > 0:
        return 0
    for title, body, tags in ARTICLES:
        tracker.kb.create(title, body, actor="lee", tags=tags, status="published")

    def as_(person_id: str) -> Session:
        return tracker.session(DEMO_PEOPLE[person_id].principal)

    alice, aaron, bob = (
        as_("alice@acme.example"),
        as_("aaron@acme.example"),
        as_("bob@globex.example"),
    )
    ann, sam, lee = as_("ann"), as_("sam"), as_("lee")

    printer = alice.open("Printer prints blank pages", "Every page comes out blank since Monday.")
    ann.assign(printer.key, "ann")
    ann.transition(printer.key, "start", comment="Looking into it.")
    ann.comment(printer.key, "New cartridge delivered Friday; seal still on?", internal=True)

    outlook = alice.open("Outlook asks for my password", "It keeps asking, again and again.")
    ann.transition(outlook.key, "start")
    ann.transition(
        outlook.key, "wait_for_customer", comment="Did you change your password recently?"
    )

    vpn = aaron.open("VPN drops in the Berlin office", "Every few minutes, on every laptop.")
    lee.assign(vpn.key, "ann")

    invoice = bob.open("Wrong VAT number on invoice", "Invoice 2026-114 has our old VAT number.")
    lee.update(invoice.key, queue="billing", priority="P2")
    sam.transition(invoice.key, "start")
    sam.transition(
        invoice.key, "resolve", comment="Re-issued with the right number.", resolution="fixed"
    )

    bob.open("Cannot log in to the portal", "Password reset mail never arrives.")
    return 5
