"""sentry-sdk support: Sentry error events become ticketkit crash tickets too.

Three ways in, from the most to the least complete:

* :class:`TicketkitIntegration`, a sentry-sdk ``Integration``::

      sentry_sdk.init(dsn=..., integrations=[TicketkitIntegration(tracker, app="shop")])

  Its event processor runs before ``before_send`` and before ``sample_rate``,
  so it files every error event, also those sampling or ``before_send``
  drop, and works without a DSN. It does not change the event.
* :func:`make_before_send`: ``before_send=make_before_send(tracker, then=mine)``
  files the event, then hands it to ``mine`` (whose ``None`` still drops it
  from Sentry, not from ticketkit). Also sees events sampling drops.
* :class:`TicketkitTransport`: ``transport=TicketkitTransport(tracker)`` files
  the events that are actually sent, then passes them to the wrapped
  transport (by default sentry-sdk's HTTP transport, when there is a DSN).

Each files error events (``level`` error or fatal) that carry an exception:
exception chain and stacks, tags, user (hashed unless ``allow_username``),
release, breadcrumbs, contexts, extra data and request, honouring the event's
``fingerprint`` (with ``"{{ default }}"``), all scrubbed again by ticketkit
(see :mod:`ticketkit.crash._sentry_event`). One crash is one occurrence
however many of these and of ticketkit's own hooks see it: the exception
object (the hint's ``exc_info``) and the event id are each filed once.

The options are those of :func:`ticketkit.crash.install` (``app``,
``release``, ``spool_dir``, ``consent``, ``rate_limit``, capture options…);
instead of a tracker, an installed :class:`~ticketkit.crash.CrashHandle`
shares its reporter, and ``None`` uses whatever is installed when an event
comes. Importing this module needs sentry-sdk (``pip install
'ticketkit[sentry]'``); ``import ticketkit.crash`` does not import it.
"""

from __future__ import annotations

try:
    import sentry_sdk
    from sentry_sdk.integrations import Integration
    from sentry_sdk.scope import add_global_event_processor
    from sentry_sdk.transport import HttpTransport, Transport
except ImportError as _error:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "ticketkit.crash.sentry needs sentry-sdk 2 or newer; install the extra: "
        "pip install 'ticketkit[sentry]'"
    ) from _error

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._errors import ValidationError
from ._adapters import current_reporter, resolve_reporter
from ._log import log_once

if TYPE_CHECKING:
    from sentry_sdk.envelope import Envelope
    from sentry_sdk.types import Event, Hint

    from .._tracker import Tracker
    from ._install import CrashHandle
    from ._reporter import Reporter

__all__ = ["DEFAULT_LEVELS", "TicketkitIntegration", "TicketkitTransport", "make_before_send"]

#: The event levels that are filed.
DEFAULT_LEVELS: tuple[str, ...] = ("error", "fatal")

_MAX_EVENT_IDS = 1024
_seen_lock = threading.Lock()
_seen_events: OrderedDict[tuple[int, str], None] = OrderedDict()


class _EventFiler:
    """Files Sentry events into one reporter (or the active installation's)."""

    def __init__(
        self,
        target: Tracker | CrashHandle | Reporter | None,
        levels: Iterable[str],
        options: dict[str, Any],
    ) -> None:
        if isinstance(levels, str):
            raise ValidationError(
                f"levels must be a collection of level names, not the single string {levels!r}; "
                f"write ({levels!r},)"
            )
        self.levels = frozenset(str(level).lower() for level in levels)
        self._reporter = resolve_reporter(target, options)

    @property
    def reporter(self) -> Reporter | None:
        return current_reporter(self._reporter)

    def file(self, event: Mapping[str, Any], hint: Mapping[str, Any] | None) -> str | None:
        """File ``event`` unless it is not an error, is ignored or was filed; never raises."""
        try:
            reporter = self.reporter
            if reporter is None or not self._wanted(event):
                return None
            from ._sentry_event import main_exception_type, report_from_event

            exc = _hint_exception(hint)
            if exc is None and main_exception_type(event) in _names(reporter.ignore):
                return None
            if not _first_sighting(reporter, event.get("event_id")):
                return None
            release, environment = _client_option("release"), _client_option("environment")

            def build() -> Any:
                return report_from_event(
                    event,
                    options=reporter.options,
                    exc=exc,
                    release=release if isinstance(release, str) else None,
                    environment=environment if isinstance(environment, str) else None,
                )

            if exc is not None:
                return reporter.file_once(exc, build)
            return reporter.file(build())
        except Exception as error:  # never break the host or the SDK
            log_once("sentry", "ticketkit could not file a Sentry event", error)
            return None

    def _wanted(self, event: Mapping[str, Any]) -> bool:
        if event.get("type") in ("transaction", "check_in"):
            return False
        level = event.get("level")
        if level is not None and str(level).lower() not in self.levels:
            return False
        exception = event.get("exception")
        return isinstance(exception, Mapping | list) and bool(exception)


def _hint_exception(hint: Mapping[str, Any] | None) -> BaseException | None:
    exc_info = hint.get("exc_info") if isinstance(hint, Mapping) else None
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc = exc_info[1]
        return exc if isinstance(exc, BaseException) else None
    return None


def _names(types: Iterable[type[BaseException]]) -> set[str]:
    return {f"{t.__module__}.{t.__qualname__}" for t in types}


def _first_sighting(reporter: Reporter, event_id: object) -> bool:
    """Remember ``event_id`` for this tracker; False if it was seen before."""
    if not isinstance(event_id, str) or not event_id:
        return True
    key = (id(reporter.tracker), event_id)
    with _seen_lock:
        if key in _seen_events:
            return False
        _seen_events[key] = None
        while len(_seen_events) > _MAX_EVENT_IDS:
            _seen_events.popitem(last=False)
    return True


