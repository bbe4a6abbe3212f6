"""The HTML pages: log in, the ticket list, one ticket, and the new-ticket form.

Every handler does the same three things: find out who is asking
(:func:`session_for` turns the logged-in person into a ticketkit ``Session``),
ask the session (which applies the access rules), and render a template. No
handler decides on its own who may see or do what; when the session refuses,
the error handlers in ``app.py`` turn the ticketkit error into a status code.

Handlers are ``async`` and call the (synchronous) tracker directly: every call
then runs on the event loop's one thread, which keeps the example simple. A
busy site would run them in a thread pool (``starlette.concurrency.run_in_threadpool``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.datastructures import FormData, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from ticketkit import (
    Action,
    Event,
    RequireComment,
    RequireResolution,
    Tracker,
)
from ticketkit.access import Permission, Role, Session
from ticketkit.intake.forms import FormIntake, FormResult

from auth import (
    DEMO_PEOPLE,
    csrf_ok,
    csrf_token,
    current_person,
    log_in,
    log_out,
)


class LoginRequired(Exception):
    """Raised for a visitor who asks for a page that needs a login (see ``app.py``)."""


# -- templates ------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _duration(value: timedelta | None) -> str:
    """Business time as people say it: ``1d 2h 5m``, negative once overdue."""
    if value is None:
        return ""
    sign, seconds = ("-" if value < timedelta(0) else ""), abs(int(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    parts = [f"{days}d"] if days else []
    parts += [f"{rest // 3600}h", f"{rest % 3600 // 60}m"]
    return sign + " ".join(parts)


# autoescape=True: every {{ value }} is HTML-escaped. Templates never use |safe.
_env = Environment(
    loader=FileSystemLoader(__file__.rsplit("/", 1)[0] + "/templates"),
    autoescape=True,
    undefined=StrictUndefined,
)
_env.filters.update(when=_when, duration=_duration)


def _common(request: Request) -> dict[str, Any]:
    """What every template gets: who is logged in and the CSRF token for its forms."""
    return {"me": current_person(request), "csrf": csrf_token(request)}


templates = Jinja2Templates(env=_env, context_processors=[_common])


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


# -- who is asking --------------------------------------------------------------------


def tracker_of(request: Request) -> Tracker:
    """The tracker ``create_app`` keeps in the application's state."""
    tracker: Tracker = request.app.state.tracker
    return tracker


def session_for(request: Request) -> Session:
    """The ticketkit session of the logged-in person; :class:`LoginRequired` for visitors."""
    person = current_person(request)
    if person is None:
        raise LoginRequired
    return tracker_of(request).session(person.principal)


async def checked_form(request: Request) -> FormData:
    """The POSTed form, after checking its CSRF token (403 if it is missing or wrong)."""
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        raise HTTPException(403, "the form's security token is missing or out of date; reload")
    return form


def see_ticket(key: str) -> RedirectResponse:
    # 303: after a POST, the browser GETs the ticket page (no re-POST on reload).
    return RedirectResponse(f"/tickets/{key}", status_code=303)


# -- the ticket list ------------------------------------------------------------------

FILTERS = ("status", "queue", "assignee", "priority", "tag", "text")


