"""A reference web front end for ticketkit: Starlette, Jinja2, and a JSON API.

Run the demo (a SQLite file in the current directory, seeded with tickets)::

    python examples/web/app.py --demo
    # then open http://127.0.0.1:8000 and pick someone to log in as

or with uvicorn's factory mode (``TICKETKIT_WEB_URL`` names the database)::

    uvicorn --factory --app-dir examples/web app:app_from_env

In your own code, ``create_app(tracker)`` gives the ASGI application for any
tracker. Its parts: ``auth.py`` (who is logged in, CSRF), ``views.py`` (the
pages), ``api.py`` (the JSON API), ``seed.py`` (the demo help desk) and
``templates/``. The guide that walks through it is ``docs/frontend.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import timedelta

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import ticketkit
from ticketkit.intake.forms import FormIntake

import api
import views
from auth import SignedCookieSessions, new_secret
from seed import make_tracker, seed

DEFAULT_URL = "sqlite:///ticketkit-web.db"

#: ticketkit's errors and the HTTP status each becomes; the first match wins.
STATUS_CODES: list[tuple[type[ticketkit.TicketkitError], int]] = [
    (ticketkit.NotFound, 404),  # also a ticket this person may not see: same 404
    (ticketkit.PermissionDenied, 403),
    (ticketkit.ConflictError, 409),  # someone changed the ticket first; reload
    (ticketkit.DuplicateReference, 409),
    (ticketkit.TransitionNotAllowed, 422),
    (ticketkit.ValidationError, 422),
    (ticketkit.StorageError, 503),
]

#: No scripts at all: the pages need none, so injected markup could not run one either.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, kind: str, message: str, field: str | None) -> Response:
    if _wants_json(request):
        body = {"error": {"type": kind, "message": message, "field": field}}
        return JSONResponse(body, status_code=status)
    return views.render(request, "error.html", status, status=status, message=message)


async def ticketkit_error(request: Request, exc: Exception) -> Response:
    """A ticketkit error as a page or as JSON, with the status code of STATUS_CODES."""
    status = next((code for cls, code in STATUS_CODES if isinstance(exc, cls)), 400)
    return _error(request, status, type(exc).__name__, str(exc), getattr(exc, "field", None))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, "HTTPException", exc.detail, None)


async def login_required(request: Request, exc: Exception) -> Response:
    if _wants_json(request):
        return _error(request, 401, "LoginRequired", "log in first (POST /login)", None)
    return RedirectResponse("/login", status_code=303)


class SecurityHeaders:
    """ASGI middleware adding headers that make the pages harder to abuse."""

    def __init__(self, app: ASGIApp, *, csp: str | None) -> None:
        self.app = app
        self.headers = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY",
        }
        if csp:
            self.headers["Content-Security-Policy"] = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    tracker: ticketkit.Tracker,
    *,
    secret: str | None = None,
    rate_limit: tuple[int, timedelta] | None = (5, timedelta(minutes=10)),
    csp: str | None = CSP,
    https_only: bool = False,
) -> Starlette:
    """The web front end for ``tracker``.

    ``secret`` signs the session cookie (default: ``TICKETKIT_WEB_SECRET`` from
    the environment, else a random one, so logins end when the process does).
    ``rate_limit`` is the new-ticket form's: tickets per client in a window.
    ``csp`` is the Content-Security-Policy header (``None`` for none).
    """
    routes = [
        Route("/", views.home),
        Route("/login", views.login, methods=["GET", "POST"]),
        Route("/logout", views.logout, methods=["POST"]),
        Route("/tickets", views.ticket_list),
        Route("/tickets/new", views.new_ticket, methods=["GET", "POST"]),
        Route("/search", views.search),
        Route("/tickets/{key}", views.ticket_page),
        Route("/tickets/{key}/transition", views.transition, methods=["POST"]),
        Route("/tickets/{key}/comment", views.comment, methods=["POST"]),
        Route("/tickets/{key}/assign", views.assign, methods=["POST"]),
        *api.routes,
    ]
    secret = secret or os.environ.get("TICKETKIT_WEB_SECRET") or new_secret()
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, csp=csp),
            Middleware(SignedCookieSessions, secret=secret, https_only=https_only),
        ],
        exception_handlers={
            ticketkit.TicketkitError: ticketkit_error,
            HTTPException: http_error,
            views.LoginRequired: login_required,
        },
    )
    app.state.tracker = tracker
    # Only title, e-mail and description: what a customer may set when opening a ticket.
    app.state.form = FormIntake(tracker, fields=("description",), rate_limit=rate_limit)
    return app


def app_from_env() -> Starlette:
    """For ``uvicorn --factory``: the tracker at ``TICKETKIT_WEB_URL`` (seeded if empty)."""
    tracker = make_tracker(os.environ.get("TICKETKIT_WEB_URL", DEFAULT_URL))
    seed(tracker)
    return create_app(tracker)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ticketkit's reference web front end")
    parser.add_argument("--url", default=DEFAULT_URL, help=f"database URL ({DEFAULT_URL})")
    parser.add_argument("--demo", action="store_true", help="seed an empty database")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)

    import uvicorn  # only needed to serve; tests import create_app without it

    tracker = make_tracker(args.url)
    if args.demo:
        print(f"seeded {seed(tracker)} tickets into {args.url}")
    try:
        uvicorn.run(create_app(tracker), host=args.host, port=args.port)
    finally:
        tracker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
