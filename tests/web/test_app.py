"""The web example with Starlette's TestClient: pages, forms, access rules and the JSON API."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

import ticketkit

from .conftest import XSS_ACTOR, XSS_TAG, XSS_TEXT, XSS_TITLE, Login, log_in


def keys(html: str) -> list[str]:
    """The ticket keys a list page links to, in order."""
    return re.findall(r'<td><a href="/tickets/([A-Z]+-\d+)">', html)


class TestLogin:
    def test_visitors_are_sent_to_the_login_page(self, client: TestClient) -> None:
        """A page that needs a login redirects; the API answers 401 in JSON."""
        assert client.get("/tickets").headers["location"] == "/login"
        response = client.get("/api/tickets")
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "LoginRequired"

    def test_login_page_lists_the_demo_people(self, client: TestClient) -> None:
        """Customers of two organisations, agents and a team lead."""
        html = client.get("/login").text
        for person in ("alice@acme.example", "bob@globex.example", "ann", "lee"):
            assert f'value="{person}"' in html

    def test_log_in_and_out(self, client: TestClient) -> None:
        """After logging in the pages greet the person; logging out ends the session."""
        token = log_in(client, "ann")
        assert "Ann Agent (agent)" in client.get("/tickets").text
        assert client.post("/logout", data={"csrf": token}).status_code == 303
        assert client.get("/api/me").json()["principal"] is None

    def test_unknown_person(self, client: TestClient) -> None:
        token = client.get("/api/me").json()["csrf"]
        response = client.post("/login", data={"csrf": token, "person": "mallory"})
        assert response.status_code == 422

    def test_tampered_cookie_is_ignored(self, client: TestClient) -> None:
        """Changing the signed cookie logs the visitor out instead of letting them in."""
        log_in(client, "alice@acme.example")
        value = client.cookies["ticketkit_session"]
        data, stamp, signature = value.split(".")
        client.cookies.clear()
        client.cookies.set("ticketkit_session", f"{data}.{stamp}.{'0' * len(signature)}")
        assert client.get("/api/me").json()["principal"] is None


class TestCSRF:
    def test_login_without_token_is_refused(self, client: TestClient) -> None:
        client.get("/login")
        response = client.post("/login", data={"person": "ann"})
        assert response.status_code == 403
        assert client.get("/api/me").json()["principal"] is None

    def test_forms_without_the_right_token_change_nothing(
        self, as_person: Login, tracker: ticketkit.Tracker
    ) -> None:
        """A comment or transition POSTed without (or with another) token is a 403."""
        ann, _ = as_person("ann")
        for data in ({"body": "hi"}, {"body": "hi", "csrf": "forged"}):
            assert ann.post("/tickets/HD-1/comment", data=data).status_code == 403
        forged = {"action": "resolve", "resolution": "fixed", "csrf": "x"}
        assert ann.post("/tickets/HD-1/transition", data=forged).status_code == 403
        assert tracker.get("HD-1").status == "open"
        assert len(tracker.comments("HD-1")) == 2

    def test_api_posts_need_the_header(self, as_person: Login) -> None:
        ann, token = as_person("ann")
        url = "/api/tickets/HD-1/comments"
        assert ann.post(url, json={"body": "hi"}).status_code == 403
        headers = {"X-CSRF-Token": token}
        assert ann.post(url, json={"body": "hi"}, headers=headers).status_code == 201
        sent_as_form = ann.post(url, data={"body": "hi"}, headers=headers)
        assert sent_as_form.status_code == 415


class TestTicketList:
    def test_each_person_sees_what_the_policy_allows(self, as_person: Login) -> None:
        """Ann works the support queue, Sam billing, Alice sees her own, Aaron all of Acme's."""
        expected = {
            "ann": ["HD-5", "HD-3", "HD-2", "HD-1"],
            "sam": ["HD-4"],
            "lee": ["HD-5", "HD-4", "HD-3", "HD-2", "HD-1"],
            "alice@acme.example": ["HD-2", "HD-1"],
            "aaron@acme.example": ["HD-3", "HD-2", "HD-1"],
            "bob@globex.example": ["HD-5", "HD-4"],
        }
        for person, shown in expected.items():
            client, _ = as_person(person)
            assert keys(client.get("/tickets").text) == shown, person

    def test_filters(self, as_person: Login) -> None:
        """Status, queue, assignee (or nobody), priority, tag and text narrow the list."""
        lee, _ = as_person("lee")
        cases = {
            "status=open": ["HD-1"],
            "queue=billing": ["HD-4"],
            "assignee=ann": ["HD-3", "HD-1"],
            "assignee=none": ["HD-5", "HD-4", "HD-2"],
            "priority=P2": ["HD-4"],
            "text=vpn": ["HD-3"],
            "status=new&assignee=ann": ["HD-3"],
            "tag=nothing": [],
        }
        for query, shown in cases.items():
            assert keys(lee.get(f"/tickets?{query}").text) == shown, query

    def test_tag_filter(self, as_person: Login, tracker: ticketkit.Tracker) -> None:
        tracker.update("HD-2", add_tags=["outlook"], actor="ann")
        ann, _ = as_person("ann")
        assert keys(ann.get("/tickets?tag=Outlook").text) == ["HD-2"]

    def test_bad_filter_is_a_422(self, as_person: Login) -> None:
        ann, _ = as_person("ann")
        response = ann.get("/tickets?priority=P9")
        assert response.status_code == 422
        assert "P9" in response.text

    def test_paging_by_cursor(self, as_person: Login) -> None:
        """The API pages with ``limit`` and ``next_cursor``; the cursor resumes the query."""
        lee, _ = as_person("lee")
        first = lee.get("/api/tickets?limit=2").json()
        assert [t["key"] for t in first["items"]] == ["HD-5", "HD-4"]
        second = lee.get("/api/tickets", params={"limit": 2, "cursor": first["next_cursor"]})
        assert [t["key"] for t in second.json()["items"]] == ["HD-3", "HD-2"]
        bob, _ = as_person("bob@globex.example")
        stolen = bob.get("/api/tickets", params={"limit": 2, "cursor": first["next_cursor"]})
        assert stolen.status_code == 422  # a cursor belongs to its principal's query

    def test_next_page_link(self, as_person: Login, tracker: ticketkit.Tracker) -> None:
        for n in range(25):
            tracker.open(f"Ticket {n}", actor="alice@acme.example")
        ann, _ = as_person("ann")
        html = ann.get("/tickets").text
        assert len(keys(html)) == 20
        link = re.search(r'id="next" href="([^"]+)"', html)
        assert link is not None
        url = link.group(1).replace("&amp;", "&")
        assert keys(ann.get(url).text)[-1] == "HD-1"

    def test_search(self, as_person: Login) -> None:
        """Ranked search only finds what the person may see."""
        ann, _ = as_person("ann")
        assert "HD-1" in ann.get("/search?q=printer blank").text
        bob, _ = as_person("bob@globex.example")
        assert "HD-1" not in bob.get("/search?q=printer blank").text
        hits = bob.get("/api/search?q=invoice").json()
        assert [h["ticket"]["key"] for h in hits] == ["HD-4"]


