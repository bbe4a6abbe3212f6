"""The environment a crash happened in: platform, interpreter, process, packages.

:func:`collect_environment` returns::

    {
        "app": "shop", "release": "1.4.2",
        "os": {"name": "Linux", "release": "6.8.0", "version": "#1 SMP ...",
               "machine": "x86_64", "distribution": "Debian GNU/Linux 12 (bookworm)"},
        "python": {"implementation": "CPython", "version": "3.11.9",
                   "executable": "~/shop/.venv/bin/python"},
        "argv": ["~/shop/run.py", "--token", "[scrubbed]"],
        "pid": 4242, "thread": "MainThread",
        "hostname": "sha256:1f0e3dad99908345", "user": "sha256:5e884898da280471",
        "distributions": {"attrs": "23.2.0", "sqlalchemy": "2.0.25", ...},
    }

* ``argv`` is ``sys.argv`` through :meth:`Scrubber.scrub_argv`.
* ``hostname`` and ``user`` are ``"sha256:"`` plus the first 16 hex digits of
  the SHA-256 of the value, unless ``allow_hostname`` / ``allow_username``.
  Such a hash lets tickets be compared by machine without naming it, but a
  short list of candidate names can be tested against it.
* Unless ``allow_username``, the user's home directory in the executable, in
  argv (and, in reports, in file names and messages) is written ``~``.
* ``distributions`` maps the PEP 503 normalised name of every distribution
  on ``sys.path`` (found by its ``.dist-info`` / ``.egg-info`` directory,
  the first one on the path winning) to its version: sorted, at most
  :data:`MAX_DISTRIBUTIONS`; ``distributions_omitted`` counts the rest.
* Environment variables are never read, except the ones Python itself
  consults to find the home directory and the login name.

What cannot change while the process runs (platform, interpreter,
distributions, host and user) is collected once per process, so calls after
the first cost microseconds; the process id and thread are read each time,
so a forked child reports its own.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._capture import CaptureOptions
    from ._report import JSON
    from ._scrub import Scrubber

__all__ = ["MAX_DISTRIBUTIONS", "collect_environment", "hash_identifier", "redact_home"]

#: At most this many installed distributions are listed.
MAX_DISTRIBUTIONS = 500

_NAME_SEPARATORS = re.compile(r"[-_.]+")


def collect_environment(
    options: CaptureOptions, *, thread_name: str | None = None
) -> dict[str, JSON]:
    """The environment of the calling process and thread; see the module docstring.

    ``thread_name`` overrides the name of the current thread (a hook reporting
    for another thread passes that thread's name).
    """
    static = _static()
    redact = not options.allow_username
    python = dict(static["python"])
    if redact:
        python["executable"] = redact_home(python["executable"])
    argv = _argv(tuple(_text(a) for a in sys.argv), options.scrubber, redact)
    environment: dict[str, JSON] = {
        "app": options.app,
        "release": options.release,
        "os": dict(static["os"]),
        "python": python,
        "argv": list(argv),
        "pid": os.getpid(),
        "thread": thread_name if thread_name is not None else _thread_name(),
        "hostname": static["hostname"] if options.allow_hostname else static["hostname_hash"],
        "user": static["user"] if options.allow_username else static["user_hash"],
        "distributions": dict(static["distributions"]),
    }
    if static["distributions_omitted"]:
        environment["distributions_omitted"] = static["distributions_omitted"]
    return environment


def hash_identifier(value: str) -> str:
    """``"sha256:"`` and the first 16 hex digits of the SHA-256 of ``value``."""
    import hashlib

    return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:16]


def redact_home(text: str) -> str:
    """``text`` with the current user's home directory written ``~``."""
    pattern = _home_pattern()
    if pattern is None or not text:
        return text
    return pattern.sub("~", text)


@functools.cache
def _home_pattern() -> re.Pattern[str] | None:
    home = os.path.expanduser("~").rstrip("/\\")
    if len(home) < 2 or home == "~":
        return None
    return re.compile(re.escape(home) + r"(?![\w.-])")


def _thread_name() -> str:
    import threading

    return threading.current_thread().name


def _text(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


@functools.lru_cache(maxsize=8)
def _argv(argv: tuple[str, ...], scrubber: Scrubber, redact: bool) -> tuple[str, ...]:
    scrubbed = scrubber.scrub_argv(argv)
    return tuple(redact_home(a) for a in scrubbed) if redact else tuple(scrubbed)


@functools.cache
def _static() -> dict[str, Any]:
    import platform

    os_info: dict[str, str] = {
        "name": platform.system(),
        "release": platform.release(),
        "version": platform.version(),
        "machine": platform.machine(),
    }
    distribution = _os_distribution()
    if distribution:
        os_info["distribution"] = distribution
    hostname = platform.node()
    user = _user()
    distributions = _distributions()
    kept = dict(sorted(distributions.items())[:MAX_DISTRIBUTIONS])
    return {
        "os": os_info,
        "python": {
            "implementation": platform.python_implementation(),
            "version": platform.python_version(),
            "executable": sys.executable or "",
        },
        "hostname": hostname,
        "hostname_hash": hash_identifier(hostname),
        "user": user,
        "user_hash": hash_identifier(user) if user is not None else None,
        "distributions": kept,
        "distributions_omitted": len(distributions) - len(kept),
    }


def _os_distribution() -> str | None:
    import platform

    system: str = platform.system()
    try:
        if system == "Linux":
            return platform.freedesktop_os_release().get("PRETTY_NAME")
        if system == "Darwin":
            return f"macOS {platform.mac_ver()[0]}"
        if system == "Windows":
            return f"Windows {platform.win32_edition()}"
    except Exception:
        return None
    return None


def _user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name and no passwd entry (some containers)
        return None


def _distributions() -> dict[str, str]:
    """Name → version of the distributions on ``sys.path``, first on the path wins."""
    found: dict[str, str] = {}
    for entry in list(sys.path):
        if not entry or not isinstance(entry, str):
            continue
        try:
            names = sorted(os.listdir(entry))
        except OSError:  # a zip file, or a directory that does not exist
            continue
        for name in names:
            parsed = _parse_metadata_dir(entry, name)
            if parsed is not None:
                found.setdefault(*parsed)
    return found


def _parse_metadata_dir(entry: str, name: str) -> tuple[str, str] | None:
    if name.endswith(".dist-info"):
        stem = name[: -len(".dist-info")]
    elif name.endswith(".egg-info"):
        stem = name[: -len(".egg-info")]
    else:
        return None
    project, _, version = stem.partition("-")
    version = version.partition("-py")[0]
    if not version:
        version = _read_version(os.path.join(entry, name)) or "unknown"
    return _NAME_SEPARATORS.sub("-", project).lower(), version


def _read_version(path: str) -> str | None:
    """The version from the metadata in ``path`` (an egg-info directory without one in its name)."""
    for filename in ("PKG-INFO", "METADATA"):
        try:
            with open(os.path.join(path, filename), encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith("Version:"):
                        return line.partition(":")[2].strip()
                    if not line.strip():
                        break
        except OSError:
            continue
    return None
