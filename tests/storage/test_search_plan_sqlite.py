"""On SQLite, a search kept to one tenant runs the full-text match once, not once per ticket.

Written as ``rowid IN (the tenant's ticket ids)``, SQLite's planner probes the
FTS5 index by rowid for every ticket of the tenant and re-runs the whole match
each time (``VIRTUAL TABLE INDEX 0:=M``): 100 ms for a 30-word query over 250
tickets, growing with the tenant. The statement must instead scan the match
once and look up each matching ticket by its primary key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from databases import fresh_database
from ticketkit import Tracker
from ticketkit.storage.sql import SQLStore
from ticketkit.storage.sql._search import search_statement


def plan(store: SQLStore, tenant: str | None) -> str:
    stmt = search_statement("sqlite", "printer spooler toner jam", 20, tenant)
    assert stmt is not None
    with store.engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect)
        params: Any = tuple(compiled.params[name] for name in compiled.positiontup or ())
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
    return " | ".join(str(row[-1]) for row in rows)


def test_tenant_search_matches_once_then_looks_tickets_up(tmp_path: Path) -> None:
    """The match is one scan of the FTS index; tickets are found by primary key."""
    with fresh_database("sqlite", tmp_path) as url, Tracker.from_url(url) as tracker:
        tracker.open(title="Printer jams", actor="bob", tenant="acme")
        tracker.open(title="Printer spooler", actor="eve", tenant="globex")
        store = tracker.store
        assert isinstance(store, SQLStore)
        scoped = plan(store, "acme")
        assert "SCAN tk_search VIRTUAL TABLE INDEX 0:M" in scoped, scoped
        assert "=M" not in scoped, scoped  # no probe by rowid per ticket
        assert "tk_tickets USING INTEGER PRIMARY KEY" in scoped, scoped
        assert "LIST SUBQUERY" not in scoped, scoped
        found = store.search("printer spooler", limit=10, tenant="acme")
        assert [ticket.title for ticket, _ in found] == ["Printer jams"]
