"""Reading a request from a WSGI environ or an ASGI scope, scrubbed, for a crash report.

:func:`request_context` returns what the web middleware stores under the
report's ``"request"`` context: method, URL (without the query string), path,
route when the framework tells it, the query parameters and the headers; the
client address (``client``, and ``X-Forwarded-For`` and the like) is hashed
unless ``allow_username``.

``Authorization``, ``Proxy-Authorization``, ``Cookie`` and ``Set-Cookie`` are
always replaced, whatever the scrubber's key list says; so is every other
header and query parameter whose name the scrubber finds secret-ish
(``X-Api-Key``, ``?token=``). :attr:`RequestReader.secrets` lists the values so
removed (and the credentials inside them: the token after ``Bearer``, each
cookie's value), so that the caller can scrub them from the rest of a report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ._environment import hash_identifier
from ._log import log_once
from ._scrub import SCRUBBED

if TYPE_CHECKING:
    from ._capture import CaptureOptions

__all__ = [
    "RequestReader",
    "RouteFinder",
    "default_route",
    "read_request",
    "request_context",
    "scrub_headers",
]

#: ``route(environ_or_scope)``: the route template that matched (``"/items/{id}"``), or None.
RouteFinder = Callable[[Mapping[str, Any]], "str | None"]

_ALWAYS_SECRET = frozenset({"authorization", "proxyauthorization", "cookie", "setcookie"})
_ADDRESS_HEADERS = frozenset(
    {"xforwardedfor", "xrealip", "forwarded", "cfconnectingip", "trueclientip", "xclientip"}
)
_NOT_ALNUM = re.compile(r"[\W_]+")
_MIN_SECRET = 6
_MAX_HEADERS = 100
_MAX_PARAMS = 100


def _normalise(name: str) -> str:
    return _NOT_ALNUM.sub("", name.lower())


class RequestReader:
    """What one request says, scrubbed, and the secret values taken out of it."""

    def __init__(self, options: CaptureOptions) -> None:
        self.options = options
        self.secrets: list[str] = []

    def remember(self, value: str) -> None:
        for part in _secret_parts(value):
            if len(part) >= _MIN_SECRET and part != SCRUBBED and part not in self.secrets:
                self.secrets.append(part)

    def headers(self, pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
        scrubber = self.options.scrubber
        kept: dict[str, str] = {}
        for name, value in pairs:
            if len(kept) >= _MAX_HEADERS:
                kept["…"] = f"[truncated: more than {_MAX_HEADERS} headers]"
                break
            key = _normalise(name)
            if key in _ALWAYS_SECRET or scrubber.is_secret_key(name):
                self.remember(value)
                value = SCRUBBED if value else value
            elif key in _ADDRESS_HEADERS and not self.options.allow_username:
                value = hash_identifier(value)
            kept[name] = f"{kept[name]}, {value}" if name in kept else value
        return kept

    def query(self, query: str) -> dict[str, str | list[str]]:
        scrubber = self.options.scrubber
        params: dict[str, str | list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
            if scrubber.is_secret_key(name):
                self.remember(value)
                value = SCRUBBED if value else value
            old = params.get(name)
            if old is None:
                if len(params) >= _MAX_PARAMS:
                    params["…"] = f"[truncated: more than {_MAX_PARAMS} parameters]"
                    break
                params[name] = value
            elif isinstance(old, list):
                old.append(value)
            else:
                params[name] = [old, value]
        return params

    def client(self, address: object) -> str | None:
        if not isinstance(address, str) or not address:
            return None
        return address if self.options.allow_username else hash_identifier(address)


def _secret_parts(value: str) -> list[str]:
    """The value, its credentials after an auth scheme, and each cookie's value."""
    parts = [value.strip()]
    scheme, _, credentials = value.strip().partition(" ")
    if credentials and scheme.isalpha():
        parts.append(credentials.strip())
    for cookie in value.split(";"):
        name, equals, cookie_value = cookie.partition("=")
        if equals and name.strip():
            parts.append(cookie_value.strip().strip('"'))
    return parts


