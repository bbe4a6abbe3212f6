"""ticketkit.crash.sentry: Sentry error events become crash tickets, whatever Sentry does next."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations import Integration
from sentry_sdk.scrubber import EventScrubber
from sentry_sdk.transport import Transport
from sentry_sdk.utils import event_from_exception

from ticketkit import Tracker, ValidationError
from ticketkit.crash import (
    _log,
    active_handle,
    breadcrumb,
    clear_breadcrumbs,
    flush_spool,
    install,
)
from ticketkit.crash._capture import CaptureOptions, build_report
from ticketkit.crash._fingerprint import compute_fingerprint
from ticketkit.crash.sentry import TicketkitIntegration, TicketkitTransport, make_before_send

from .stored import crash_tickets, everything_stored, only_ticket, stored_report
from .test_spool import entries, read_only_tracker

SECRET = "s3cr3t-Value-7f9c2a"


class RecordingTransport(Transport):
    """Stands in for Sentry's servers: keeps every envelope it is given."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict[str, Any]]:
        found: list[Any] = [e.get_event() for e in self.envelopes]
        return [e for e in found if e is not None]


@pytest.fixture
def tracker() -> Iterator[Tracker]:
    with Tracker.in_memory() as tracker:
        yield tracker


@pytest.fixture
def init(tmp_path: Path) -> Iterator[Callable[..., RecordingTransport]]:
    """``init(**options)``: a Sentry client without DSN whose envelopes are recorded."""
    clear_breadcrumbs()
    _log._seen.clear()

    def start(**options: Any) -> RecordingTransport:
        transport = options.pop("transport", None) or RecordingTransport()
        options.setdefault("auto_enabling_integrations", False)
        sentry_sdk.init(transport=transport, **options)
        return transport if isinstance(transport, RecordingTransport) else RecordingTransport()

    with sentry_sdk.isolation_scope():
        yield start
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)
    while (handle := active_handle()) is not None:
        handle.uninstall()
    clear_breadcrumbs()


def integration(tracker: Tracker, tmp_path: Path, **options: Any) -> TicketkitIntegration:
    options.setdefault("app", "shop")
    return TicketkitIntegration(tracker, spool_dir=tmp_path / "spool", **options)


class Checkout:
    def pay(self, amount: int) -> None:
        raise ValueError(f"card declined for {amount}")


def fail_checkout() -> ValueError:
    try:
        Checkout().pay(42)
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


