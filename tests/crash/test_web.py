"""ticketkit.crash.web: a request's unhandled exception becomes a ticket, then propagates."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.util import setup_testing_defaults

import pytest

from ticketkit import Tracker, ValidationError
from ticketkit.crash import active_handle, clear_breadcrumbs, install
from ticketkit.crash.web import ASGICrashMiddleware, WSGICrashMiddleware, request_context

from .stored import crash_tickets, everything_stored, only_ticket, stored_report

SECRET = "s3cr3t-Value-7f9c2a"
TOKEN = "tok-9d8e7f6a5b4c3d2e"
COOKIE = "sess-0a1b2c3d4e5f6a7b"


@pytest.fixture
def tracker() -> Iterator[Tracker]:
    clear_breadcrumbs()
    with Tracker.in_memory() as tracker:
        yield tracker
    while (handle := active_handle()) is not None:
        handle.uninstall()


class Refused(Exception):
    pass


def failing_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A WSGI application whose handler echoes the API key into its error, as careless code does."""
    raise Refused(f"payment refused for key {environ.get('HTTP_X_API_KEY')}")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class QuietServer(WSGIServer):
    errors: list[BaseException]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def serve(app: Callable[..., Any]) -> tuple[WSGIServer, str]:
    server = make_server("127.0.0.1", 0, app, server_class=QuietServer, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


class Propagated:
    """Outermost WSGI layer: records what the middleware let through."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.errors: list[BaseException] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return self.app(environ, start_response)
        except Exception as exc:
            self.errors.append(exc)
            raise


class TestWSGI:
    def test_a_real_request_files_a_ticket_and_reraises(
        self, tracker: Tracker, tmp_path: Path
    ) -> None:
        """Through wsgiref: the crash is filed with the request, and the server still sees it."""
        outer = Propagated(WSGICrashMiddleware(failing_app, tracker, spool_dir=tmp_path))
        server, base = serve(outer)
        request = urllib.request.Request(
            f"{base}/orders/17/pay?page=2&token={TOKEN}&debug=",
            headers={
                "Authorization": f"Bearer {SECRET}",
                "Cookie": f"sessionid={COOKIE}; theme=dark",
                "X-Api-Key": SECRET,
                "User-Agent": "checkout-test",
                "X-Forwarded-For": "203.0.113.9",
            },
        )
        try:
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(request, timeout=10)
            assert answer.value.code == 500
            answer.value.close()
        finally:
            server.shutdown()
            server.server_close()
        [error] = outer.errors
        assert isinstance(error, Refused)
        ticket = only_ticket(tracker)
        assert ticket.title.endswith("Refused: payment refused for key [scrubbed]")
        report = stored_report(tracker, ticket.key)
        assert report["mechanism"] == "wsgi"
        assert report["handled"] is False
        assert report["tags"]["http.method"] == "GET"
        req = report["context"]["request"]
        assert req["method"] == "GET"
        assert req["path"] == "/orders/17/pay"
        assert req["url"] == f"{base}/orders/17/pay"
        assert req["query"] == {"page": "2", "token": "[scrubbed]", "debug": ""}
        headers = req["headers"]
        assert headers["Authorization"] == headers["Cookie"] == headers["X-Api-Key"] == "[scrubbed]"
        assert headers["User-Agent"] == "checkout-test"
        assert headers["X-Forwarded-For"].startswith("sha256:")
        assert req["client"].startswith("sha256:")
        stored = everything_stored(tracker, ticket.key)
        for secret in (SECRET, TOKEN, COOKIE, "203.0.113.9"):
            assert secret not in stored

    def test_a_sqlite_file_holds_the_ticket(self, tmp_path: Path) -> None:
        """Filed into a SQLite file; repeats count on the same ticket."""
        url = f"sqlite:///{tmp_path / 'web.db'}"
        with Tracker.from_url(url) as tracker:
            app = WSGICrashMiddleware(failing_app, tracker, spool_dir=tmp_path / "spool")
            for path in ("/a", "/b"):
                environ: dict[str, Any] = {"PATH_INFO": path}
                setup_testing_defaults(environ)
                with pytest.raises(Refused):
                    app(environ, lambda *args: None)
        with Tracker.from_url(url) as reopened:
            assert only_ticket(reopened).fields["crash_count"] == 2

    def test_errors_while_streaming_the_body_are_filed(
        self, tracker: Tracker, tmp_path: Path
    ) -> None:
        """An exception raised by the response iterable is filed and re-raised."""

        def streaming(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            start_response("200 OK", [("Content-Type", "text/plain")])
            yield b"first chunk"
            raise Refused("stream broke")

        app = WSGICrashMiddleware(streaming, tracker, spool_dir=tmp_path)
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        body = app(environ, lambda *args: None)
        chunks = iter(body)
        assert next(chunks) == b"first chunk"
        with pytest.raises(Refused, match="stream broke"):
            next(chunks)
        assert only_ticket(tracker).title.endswith("Refused: stream broke")

    def test_errors_in_close_are_filed(self, tracker: Tracker, tmp_path: Path) -> None:
        """close() is passed through; what it raises is filed and re-raised."""

        class Body:
            def __iter__(self) -> Iterator[bytes]:
                yield b"ok"

            def close(self) -> None:
                raise Refused("close failed")

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            start_response("200 OK", [])
            return Body()

        wrapped = WSGICrashMiddleware(app, tracker, spool_dir=tmp_path)
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        body = wrapped(environ, lambda *args: None)
        assert list(body) == [b"ok"]
        with pytest.raises(Refused):
            body.close()  # type: ignore[attr-defined]
        assert only_ticket(tracker).title.endswith("Refused: close failed")

    def test_a_good_response_passes_through(self, tracker: Tracker, tmp_path: Path) -> None:
        """Nothing is filed, and a list body comes back as it is."""
        body = [b"hello"]

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            start_response("200 OK", [])
            return body

        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        wrapped = WSGICrashMiddleware(app, tracker, spool_dir=tmp_path)
        assert wrapped(environ, lambda *args: None) is body
        assert crash_tickets(tracker) == []

    def test_the_route_can_be_told(self, tracker: Tracker, tmp_path: Path) -> None:
        """environ["ticketkit.route"] (or a route= function) names the route."""

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            environ["ticketkit.route"] = "/orders/<id>/pay"
            raise Refused("no")

        environ: dict[str, Any] = {"PATH_INFO": "/orders/17/pay"}
        setup_testing_defaults(environ)
        with pytest.raises(Refused):
            WSGICrashMiddleware(app, tracker, spool_dir=tmp_path)(environ, lambda *a: None)
        report = stored_report(tracker, only_ticket(tracker).key)
        assert report["tags"]["http.route"] == "/orders/<id>/pay"
        assert report["context"]["request"]["route"] == "/orders/<id>/pay"

    def test_without_a_target_the_active_installation_is_used(
        self, tracker: Tracker, tmp_path: Path
    ) -> None:
        """WSGICrashMiddleware(app) files through whatever install() put in place, if anything."""
        app = WSGICrashMiddleware(failing_app)
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        with pytest.raises(Refused):
            app(environ, lambda *args: None)  # nothing installed: nothing filed
        install(tracker, spool_dir=tmp_path, excepthook=False, threads=False)
        with pytest.raises(Refused):
            app(environ, lambda *args: None)
        assert only_ticket(tracker).fields["crash_count"] == 1

    def test_one_exception_through_two_layers_is_one_occurrence(
        self, tracker: Tracker, tmp_path: Path
    ) -> None:
        """Nested middleware (or middleware and a hook) count one exception once."""
        handle = install(tracker, spool_dir=tmp_path, excepthook=False, threads=False)
        app = WSGICrashMiddleware(WSGICrashMiddleware(failing_app, handle), handle)
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        with pytest.raises(Refused) as raised:
            app(environ, lambda *args: None)
        handle.capture_exception(raised.value)
        assert only_ticket(tracker).fields["crash_count"] == 1

    def test_options_need_a_tracker(self, tracker: Tracker, tmp_path: Path) -> None:
        """Options go with a tracker; a handle is configured already."""
        handle = install(tracker, spool_dir=tmp_path, excepthook=False, threads=False)
        with pytest.raises(ValidationError, match="only apply when a Tracker is given"):
            WSGICrashMiddleware(failing_app, handle, app="shop")
        with pytest.raises(ValidationError, match="unknown option"):
            WSGICrashMiddleware(failing_app, tracker, colour="red")


def scope_for(path: str = "/items/3", **extra: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "root_path": "",
        "query_string": f"page=2&access_token={TOKEN}".encode(),
        "headers": [
            (b"host", b"shop.example"),
            (b"authorization", f"Basic {SECRET}".encode()),
            (b"cookie", f"sessionid={COOKIE}".encode()),
            (b"accept", b"text/html"),
            (b"accept", b"application/json"),
        ],
        "client": ("198.51.100.7", 51000),
        "server": ("shop.example", 443),
    }
    scope.update(extra)
    return scope


async def receive() -> MutableMapping[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class TestASGI:
    def run(self, app: Any, scope: dict[str, Any]) -> list[MutableMapping[str, Any]]:
        sent: list[MutableMapping[str, Any]] = []

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        asyncio.run(app(scope, receive, send))
        return sent

    def test_a_request_files_a_ticket_and_reraises(self, tracker: Tracker, tmp_path: Path) -> None:
        """Called as a server would: filed with the scrubbed request, then re-raised."""

        class Route:
            path_format = "/items/{item_id}"

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope["route"] = Route()
            await receive()
            raise Refused(f"cannot update item with token {TOKEN}")

        wrapped = ASGICrashMiddleware(app, tracker, spool_dir=tmp_path)
        with pytest.raises(Refused):
            self.run(wrapped, scope_for())
        ticket = only_ticket(tracker)
        report = stored_report(tracker, ticket.key)
        assert report["mechanism"] == "asgi"
        assert report["tags"] == {"http.method": "POST", "http.route": "/items/{item_id}"}
        req = report["context"]["request"]
        assert req["url"] == "https://shop.example/items/3"
        assert req["route"] == "/items/{item_id}"
        assert req["query"] == {"page": "2", "access_token": "[scrubbed]"}
        assert req["headers"]["Authorization"] == req["headers"]["Cookie"] == "[scrubbed]"
        assert req["headers"]["Accept"] == "text/html, application/json"
        stored = everything_stored(tracker, ticket.key)
        for secret in (SECRET, TOKEN, COOKIE, "198.51.100.7"):
            assert secret not in stored

    def test_a_good_response_passes_through(self, tracker: Tracker, tmp_path: Path) -> None:
        """Messages reach the server unchanged; nothing is filed."""

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        sent = self.run(ASGICrashMiddleware(app, tracker, spool_dir=tmp_path), scope_for())
        assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
        assert crash_tickets(tracker) == []

    def test_lifespan_passes_through(self, tracker: Tracker, tmp_path: Path) -> None:
        """Lifespan errors are the server's business: not filed, still raised."""

        async def app(scope: Any, receive: Any, send: Any) -> None:
            raise Refused("startup failed")

        with pytest.raises(Refused):
            self.run(ASGICrashMiddleware(app, tracker, spool_dir=tmp_path), {"type": "lifespan"})
        assert crash_tickets(tracker) == []

    def test_websockets_are_covered(self, tracker: Tracker, tmp_path: Path) -> None:
        """A WebSocket handler's crash is filed too."""

        async def app(scope: Any, receive: Any, send: Any) -> None:
            raise Refused("socket handler failed")

        scope = scope_for("/live", type="websocket", scheme="wss")
        del scope["method"]
        with pytest.raises(Refused):
            self.run(ASGICrashMiddleware(app, tracker, spool_dir=tmp_path), scope)
        req = stored_report(tracker, only_ticket(tracker).key)["context"]["request"]
        assert req["method"] == "WEBSOCKET"
        assert req["url"] == "wss://shop.example/live"


class TestRequestContext:
    def test_for_frameworks_that_handle_errors_themselves(self, tracker: Tracker) -> None:
        """request_context() gives the same scrubbed request for capture_exception(context=...)."""
        environ: dict[str, Any] = {
            "QUERY_STRING": f"password={SECRET}&q=shoes",
            "HTTP_AUTHORIZATION": f"Token {SECRET}",
        }
        setup_testing_defaults(environ)
        context = request_context(environ)
        assert context["query"] == {"password": "[scrubbed]", "q": "shoes"}
        assert context["headers"]["Authorization"] == "[scrubbed]"
        assert SECRET not in json.dumps(context)
