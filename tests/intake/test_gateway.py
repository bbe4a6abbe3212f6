"""ticketkit.intake.MailGateway: each message opens, comments, reopens, or is turned away."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from databases import fresh_database
from ticketkit import (
    Action,
    Category,
    EventType,
    FrozenClock,
    HasAssignee,
    State,
    Tracker,
    ValidationError,
    Workflow,
)
from ticketkit._history import replay
from ticketkit.intake import IngestResult, IntakeError, MailGateway, MailLimits
from ticketkit.intake._gateway import OUTCOMES

from .corpus_support import OUR_DOMAIN, corpus_names, load
from .gateway_support import mail as files_mail_of

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
QUEUES = {"support": "HD"}
REFUSED = {
    "crlf_injection_from_name.eml": "ambiguous_from",
    "cve_2023_27043_from.eml": "ambiguous_from",
    "deeply_nested_rfc822.eml": "max_depth",
    "huge_header.eml": "max_header_bytes",
    "no_from.eml": "no_sender",
    "too_many_parts.eml": "max_parts",
    "two_from_addresses.eml": "ambiguous_from",
    "two_from_headers.eml": "ambiguous_from",
}
AUTOMATIC = [
    "vacation_autoreply.eml",
    "x_autoreply.eml",
    "bounce_dsn.eml",
    "postmaster_sender.eml",
    "empty_return_path.eml",
    "list_mail.eml",
]


def make_tracker(clock: FrozenClock, url: str | None = None) -> Tracker:
    if url is None:
        return Tracker.in_memory(clock=clock, queues=QUEUES, default_queue="support")
    return Tracker.from_url(url, clock=clock, queues=QUEUES, default_queue="support")


def mail(
    body: str = "Hello, the printer is broken.",
    *,
    sender: str = "Ann Example <ann@example.com>",
    subject: str = "Printer broken",
    message_id: str | None = "<m1@mail.example.com>",
    headers: str = "",
) -> bytes:
    lines = [f"From: {sender}", "To: help@desk.example", f"Subject: {subject}"]
    if message_id is not None:
        lines.append(f"Message-ID: {message_id}")
    text = "\n".join(lines) + "\n" + headers + "Content-Type: text/plain; charset=utf-8\n\n"
    return (text + body + "\n").encode()


def files_mail(files: list[tuple[str, str, bytes]]) -> bytes:
    return files_mail_of("See the files.", files=files)


@pytest.fixture
def tracker(backend: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Tracker]:
    if backend == "memory":
        with make_tracker(clock) as t:
            yield t
        return
    with fresh_database(backend, tmp_path) as url, make_tracker(clock, url) as t:
        yield t


@pytest.fixture
def gateway(tracker: Tracker) -> MailGateway:
    return MailGateway(tracker, domain=OUR_DOMAIN)


def opened(gateway: MailGateway, raw: bytes) -> str:
    result = gateway.ingest(raw)
    assert result.outcome == "opened", result
    assert result.key is not None
    return result.key


class TestNewMessage:
    def test_new_mail_opens_a_ticket_with_its_reference(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """Subject, text and sender become title, description and reporter."""
        result = gateway.ingest(load("plain_utf8_new_ticket.eml"))
        assert (result.outcome, result.key, result.reason) == ("opened", "HD-1", None)
        ticket = tracker.get("HD-1")
        assert ticket.title == "Printer on floor 3 prints blank pages"
        assert ticket.reporter == "ann@example.com"
        assert ticket.queue == "support"
        assert "blank pages" in ticket.description
        found = tracker.by_reference("mail:<20260105091500.1234@mail.example.com>")
        assert found is not None
        assert found.key == "HD-1"

    def test_no_subject_and_no_message_id(self, gateway: MailGateway, tracker: Tracker) -> None:
        """A missing subject gets a stand-in title; the same bytes again are a duplicate."""
        raw = mail(subject="", message_id=None)
        key = opened(gateway, raw)
        assert tracker.get(key).title == "(no subject)"
        again = gateway.ingest(raw)
        assert (again.outcome, again.key) == ("duplicate", key)
        assert len(tracker.query(None)) == 1

    def test_new_tickets_go_to_the_gateways_queue_and_tenant(self, clock: FrozenClock) -> None:
        """queue= and tenant= name where mail tickets go."""
        with Tracker.in_memory(
            clock=clock, queues={"support": "HD", "mail": "ML"}, default_queue="support"
        ) as tracker:
            gateway = MailGateway(tracker, domain=OUR_DOMAIN, queue="mail", tenant="acme")
            ticket = tracker.get(opened(gateway, mail()))
            assert (ticket.key, ticket.queue, ticket.tenant) == ("ML-1", "mail", "acme")

    def test_attachments_are_stored_with_sanitised_names(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """No path, control or format characters reach the store."""
        key = opened(gateway, load("path_traversal_filenames.eml"))
        names = [a.filename for a in tracker.attachments(key)]
        assert len(names) == 8
        for name in names:
            assert "/" not in name
            assert "\\" not in name
            assert not name.startswith(".")
            assert all(ord(c) >= 32 and c != "\u202e" for c in name)
        assert "passwd" in names
        contents = {a.filename: tracker.attachment_content(a.id) for a in tracker.attachments(key)}
        assert contents["passwd"].strip() == b"root:x:0:0"

    def test_markup_attachments_are_stored_as_downloads(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """An SVG posing as a PNG is stored as application/octet-stream."""
        key = opened(gateway, load("svg_disguised_as_png.eml"))
        types = {a.filename: a.media_type for a in tracker.attachments(key)}
        assert types["photo.png"] == "application/octet-stream"
        assert all(t == "application/octet-stream" for t in types.values())


class TestReply:
    def test_reply_by_subject_tag_is_a_public_comment(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """Quoted text is trimmed; the sender is the comment's author."""
        key = opened(gateway, mail())
        reply = mail(
            "It works again.\n\nOn Mon, Ann wrote:\n> Hello",
            subject=f"Re: [{key}] Printer broken",
            message_id="<m2@mail.example.com>",
        )
        assert gateway.ingest(reply) == IngestResult("commented", key=key)
        (comment,) = tracker.comments(key)
        assert (comment.body, comment.author, comment.internal) == (
            "It works again.",
            "ann@example.com",
            False,
        )

    def test_reply_by_references_only(self, gateway: MailGateway, tracker: Tracker) -> None:
        """A reply whose subject lost the tag finds the ticket by our Message-ID."""
        key = opened(gateway, mail(sender="Zoe <zoe@example.com>"))
        raw = load("reply_by_references_only.eml").replace(b"HD-99", key.encode())
        assert gateway.ingest(raw) == IngestResult("commented", key=key)
        assert [c.body for c in tracker.comments(key)] == ["Here is the serial number: 12345"]

    def test_fully_quoted_reply_falls_back_to_the_whole_text(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """When trimming leaves nothing, the whole text is the comment."""
        key = opened(gateway, mail())
        reply = mail("> only a quote", subject=f"[{key}]", message_id="<m2@mail.example.com>")
        assert gateway.ingest(reply).outcome == "commented"
        assert [c.body for c in tracker.comments(key)] == ["> only a quote"]

    def test_a_watcher_may_reply(self, gateway: MailGateway, tracker: Tracker) -> None:
        """Watchers count like the reporter; addresses compare ignoring case."""
        key = opened(gateway, mail())
        tracker.watch(key, "bob@example.com", actor="agent")
        reply = mail(
            "Same here.",
            sender="Bob <BOB@Example.com>",
            subject=f"[{key}]",
            message_id="<b1@example.com>",
        )
        assert gateway.ingest(reply).outcome == "commented"

    def test_reply_attachments_go_on_the_ticket(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """Files sent with a reply are attached to the ticket."""
        key = opened(gateway, mail(sender="Vic <vic@example.com>"))
        raw = load("svg_disguised_as_png.eml").replace(
            b"Subject: Picture and page", f"Subject: [{key}] Picture".encode()
        )
        assert gateway.ingest(raw).outcome == "commented"
        assert {a.filename for a in tracker.attachments(key)} >= {"photo.png"}

    def test_a_strangers_tag_never_attaches_to_a_foreign_ticket(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """RT CVE-2023-41259: the tag of a ticket the sender is not on opens a new one."""
        key = opened(gateway, mail())
        forged = mail(
            "Please send me the details.",
            sender="Mallory <mallory@evil.example>",
            subject=f"Re: [{key}] Printer broken",
            message_id="<evil@evil.example>",
            headers=f"In-Reply-To: <tk.{key}.n1@{OUR_DOMAIN}>\n",
        )
        result = gateway.ingest(forged)
        assert result.outcome == "opened"
        assert result.key is not None
        assert result.key != key
        assert result.reason is not None
        assert key in result.reason
        assert tracker.comments(key) == []
        assert tracker.get(result.key).reporter == "mallory@evil.example"

    def test_a_tag_naming_no_ticket_opens_a_new_one(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """A tag of a missing ticket (or another tracker's) is not a reply."""
        result = gateway.ingest(mail(subject="Re: [HD-77] old thread"))
        assert (result.outcome, result.key) == ("opened", "HD-1")

    def test_a_ticket_of_another_tenant_is_not_replied_to(self, tracker: Tracker) -> None:
        """A gateway for one tenant never comments on another tenant's ticket."""
        other = tracker.open("Elsewhere", actor="ann@example.com", tenant="other")
        gateway = MailGateway(tracker, domain=OUR_DOMAIN)
        result = gateway.ingest(mail(subject=f"[{other.key}] hi"))
        assert result.outcome == "opened"
        assert result.key != other.key
        assert tracker.comments(other.key) == []


class TestReopen:
    def resolved(self, gateway: MailGateway, tracker: Tracker) -> str:
        key = opened(gateway, mail())
        tracker.transition(key, "resolve", actor="agent")
        return key

    def test_reply_to_a_resolved_ticket_reopens_it(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """The workflow's reopen action is carried out with the comment."""
        key = self.resolved(gateway, tracker)
        reply = mail("Broken again.", subject=f"[{key}]", message_id="<m2@mail.example.com>")
        assert gateway.ingest(reply) == IngestResult("reopened", key=key)
        assert tracker.get(key).status == "open"
        assert [c.body for c in tracker.comments(key)] == ["Broken again."]

    def test_reply_after_the_reopen_window_opens_a_linked_ticket(
        self, gateway: MailGateway, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """Past the window the old ticket stays resolved; a new one relates to it."""
        key = self.resolved(gateway, tracker)
        clock.advance(days=8)
        reply = mail("Broken again.", subject=f"[{key}]", message_id="<m2@mail.example.com>")
        result = gateway.ingest(reply)
        assert result.outcome == "opened"
        assert result.key not in (None, key)
        assert result.reason is not None
        assert "reopen" in result.reason
        assert tracker.get(key).status == "resolved"
        assert tracker.comments(key) == []
        new = tracker.get(result.key)
        assert new.description == "Broken again."
        assert key in new.linked("relates")

    def test_the_comment_and_the_reopen_are_one_change(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """status_changed and commented share one version, so a crash cannot split them."""
        key = self.resolved(gateway, tracker)
        version = tracker.get(key).version
        reply = mail("Broken again.", subject=f"[{key}]", message_id="<m2@mail.example.com>")
        assert gateway.ingest(reply).outcome == "reopened"
        assert tracker.get(key).version == version + 1
        last = [e for e in tracker.history(key) if e.version == version + 1]
        assert [(e.type, e.actor) for e in last] == [
            (EventType.STATUS_CHANGED, "ann@example.com"),
            (EventType.COMMENTED, "ann@example.com"),
        ]
        assert last[0].data["action"] == "reopen"
        assert last[1].data["reference"] == "mail:<m2@mail.example.com>"
        assert replay(tracker.history(key)) == tracker.get(key)

    def test_a_reply_to_a_reopened_ticket_is_a_comment(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """Once reopened, the next reply only comments."""
        key = self.resolved(gateway, tracker)
        first = mail("Broken again.", subject=f"[{key}]", message_id="<m2@mail.example.com>")
        second = mail("Still broken.", subject=f"[{key}]", message_id="<m3@mail.example.com>")
        assert gateway.ingest(first).outcome == "reopened"
        assert gateway.ingest(second) == IngestResult("commented", key=key)
        statuses = [e.new for e in tracker.history(key) if e.type is EventType.STATUS_CHANGED]
        assert statuses == ["resolved", "open"]


def waiting(tracker: Tracker, gateway: MailGateway) -> str:
    """A ticket from ann's mail, now waiting for her."""
    key = opened(gateway, mail())
    for action in ("start", "wait_for_customer"):
        tracker.transition(key, action, actor="agent")
    return key


class TestWaitingForTheCustomer:
    def test_a_reply_takes_the_ticket_back_to_work(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """customer_replied is carried out with the comment, in one write."""
        key = waiting(tracker, gateway)
        version = tracker.get(key).version
        reply = mail("Here it is.", subject=f"[{key}]", message_id="<m2@mail.example.com>")
        assert gateway.ingest(reply) == IngestResult("commented", key=key)
        ticket = tracker.get(key)
        assert (ticket.status, ticket.version) == ("open", version + 1)
        last = [e for e in tracker.history(key) if e.version == version + 1]
        assert [e.type for e in last] == [EventType.STATUS_CHANGED, EventType.COMMENTED]
        assert (last[0].old, last[0].new, last[0].data["action"]) == (
            "pending_customer",
            "open",
            "customer_replied",
        )
        assert [c.body for c in tracker.comments(key)] == ["Here it is."]
        assert gateway.ingest(reply) == IngestResult(
            "duplicate", key=key, reason="already taken in"
        )
        assert tracker.get(key).version == version + 1

    def test_a_watchers_reply_counts_too(self, gateway: MailGateway, tracker: Tracker) -> None:
        """Anyone who may reply to the ticket wakes it up."""
        key = waiting(tracker, gateway)
        tracker.watch(key, "bob@example.com", actor="agent")
        reply = mail(
            "Same here.", sender="bob@example.com", subject=f"[{key}]", message_id="<b@x.example>"
        )
        assert gateway.ingest(reply).outcome == "commented"
        assert tracker.get(key).status == "open"

    def test_a_strangers_mail_does_not_wake_the_ticket(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """A forged tag opens a new ticket and leaves the waiting one alone."""
        key = waiting(tracker, gateway)
        forged = mail(
            "Me too", sender="eve@evil.example", subject=f"[{key}]", message_id="<e@evil.example>"
        )
        assert gateway.ingest(forged).outcome == "opened"
        assert tracker.get(key).status == "pending_customer"

    def test_without_such_an_action_the_reply_is_only_a_comment(self, clock: FrozenClock) -> None:
        """A workflow whose waiting state only an agent leaves: the reply just comments."""
        workflow = Workflow(
            name="agents_decide",
            states=(
                State("open", Category.ACTIVE, "Open"),
                State("waiting", Category.PENDING, "Waiting"),
                State("done", Category.RESOLVED, "Done"),
            ),
            actions=(
                Action("wait", {"open"}, "waiting", "Wait"),
                Action("resume", {"waiting"}, "open", "Resume", guards=(HasAssignee(),)),
                Action("finish", {"open", "waiting"}, "done", "Finish"),
                Action("redo", {"done"}, "open", "Redo"),
            ),
            initial="open",
        )
        with Tracker.in_memory(
            clock=clock, workflow=workflow, queues=QUEUES, default_queue="support"
        ) as tracker:
            gateway = MailGateway(tracker, domain=OUR_DOMAIN)
            key = opened(gateway, mail())
            tracker.transition(key, "wait", actor="agent")
            reply = mail("Info", subject=f"[{key}]", message_id="<m2@mail.example.com>")
            assert gateway.ingest(reply) == IngestResult("commented", key=key)
            assert tracker.get(key).status == "waiting"
            assert [c.body for c in tracker.comments(key)] == ["Info"]

    def test_the_first_allowed_action_in_the_workflows_order_is_taken(
        self, clock: FrozenClock
    ) -> None:
        """Of two actions back to work, the first one the guards allow is taken."""
        workflow = Workflow(
            name="two_ways_back",
            states=(
                State("open", Category.ACTIVE, "Open"),
                State("escalated", Category.ACTIVE, "Escalated"),
                State("waiting", Category.PENDING, "Waiting"),
                State("done", Category.CLOSED, "Done"),
            ),
            actions=(
                Action("wait", {"open"}, "waiting", "Wait"),
                Action("escalate", {"waiting"}, "escalated", "Esc", guards=(HasAssignee(),)),
                Action("answered", {"waiting"}, "open", "Answered"),
                Action("back", {"escalated"}, "open", "Back"),
                Action("finish", {"open", "waiting", "escalated"}, "done", "Finish"),
                Action("redo", {"done"}, "open", "Redo"),
            ),
            initial="open",
        )
        with Tracker.in_memory(
            clock=clock, workflow=workflow, queues=QUEUES, default_queue="support"
        ) as tracker:
            gateway = MailGateway(tracker, domain=OUR_DOMAIN)
            key = opened(gateway, mail())
            tracker.transition(key, "wait", actor="agent")
            reply = mail("Info", subject=f"[{key}]", message_id="<m2@mail.example.com>")
            assert gateway.ingest(reply).outcome == "commented"
            tracker.assign(key, "agent", actor="agent")  # now escalate is allowed too
            tracker.transition(key, "wait", actor="agent")
            reply = mail("More", subject=f"[{key}]", message_id="<m3@mail.example.com>")
            assert gateway.ingest(reply).outcome == "commented"
            taken = [
                (e.new, e.data["action"])
                for e in tracker.history(key)
                if e.type is EventType.STATUS_CHANGED and e.old == "waiting"
            ]
            assert taken == [("open", "answered"), ("escalated", "escalate")]


class TestAttachmentPolicy:
    def test_files_are_stored_with_the_ticket_in_one_write(self, clock: FrozenClock) -> None:
        """The opened event and every attachment_added event are all version 1."""
        with make_tracker(clock) as tracker:
            gateway = MailGateway(tracker, domain=OUR_DOMAIN)
            key = opened(gateway, load("path_traversal_filenames.eml"))
            events = tracker.history(key)
            assert {e.version for e in events} == {1}
            assert [e.type for e in events].count(EventType.ATTACHMENT_ADDED) == 8

    def test_a_file_over_the_size_limit_is_left_out_and_named(self, clock: FrozenClock) -> None:
        """The other files go in; skipped names the one that did not."""
        raw = files_mail(
            [
                ("small.txt", "text/plain", b"x" * 100),
                ("huge.bin", "application/octet-stream", b"x" * 101),
                ("notes.txt", "text/plain", b"y"),
            ]
        )
        with Tracker.in_memory(
            clock=clock, queues=QUEUES, default_queue="support", max_attachment_size=100
        ) as tracker:
            result = MailGateway(tracker, domain=OUR_DOMAIN).ingest(raw)
            assert result == IngestResult("opened", key="HD-1", skipped=("huge.bin",))
            assert [a.filename for a in tracker.attachments("HD-1")] == ["small.txt", "notes.txt"]

    def test_a_media_type_the_tracker_refuses_is_stored_as_octet_stream(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """A declared type outside the tracker's syntax does not lose the file."""
        raw = files_mail([("odd.bin", "application/vnd~odd*thing", b"hello")])
        key = opened(gateway, raw)
        (attachment,) = tracker.attachments(key)
        assert (attachment.filename, attachment.media_type) == (
            "odd.bin",
            "application/octet-stream",
        )
        assert tracker.attachment_content(attachment.id) == b"hello"


class TestExactlyOnce:
    def test_the_same_reply_twice_adds_one_comment(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """Redelivery after a crash is recognised by the Message-ID."""
        key = opened(gateway, mail())
        reply = mail("Thanks", subject=f"[{key}]", message_id="<m2@mail.example.com>")
        assert gateway.ingest(reply).outcome == "commented"
        assert gateway.ingest(reply) == IngestResult(
            "duplicate", key=key, reason="already taken in"
        )
        assert len(tracker.comments(key)) == 1

    def test_the_same_new_mail_twice_opens_one_ticket(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """The second delivery names the ticket the first one opened."""
        key = opened(gateway, mail())
        assert gateway.ingest(mail()).outcome == "duplicate"
        assert [t.key for t in tracker.query(None)] == [key]


def run_at_once(count: int, work: Callable[[], IngestResult]) -> list[str]:
    barrier = threading.Barrier(count)
    results: list[IngestResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return sorted(r.outcome for r in results)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
class TestConcurrentDelivery:
    def test_one_message_three_times_at_once_opens_one_ticket(
        self, database: str, tmp_path: Path
    ) -> None:
        """Three threads with the same Message-ID: one ticket, two duplicates."""
        with fresh_database(database, tmp_path) as url, make_tracker(FrozenClock(MONDAY), url) as t:
            gateway = MailGateway(t, domain=OUR_DOMAIN)
            outcomes = run_at_once(3, lambda: gateway.ingest(mail()))
            assert outcomes == ["duplicate", "duplicate", "opened"]
            assert len(t.query(None)) == 1

    def test_one_reply_three_times_at_once_adds_one_comment(
        self, database: str, tmp_path: Path
    ) -> None:
        """Three threads with the same reply: one comment, two duplicates."""
        with fresh_database(database, tmp_path) as url, make_tracker(FrozenClock(MONDAY), url) as t:
            gateway = MailGateway(t, domain=OUR_DOMAIN)
            key = opened(gateway, mail())
            reply = mail("Thanks", subject=f"[{key}]", message_id="<m2@mail.example.com>")
            outcomes = run_at_once(3, lambda: gateway.ingest(reply))
            assert outcomes == ["commented", "duplicate", "duplicate"]
            assert len(t.comments(key)) == 1


class TestMailSafety:
    @pytest.mark.parametrize("name", AUTOMATIC)
    def test_automatic_mail_is_ignored(
        self, name: str, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """Auto-replies, bounces and list mail open nothing."""
        result = gateway.ingest(load(name))
        assert result.outcome == "ignored"
        assert result.key is None
        assert result.reason
        assert len(tracker.query(None)) == 0

    def test_an_auto_reply_naming_a_ticket_adds_no_comment(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """Even from the reporter, an out-of-office reply never comments (no mail loop)."""
        key = opened(gateway, mail())
        vacation = mail(
            "I am away.",
            subject=f"Out of office: [{key}]",
            message_id="<v1@example.com>",
            headers="Auto-Submitted: auto-replied\n",
        )
        assert gateway.ingest(vacation).outcome == "ignored"
        assert tracker.comments(key) == []

    @pytest.mark.parametrize("name", sorted(REFUSED))
    def test_unreadable_mail_is_refused_and_the_gateway_goes_on(
        self, name: str, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """A refused message returns its reason; the next one is taken in."""
        result = gateway.ingest(load(name))
        assert (result.outcome, result.reason) == ("refused", REFUSED[name])
        assert opened(gateway, mail()) == "HD-1"

    def test_oversized_mail_is_refused(self, tracker: Tracker) -> None:
        """A message over max_message_bytes is refused before parsing."""
        gateway = MailGateway(tracker, domain=OUR_DOMAIN, limits=MailLimits(max_message_bytes=2000))
        result = gateway.ingest(load("oversized.eml"))
        assert (result.outcome, result.reason) == ("refused", "max_message_bytes")
        assert len(tracker.query(None)) == 0

    def test_every_corpus_message_gets_an_outcome(
        self, gateway: MailGateway, tracker: Tracker
    ) -> None:
        """The whole corpus goes through without one exception."""
        outcomes = {name: gateway.ingest(load(name)).outcome for name in corpus_names()}
        assert len(outcomes) >= 30
        assert {outcomes[n] for n in AUTOMATIC} == {"ignored"}
        assert {outcomes[n] for n in REFUSED} == {"refused"}
        assert "opened" in outcomes.values()

    def test_each_sender_is_rate_limited(self, tracker: Tracker, clock: FrozenClock) -> None:
        """Past the limit a sender is refused until the window moves on; others are not."""
        gateway = MailGateway(tracker, domain=OUR_DOMAIN, rate_limit=(2, timedelta(hours=1)))
        for n in range(2):
            opened(gateway, mail(message_id=f"<r{n}@example.com>"))
        third = gateway.ingest(mail(message_id="<r2@example.com>"))
        assert third == IngestResult("refused", reason="rate_limited")
        opened(gateway, mail(sender="bob@example.com", message_id="<b@example.com>"))
        clock.advance(hours=1, minutes=1)
        opened(gateway, mail(message_id="<r2@example.com>"))
        assert len(tracker.query(None)) == 4

    def test_bad_settings_are_refused(self, tracker: Tracker) -> None:
        """domain and rate_limit are checked when the gateway is built."""
        with pytest.raises(IntakeError, match="domain"):
            MailGateway(tracker, domain="a b@c")
        with pytest.raises(IntakeError, match="rate_limit"):
            MailGateway(tracker, domain=OUR_DOMAIN, rate_limit=(0, timedelta(hours=1)))
        with pytest.raises(ValidationError, match="outcome"):
            IngestResult("exploded")


class TestFuzz:
    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        name=st.sampled_from(corpus_names()),
        cut=st.integers(min_value=0, max_value=4000),
        noise=st.binary(max_size=200),
        tag=st.sampled_from(["", "[HD-1] ", "[HD-2] ", "Re: [HD-1] "]),
    )
    def test_the_gateway_never_raises(self, name: str, cut: int, noise: bytes, tag: str) -> None:
        """Mangled corpus mail (cut, spliced, re-tagged) gets an outcome, never an exception."""
        with make_tracker(FrozenClock(MONDAY)) as tracker:
            gateway = MailGateway(tracker, domain=OUR_DOMAIN, rate_limit=(1000, timedelta(hours=1)))
            gateway.ingest(mail())
            raw = load(name).replace(b"Subject: ", f"Subject: {tag}".encode(), 1)
            for candidate in (raw, raw[:cut] + noise + raw[cut:], noise):
                result = gateway.ingest(candidate)
                assert result.outcome in OUTCOMES
                if result.outcome in ("opened", "commented", "reopened"):
                    assert result.key is not None
            assert tracker.get("HD-1").reporter == "ann@example.com"