class TestIntegration:
    def test_is_a_sentry_integration(self, tracker: Tracker, tmp_path: Path) -> None:
        """A real Integration with the identifier "ticketkit" and a static setup_once."""
        made = integration(tracker, tmp_path)
        assert isinstance(made, Integration)
        assert TicketkitIntegration.identifier == "ticketkit"
        assert isinstance(TicketkitIntegration.__dict__["setup_once"], staticmethod)

    def test_capture_exception_files_a_ticket_and_the_event_still_goes_out(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """capture_exception() opens a ticket, and Sentry still receives the event unchanged."""
        sent = init(integrations=[integration(tracker, tmp_path)], release="shop@1.4.2")
        try:
            Checkout().pay(42)
        except ValueError:
            event_id = sentry_sdk.capture_exception()
        ticket = only_ticket(tracker)
        assert ticket.title == "ValueError: card declined for 42"
        assert ticket.fields["crash_count"] == 1
        assert ticket.fields["crash_release"] == "shop@1.4.2"
        assert str(ticket.fields["crash_culprit"]).endswith("Checkout.pay")
        [event] = sent.events()
        assert event["event_id"] == event_id
        assert event["exception"]["values"][-1]["value"] == "card declined for 42"
        report = stored_report(tracker, ticket.key)
        assert report["mechanism"] == "sentry"
        assert report["context"]["sentry"]["event_id"] == event_id
        functions = [f["function"] for f in report["exceptions"][0]["frames"]]
        assert functions[-1] == "Checkout.pay"

    def test_repeats_count_on_one_ticket(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """The same bug captured three times is one ticket whose counter says 3."""
        init(integrations=[integration(tracker, tmp_path)])
        for _ in range(3):
            sentry_sdk.capture_exception(fail_checkout())
        assert only_ticket(tracker).fields["crash_count"] == 3

    def test_tags_user_release_breadcrumbs_and_contexts_are_kept(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """Tags, user (hashed), release, environment, breadcrumbs, contexts and extra are kept."""
        init(
            integrations=[integration(tracker, tmp_path)],
            release="2.0.1",
            environment="staging",
        )
        sentry_sdk.set_tag("tenant", "acme")
        sentry_sdk.set_user({"id": "42", "email": "bob@example.com"})
        sentry_sdk.set_context("cart", {"items": 3})
        sentry_sdk.set_extra("invoice", "INV-7")
        sentry_sdk.add_breadcrumb(message="opened the cart", category="ui", data={"items": 3})
        breadcrumb("ticketkit's own breadcrumb", category="app")
        sentry_sdk.capture_exception(fail_checkout())
        report = stored_report(tracker, only_ticket(tracker).key)
        assert report["release"] == "2.0.1"
        assert report["tags"]["tenant"] == "acme"
        assert report["tags"]["environment"] == "staging"
        assert report["context"]["contexts"]["cart"] == {"items": 3}
        assert report["context"]["extra"] == {"invoice": "INV-7"}
        user = report["context"]["user"]
        assert set(user) == {"id", "email"}
        assert all(value.startswith("sha256:") for value in user.values())
        assert "bob@example.com" not in json.dumps(report)
        messages = [(b["category"], b["message"]) for b in report["breadcrumbs"]]
        assert ("ui", "opened the cart") in messages
        assert ("app", "ticketkit's own breadcrumb") in messages

    def test_user_kept_when_allowed(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """allow_username=True keeps the user as Sentry has it."""
        init(integrations=[integration(tracker, tmp_path, allow_username=True)])
        sentry_sdk.set_user({"id": "42", "email": "bob@example.com"})
        sentry_sdk.capture_exception(fail_checkout())
        report = stored_report(tracker, only_ticket(tracker).key)
        assert report["context"]["user"] == {"id": "42", "email": "bob@example.com"}

    def test_events_sampling_drops_are_filed(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """sample_rate=0 sends nothing to Sentry, yet the crash is filed."""
        sent = init(integrations=[integration(tracker, tmp_path)], sample_rate=0.0)
        sentry_sdk.capture_exception(fail_checkout())
        assert sent.envelopes == []
        assert only_ticket(tracker).fields["crash_count"] == 1

    def test_events_before_send_drops_are_filed(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """A host's before_send returning None keeps the event from Sentry, not from ticketkit."""
        sent = init(
            integrations=[integration(tracker, tmp_path)], before_send=lambda event, hint: None
        )
        sentry_sdk.capture_exception(fail_checkout())
        assert sent.envelopes == []
        assert len(crash_tickets(tracker)) == 1

    def test_works_without_dsn_or_transport(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """No DSN and no transport: nothing is sent anywhere, the ticket is filed."""
        sentry_sdk.init(integrations=[integration(tracker, tmp_path)])
        assert sentry_sdk.get_client().transport is None
        sentry_sdk.capture_exception(fail_checkout())
        assert len(crash_tickets(tracker)) == 1

    def test_does_nothing_when_the_client_lacks_it(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """The processor checks at call time: a client without the integration files nothing."""
        init(integrations=[integration(tracker, tmp_path)])
        sentry_sdk.capture_exception(fail_checkout())
        init()
        sentry_sdk.capture_exception(fail_checkout())
        assert only_ticket(tracker).fields["crash_count"] == 1

    def test_a_new_init_uses_the_new_tracker(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """setup_once runs once per process; each client's own integration decides where to file."""
        init(integrations=[integration(tracker, tmp_path)])
        sentry_sdk.capture_exception(fail_checkout())
        with Tracker.in_memory() as other:
            init(integrations=[integration(other, tmp_path)])
            sentry_sdk.capture_exception(fail_checkout())
            assert len(crash_tickets(other)) == 1
        assert only_ticket(tracker).fields["crash_count"] == 1

    def test_messages_and_warnings_are_not_filed(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """Only error events with an exception become tickets."""
        init(integrations=[integration(tracker, tmp_path)])
        sentry_sdk.capture_message("something odd", level="error")
        with sentry_sdk.new_scope() as scope:
            scope.set_level("warning")
            sentry_sdk.capture_exception(fail_checkout())
        assert crash_tickets(tracker) == []

    def test_ignored_exceptions_are_not_filed(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """KeyboardInterrupt is ignored by default, as with install()."""
        init(integrations=[integration(tracker, tmp_path)])
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            sentry_sdk.capture_exception()
        assert crash_tickets(tracker) == []

    def test_a_sqlite_file_holds_the_ticket(
        self, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """Filed into a SQLite file, readable by a fresh tracker."""
        url = f"sqlite:///{tmp_path / 'crashes.db'}"
        with Tracker.from_url(url) as tracker:
            init(integrations=[integration(tracker, tmp_path)])
            sentry_sdk.capture_exception(fail_checkout())
            sentry_sdk.capture_exception(fail_checkout())
        with Tracker.from_url(url) as reopened:
            assert only_ticket(reopened).fields["crash_count"] == 2

    def test_a_store_that_is_down_never_breaks_sentry(
        self, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """A read-only database: the event is still sent, nothing raised, the report spooled."""
        spool = tmp_path / "spool"
        with read_only_tracker(tmp_path) as down:
            sent = init(integrations=[integration(down, tmp_path)])
            sentry_sdk.capture_exception(fail_checkout())
        assert len(sent.events()) == 1
        assert entries(spool)
        with Tracker.from_url(f"sqlite:///{tmp_path / 'ro.db'}") as writable:
            assert flush_spool(writable, spool, app="shop") == 1
            assert only_ticket(writable).fields["crash_count"] == 1


class TestFingerprint:
    def test_same_fingerprint_as_ticketkit_own_capture(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """A crash seen by Sentry and the same bug seen by ticketkit's hook share one ticket."""
        handle = install(tracker, app="shop", spool_dir=tmp_path / "spool", excepthook=False)
        init(integrations=[TicketkitIntegration(handle)])
        sentry_sdk.capture_exception(fail_checkout())
        handle.capture_exception(fail_checkout())
        assert only_ticket(tracker).fields["crash_count"] == 2

    def test_event_fingerprint_is_honoured(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """A scope fingerprint replaces the default; "{{ default }}" stands for the default."""
        init(integrations=[integration(tracker, tmp_path)])
        sentry_sdk.capture_exception(fail_checkout())
        with sentry_sdk.new_scope() as scope:
            scope.fingerprint = ["payments"]
            sentry_sdk.capture_exception(fail_checkout())
        with sentry_sdk.new_scope() as scope:
            scope.fingerprint = ["payments", "{{ default }}"]
            sentry_sdk.capture_exception(fail_checkout())
        with sentry_sdk.new_scope() as scope:
            scope.fingerprint = ["{{ default }}"]
            sentry_sdk.capture_exception(fail_checkout())
        by_fingerprint = {t.fields["crash_fingerprint"]: t for t in crash_tickets(tracker)}
        assert len(by_fingerprint) == 3
        plain = build_report(
            fail_checkout(),
            options=CaptureOptions(app="shop"),
            mechanism="capture",
            handled=True,
        )
        assert by_fingerprint[plain.fingerprint].fields["crash_count"] == 2
        assert compute_fingerprint(plain, ["payments"]) in by_fingerprint
        assert compute_fingerprint(plain, ["payments", "{{ default }}"]) in by_fingerprint


class TestPrivacy:
    @pytest.mark.parametrize("way", ["integration", "transport"])
    def test_everything_is_scrubbed_again(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport], way: str
    ) -> None:
        """With Sentry's own scrubbing off, ticketkit still removes the secrets it can recognise."""
        no_scrubbing = EventScrubber(denylist=[], pii_denylist=[], send_default_pii=True)
        if way == "integration":
            init(integrations=[integration(tracker, tmp_path)], event_scrubber=no_scrubbing)
        else:
            transport = TicketkitTransport(tracker, None, spool_dir=tmp_path / "spool")
            init(transport=transport, event_scrubber=no_scrubbing)
        sentry_sdk.set_tag("api_token", SECRET)
        sentry_sdk.set_extra("password", SECRET)
        sentry_sdk.set_context("db", {"url": f"postgresql://app:{SECRET}@db/shop"})
        sentry_sdk.add_breadcrumb(message=f"login with password={SECRET}", data={"secret": SECRET})
        try:
            raise RuntimeError(f"Authorization: Bearer {SECRET}")
        except RuntimeError:
            sentry_sdk.capture_exception()
        key = only_ticket(tracker).key
        assert SECRET not in everything_stored(tracker, key)

    def test_request_data_from_sentry_is_scrubbed(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """A web integration's request: credentials replaced, cookies and client address dropped."""
        init(integrations=[integration(tracker, tmp_path)])
        event, hint = event_from_exception(fail_checkout(), sentry_sdk.get_client().options)
        event["request"] = {
            "method": "POST",
            "url": "https://shop.example/pay",
            "query_string": f"token={SECRET}",
            "headers": {"Authorization": f"Bearer {SECRET}", "X-Real-Ip": "192.0.2.4"},
            "cookies": {"sessionid": SECRET},
            "env": {"REMOTE_ADDR": "192.0.2.4"},
        }
        sentry_sdk.capture_event(event, hint)
        key = only_ticket(tracker).key
        request = stored_report(tracker, key)["context"]["request"]
        assert request["method"] == "POST"
        assert request["headers"]["Authorization"] == "[scrubbed]"
        assert set(request) == {"method", "url", "query_string", "headers"}
        stored = everything_stored(tracker, key)
        assert SECRET not in stored
        assert "192.0.2.4" not in stored

    def test_locals_only_when_asked_and_scrubbed(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """Sentry sends locals by default; ticketkit keeps them only with include_locals."""
        init(integrations=[integration(tracker, tmp_path)])
        sentry_sdk.capture_exception(fail_checkout())
        frames = stored_report(tracker, only_ticket(tracker).key)["exceptions"][0]["frames"]
        assert all("locals" not in f for f in frames)

        with Tracker.in_memory() as other:
            init(integrations=[integration(other, tmp_path, include_locals=True)])

            def handler(password: str, amount: int) -> None:
                raise ValueError("declined")

            try:
                handler(SECRET, 7)
            except ValueError:
                sentry_sdk.capture_exception()
            report = stored_report(other, only_ticket(other).key)
            last = report["exceptions"][0]["frames"][-1]
            assert last["locals"] == {"password": "[scrubbed]", "amount": "7"}
            assert SECRET not in everything_stored(other, only_ticket(other).key)


class TestOneCrashOneOccurrence:
    def test_both_seeing_one_exception_count_it_once(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """The same exception object through Sentry and through ticketkit is one occurrence."""
        handle = install(tracker, app="shop", spool_dir=tmp_path / "spool", excepthook=False)
        init(integrations=[integration(tracker, tmp_path)])
        exc = fail_checkout()
        sentry_sdk.capture_exception(exc)
        handle.capture_exception(exc)
        sentry_sdk.capture_exception(exc)
        assert only_ticket(tracker).fields["crash_count"] == 1

    def test_integration_before_send_and_transport_file_an_event_once(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """All three ways in at once still file each event once."""
        spool = tmp_path / "spool"
        recorder = RecordingTransport()
        init(
            integrations=[integration(tracker, tmp_path)],
            before_send=make_before_send(tracker, app="shop", spool_dir=spool),
            transport=TicketkitTransport(tracker, inner=recorder, app="shop", spool_dir=spool),
        )
        sentry_sdk.capture_exception(fail_checkout())
        sentry_sdk.capture_exception(fail_checkout())
        assert only_ticket(tracker).fields["crash_count"] == 2
        assert len(recorder.events()) == 2


class TestBeforeSend:
    def test_files_then_chains(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """The host's before_send runs after filing, and its None only drops the Sentry event."""
        seen: list[str] = []

        def mine(event: Any, hint: Any) -> Any:
            seen.append(event["event_id"])
            return None

        sent = init(
            before_send=make_before_send(tracker, then=mine, spool_dir=tmp_path / "spool"),
            sample_rate=1.0,
        )
        assert sentry_sdk.capture_exception(fail_checkout()) is None  # dropped from Sentry
        assert sent.envelopes == []
        report = stored_report(tracker, only_ticket(tracker).key)
        assert seen == [report["context"]["sentry"]["event_id"]]

    def test_rejects_a_then_that_is_not_callable(self, tracker: Tracker) -> None:
        """then= must be a callable."""
        with pytest.raises(ValidationError, match="then must be"):
            make_before_send(tracker, then="nope")  # type: ignore[arg-type]


class TestTransport:
    def test_files_what_is_sent_and_passes_it_on(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """Events reaching the transport are filed from the event alone, then forwarded."""
        recorder = RecordingTransport()
        init(transport=TicketkitTransport(tracker, recorder, spool_dir=tmp_path / "spool"))
        sentry_sdk.set_tag("tenant", "acme")
        sentry_sdk.capture_exception(fail_checkout())
        sentry_sdk.capture_exception(fail_checkout())
        assert len(recorder.events()) == 2
        ticket = only_ticket(tracker)
        assert ticket.fields["crash_count"] == 2
        assert ticket.title == "ValueError: card declined for 42"
        report = stored_report(tracker, ticket.key)
        assert report["tags"]["tenant"] == "acme"
        frame = report["exceptions"][0]["frames"][-1]
        assert frame["function"] == "pay"  # Sentry's frames carry the plain name
        assert frame["source"] == 'raise ValueError(f"card declined for {amount}")'
        assert frame["in_app"] is True

    def test_inner_class_is_made_with_the_client_options(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """A transport class is created on first use with the client's options, given a DSN."""
        transport = TicketkitTransport(tracker, RecordingTransport, spool_dir=tmp_path / "spool")
        init(transport=transport, dsn="https://public@sentry.example.invalid/1")
        sentry_sdk.capture_exception(fail_checkout())
        inner = transport.inner
        assert isinstance(inner, RecordingTransport)
        assert inner.options is not None
        assert inner.options["dsn"].endswith("/1")
        assert len(inner.events()) == 1
        assert len(crash_tickets(tracker)) == 1

    def test_no_dsn_means_nothing_is_passed_on(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """Without a DSN the default HTTP transport is never created; tickets are still filed."""
        transport = TicketkitTransport(tracker, spool_dir=tmp_path / "spool")
        init(transport=transport)
        sentry_sdk.capture_exception(fail_checkout())
        assert transport.inner is None
        assert len(crash_tickets(tracker)) == 1

    def test_rejects_an_inner_that_is_no_transport(self, tracker: Tracker) -> None:
        """inner= must be a Transport or a Transport class."""
        with pytest.raises(ValidationError, match="inner must be"):
            TicketkitTransport(tracker, object())  # type: ignore[arg-type]


class TestEventsWithoutTheException:
    def test_a_prepared_event_is_read_from_its_values(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """capture_event() without exc_info: chain, frames and fingerprint come from the event."""
        init(integrations=[integration(tracker, tmp_path)])
        try:
            try:
                Checkout().pay(1)
            except ValueError as inner:
                raise RuntimeError("checkout failed") from inner
        except RuntimeError as exc:
            event, _hint = event_from_exception(exc, sentry_sdk.get_client().options)
        sentry_sdk.capture_event(event)
        report = stored_report(tracker, only_ticket(tracker).key)
        types = [(e["type"], e["relation"], e["depth"]) for e in report["exceptions"]]
        assert types == [
            ("builtins.RuntimeError", "raised", 0),
            ("builtins.ValueError", "context", 0),
        ]
        assert report["exceptions"][1]["frames"][-1]["function"] == "pay"

    def test_exception_groups_keep_their_members(
        self, tracker: Tracker, tmp_path: Path, init: Callable[..., RecordingTransport]
    ) -> None:
        """A group's members follow it one level deeper, then what it was chained from."""
        init(integrations=[integration(tracker, tmp_path)])
        try:
            try:
                raise KeyError("lost")
            except KeyError:
                raise ExceptionGroup("batch", [ValueError("a"), TypeError("b")]) from None
        except ExceptionGroup as exc:
            event, _hint = event_from_exception(exc, sentry_sdk.get_client().options)
        sentry_sdk.capture_event(event)
        report = stored_report(tracker, only_ticket(tracker).key)
        shape = [(e["type"], e["relation"], e["depth"]) for e in report["exceptions"]]
        assert shape == [
            ("builtins.ExceptionGroup", "raised", 0),
            ("builtins.ValueError", "group", 1),
            ("builtins.TypeError", "group", 1),
        ]


class TestImports:
    def run(self, code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def test_ticketkit_crash_does_not_import_sentry(self) -> None:
        """Only importing ticketkit.crash.sentry imports sentry_sdk."""
        done = self.run(
            """
            import sys
            import ticketkit.crash, ticketkit.crash.web
            assert "sentry_sdk" not in sys.modules, "imported too early"
            import ticketkit.crash.sentry
            assert "sentry_sdk" in sys.modules
            """
        )
        assert done.returncode == 0, done.stderr

    def test_without_sentry_sdk_the_error_names_the_extra(self) -> None:
        """Without sentry-sdk, the ImportError says which extra to install."""
        done = self.run(
            """
            import sys
            sys.modules["sentry_sdk"] = None
            try:
                import ticketkit.crash.sentry
            except ImportError as exc:
                print(exc)
            """
        )
        assert "pip install 'ticketkit[sentry]'" in done.stdout, done.stderr


PROGRAM = """
import os, sys
import sentry_sdk
import ticketkit, ticketkit.crash
from ticketkit.crash.sentry import TicketkitIntegration

tracker = ticketkit.Tracker.from_url(os.environ["CRASH_DB"])
spool = os.environ["CRASH_SPOOL"]
order = os.environ["ORDER"]
if order == "ticketkit-then-sentry":
    ticketkit.crash.install(tracker, app="shop", spool_dir=spool)
if order != "ticketkit-only":
    sentry_sdk.init(
        integrations=[TicketkitIntegration(tracker, app="shop", spool_dir=spool)],
        auto_enabling_integrations=False,
    )
if order in ("sentry-then-ticketkit", "ticketkit-only"):
    ticketkit.crash.install(tracker, app="shop", spool_dir=spool)


def pay(amount):
    raise ValueError(f"card declined for {amount}")


pay(42)
"""


class TestUncaughtCrashes:
    @pytest.mark.parametrize(
        "order", ["sentry-only", "sentry-then-ticketkit", "ticketkit-then-sentry"]
    )
    def test_an_uncaught_crash_is_one_occurrence(self, tmp_path: Path, order: str) -> None:
        """Sentry's excepthook files the crash; with ticketkit's hook too, it counts once."""
        url = f"sqlite:///{tmp_path / 'host.db'}"
        Tracker.from_url(url).close()
        program = tmp_path / "host.py"
        program.write_text(PROGRAM)
        env = {**os.environ, "CRASH_DB": url, "CRASH_SPOOL": str(tmp_path / "spool")}
        done = subprocess.run(
            [sys.executable, str(program)],
            capture_output=True,
            text=True,
            env={**env, "ORDER": order},
            timeout=120,
            check=False,
            cwd=tmp_path,
        )
        assert done.returncode == 1
        assert done.stderr.rstrip().endswith("ValueError: card declined for 42")
        with Tracker.from_url(url) as tracker:
            ticket = only_ticket(tracker)
            assert ticket.fields["crash_count"] == 1
            report = stored_report(tracker, ticket.key)
            # The hook installed last runs first and files the crash; the other finds it filed.
            sentry_saw_it = order in ("sentry-only", "ticketkit-then-sentry")
            assert report["mechanism"] == ("sentry" if sentry_saw_it else "excepthook")
            assert report["handled"] is False
            if sentry_saw_it:
                assert report["context"]["sentry"]["mechanism"] == "excepthook"
            fingerprint = ticket.fields["crash_fingerprint"]
        # ticketkit's own hook alone gives the same ticket: same fingerprint.
        done = subprocess.run(
            [sys.executable, str(program)],
            capture_output=True,
            text=True,
            env={**env, "ORDER": "ticketkit-only"},
            timeout=120,
            check=False,
            cwd=tmp_path,
        )
        assert done.returncode == 1
        with Tracker.from_url(url) as tracker:
            ticket = only_ticket(tracker)
            assert ticket.fields["crash_fingerprint"] == fingerprint
            assert ticket.fields["crash_count"] == 2
