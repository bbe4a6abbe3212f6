"""deliver_outbox on every store: leases, retries with backoff, giving up, concurrent deliverers."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from databases import fresh_database
from ticketkit import ValidationError
from ticketkit._automation_records import OutboxItem
from ticketkit.notify import (
    CallbackNotifier,
    DeliveryReport,
    Notification,
    NotificationError,
    _outbox,
    deliver_outbox,
)
from ticketkit.notify._outbox import MAX_BACKOFF, retry_at
from ticketkit.storage._protocol import Store
from ticketkit.storage.memory import MemoryStore
from ticketkit.storage.sql import SQLStore, open_store
from ticketkit.storage.sql._schema import outbox

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
def sql_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SQLStore]]:
    """One database per SQL backend for the module (creating a schema takes seconds)."""
    with ExitStack() as stack:
        found: dict[str, SQLStore] = {}
        for backend in ("sqlite", "postgresql", "mysql"):
            url = stack.enter_context(fresh_database(backend, tmp_path_factory.mktemp(backend)))
            found[backend] = open_store(url)
            stack.callback(found[backend].close)
        yield found


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest) -> Store:
    """An empty outbox on each store."""
    if request.param == "memory":
        return MemoryStore()
    sql: SQLStore = request.getfixturevalue("sql_stores")[request.param]
    with sql.engine.begin() as conn:
        conn.execute(delete(outbox))
    return sql


def notification(n: int = 0, channel: str = "email") -> Notification:
    return Notification(
        channel=channel,
        template="rule",
        recipients=(f"p{n}@example.com",),
        subject=f"[HD-{n}] message {n}",
        body=f"body {n}\n",
        ticket_key=f"HD-{n}",
    )


def enqueue(store: Store, *notifications: Notification, at: datetime = NOW) -> list[OutboxItem]:
    with store.transaction() as tx:
        return tx.add_outbox([n.outbox_item(at) for n in notifications])


def items(store: Store) -> dict[int, OutboxItem]:
    return {i.id: i for i in store.outbox(limit=10_000)}


class Recorder:
    """A notifier that records what it sends and fails while ``failing`` is set."""

    def __init__(self, failing: BaseException | None = None) -> None:
        self.sent: list[Notification] = []
        self.failing = failing

    def send(self, notification: Notification) -> None:
        if self.failing is not None:
            raise self.failing
        self.sent.append(notification)


class TestDelivery:
    def test_delivers_due_items_and_records_them(self, store: Store) -> None:
        """Due items are sent once through their channel's notifier and recorded as sent."""
        sent = [notification(i) for i in range(3)]
        enqueue(store, *sent)
        recorder = Recorder()
        report = deliver_outbox(store, {"email": recorder}, NOW)
        assert report == DeliveryReport(sent=3, failed=0, gave_up=0)
        assert report.leased == 3
        assert recorder.sent == sent
        assert all(i.sent_at == NOW and not i.pending for i in items(store).values())
        assert deliver_outbox(store, {"email": recorder}, NOW + MINUTE).leased == 0
        assert len(recorder.sent) == 3

    def test_items_not_yet_due_wait(self, store: Store) -> None:
        """An item whose next attempt lies ahead is not sent before then."""
        enqueue(store, notification(), at=NOW + MINUTE)
        recorder = Recorder()
        assert deliver_outbox(store, {"email": recorder}, NOW).leased == 0
        assert deliver_outbox(store, {"email": recorder}, NOW + MINUTE).sent == 1

    def test_channels_choose_the_notifier(self, store: Store) -> None:
        """Each item goes to the notifier named by its channel."""
        enqueue(store, notification(1, "email"), notification(2, "hooks"))
        mail, hooks = Recorder(), Recorder()
        deliver_outbox(store, {"email": mail, "hooks": hooks}, NOW)
        assert [n.channel for n in mail.sent] == ["email"]
        assert [n.channel for n in hooks.sent] == ["hooks"]

    def test_limit(self, store: Store) -> None:
        """At most ``limit`` items are leased per run, oldest first."""
        sent = [notification(i) for i in range(5)]
        enqueue(store, *sent)
        recorder = Recorder()
        assert deliver_outbox(store, {"email": recorder}, NOW, limit=2).sent == 2
        assert recorder.sent == sent[:2]
        assert deliver_outbox(store, {"email": recorder}, NOW, limit=10).sent == 3
        assert recorder.sent == sent

    def test_rolled_back_work_sends_nothing(self, store: Store) -> None:
        """Items added in a transaction that fails are never delivered."""

        def failing_change() -> None:
            with store.transaction() as tx:
                tx.add_outbox([notification().outbox_item(NOW)])
                raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError, match="the change failed"):
            failing_change()
        recorder = Recorder()
        assert deliver_outbox(store, {"email": recorder}, NOW).leased == 0
        assert recorder.sent == []


