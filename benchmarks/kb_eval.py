"""The labelled knowledge-base evaluation set in ``benchmarks/data/kb_eval.json``.

The set holds help-desk knowledge-base articles and tickets written by hand
(see ``benchmarks/data/README.md``). Most tickets are labelled with the one
article that solves them; some with none (``article`` is ``None``); some are
duplicates of an earlier ticket (``duplicate_of``). Every ticket also has the
queue and priority an experienced agent would give it.

Usage::

    from kb_eval import load  # with benchmarks/ on sys.path

    data = load()
    for ticket in data.labelled():
        print(ticket.id, ticket.article, data.article(ticket.article).title)

``load`` checks the file and raises ``ValueError`` naming the first problem it
finds: a missing or mistyped field, a repeated id, or a label naming an
article or ticket that is not in the set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_PATH", "PRIORITIES", "Article", "EvalSet", "EvalTicket", "load", "parse"]

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "kb_eval.json"
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")


@dataclass(frozen=True)
class Article:
    """A knowledge-base article: a known problem and its solution (Markdown body)."""

    id: str
    title: str
    body: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class EvalTicket:
    """A ticket as a customer or employee wrote it, with an agent's labels.

    ``article`` is the id of the article that solves it, or ``None`` when no
    article does; ``duplicate_of`` is the id of an earlier ticket reporting the
    same incident, or ``None``.
    """

    id: str
    title: str
    description: str
    article: str | None
    duplicate_of: str | None
    queue: str
    priority: str


@dataclass(frozen=True)
class EvalSet:
    """The articles and tickets of the set, in file order (by id)."""

    articles: tuple[Article, ...]
    tickets: tuple[EvalTicket, ...]

    def article(self, article_id: str) -> Article:
        """The article with this id; ``KeyError`` if there is none."""
        for article in self.articles:
            if article.id == article_id:
                return article
        raise KeyError(article_id)

    def ticket(self, ticket_id: str) -> EvalTicket:
        """The ticket with this id; ``KeyError`` if there is none."""
        for ticket in self.tickets:
            if ticket.id == ticket_id:
                return ticket
        raise KeyError(ticket_id)

    def labelled(self) -> tuple[EvalTicket, ...]:
        """The tickets that an article solves."""
        return tuple(t for t in self.tickets if t.article is not None)

    def unlabelled(self) -> tuple[EvalTicket, ...]:
        """The tickets that no article solves."""
        return tuple(t for t in self.tickets if t.article is None)

    def duplicates(self) -> tuple[EvalTicket, ...]:
        """The tickets that repeat an earlier ticket's incident."""
        return tuple(t for t in self.tickets if t.duplicate_of is not None)


def load(path: str | Path | None = None) -> EvalSet:
    """Read and check the set (``benchmarks/data/kb_eval.json`` by default)."""
    file = Path(path) if path is not None else DEFAULT_PATH
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: not valid JSON: {exc}") from exc
    return parse(raw)


def parse(raw: object) -> EvalSet:
    """Check decoded JSON and build the set; ``ValueError`` names the first problem."""
    top = _mapping(raw, "the file")
    articles = tuple(
        _article(item, f"articles[{i}]") for i, item in enumerate(_list(top, "articles", "file"))
    )
    tickets = tuple(
        _ticket(item, f"tickets[{i}]") for i, item in enumerate(_list(top, "tickets", "file"))
    )
    article_ids = _unique_ids([a.id for a in articles], "article")
    ticket_ids = _unique_ids([t.id for t in tickets], "ticket")
    for ticket in tickets:
        if ticket.article is not None and ticket.article not in article_ids:
            raise ValueError(f"ticket {ticket.id}: article {ticket.article!r} is not in the set")
        if ticket.duplicate_of is not None:
            if ticket.duplicate_of == ticket.id:
                raise ValueError(f"ticket {ticket.id}: duplicate_of names the ticket itself")
            if ticket.duplicate_of not in ticket_ids:
                raise ValueError(
                    f"ticket {ticket.id}: duplicate_of {ticket.duplicate_of!r} is not in the set"
                )
    return EvalSet(articles=articles, tickets=tickets)


def _unique_ids(ids: list[str], kind: str) -> set[str]:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise ValueError(f"{kind} id {item_id!r} appears more than once")
        seen.add(item_id)
    return seen


def _article(raw: object, where: str) -> Article:
    item = _mapping(raw, where)
    article_id = _text(item, "id", where)
    where = f"article {article_id}"
    tags = _list(item, "tags", where)
    if not tags or not all(isinstance(tag, str) and tag for tag in tags):
        raise ValueError(f"{where}: 'tags' must be a non-empty list of non-empty strings")
    return Article(
        id=article_id,
        title=_text(item, "title", where),
        body=_text(item, "body", where),
        tags=tuple(str(tag) for tag in tags),
    )


def _ticket(raw: object, where: str) -> EvalTicket:
    item = _mapping(raw, where)
    ticket_id = _text(item, "id", where)
    where = f"ticket {ticket_id}"
    priority = _text(item, "priority", where)
    if priority not in PRIORITIES:
        raise ValueError(f"{where}: priority {priority!r} is not one of {', '.join(PRIORITIES)}")
    return EvalTicket(
        id=ticket_id,
        title=_text(item, "title", where),
        description=_text(item, "description", where),
        article=_optional_text(item, "article", where),
        duplicate_of=_optional_text(item, "duplicate_of", where),
        queue=_text(item, "queue", where),
        priority=priority,
    )


def _mapping(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    return raw


def _list(item: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = item.get(key)
    if not isinstance(value, list):
        raise ValueError(f"{where}: {key!r} must be a list")
    return value


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key!r} must be a non-empty string")
    return value


def _optional_text(item: Mapping[str, Any], key: str, where: str) -> str | None:
    if key not in item:
        raise ValueError(f"{where}: {key!r} is missing (use null for none)")
    if item[key] is None:
        return None
    return _text(item, key, where)