def _client_option(name: str) -> Any:
    try:
        return sentry_sdk.get_client().options.get(name)
    except Exception:
        return None


# -- the integration ---------------------------------------------------------------


class TicketkitIntegration(Integration):
    """A sentry-sdk integration that files every error event as a ticketkit crash.

    ``TicketkitIntegration(tracker, app="shop", spool_dir=...)`` takes the
    options of :func:`ticketkit.crash.install` (see the module docstring) and
    ``levels``, the event levels filed (default error and fatal). It patches
    nothing: ``setup_once`` adds one global event processor, which does
    nothing unless the current client has this integration enabled.
    """

    identifier = "ticketkit"

    def __init__(
        self,
        target: Tracker | CrashHandle | Reporter | None,
        /,
        *,
        levels: Iterable[str] = DEFAULT_LEVELS,
        **options: Any,
    ) -> None:
        self._filer = _EventFiler(target, levels, options)

    @property
    def reporter(self) -> Reporter | None:
        """The reporter events go to (the active installation's when none was given)."""
        return self._filer.reporter

    @staticmethod
    def setup_once() -> None:
        add_global_event_processor(_process_event)

    def __repr__(self) -> str:
        return f"<TicketkitIntegration reporter={self._filer.reporter!r}>"


def _process_event(event: Event, hint: Hint) -> Event:
    """The global event processor: file the event if the integration is on; keep it as is."""
    try:
        integration = sentry_sdk.get_client().get_integration(TicketkitIntegration)
        if integration is not None:
            integration._filer.file(event, hint)
    except Exception as error:
        log_once("sentry", "ticketkit could not file a Sentry event", error)
    return event


# -- before_send ---------------------------------------------------------------------


def make_before_send(
    target: Tracker | CrashHandle | Reporter | None,
    /,
    *,
    then: Callable[[Event, Hint], Event | None] | None = None,
    levels: Iterable[str] = DEFAULT_LEVELS,
    **options: Any,
) -> Callable[[Event, Hint], Event | None]:
    """A ``before_send`` callback that files the event, then calls ``then`` (if given).

    ``sentry_sdk.init(before_send=make_before_send(tracker, then=my_before_send))``.
    Whatever ``then`` returns goes to Sentry; ticketkit has filed the event
    either way. Options as for :class:`TicketkitIntegration`.
    """
    if then is not None and not callable(then):
        raise ValidationError(f"then must be a before_send callable, got {then!r}")
    filer = _EventFiler(target, levels, options)

    def ticketkit_before_send(event: Event, hint: Hint) -> Event | None:
        filer.file(event, hint)
        return then(event, hint) if then is not None else event

    return ticketkit_before_send


# -- transport -----------------------------------------------------------------------


class TicketkitTransport(Transport):
    """A transport that files the error events it is given, then passes them on.

    ``inner`` is the transport that really sends: an instance, or a class that
    is created with the client's options on first use (only when the client
    has a DSN). The default is sentry-sdk's ``HttpTransport``; ``None`` sends
    nothing on. Only events that survive ``before_send`` and sampling reach a
    transport. Options as for :class:`TicketkitIntegration`.
    """

    def __init__(
        self,
        target: Tracker | CrashHandle | Reporter | None,
        /,
        inner: Transport | type[Transport] | None = HttpTransport,
        *,
        levels: Iterable[str] = DEFAULT_LEVELS,
        **options: Any,
    ) -> None:
        super().__init__(None)
        if inner is not None and not (
            isinstance(inner, Transport)
            or (isinstance(inner, type) and issubclass(inner, Transport))
        ):
            raise ValidationError(
                f"inner must be a sentry_sdk Transport or Transport class, got {inner!r}"
            )
        self._filer = _EventFiler(target, levels, options)
        self._inner_class = inner if isinstance(inner, type) else None
        self._inner = inner if isinstance(inner, Transport) else None
        self._inner_lock = threading.Lock()
        if self._inner is not None:
            self.parsed_dsn = self._inner.parsed_dsn

    @property
    def reporter(self) -> Reporter | None:
        """The reporter events go to (the active installation's when none was given)."""
        return self._filer.reporter

    @property
    def inner(self) -> Transport | None:
        """The transport events are passed on to, created on first use from a class."""
        if self._inner is None and self._inner_class is not None:
            with self._inner_lock:
                if self._inner is None:
                    options = sentry_sdk.get_client().options
                    if options.get("dsn"):
                        self._inner = self._inner_class(options)
                        self.parsed_dsn = self._inner.parsed_dsn
        return self._inner

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            try:
                event = item.get_event() if item.type == "event" else None
            except Exception as error:
                log_once("sentry-envelope", "could not read an event from an envelope", error)
                continue
            if event is not None:
                self._filer.file(event, None)
        inner = self.inner
        if inner is not None:
            inner.capture_envelope(envelope)

    def flush(self, timeout: float, callback: Any | None = None) -> None:
        inner = self._inner
        if inner is not None:
            inner.flush(timeout, callback)

    def kill(self) -> None:
        inner = self._inner
        if inner is not None:
            inner.kill()

    def record_lost_event(self, *args: Any, **kwargs: Any) -> None:
        inner = self._inner
        if inner is not None:
            inner.record_lost_event(*args, **kwargs)

    def is_healthy(self) -> bool:
        inner = self._inner
        return inner.is_healthy() if inner is not None else True