class TestFailures:
    def test_failure_is_retried_with_backoff(self, store: Store) -> None:
        """A failing item is tried again after 1, 2, 4... times the backoff, then sent."""
        [item] = enqueue(store, notification())
        recorder = Recorder(failing=NotificationError("server down"))
        notifiers = {"email": recorder}
        at = NOW
        for attempt in range(4):
            report = deliver_outbox(store, notifiers, at, backoff=MINUTE)
            assert report == DeliveryReport(sent=0, failed=1, gave_up=0)
            stored = items(store)[item.id]
            assert stored.attempts == attempt + 1
            assert stored.next_attempt_at == at + MINUTE * 2**attempt
            assert stored.lease_until is None
            assert stored.last_error == "NotificationError: server down"
            just_before = stored.next_attempt_at - timedelta(seconds=1)
            assert deliver_outbox(store, notifiers, just_before).leased == 0
            at = stored.next_attempt_at
        recorder.failing = None
        assert deliver_outbox(store, notifiers, at).sent == 1
        stored = items(store)[item.id]
        assert stored.sent_at == at
        assert stored.attempts == 4

    def test_gives_up_after_max_attempts(self, store: Store) -> None:
        """After ``max_attempts`` failures the item is given up and never leased again."""
        [item] = enqueue(store, notification())
        notifiers = {"email": Recorder(failing=OSError("connection refused"))}
        at = NOW
        reports = []
        for _ in range(3):
            reports.append(deliver_outbox(store, notifiers, at, max_attempts=3, backoff=MINUTE))
            at = items(store)[item.id].next_attempt_at
        assert [r.failed for r in reports] == [1, 1, 0]
        assert [r.gave_up for r in reports] == [0, 0, 1]
        stored = items(store)[item.id]
        assert stored.gave_up
        assert stored.attempts == 3
        assert not stored.pending
        assert stored.last_error == "OSError: connection refused"
        later = NOW + timedelta(days=30)
        assert deliver_outbox(store, notifiers, later, max_attempts=3).leased == 0
        assert store.outbox(pending=True) == []

    def test_permanent_errors_give_up_at_once(self, store: Store) -> None:
        """A permanent NotificationError gives up on the first attempt."""
        [item] = enqueue(store, notification())
        failing = NotificationError("no deliverable address", permanent=True)
        report = deliver_outbox(store, {"email": Recorder(failing=failing)}, NOW)
        assert report == DeliveryReport(sent=0, failed=0, gave_up=1)
        assert items(store)[item.id].gave_up

    def test_unknown_channel_fails_and_is_retried(self, store: Store) -> None:
        """An item whose channel has no notifier fails, naming the channel, and waits."""
        [item] = enqueue(store, notification(channel="sms"))
        report = deliver_outbox(store, {"email": Recorder()}, NOW)
        assert report.failed == 1
        stored = items(store)[item.id]
        assert stored.last_error == "no notifier named 'sms' (configured: email)"
        assert stored.pending
        sms = Recorder()
        assert deliver_outbox(store, {"sms": sms}, stored.next_attempt_at).sent == 1
        assert len(sms.sent) == 1

    def test_a_payload_that_is_no_notification_is_given_up(self, store: Store) -> None:
        """An item whose payload is not a notification is given up, saying why."""
        with store.transaction() as tx:
            [item] = tx.add_outbox(
                [
                    OutboxItem(
                        id=0, channel="email", payload={"x": 1}, created=NOW, next_attempt_at=NOW
                    )
                ]
            )
        recorder = Recorder()
        assert deliver_outbox(store, {"email": recorder}, NOW).gave_up == 1
        stored = items(store)[item.id]
        assert stored.last_error is not None
        assert stored.last_error.startswith("the payload is not a notification")
        assert recorder.sent == []

    def test_any_notifier_exception_is_contained(self, store: Store) -> None:
        """A notifier raising anything fails its item only; the others are sent."""
        enqueue(store, *(notification(i) for i in range(3)))
        sent: list[int] = []

        def flaky(n: Notification) -> None:
            if n.ticket_key == "HD-1":
                raise ZeroDivisionError("bug in the notifier")
            sent.append(int(n.subject.split()[-1]))

        report = deliver_outbox(store, {"email": CallbackNotifier(flaky)}, NOW)
        assert report == DeliveryReport(sent=2, failed=1, gave_up=0)
        assert sent == [0, 2]
        errors = [i.last_error for i in items(store).values() if i.last_error]
        assert errors == ["ZeroDivisionError: bug in the notifier"]

    def test_long_errors_are_cut(self, store: Store) -> None:
        """The recorded error is cut to 1,000 characters."""
        [item] = enqueue(store, notification())
        deliver_outbox(store, {"email": Recorder(failing=RuntimeError("x" * 5000))}, NOW)
        assert len(items(store)[item.id].last_error or "") == 1000