def where_from(params: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """Query conditions and search text from the list's filter form (or API parameters).

    Bad values are not checked here: the session's query raises ``ValidationError``
    naming the field, which becomes a 422.
    """
    where: dict[str, Any] = {}
    for name in ("status", "queue", "priority"):
        if params.get(name):
            where[name] = params[name]
    if params.get("assignee") == "none":
        where["assignee"] = {"is_null": True}
    elif params.get("assignee"):
        where["assignee"] = params["assignee"]
    if params.get("tag"):
        where["tags"] = {"contains": params["tag"].strip().lower()}
    return where, (params.get("text") or None)


def list_page(session: Session, params: QueryParams, limit: int = 20) -> Any:
    """One page of the principal's tickets, newest first; ``cursor`` resumes a listing."""
    where, text = where_from(params)
    return session.query(
        where, text=text, order_by="-id", limit=limit, cursor=params.get("cursor") or None
    )


async def home(request: Request) -> Response:
    return RedirectResponse("/tickets" if current_person(request) else "/login", status_code=303)


async def ticket_list(request: Request) -> Response:
    session = session_for(request)
    page = list_page(session, request.query_params)
    next_url = None
    if page.next_cursor:
        next_url = str(request.url.include_query_params(cursor=page.next_cursor))
    tracker = tracker_of(request)
    return render(
        request,
        "list.html",
        page=page,
        next_url=next_url,
        filters={name: request.query_params.get(name, "") for name in FILTERS},
        states=[s.name for s in tracker.workflow.states],
        queues=sorted(tracker.config.queues),
        staff=staff_ids(),
    )


async def search(request: Request) -> Response:
    """Ranked full-text search (``session.search``): best match first, no paging."""
    session = session_for(request)
    text = request.query_params.get("q", "").strip()
    hits = session.search(text) if text else []
    return render(request, "search.html", q=text, hits=hits)


def staff_ids() -> list[str]:
    return [pid for pid, p in DEMO_PEOPLE.items() if p.principal.role is not Role.CUSTOMER]


# -- one ticket -----------------------------------------------------------------------


def action_inputs(action: Action) -> dict[str, Any]:
    """What a button for ``action`` must ask for: a comment, a resolution (and its choices)."""
    effects = action.effects
    resolution = next((e for e in effects if isinstance(e, RequireResolution)), None)
    return {
        "name": action.name,
        "label": action.label or action.name,
        "needs_comment": any(isinstance(e, RequireComment) for e in effects),
        "resolutions": resolution.choices if resolution else (),
    }


def describe(event: Event) -> str:
    """One line of history, as plain text (the template escapes it)."""
    kind = event.type.value
    if kind == "opened":
        return "opened the ticket"
    if kind == "commented":
        return "added an internal note" if event.data.get("internal") else "replied"
    if event.field is not None:
        return f"{event.field}: {event.old if event.old is not None else '-'} → {event.new}"
    return kind.replace("_", " ")


async def ticket_page(request: Request) -> Response:
    session = session_for(request)
    key = request.path_params["key"]
    ticket = session.get(key)  # NotFound (404) if missing *or* not visible to this person
    staff = session.sees_internal  # may read internal notes: staff, in this policy
    allowed = session.decide
    return render(
        request,
        "ticket.html",
        ticket=ticket,
        comments=session.comments(key),  # customers get public replies only
        history=[(e, describe(e)) for e in session.history(key)],
        sla=session.sla_status(key) if staff else None,  # customers would get 403
        suggestions=session.suggest(key),
        actions=[action_inputs(a) for a in session.available_actions(ticket)],
        can_comment=allowed(Permission.COMMENT, ticket).allowed,
        can_note=allowed(Permission.INTERNAL_NOTE, ticket).allowed,
        assignees=[p for p in staff_ids() if allowed(Permission.ASSIGN, ticket, p).allowed],
        state_label=tracker_of(request).workflow.state(ticket.status).label,
    )


async def transition(request: Request) -> Response:
    session = session_for(request)
    form = await checked_form(request)
    key = request.path_params["key"]
    version = str(form.get("version", ""))
    session.transition(
        key,
        str(form.get("action", "")),
        comment=str(form.get("comment", "")).strip() or None,
        internal=form.get("internal") == "on",
        resolution=str(form.get("resolution", "")) or None,
        # The version the page showed: if someone changed the ticket since, 409.
        expected_version=int(version) if version.isdigit() else None,
    )
    return see_ticket(key)


async def comment(request: Request) -> Response:
    session = session_for(request)
    form = await checked_form(request)
    key = request.path_params["key"]
    session.comment(key, str(form.get("body", "")), internal=form.get("internal") == "on")
    return see_ticket(key)


async def assign(request: Request) -> Response:
    session = session_for(request)
    form = await checked_form(request)
    key = request.path_params["key"]
    session.assign(key, str(form.get("assignee", "")) or None)
    return see_ticket(key)


# -- the new-ticket form --------------------------------------------------------------


def submit_ticket(request: Request, payload: Mapping[str, object]) -> FormResult:
    """Open a ticket through ``FormIntake``, for a visitor or the logged-in person.

    A visitor types their address and the ticket is opened as them. A logged-in
    customer's form goes through their session: the ticket is theirs, in their
    tenant and organisation, if the policy lets them create one (else a
    ``forbidden`` error), and an address typed into the form must be their own.
    Staff get the visitors' form: they type the caller's address, and the
    ticket is opened as the caller (the history does not name the agent).
    """
    person = current_person(request)
    payload = {k: v for k, v in payload.items() if k != "csrf"}
    session = None
    if person is not None and person.principal.role is Role.CUSTOMER:
        session = session_for(request)
        payload.pop("email", None)  # theirs, whatever the form sent
    # The rate limit counts per person when logged in, per address otherwise.
    address = request.client.host if request.client else "unknown"
    client = f"user:{person.principal.id}" if person else f"ip:{address}"
    form: FormIntake = request.app.state.form
    return form.submit(payload, client=client, session=session)


async def new_ticket(request: Request) -> Response:
    values: dict[str, str] = {"title": "", "description": "", "email": ""}
    if request.method == "GET":
        return render(request, "new.html", values=values, errors={}, general=[])
    form = await checked_form(request)
    payload = {k: form.getlist(k) for k in form}  # lists of strings, as parse_qs gives
    result = submit_ticket(request, payload)
    if result.accepted:
        assert result.ticket is not None
        if current_person(request) is None:  # visitors cannot open the ticket page
            return render(request, "thanks.html", key=result.ticket.key)
        return see_ticket(result.ticket.key)
    errors: dict[str, list[str]] = {}
    for error in result.errors:
        errors.setdefault(error.field or "", []).append(error.message)
    values.update({k: str(form.get(k, "")) for k in values})
    code = 429 if any(e.code == "rate_limited" for e in result.errors) else 422
    return render(
        request, "new.html", code, values=values, errors=errors, general=errors.pop("", [])
    )


# -- logging in and out ---------------------------------------------------------------


async def login(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "login.html", people=DEMO_PEOPLE.values())
    form = await checked_form(request)
    if log_in(request, str(form.get("person", ""))) is None:
        return render(request, "login.html", 422, people=DEMO_PEOPLE.values())
    return RedirectResponse("/tickets", status_code=303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    log_out(request)
    return RedirectResponse("/login", status_code=303)