class TestTicketPage:
    def test_agent_sees_everything(self, as_person: Login) -> None:
        """Fields, internal notes, history, SLA, suggestions and the actions offered."""
        ann, _ = as_person("ann")
        html = ann.get("/tickets/HD-1").text
        assert "Printer prints blank pages" in html
        assert "seal still on?" in html  # the internal note
        assert 'id="sla"' in html
        assert "first response" in html
        assert "KB-1 Printer prints blank pages" in html  # suggested article
        assert 'value="wait_for_customer"' in html
        assert 'value="resolve"' in html
        assert "status: new → open" in html

    def test_customer_sees_no_internal_note_and_no_sla(self, as_person: Login) -> None:
        alice, _ = as_person("alice@acme.example")
        html = alice.get("/tickets/HD-1").text
        assert "Looking into it." in html
        assert "seal still on?" not in html
        assert "internal note" not in html
        assert 'id="sla"' not in html
        assert 'id="actions"' not in html  # nothing a customer may do on an open ticket
        data = alice.get("/api/tickets/HD-1").json()
        assert [c["body"] for c in data["comments"]] == ["Looking into it."]
        assert data["sla"] is None
        assert all(e["type"] != "commented" or e["version"] == 3 for e in data["history"])

    def test_another_customers_ticket_is_the_404_of_a_missing_one(self, as_person: Login) -> None:
        """Bob cannot tell Alice's HD-1 from a ticket that does not exist, page or API."""
        bob, _ = as_person("bob@globex.example")
        hidden, missing = bob.get("/tickets/HD-1"), bob.get("/tickets/HD-99")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.text.replace("HD-1", "HD-99") == missing.text
        hidden, missing = bob.get("/api/tickets/HD-1"), bob.get("/api/tickets/HD-99")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == {
            "error": {"type": "NotFound", "message": "no ticket HD-1", "field": None}
        }
        assert missing.json()["error"]["message"] == "no ticket HD-99"
        assert bob.post("/api/tickets/HD-1/comments", json={"body": "x"}).status_code == 403

    def test_agent_actions_change_the_status(
        self, as_person: Login, tracker: ticketkit.Tracker
    ) -> None:
        """A button POSTs the action; the ticket moves and the history shows it."""
        ann, token = as_person("ann")
        form = {"csrf": token, "action": "start", "version": "1", "comment": "On it."}
        response = ann.post("/tickets/HD-5/transition", data=form)
        assert response.status_code == 303
        assert response.headers["location"] == "/tickets/HD-5"
        assert tracker.get("HD-5").status == "open"
        assert "status: new → open" in ann.get("/tickets/HD-5").text

    def test_resolve_needs_a_resolution(self, as_person: Login) -> None:
        ann, token = as_person("ann")
        form = {"csrf": token, "action": "resolve", "version": "4"}
        response = ann.post("/tickets/HD-1/transition", data=form)
        assert response.status_code == 422
        assert "resolution" in response.text
        form["resolution"] = "fixed"
        assert ann.post("/tickets/HD-1/transition", data=form).status_code == 303

    def test_stale_version_is_a_409(self, as_person: Login) -> None:
        ann, token = as_person("ann")
        form = {"csrf": token, "action": "wait_for_customer", "version": "2"}
        response = ann.post("/tickets/HD-1/transition", data=form)
        assert response.status_code == 409
        assert "version" in response.text

    def test_comments_and_internal_notes(
        self, as_person: Login, tracker: ticketkit.Tracker
    ) -> None:
        """Staff write replies and notes; a customer's 'internal' box is refused."""
        ann, token = as_person("ann")
        ann.post("/tickets/HD-1/comment", data={"csrf": token, "body": "Note", "internal": "on"})
        alice, token = as_person("alice@acme.example")
        reply = {"csrf": token, "body": "Thanks!"}
        assert alice.post("/tickets/HD-1/comment", data=reply).status_code == 303
        sneaky = {**reply, "internal": "on"}
        assert alice.post("/tickets/HD-1/comment", data=sneaky).status_code == 403
        bodies = [(c.body, c.internal) for c in tracker.comments("HD-1")]
        assert bodies[-2:] == [("Note", True), ("Thanks!", False)]

    def test_assign(self, as_person: Login, tracker: ticketkit.Tracker) -> None:
        """Agents take tickets for themselves; only the lead assigns to others."""
        ann, token = as_person("ann")
        assert (
            ann.post("/tickets/HD-5/assign", data={"csrf": token, "assignee": "lee"}).status_code
            == 403
        )
        assert (
            ann.post("/tickets/HD-5/assign", data={"csrf": token, "assignee": "ann"}).status_code
            == 303
        )
        lee, token = as_person("lee")
        assert "<option>sam</option>" in lee.get("/tickets/HD-5").text
        assert (
            lee.post("/tickets/HD-5/assign", data={"csrf": token, "assignee": "sam"}).status_code
            == 303
        )
        assert tracker.get("HD-5").assignee == "sam"