class TestLeases:
    def test_leased_items_wait_for_the_lease_to_end(self, store: Store) -> None:
        """Items leased by a deliverer that died are sent again only once the lease ends."""
        [item] = enqueue(store, notification())
        with store.transaction() as tx:
            assert [i.id for i in tx.lease_outbox(NOW, NOW + 5 * MINUTE, 10)] == [item.id]
        recorder = Recorder()
        assert deliver_outbox(store, {"email": recorder}, NOW + 4 * MINUTE).leased == 0
        assert deliver_outbox(store, {"email": recorder}, NOW + 6 * MINUTE).sent == 1
        assert recorder.sent[0].id == Notification.from_data(item.payload).id

    def test_a_running_deliverer_holds_its_items(self, store: Store) -> None:
        """While one deliverer sends, another one started at the same instant gets nothing."""
        enqueue(store, notification())
        entered, release = threading.Event(), threading.Event()
        first: list[Notification] = []

        def slow(n: Notification) -> None:
            entered.set()
            assert release.wait(30)
            first.append(n)

        thread = threading.Thread(
            target=deliver_outbox, args=(store, {"email": CallbackNotifier(slow)}, NOW)
        )
        thread.start()
        try:
            assert entered.wait(30)
            other = Recorder()
            assert deliver_outbox(store, {"email": other}, NOW).leased == 0
            assert other.sent == []
        finally:
            release.set()
            thread.join(30)
        assert len(first) == 1
        assert store.outbox(pending=True) == []

    def test_items_are_deferred_when_the_lease_runs_out(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Items not tried before 90% of the lease passed are left leased for a later run."""
        enqueue(store, *(notification(i) for i in range(3)))
        clock = [1000.0]
        monkeypatch.setattr(_outbox.time, "monotonic", lambda: clock[0])

        def slow(n: Notification) -> None:
            clock[0] += 50  # each send takes 50 s of the 100 s lease

        lease = timedelta(seconds=100)
        report = deliver_outbox(store, {"email": CallbackNotifier(slow)}, NOW, lease=lease)
        assert report == DeliveryReport(sent=2, failed=0, gave_up=0, deferred=1)
        [waiting] = store.outbox(pending=True)
        assert waiting.lease_until == NOW + lease
        assert waiting.attempts == 0
        recorder = Recorder()
        assert deliver_outbox(store, {"email": recorder}, NOW + lease / 2).leased == 0
        assert deliver_outbox(store, {"email": recorder}, NOW + lease * 2).sent == 1


class TestConcurrency:
    def test_concurrent_deliverers_never_send_an_item_twice(self, store: Store) -> None:
        """Four deliverers running at once send each of 60 items exactly once."""
        expected = [notification(i) for i in range(60)]
        enqueue(store, *expected)
        lock = threading.Lock()
        sent: list[str] = []
        senders: Counter[str] = Counter()
        errors: list[BaseException] = []

        def send(n: Notification) -> None:
            time.sleep(0.002)
            with lock:
                sent.append(n.id)
                senders[threading.current_thread().name] += 1

        notifiers = {"email": CallbackNotifier(send)}

        def work() -> None:
            try:
                for _ in range(200):
                    report = deliver_outbox(store, notifiers, NOW, limit=3)
                    if report.leased == 0 and not store.outbox(pending=True):
                        return
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, name=f"deliverer-{i}") for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        counts = Counter(sent)
        assert sorted(counts) == sorted(n.id for n in expected)
        assert set(counts.values()) == {1}
        assert len(senders) >= 2  # the deliverers really ran side by side
        assert store.outbox(pending=True) == []


class TestArguments:
    @pytest.mark.parametrize(
        ("options", "match"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": 10_001}, "limit"),
            ({"lease": timedelta(0)}, "lease"),
            ({"lease": 300}, "lease"),
            ({"max_attempts": 0}, "max_attempts"),
            ({"max_attempts": True}, "max_attempts"),
            ({"backoff": timedelta(seconds=-1)}, "backoff"),
        ],
    )
    def test_bad_options(self, options: dict[str, Any], match: str) -> None:
        """Bad limits, leases, attempts and backoffs are refused, naming the option."""
        with pytest.raises(ValidationError, match=match):
            deliver_outbox(MemoryStore(), {}, NOW, **options)

    def test_bad_notifiers_and_now(self) -> None:
        """Notifiers must be a mapping of objects with send; now must be aware."""
        with pytest.raises(ValidationError, match="mapping of channel names"):
            deliver_outbox(MemoryStore(), [Recorder()], NOW)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="'email' has no send"):
            deliver_outbox(MemoryStore(), {"email": print}, NOW)  # type: ignore[dict-item]
        with pytest.raises(ValidationError, match="naive"):
            deliver_outbox(MemoryStore(), {}, NOW.replace(tzinfo=None))


def test_retry_at_doubles_up_to_a_day() -> None:
    """retry_at waits backoff * 2**attempts, never more than a day."""
    assert retry_at(NOW, 0, MINUTE) == NOW + MINUTE
    assert retry_at(NOW, 3, MINUTE) == NOW + 8 * MINUTE
    assert retry_at(NOW, 11, MINUTE) == NOW + MAX_BACKOFF
    assert retry_at(NOW, 10_000, MINUTE) == NOW + MAX_BACKOFF
    assert retry_at(NOW, 5, timedelta(0)) == NOW


def _deliver_in_process(url: str, log: str) -> int:
    """A deliverer in its own process: deliver until nothing is pending; log each id sent."""
    sql = open_store(url, create=False)
    sent = 0

    def send(n: Notification) -> None:
        nonlocal sent
        time.sleep(0.001)
        with open(log, "a", encoding="utf-8") as out:
            out.write(n.id + "\n")
        sent += 1

    try:
        for _ in range(500):
            report = deliver_outbox(sql, {"email": CallbackNotifier(send)}, NOW, limit=4)
            if report.leased == 0 and not sql.outbox(pending=True):
                break
    finally:
        sql.close()
    return sent


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_deliverers_in_separate_processes_send_each_item_once(backend: str, tmp_path: Path) -> None:
    """Three deliverer processes sharing one database send each of 90 items exactly once."""
    with fresh_database(backend, tmp_path) as url:
        sql = open_store(url)
        try:
            expected = [notification(i) for i in range(90)]
            enqueue(sql, *expected)
        finally:
            sql.close()
        logs = [str(tmp_path / f"sent-{i}.log") for i in range(3)]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(3, mp_context=context) as pool:
            counts = list(pool.map(_deliver_in_process, [url] * 3, logs))
        sent = [
            line for log in logs if Path(log).exists() for line in Path(log).read_text().split()
        ]
        assert Counter(sent) == Counter(n.id for n in expected)
        assert sum(counts) == 90
        sql = open_store(url, create=False)
        try:
            assert sql.outbox(pending=True) == []
        finally:
            sql.close()
