"""WSGI and ASGI middleware that turn a request's unhandled exception into a ticket.

>>> from ticketkit.crash.web import WSGICrashMiddleware
>>> app = WSGICrashMiddleware(app, tracker, app="shop")  # doctest: +SKIP

See docs/crash-reports.md.
"""

from __future__ import annotations

from ._request import RouteFinder, default_route, request_context
from ._web import ASGICrashMiddleware, WSGICrashMiddleware

__all__ = [
    "ASGICrashMiddleware",
    "RouteFinder",
    "WSGICrashMiddleware",
    "default_route",
    "request_context",
]
