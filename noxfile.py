"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``, ``nox -s docs``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "tests_core", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite with every optional extra installed."""
    session.install("-e", ".[all,test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHONS[0])
def tests_core(session: nox.Session) -> None:
    """The suite with only the core dependencies: extras must fail lazily and loudly."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS[0])
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[all,test]")
    session.run("mypy", "--strict", "src")


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    """Run every code block of docs/ and every example."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/test_docs.py", "tests/test_examples.py", *session.posargs)