class TestNewTicket:
    def test_customer_opens_a_ticket_as_themselves(
        self, as_person: Login, tracker: ticketkit.Tracker
    ) -> None:
        """Whatever e-mail a customer's form sends, the ticket is reported by them."""
        alice, token = as_person("alice@acme.example")
        form = {"csrf": token, "title": "Scanner jams", "email": "bob@globex.example"}
        response = alice.post("/tickets/new", data={**form, "website": ""})
        assert response.status_code == 303
        key = response.headers["location"].rsplit("/", 1)[1]
        ticket = tracker.get(key)
        assert (ticket.reporter, ticket.tenant, ticket.organisation, ticket.title) == (
            "alice@acme.example",
            "default",
            "Acme Ltd",
            "Scanner jams",
        )
        assert "Scanner jams" in alice.get(f"/tickets/{key}").text
        # Aaron sees his organisation's tickets, so he sees Alice's; Bob does not.
        aaron, _ = as_person("aaron@acme.example")
        assert aaron.get(f"/tickets/{key}").status_code == 200
        bob, _ = as_person("bob@globex.example")
        assert bob.get(f"/tickets/{key}").status_code == 404

    def test_errors_are_shown_next_to_their_fields(self, as_person: Login) -> None:
        alice, token = as_person("alice@acme.example")
        response = alice.post(
            "/tickets/new", data={"csrf": token, "title": " ", "description": "x"}
        )
        assert response.status_code == 422
        assert '<div class="error" data-field="title">title is required</div>' in response.text
        assert ">x</textarea>" in response.text  # what was typed is kept

    def test_visitor_form(self, client: TestClient, tracker: ticketkit.Tracker) -> None:
        token = client.get("/api/me").json()["csrf"]
        form = {"csrf": token, "title": "Hello", "email": "not-an-address"}
        response = client.post("/tickets/new", data=form)
        assert response.status_code == 422
        assert 'data-field="email"' in response.text
        response = client.post("/tickets/new", data={**form, "email": "eve@example.org"})
        assert response.status_code == 200
        key = re.search(r'id="key">([A-Z]+-\d+)<', response.text)
        assert key is not None
        assert tracker.get(key.group(1)).reporter == "eve@example.org"

    def test_honeypot_and_rate_limit(self, as_person: Login, tracker: ticketkit.Tracker) -> None:
        """A filled honeypot opens nothing and looks like the rate limit (3 here)."""
        before = len(tracker.query(None, limit=1000))
        bob, token = as_person("bob@globex.example")
        bot = bob.post("/tickets/new", data={"csrf": token, "title": "Pills", "website": "x"})
        assert bot.status_code == 429
        assert len(tracker.query(None, limit=1000)) == before
        for n in range(2):
            form = {"csrf": token, "title": f"Real {n}"}
            assert bob.post("/tickets/new", data=form).status_code == 303
        limited = bob.post("/tickets/new", data={"csrf": token, "title": "One more"})
        assert limited.status_code == 429
        assert "too many submissions" in limited.text


