"""Loading the hand-built mail corpus under tests/intake/corpus/."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
OUR_DOMAIN = "desk.example"


def corpus_names() -> list[str]:
    return sorted(p.name for p in CORPUS.glob("*.eml"))


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes()
