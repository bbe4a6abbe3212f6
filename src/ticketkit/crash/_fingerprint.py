"""Fingerprints: which crashes are the same bug.

Every report gets a fingerprint, and ticketkit files one ticket per
fingerprint. The default fingerprint (version :data:`FINGERPRINT_VERSION`) is
built from :func:`default_fingerprint_parts`:

* for the exception that was raised and each exception it was chained from
  (the ``depth == 0`` entries of :attr:`CrashReport.exceptions`): its
  qualified type, then one part per *in-app* frame, outermost first, made of
  the module, the function's qualified name and the source line without its
  white space. Line numbers, file paths and formatting never count, so code
  that moves down a line, to another checkout or through a formatter keeps
  its fingerprint; a
  frame that already appeared in the same exception (recursion) is skipped,
  so the depth of a recursion does not matter, and so are the frames of list,
  dict and set comprehensions, which Python 3.12 no longer creates;
* the members of exception groups, each reduced to the same kind of parts,
  sorted and with duplicates removed, so the order in which tasks failed
  and how many failed the same way do not matter;
* the message only when none of these exceptions has an in-app frame, after
  :func:`parameterise` has replaced the values in it (numbers, hex and
  ``0x`` addresses, UUIDs, e-mail addresses, URLs, IP addresses, dates and
  quoted strings) with placeholders.

A host can replace the parts: ``fingerprint=["payments", "{{ default }}"]``
(``"{{ default }}"`` expands to the default parts) or a callable that takes
the report and returns parts, a single string, or ``None`` for the default.
The fingerprint is the first 32 hex digits of a SHA-256 over the version and
the parts. Changing how the default parts are made bumps
:data:`FINGERPRINT_VERSION`, which starts new tickets.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from ._report import CrashReport, ExceptionInfo

__all__ = [
    "DEFAULT_PLACEHOLDER",
    "FINGERPRINT_VERSION",
    "CustomFingerprint",
    "compute_fingerprint",
    "default_fingerprint_parts",
    "parameterise",
]

#: Bumped whenever the default parts change; stored with every report.
FINGERPRINT_VERSION = 1

#: The entry of a custom fingerprint list that stands for the default parts.
DEFAULT_PLACEHOLDER = "{{ default }}"

#: What ``CaptureOptions.fingerprint`` accepts.
CustomFingerprint: TypeAlias = (
    "Sequence[str] | Callable[[CrashReport], Sequence[str] | str | None] | None"
)

# Messages longer than this are cut before they count, so a huge message
# cannot make fingerprinting slow.
_MAX_MESSAGE = 1024
_DEFAULT = re.compile(r"^\{\{\s*default\s*\}\}$")
# Python 3.12 inlines these comprehensions into the function around them
# (PEP 709); leaving out their frames makes fingerprints agree across versions.
_INLINED = ("<listcomp>", "<dictcomp>", "<setcomp>")


def default_fingerprint_parts(report: CrashReport) -> list[str]:
    """The parts of the default fingerprint of ``report`` (see the module docstring)."""
    chain = [e for e in report.exceptions if e.depth == 0]
    members = [e for e in report.exceptions if e.depth > 0]
    parts: list[str] = []
    in_app = False
    for info in chain:
        frames = _frame_parts(info)
        in_app = in_app or bool(frames)
        parts.append(f"type:{_main(info.type)}")
        parts.extend(frames)
    member_parts = set()
    for info in members:
        frames = _frame_parts(info)
        in_app = in_app or bool(frames)
        member_parts.add(" | ".join([f"type:{_main(info.type)}", *frames]))
    parts.extend(f"member:{part}" for part in sorted(member_parts))
    if not in_app:
        parts.extend(f"message:{parameterise(info.message)}" for info in chain)
    return parts


def _main(name: str) -> str:
    """``name`` with a spawned child's ``__mp_main__`` read as the ``__main__`` it is.

    multiprocessing's spawn and forkserver children run the parent's script as
    ``__mp_main__``; the same bug in the parent, a forked child and a spawned
    child is one bug.
    """
    if name == "__mp_main__" or name.startswith("__mp_main__."):
        return "__main__" + name[len("__mp_main__") :]
    return name


def _frame_parts(info: ExceptionInfo) -> list[str]:
    parts: list[str] = []
    seen: set[str] = set()
    for frame in info.frames:
        if not frame.in_app or frame.function.endswith(_INLINED):
            continue
        source = "".join(frame.source.split()) if frame.source else ""
        part = f"frame:{_main(frame.module)}:{frame.function}:{source}"
        if part not in seen:
            seen.add(part)
            parts.append(part)
    return parts


def compute_fingerprint(
    report_or_parts: CrashReport | Sequence[str], custom: CustomFingerprint = None
) -> str:
    """The fingerprint of a report, or of parts made already.

    ``custom`` is a list of parts in which ``"{{ default }}"`` stands for the
    default parts, or a callable given the report that returns such a list, a
    single string or ``None`` (the default). An empty list means the default.
    A callable needs a report; with parts it raises ``TypeError``. Errors
    raised by the callable propagate (``build_report`` catches them and falls
    back to the default).
    """
    from ._report import CrashReport

    if isinstance(report_or_parts, CrashReport):
        report: CrashReport | None = report_or_parts
        default = default_fingerprint_parts(report_or_parts)
    else:
        report = None
        default = [str(part) for part in report_or_parts]
    parts = default
    if callable(custom):
        if report is None:
            raise TypeError(
                "a fingerprint callable needs the CrashReport; pass the report, not its parts"
            )
        chosen = custom(report)
        if chosen is not None:
            parts = _expand(chosen, default)
    elif custom is not None:
        parts = _expand(custom, default)
    return _digest(parts)


def _expand(custom: Sequence[str] | str, default: list[str]) -> list[str]:
    if isinstance(custom, str):
        custom = [custom]
    parts: list[str] = []
    for part in custom:
        text = part if isinstance(part, str) else str(part)
        if _DEFAULT.match(text):
            parts.extend(default)
        else:
            parts.append(f"custom:{text}")
    return parts or default


def _digest(parts: Sequence[str]) -> str:
    import hashlib
    import json

    encoded = json.dumps([FINGERPRINT_VERSION, list(parts)], ensure_ascii=True)
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()[:32]


def parameterise(message: str) -> str:
    """``message`` with the values in it replaced by placeholders, white space collapsed.

    >>> parameterise("user 42 not found at 0x7f3a2c, id 3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    'user <num> not found at <hex>, id <uuid>'
    """
    text = message[:_MAX_MESSAGE]
    for pattern, placeholder in _placeholders():
        text = pattern.sub(placeholder, text)
    return " ".join(text.split())


@functools.cache
def _placeholders() -> tuple[tuple[re.Pattern[str], str], ...]:
    h = "[0-9a-fA-F]{1,4}"
    rules = [
        (r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+", "<url>"),
        (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "<email>"),
        (
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
            "<uuid>",
        ),
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            "<date>",
        ),
        (r"\b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\b", "<time>"),
        (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b", "<ip>"),
        (
            rf"(?<![\w:])(?:(?:{h}:){{7}}{h}|{h}(?::{h})*::(?:{h}(?::{h})*)?|::{h}(?::{h})*)(?![\w:])",
            "<ip>",
        ),
        (r"\b0[xX][0-9a-fA-F]+\b", "<hex>"),
        (r"\b(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b", "<hex>"),
        (r"(?<!\w)'(?:[^'\\\n]|\\.)*'(?!\w)", "<str>"),
        (r'(?<!\w)"(?:[^"\\\n]|\\.)*"(?!\w)', "<str>"),
        (r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b", "<num>"),
    ]
    return tuple((re.compile(source), placeholder) for source, placeholder in rules)