class TestJSONAPI:
    def test_get_with_history(self, as_person: Login) -> None:
        """The ticket and its events in ticketkit.serde's JSON form."""
        ann, _ = as_person("ann")
        data = ann.get("/api/tickets/HD-1").json()
        assert data["ticket"]["key"] == "HD-1"
        assert data["ticket"]["status"] == "open"
        assert [e["type"] for e in data["history"]][:3] == ["opened", "assigned", "status_changed"]
        assert data["actions"] == ["wait_for_customer", "resolve"]
        assert {t["kind"] for t in data["sla"]["targets"]} == {"first_response", "resolution"}
        assert (
            data["suggestions"]["articles"][0]["article"]["title"] == "Printer prints blank pages"
        )
        ticket = ticketkit.serde.structure(data["ticket"], ticketkit.Ticket)
        assert ticket.key == "HD-1"

    def test_create(self, as_person: Login, tracker: ticketkit.Tracker) -> None:
        alice, token = as_person("alice@acme.example")
        headers = {"X-CSRF-Token": token}
        response = alice.post("/api/tickets", json={"title": "From a script"}, headers=headers)
        assert response.status_code == 201
        key = response.json()["key"]
        assert tracker.get(key).reporter == "alice@acme.example"
        bad = alice.post("/api/tickets", json={"title": "", "priority": "P1"}, headers=headers)
        assert bad.status_code == 422
        assert [(e["field"], e["code"]) for e in bad.json()["errors"]] == [
            ("title", "required"),
            ("priority", "unknown"),
        ]

    def test_error_codes(self, as_person: Login) -> None:
        """403 PermissionDenied, 409 ConflictError, 422 TransitionNotAllowed and ValidationError."""
        alice, token = as_person("alice@acme.example")
        url = "/api/tickets/HD-1/transition"
        denied = alice.post(url, json={"action": "resolve"}, headers={"X-CSRF-Token": token})
        assert denied.status_code == 403
        assert denied.json()["error"]["type"] == "PermissionDenied"
        ann, token = as_person("ann")
        headers = {"X-CSRF-Token": token}
        cases = [
            ({"action": "start", "expected_version": 4}, 422, "TransitionNotAllowed"),
            ({"action": "fly"}, 422, "ValidationError"),
            ({"action": "wait_for_customer", "expected_version": 2}, 409, "ConflictError"),
        ]
        for body, status, kind in cases:
            response = ann.post(url, json=body, headers=headers)
            assert (response.status_code, response.json()["error"]["type"]) == (status, kind)
        moved = ann.post(url, json={"action": "wait_for_customer"}, headers=headers)
        assert moved.status_code == 200
        assert moved.json()["status"] == "pending_customer"

    def test_bad_requests(self, as_person: Login) -> None:
        ann, token = as_person("ann")
        headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
        assert ann.post("/api/tickets", content=b"{", headers=headers).status_code == 400
        assert ann.post("/api/tickets", content=b"[]", headers=headers).status_code == 400
        assert ann.get("/api/tickets?limit=x").status_code == 422
        assert ann.get("/api/tickets?limit=0").status_code == 422
        assert ann.get("/api/nothing").status_code == 404


