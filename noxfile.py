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


#: The tests that need no optional extra (no SQLAlchemy, no database server).
CORE_TESTS = [
    "tests/test_model.py",
    "tests/test_query.py",
    "tests/test_tracker.py",
    "tests/test_workflow.py",
    "tests/test_builtin_workflows.py",
    "tests/test_bad_input.py",
    "tests/test_stateful.py",
    "tests/test_serde.py",
    "tests/test_import.py",
    "tests/test_importers.py",
    "tests/test_examples.py",
    "tests/contract/test_memory.py",
]


@nox.session(python=PYTHONS[0])
def tests_core(session: nox.Session) -> None:
    """The core tests with only the core dependencies: no extra may be needed."""
    session.install("-e", ".[test]")
    session.run("pytest", *CORE_TESTS, *session.posargs)


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
