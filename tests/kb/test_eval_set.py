"""The knowledge-base evaluation set (benchmarks/data/kb_eval.json) and its loader."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
QUEUES = {"it", "network", "access", "facilities", "billing", "product", "hr"}


def _load_module() -> ModuleType:
    # benchmarks/ is not a package: load the loader from its file.
    name = "_benchmarks_kb_eval"
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / "kb_eval.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


kb_eval = _load_module()


@pytest.fixture(scope="module")
def data() -> Any:
    return kb_eval.load()


@pytest.fixture
def raw() -> dict[str, Any]:
    text = (BENCHMARKS / "data" / "kb_eval.json").read_text(encoding="utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


class TestShape:
    def test_counts(self, data: Any) -> None:
        """At least 50 articles and 240 tickets, 200 of them labelled, 30-40 with no article."""
        assert len(data.articles) >= 50
        assert len(data.tickets) >= 240
        assert len(data.labelled()) >= 200
        assert 30 <= len(data.unlabelled()) <= 40
        assert 20 <= len(data.duplicates()) <= 30

    def test_every_article_is_solved_by_two_to_eight_tickets(self, data: Any) -> None:
        solved = Counter(t.article for t in data.labelled())
        counts = {a.id: solved[a.id] for a in data.articles}
        assert {a: n for a, n in counts.items() if not 2 <= n <= 8} == {}

    def test_ids_are_unique_numbered_and_in_order(self, data: Any) -> None:
        article_ids = [a.id for a in data.articles]
        ticket_ids = [t.id for t in data.tickets]
        assert article_ids == [f"A{n:03d}" for n in range(1, len(article_ids) + 1)]
        assert ticket_ids == [f"T{n:03d}" for n in range(1, len(ticket_ids) + 1)]

    def test_labels_name_existing_articles(self, data: Any) -> None:
        article_ids = {a.id for a in data.articles}
        assert all(t.article in article_ids for t in data.labelled())

    def test_duplicates_point_to_earlier_tickets(self, data: Any) -> None:
        """A duplicate repeats an earlier report, never itself or another duplicate."""
        for ticket in data.duplicates():
            original = data.ticket(ticket.duplicate_of)
            assert original.id < ticket.id, ticket.id
            assert original.duplicate_of is None, ticket.id

    def test_duplicates_share_the_article_of_the_ticket_they_repeat(self, data: Any) -> None:
        dups = data.duplicates()
        same = [t for t in dups if t.article == data.ticket(t.duplicate_of).article]
        assert len(same) == len(dups)

    def test_no_ticket_title_is_an_article_title(self, data: Any) -> None:
        titles = {a.title.casefold().strip() for a in data.articles}
        assert [t.id for t in data.tickets if t.title.casefold().strip() in titles] == []

    def test_articles_have_a_body_of_80_to_250_words_and_1_to_4_tags(self, data: Any) -> None:
        for article in data.articles:
            assert 80 <= _words(article.body) <= 250, article.id
            assert 1 <= len(article.tags) <= 4, article.id
            assert "1. " in article.body, article.id  # numbered resolution steps

    def test_queues_and_priorities(self, data: Any) -> None:
        assert {t.queue for t in data.tickets} <= QUEUES
        priorities = Counter(t.priority for t in data.tickets)
        assert set(priorities) == {"P1", "P2", "P3", "P4", "P5"}

    def test_titles_are_not_repeated(self, data: Any) -> None:
        titles = Counter(t.title.casefold() for t in data.tickets)
        assert [title for title, n in titles.items() if n > 1] == []


class TestFile:
    def test_file_is_stable_pretty_printed_json(self, raw: dict[str, Any]) -> None:
        """The file is exactly what json.dumps(indent=2) writes, so diffs stay readable."""
        text = (BENCHMARKS / "data" / "kb_eval.json").read_text(encoding="utf-8")
        assert text == json.dumps(raw, ensure_ascii=False, indent=2) + "\n"

    def test_keys_in_fixed_order(self, raw: dict[str, Any]) -> None:
        assert list(raw) == ["articles", "tickets"]
        assert {tuple(a) for a in raw["articles"]} == {("id", "title", "body", "tags")}
        assert {tuple(t) for t in raw["tickets"]} == {
            ("id", "title", "description", "article", "duplicate_of", "queue", "priority")
        }


class TestLoaderRejects:
    def _write(self, tmp_path: Path, raw: dict[str, Any]) -> Path:
        path = tmp_path / "set.json"
        path.write_text(json.dumps(raw), encoding="utf-8")
        return path

    def test_a_repeated_article_id(self, tmp_path: Path, raw: dict[str, Any]) -> None:
        raw["articles"][1]["id"] = raw["articles"][0]["id"]
        with pytest.raises(ValueError, match="article id 'A001' appears more than once"):
            kb_eval.load(self._write(tmp_path, raw))

    def test_a_repeated_ticket_id(self, tmp_path: Path, raw: dict[str, Any]) -> None:
        raw["tickets"][5]["id"] = "T001"
        with pytest.raises(ValueError, match="ticket id 'T001' appears more than once"):
            kb_eval.load(self._write(tmp_path, raw))

    def test_a_label_naming_no_article(self, tmp_path: Path, raw: dict[str, Any]) -> None:
        raw["tickets"][0]["article"] = "A999"
        with pytest.raises(ValueError, match="ticket T001: article 'A999' is not in the set"):
            kb_eval.load(self._write(tmp_path, raw))

    def test_a_duplicate_naming_no_ticket(self, tmp_path: Path, raw: dict[str, Any]) -> None:
        raw["tickets"][3]["duplicate_of"] = "T999"
        with pytest.raises(ValueError, match="ticket T004: duplicate_of 'T999' is not in the set"):
            kb_eval.load(self._write(tmp_path, raw))

    def test_a_ticket_duplicating_itself(self, tmp_path: Path, raw: dict[str, Any]) -> None:
        raw["tickets"][3]["duplicate_of"] = "T004"
        with pytest.raises(ValueError, match="ticket T004: duplicate_of names the ticket itself"):
            kb_eval.load(self._write(tmp_path, raw))

    def test_a_missing_field(self, tmp_path: Path, raw: dict[str, Any]) -> None:
        del raw["tickets"][2]["duplicate_of"]
        with pytest.raises(ValueError, match="ticket T003: 'duplicate_of' is missing"):
            kb_eval.load(self._write(tmp_path, raw))

    def test_an_unknown_priority(self, tmp_path: Path, raw: dict[str, Any]) -> None:
        raw["tickets"][2]["priority"] = "urgent"
        with pytest.raises(ValueError, match="ticket T003: priority 'urgent'"):
            kb_eval.load(self._write(tmp_path, raw))

    def test_invalid_json(self, tmp_path: Path) -> None:
        path = tmp_path / "set.json"
        path.write_text("{", encoding="utf-8")
        with pytest.raises(ValueError, match="not valid JSON"):
            kb_eval.load(path)
