"""WSGI and ASGI middleware: an unhandled exception in a request becomes a ticket, then propagates.

The report's context holds the request under ``"request"`` (see
:func:`ticketkit.crash._request.request_context`: method, URL, path, route,
query parameters and headers, scrubbed; the client address hashed). Tags:
``http.method`` and, when known, ``http.route``. The fingerprint does not
depend on the request, so one bug hit through many URLs is one ticket.

Secrets: credentials taken out of the headers and the query string are also
added to the scrubber for that one report, so a secret from a header or the
query string is replaced wherever else it shows up (a message that echoes it,
a breadcrumb, a local variable).

Only exceptions that escape the application reach the middleware: a
framework that turns errors into 500 pages itself (Flask, Django) logs them
instead; use :class:`ticketkit.crash.CrashLogHandler` or
``capture_exception(context={"request": request_context(environ)})`` there.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import attrs

from ._adapters import current_reporter, resolve_reporter
from ._log import log_once
from ._request import RequestReader, RouteFinder, default_route, read_request

if TYPE_CHECKING:
    from .._tracker import Tracker
    from ._install import CrashHandle
    from ._report import CrashReport
    from ._reporter import Reporter

__all__ = ["ASGICrashMiddleware", "WSGICrashMiddleware"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
ASGIReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]
ASGISend = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], ASGIReceive, ASGISend], Awaitable[None]]


# -- the middleware --------------------------------------------------------------------


class _Middleware:
    mechanism = "wsgi"

    def __init__(
        self,
        target: Tracker | CrashHandle | Reporter | None,
        route: RouteFinder,
        options: dict[str, Any],
    ) -> None:
        self._reporter = resolve_reporter(target, options)
        self._route = route

    @property
    def reporter(self) -> Reporter | None:
        """The reporter crashes go to now (the active installation's when none was given)."""
        return current_reporter(self._reporter)

    def capture(self, exc: BaseException, environ_or_scope: Mapping[str, Any]) -> str | None:
        """File ``exc`` with the request's details; return the ticket key. Never raises."""
        reporter = self.reporter
        if reporter is None:
            return None
        return reporter.file_once(exc, lambda: self._build(reporter, exc, environ_or_scope))

    def _build(
        self, reporter: Reporter, exc: BaseException, environ_or_scope: Mapping[str, Any]
    ) -> CrashReport:
        from ._capture import build_report
        from ._logging import current_breadcrumbs

        options = reporter.options
        request = RequestReader(options)
        try:
            context = read_request(environ_or_scope, request, self._route)
        except Exception as error:
            log_once("request", "could not read the request of a crash", error)
            context = {"error": f"could not read the request: {type(error).__name__}"}
        if request.secrets:
            scrubber = options.scrubber
            patterns: list[str | re.Pattern[str]] = [*scrubber.value_patterns]
            patterns.extend(re.escape(secret) for secret in request.secrets)
            scrubber = attrs.evolve(scrubber, value_patterns=patterns)
            options = attrs.evolve(options, scrubber=scrubber)
        tags = {"http.method": str(context.get("method", "?"))}
        if context.get("route"):
            tags["http.route"] = str(context["route"])
        return build_report(
            exc,
            options=options,
            mechanism=self.mechanism,
            handled=False,
            breadcrumbs=current_breadcrumbs(),
            tags=tags,
            context={"request": context},
        )


class WSGICrashMiddleware(_Middleware):
    """Wrap a WSGI application: an exception escaping it (or its response body) is filed.

    ``WSGICrashMiddleware(app, tracker, **options)`` files into ``tracker``
    with the options of :func:`ticketkit.crash.install`;
    ``WSGICrashMiddleware(app, handle)`` through an installation;
    ``WSGICrashMiddleware(app)`` through whatever is installed when the crash
    happens (nothing, if nothing is). The exception is re-raised unchanged.
    """

    mechanism = "wsgi"

    def __init__(
        self,
        app: WSGIApp,
        target: Tracker | CrashHandle | Reporter | None = None,
        /,
        *,
        route: RouteFinder = default_route,
        **options: Any,
    ) -> None:
        super().__init__(target, route, options)
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            body = self.app(environ, start_response)
        except Exception as exc:
            self.capture(exc, environ)
            raise
        if isinstance(body, list | tuple):
            return body
        return _Body(body, lambda exc: self.capture(exc, environ))


class _Body:
    """A response body that reports what its iteration and ``close()`` raise."""

    def __init__(self, body: Iterable[bytes], report: Callable[[BaseException], object]) -> None:
        self._body = body
        self._report = report

    def __iter__(self) -> Iterator[bytes]:
        try:
            iterator = iter(self._body)
        except Exception as exc:
            self._report(exc)
            raise
        while True:
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            except Exception as exc:
                self._report(exc)
                raise
            yield chunk

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:
                self._report(exc)
                raise


class ASGICrashMiddleware(_Middleware):
    """Wrap an ASGI application: an exception escaping an HTTP or WebSocket request is filed.

    Same arguments as :class:`WSGICrashMiddleware`. Lifespan events pass
    through untouched; the exception is re-raised unchanged. Filing runs on the
    event loop's thread (it is one spool write and one store write).
    """

    mechanism = "asgi"

    def __init__(
        self,
        app: ASGIApp,
        target: Tracker | CrashHandle | Reporter | None = None,
        /,
        *,
        route: RouteFinder = default_route,
        **options: Any,
    ) -> None:
        super().__init__(target, route, options)
        self.app = app

    async def __call__(
        self, scope: MutableMapping[str, Any], receive: ASGIReceive, send: ASGISend
    ) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            self.capture(exc, scope)
            raise
