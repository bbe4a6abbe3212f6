"""The JSON API under ``/api/``: the same operations as the pages, for scripts and SPAs.

Output is built with ``ticketkit.serde.unstructure``, the library's own converter,
so a ticket, an event or a page of tickets has the same JSON form here as
everywhere else ticketkit writes JSON (``serde.structure`` reads it back).
Errors are JSON too, ``{"error": {"type", "message", "field"}}``, with the status
codes ``app.py`` maps them to.

The API uses the same cookie login as the pages. Every POST must send the
session's CSRF token in the ``X-CSRF-Token`` header (``GET /api/me`` tells it)
and a JSON body.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ticketkit import serde

from auth import csrf_ok, csrf_token, current_person
from views import list_page, session_for, submit_ticket


async def body_of(request: Request) -> dict[str, Any]:
    """The JSON object a POST sent, after the CSRF check (403, 415 or 400 if not usable)."""
    if not csrf_ok(request, request.headers.get("x-csrf-token")):
        raise HTTPException(403, "send the session's CSRF token (GET /api/me) as X-CSRF-Token")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "send a JSON body with Content-Type: application/json")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


async def me(request: Request) -> Response:
    """Who is logged in (or ``null``), and the CSRF token for POSTs."""
    person = current_person(request)
    principal = None
    if person is not None:
        p = person.principal
        principal = {"id": p.id, "role": p.role.value, "organisation": p.organisation}
    return JSONResponse({"principal": principal, "csrf": csrf_token(request)})


async def list_tickets(request: Request) -> Response:
    """``GET /api/tickets?status=&queue=&assignee=&priority=&tag=&text=&cursor=&limit=``."""
    limit = request.query_params.get("limit", "20")
    if not limit.isdigit():
        raise HTTPException(422, "limit must be a whole number from 1 to 1000")
    page = list_page(session_for(request), request.query_params, limit=int(limit))
    return JSONResponse(serde.unstructure(page))  # {"items": [...], "next_cursor": ...}


async def get_ticket(request: Request) -> Response:
    """One ticket with its comments, history and available actions (and SLA, for staff)."""
    session = session_for(request)
    key = request.path_params["key"]
    ticket = session.get(key)
    return JSONResponse(
        {
            "ticket": serde.unstructure(ticket),
            "comments": serde.unstructure(session.comments(key)),
            "history": serde.unstructure(session.history(key)),
            "actions": [a.name for a in session.available_actions(ticket)],
            "sla": serde.unstructure(session.sla_status(key)) if session.sees_internal else None,
            "suggestions": serde.unstructure(session.suggest(key)),
        }
    )


async def create_ticket(request: Request) -> Response:
    """``POST /api/tickets``: a FormIntake JSON body; 201, or 422/429 with the errors."""
    result = submit_ticket(request, await body_of(request))
    if result.accepted:
        return JSONResponse(result.to_json(), status_code=201)
    codes = {e.code for e in result.errors}
    status = 429 if "rate_limited" in codes else 403 if "forbidden" in codes else 422
    return JSONResponse(result.to_json(), status_code=status)


async def transition(request: Request) -> Response:
    """``{"action": "start", "comment": ..., "resolution": ..., "expected_version": 3}``."""
    session = session_for(request)
    body = await body_of(request)
    ticket = session.transition(
        request.path_params["key"],
        str(body.get("action", "")),
        comment=body.get("comment"),
        internal=bool(body.get("internal", False)),
        resolution=body.get("resolution"),
        expected_version=body.get("expected_version"),
    )
    return JSONResponse(serde.unstructure(ticket))


async def add_comment(request: Request) -> Response:
    """``{"body": "...", "internal": false}``; 201 with the new comment."""
    session = session_for(request)
    body = await body_of(request)
    added = session.comment(
        request.path_params["key"],
        str(body.get("body", "")),
        internal=bool(body.get("internal", False)),
        expected_version=body.get("expected_version"),
    )
    return JSONResponse(serde.unstructure(added), status_code=201)


async def assign(request: Request) -> Response:
    """``{"assignee": "ann"}`` (``null`` to unassign)."""
    session = session_for(request)
    body = await body_of(request)
    ticket = session.assign(request.path_params["key"], body.get("assignee"))
    return JSONResponse(serde.unstructure(ticket))


async def search(request: Request) -> Response:
    """``GET /api/search?q=...``: ranked hits, ``[{"ticket": ..., "score": ...}]``."""
    hits = session_for(request).search(request.query_params.get("q", ""))
    return JSONResponse(serde.unstructure(hits))


routes = [
    Route("/api/me", me),
    Route("/api/tickets", list_tickets, methods=["GET"]),
    Route("/api/tickets", create_ticket, methods=["POST"]),
    Route("/api/search", search),
    Route("/api/tickets/{key}", get_ticket),
    Route("/api/tickets/{key}/transition", transition, methods=["POST"]),
    Route("/api/tickets/{key}/comments", add_comment, methods=["POST"]),
    Route("/api/tickets/{key}/assign", assign, methods=["POST"]),
]