def scrub_headers(headers: Mapping[str, Any], options: CaptureOptions) -> dict[str, str]:
    """``headers`` with credentials replaced and client addresses hashed (module docstring)."""
    pairs = ((str(k), v if isinstance(v, str) else str(v)) for k, v in headers.items())
    return RequestReader(options).headers(pairs)


# -- reading WSGI environs and ASGI scopes ---------------------------------------------


def _wsgi(environ: Mapping[str, Any], request: RequestReader, route: str | None) -> dict[str, Any]:
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            headers.append((key[5:].replace("_", "-").title(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").title(), str(value)))
    path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}" or "/"
    host = environ.get("HTTP_HOST") or _server(
        environ.get("SERVER_NAME"), environ.get("SERVER_PORT")
    )
    return _context(
        method=str(environ.get("REQUEST_METHOD", "GET")),
        url=f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path}",
        path=path,
        route=route,
        query=request.query(str(environ.get("QUERY_STRING", ""))),
        headers=request.headers(headers),
        client=request.client(environ.get("REMOTE_ADDR")),
    )


def _asgi(scope: Mapping[str, Any], request: RequestReader, route: str | None) -> dict[str, Any]:
    pairs = [
        (_latin1(name).title(), _latin1(value))
        for name, value in scope.get("headers") or ()
        if isinstance(name, bytes | str) and isinstance(value, bytes | str)
    ]
    headers = request.headers(pairs)
    path = f"{scope.get('root_path', '')}{scope.get('path', '')}" or "/"
    server = [*(scope.get("server") or ()), None, None]
    host = headers.get("Host") or _server(server[0], server[1])
    client = scope.get("client") or (None,)
    kind = scope.get("type")
    method = scope.get("method") or ("WEBSOCKET" if kind == "websocket" else "GET")
    return _context(
        method=str(method),
        url=f"{scope.get('scheme', 'ws' if kind == 'websocket' else 'http')}://{host}{path}",
        path=path,
        route=route,
        query=request.query(_latin1(scope.get("query_string") or b"")),
        headers=headers,
        client=request.client(client[0]),
    )


def _context(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _latin1(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _server(name: object, port: object) -> str:
    host = str(name or "localhost")
    return host if port in (None, "", "80", "443", 80, 443) else f"{host}:{port}"


def default_route(environ_or_scope: Mapping[str, Any]) -> str | None:
    """The matched route, where a framework leaves it in the environ or scope.

    ASGI: ``scope["route"]`` (a string, or an object with ``path_format`` or
    ``path``: FastAPI, Starlette); WSGI: ``environ["ticketkit.route"]`` (set it
    from your router), or Werkzeug's request ``url_rule`` (Flask).
    """
    found = environ_or_scope.get("route") or environ_or_scope.get("ticketkit.route")
    if found is None:
        werkzeug = environ_or_scope.get("werkzeug.request")
        rule = getattr(werkzeug, "url_rule", None)
        found = getattr(rule, "rule", None)
    if isinstance(found, str):
        return found
    for name in ("path_format", "path"):
        value = getattr(found, name, None)
        if isinstance(value, str):
            return value
    return None


def request_context(
    environ_or_scope: Mapping[str, Any],
    options: CaptureOptions | None = None,
    *,
    route: RouteFinder = default_route,
) -> dict[str, Any]:
    """The scrubbed ``"request"`` context of a WSGI environ or an ASGI scope.

    For frameworks that handle errors themselves:
    ``capture_exception(context={"request": request_context(request.environ)})``.
    """
    from ._capture import CaptureOptions

    return read_request(environ_or_scope, RequestReader(options or CaptureOptions()), route)


def read_request(
    environ_or_scope: Mapping[str, Any], request: RequestReader, route: RouteFinder
) -> dict[str, Any]:
    """The ``"request"`` context of an environ or a scope, read through ``request``.

    A scope is told from an environ by its ``"type"`` key. A ``route`` finder
    that raises is logged and the route left out.
    """
    try:
        matched = route(environ_or_scope)
    except Exception as error:
        log_once("route", "the route finder raised; the route is left out", error)
        matched = None
    if "type" in environ_or_scope and "REQUEST_METHOD" not in environ_or_scope:
        return _asgi(environ_or_scope, request, matched)
    return _wsgi(environ_or_scope, request, matched)