class TestEscaping:
    def test_user_text_is_escaped_everywhere(
        self, as_person: Login, tracker: ticketkit.Tracker
    ) -> None:
        """Titles, descriptions, tags, comments and names appear as text, never as markup."""
        ticket = tracker.open(XSS_TITLE, XSS_TEXT, actor=XSS_ACTOR, tags=[XSS_TAG], queue="support")
        tracker.comment(ticket.key, XSS_TEXT, actor=XSS_ACTOR)
        ann, _ = as_person("ann")
        for url in (f"/tickets/{ticket.key}", "/tickets", f"/search?q={ticket.title}"):
            html = ann.get(url).text
            assert "<script>window" not in html
            assert "<img src=x" not in html
            assert "<svg" not in html
            assert "&lt;script&gt;window.__pwned" in html, url
        html = ann.get(f"/tickets/{ticket.key}").text
        assert "&#34;&gt;&lt;img src=x onerror=" in html
        assert "&lt;svg/onload=alert(1)&gt;" in html

    def test_filter_values_are_escaped(self, as_person: Login) -> None:
        ann, _ = as_person("ann")
        html = ann.get("/tickets", params={"text": XSS_TEXT, "tag": XSS_TAG}).text
        assert "<img" not in html
        assert "<svg" not in html

    def test_security_headers(self, client: TestClient) -> None:
        headers = client.get("/login").headers
        assert "script-src" not in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        cookie = client.cookies.jar
        assert any(c.name == "ticketkit_session" for c in cookie)
        assert "HttpOnly" in headers["set-cookie"]
        assert "SameSite=Lax" in headers["set-cookie"]
