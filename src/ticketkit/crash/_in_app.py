"""Which frames are the host's own code ("in app").

A frame is in app when, in this order:

1. it is not ticketkit's own (module ``ticketkit`` or ``ticketkit.*``);
2. its module matches an ``in_app_include`` or ``in_app_exclude`` prefix
   (``"shop"`` matches ``shop`` and ``shop.views``, not ``shopping``): the
   longest matching prefix decides, ``exclude`` winning a tie;
3. code without a file (``python -c``, the REPL, ``<frozen ...>``) is in app
   when its module is ``__main__``;
4. its file is not in the standard library, the environment's
   ``site-packages`` or scripts directory (``sysconfig`` paths), nor in any
   ``site-packages`` / ``dist-packages`` directory;
5. and its file is under the project root.

The project root defaults to the directory of the script being run
(``sys.argv[0]``), or to the working directory when there is no script or
the script is a console script in the environment's scripts directory. An
application installed into ``site-packages`` is found by naming its
packages in ``in_app_include``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence

__all__ = ["InAppRule", "default_project_root"]


class InAppRule:
    """Decides whether frames are in app, for one set of options (see the module docstring)."""

    def __init__(
        self, include: Sequence[str], exclude: Sequence[str], project_root: str | None
    ) -> None:
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        root = project_root if project_root is not None else default_project_root()
        self.roots = _root_forms(root) if root else ()

    def check(self, filename: str, module: str) -> bool:
        """Whether a frame of ``module`` running code from ``filename`` is in app."""
        if module == "ticketkit" or module.startswith("ticketkit."):
            return False
        verdict = _prefix_verdict(module, self.include, self.exclude)
        if verdict is not None:
            return verdict
        if not filename or filename.startswith("<"):
            return module == "__main__"
        path = _normalise_path(filename)
        if _is_library(path):
            return False
        return any(path.startswith(root) for root in self.roots)


def _prefix_verdict(module: str, include: Sequence[str], exclude: Sequence[str]) -> bool | None:
    """The verdict of the longest matching prefix; ``exclude`` wins a tie."""
    longest = -1
    verdict: bool | None = None
    for prefixes, says in ((include, True), (exclude, False)):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (len(prefix) > longest or (len(prefix) == longest and not says)):
                longest, verdict = len(prefix), says
    return verdict


def default_project_root() -> str | None:
    """The directory of the script being run, else the working directory."""
    try:
        script = sys.argv[0] if sys.argv else ""
        if script and os.path.isfile(script):
            directory = os.path.dirname(os.path.abspath(script))
            if _normalise_path(directory) + os.sep not in _library_roots():
                return directory
        return os.getcwd()
    except (OSError, ValueError):
        return None


def _root_forms(root: str) -> tuple[str, ...]:
    forms = {_normalise_path(root), os.path.normcase(os.path.realpath(root))}
    return tuple(form.rstrip(os.sep) + os.sep for form in forms)


def _normalise_path(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


@functools.cache
def _library_roots() -> tuple[str, ...]:
    import sysconfig

    roots: set[str] = set()
    paths = sysconfig.get_paths()
    for name in ("stdlib", "platstdlib", "purelib", "platlib", "scripts"):
        path = paths.get(name)
        if path:
            roots.add(_normalise_path(path).rstrip(os.sep) + os.sep)
            roots.add(os.path.normcase(os.path.realpath(path)).rstrip(os.sep) + os.sep)
    return tuple(sorted(roots))


@functools.lru_cache(maxsize=4096)
def _is_library(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    return any(path.startswith(root) for root in _library_roots())
