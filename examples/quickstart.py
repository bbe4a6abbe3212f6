"""Quick start: open tickets, work them through the help-desk workflow, read the history.

Run it with ``python examples/quickstart.py``.
"""

from __future__ import annotations

import ticketkit

# A frozen clock makes the times below the same on every run; leave it out
# in an application and the tracker uses the system clock (UTC).
clock = ticketkit.FrozenClock()
tracker = ticketkit.Tracker.in_memory(clock=clock, prefix="HD")

# Open two tickets. Impact and urgency derive the priority (ITIL matrix).
mail = tracker.open(
    title="Cannot send e-mail",
    description="Outlook says 'server not responding'.",
    actor="bob@example.com",
    impact="high",
    urgency="high",
)
vpn = tracker.open(title="VPN drops every hour", actor="carol@example.com")
print(f"opened {mail.key} ({mail.priority}, {mail.status}) and {vpn.key} ({vpn.priority})")

# An agent takes the mail ticket and starts work.
tracker.assign(mail.key, "alice", actor="alice")
print("alice can:", ", ".join(a.name for a in tracker.available_actions(mail.key, "alice")))
clock.advance(minutes=5)
tracker.transition(mail.key, "start", actor="alice")

# An internal note is for agents only; a comment given with a transition is a reply.
tracker.comment(mail.key, "The relay queue is full; flushing it.", actor="alice", internal=True)
tracker.transition(mail.key, "wait_for_customer", actor="alice", comment="Does sending work now?")
clock.advance(minutes=30)
tracker.transition(mail.key, "customer_replied", actor="bob@example.com", comment="Yes, thanks!")
clock.advance(minutes=2)
mail = tracker.transition(mail.key, "resolve", actor="alice")
print(f"{mail.key} is {mail.status} at version {mail.version}")

# A workflow refuses actions that do not start from the current status.
try:
    tracker.transition(vpn.key, "close", actor="alice")
except ticketkit.TransitionNotAllowed as exc:
    print(f"refused: {exc}")

# The customer sees replies only; agents see internal notes too.
public = tracker.comments(mail.key, internal=False)
print(f"{len(tracker.comments(mail.key))} comments, {len(public)} visible to the customer")


# Every change was recorded: who, when, and the old and new value.
def describe(event: ticketkit.Event) -> str:
    if event.type is ticketkit.EventType.OPENED:
        return f"opened {event.data['ticket']['title']!r}"
    if event.type is ticketkit.EventType.COMMENTED:
        return "internal note" if event.data["internal"] else "reply"
    return f"{event.field}: {event.old} -> {event.new}"


print(f"\nHistory of {mail.key}:")
for event in tracker.history(mail.key):
    print(f"  {event.at:%H:%M}  v{event.version}  {event.actor:<16} {describe(event)}")
