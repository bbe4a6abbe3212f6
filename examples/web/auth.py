"""Who is logged in: a demo directory, a signed session cookie, and CSRF tokens.

A real application has its own login (passwords, single sign-on, ...). What it
must hand ticketkit is a :class:`~ticketkit.access.Principal` for the person
making the request: their id (written as the actor of every event), their role,
their tenant, and for customers their organisation, for agents their queues.
This module does the smallest thing that shows it: a fixed directory of demo
people, a cookie that remembers who picked which, and a per-session CSRF token
that every POST must carry.

The cookie is signed with HMAC-SHA256 (standard library only), the same idea as
Starlette's ``SessionMiddleware`` (which needs the ``itsdangerous`` package): the
browser can read it, but cannot change it without the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from attrs import frozen
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketkit.access import Principal, Role

TENANT = "default"  # the demo desk's one tenant; the form's visitors open tickets in it too


@frozen
class Person:
    """A demo user: who they are to ticketkit (``principal``) and to people (``name``)."""

    principal: Principal
    name: str
    about: str


def _people(*people: Person) -> dict[str, Person]:
    return {p.principal.id: p for p in people}


#: Everyone who can log in to the demo, by principal id.
DEMO_PEOPLE: Mapping[str, Person] = _people(
    Person(
        Principal("alice@acme.example", Role.CUSTOMER, TENANT, organisation="Acme Ltd"),
        "Alice Archer",
        "customer at Acme; sees the tickets she reported",
    ),
    Person(
        Principal(
            "aaron@acme.example",
            Role.CUSTOMER,
            TENANT,
            organisation="Acme Ltd",
            sees_organisation=True,
        ),
        "Aaron Abbot",
        "Acme's IT contact; sees every ticket of Acme's",
    ),
    Person(
        Principal("bob@globex.example", Role.CUSTOMER, TENANT, organisation="Globex Corp"),
        "Bob Baker",
        "customer at Globex",
    ),
    Person(
        Principal("ann", Role.AGENT, TENANT, queues={"support"}),
        "Ann Agent",
        "agent in the support queue",
    ),
    Person(
        Principal("sam", Role.AGENT, TENANT, queues={"billing"}),
        "Sam Sums",
        "agent in the billing queue",
    ),
    Person(
        Principal("lee", Role.TEAM_LEAD, TENANT, queues={"support", "billing"}),
        "Lee Lead",
        "team lead of both queues; may assign to anyone",
    ),
)


# -- the signed session cookie --------------------------------------------------------


class SignedCookieSessions:
    """ASGI middleware: ``request.session`` is a dict kept in a signed cookie.

    The cookie holds ``base64(json) . timestamp . signature``; a cookie whose
    signature does not match, or that is older than ``max_age`` seconds, is
    ignored (the visitor is simply logged out). ``HttpOnly`` keeps scripts away
    from it and ``SameSite=Lax`` keeps other sites' forms from sending it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: str,
        cookie: str = "ticketkit_session",
        max_age: int = 8 * 3600,
        https_only: bool = False,
    ) -> None:
        self.app = app
        self.key = secret.encode()
        self.cookie = cookie
        self.max_age = max_age
        self.flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if https_only else "")

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self.key, payload, hashlib.sha256).hexdigest()

    def dump(self, session: Mapping[str, Any]) -> str:
        data = base64.urlsafe_b64encode(json.dumps(dict(session)).encode()).decode()
        body = f"{data}.{int(time.time())}"
        return f"{body}.{self._sign(body.encode())}"

    def load(self, value: str) -> dict[str, Any]:
        try:
            data, stamp, signature = value.split(".")
            body = f"{data}.{stamp}"
            if not hmac.compare_digest(signature, self._sign(body.encode())):
                return {}
            if time.time() - int(stamp) > self.max_age:
                return {}
            loaded = json.loads(base64.urlsafe_b64decode(data))
        except ValueError:  # bad base64, JSON, number or shape: treat as no session
            return {}
        return loaded if isinstance(loaded, dict) else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = Request(scope).cookies.get(self.cookie)
        before = self.load(value) if value else {}
        scope["session"] = dict(before)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                after = scope["session"]
                if after != before:
                    headers = MutableHeaders(scope=message)
                    if after:
                        value = self.dump(after)
                        cookie = f"{self.cookie}={value}; Max-Age={self.max_age}{self.flags}"
                    else:
                        cookie = f"{self.cookie}=; Max-Age=0{self.flags}"
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def new_secret() -> str:
    """A random signing secret: sessions then last as long as the process."""
    return secrets.token_hex(32)


# -- logging in, and who is asking ----------------------------------------------------


def log_in(request: Request, person_id: str) -> Person | None:
    """Remember ``person_id`` in the session (a fresh session, fresh CSRF token)."""
    person = DEMO_PEOPLE.get(person_id)
    if person is None:
        return None
    request.session.clear()  # no session fixation: nothing of the old session survives
    request.session.update(user=person_id, csrf=secrets.token_urlsafe(32))
    return person


def log_out(request: Request) -> None:
    request.session.clear()


def current_person(request: Request) -> Person | None:
    """The logged-in demo person, or ``None`` for a visitor."""
    user = request.session.get("user")
    return DEMO_PEOPLE.get(user) if isinstance(user, str) else None


# -- CSRF -----------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """This session's CSRF token (made on first use, also for visitors)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, sent: object) -> bool:
    """Does ``sent`` (a form field or the ``X-CSRF-Token`` header) match the session's?"""
    token = request.session.get("csrf")
    return isinstance(token, str) and isinstance(sent, str) and hmac.compare_digest(token, sent)
