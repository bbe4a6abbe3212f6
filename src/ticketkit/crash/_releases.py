"""Comparing release names, without a dependency: ``1.10`` is newer than ``1.9``.

Releases are whatever a host calls them. Names that start with a version
(``1.4.2``, ``v2.0rc1``, ``myapp@3.1.0``, ``2.0.0-beta.2``) compare as versions:
numbers numerically, ``dev`` < ``a``/``alpha`` < ``b``/``beta`` < ``rc`` < the
release < ``post``. Anything else (a commit hash, ``"nightly"``) does not compare
with anything, and :func:`is_older` says ``False``: when in doubt, a crash after a
fix is treated as a regression.
"""

from __future__ import annotations

import re

__all__ = ["is_older", "release_key"]

_VERSION = re.compile(
    r"""
    ^v?(?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<phase>dev|alpha|a|beta|b|preview|pre|rc|c|post|rev|r)[-_.]?(?P<n>\d*))?
    (?=$|[^A-Za-z0-9])  # "3f2a9c1" is a commit, not version 3
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PHASES = {
    "dev": 0,
    "alpha": 1,
    "a": 1,
    "beta": 2,
    "b": 2,
    "preview": 3,
    "pre": 3,
    "rc": 3,
    "c": 3,
    "post": 5,
    "rev": 5,
    "r": 5,
}
_FINAL = 4

ReleaseKey = tuple[tuple[int, ...], int, int]


def release_key(release: str | None) -> ReleaseKey | None:
    """A sortable key for a release name, or ``None`` when it is not a version."""
    if not release or not isinstance(release, str):
        return None
    text = release.strip().rsplit("@", 1)[-1]  # Sentry's "app@1.2.3"
    match = _VERSION.match(text)
    if match is None:
        return None
    parts = [int(p) for p in match.group("release").split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()  # 1.2.0 is 1.2
    phase = match.group("phase")
    if phase is None:
        return tuple(parts), _FINAL, 0
    number = match.group("n")
    return tuple(parts), _PHASES[phase.lower()], int(number) if number else 0


def is_older(release: str | None, than: str | None) -> bool:
    """Is ``release`` a version strictly older than ``than``? ``False`` when unknown."""
    mine, theirs = release_key(release), release_key(than)
    if mine is None or theirs is None:
        return False
    return mine < theirs
