"""Workflow data in and out: checks for hand-written tables and a small TOML writer.

The writer covers what :meth:`Workflow.to_data` produces (strings, numbers,
booleans, lists and tables) and escapes strings as TOML basic strings.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import InvalidWorkflow

__all__ = ["parse_json", "parse_toml", "read_list", "read_table", "toml_document"]


def parse_json(text: str) -> Any:
    """Decode ``text``; malformed JSON raises ``InvalidWorkflow``."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidWorkflow(f"the workflow is not valid JSON: {exc}") from None


def parse_toml(text: str) -> dict[str, Any]:
    """Decode ``text``; malformed TOML raises ``InvalidWorkflow``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidWorkflow(f"the workflow is not valid TOML: {exc}") from None


def read_table(
    value: object, where: str, required: set[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidWorkflow(f"{where} must be a table (mapping), got {type(value).__name__}")
    missing = sorted(required - set(value))
    if missing:
        raise InvalidWorkflow(f"{where} is missing the key {missing[0]!r}")
    allowed_keys = required | set(optional)
    unknown = sorted(set(value) - allowed_keys, key=str)
    if unknown:
        allowed = ", ".join(sorted(allowed_keys))
        raise InvalidWorkflow(f"{where} has the unknown key {unknown[0]!r}; allowed: {allowed}")
    for key in ("name", "initial", "category", "target", "label"):
        if key in value and not isinstance(value[key], str):
            raise InvalidWorkflow(
                f"{key!r} of {where} must be a string, got {type(value[key]).__name__}"
            )
    return dict(value)


def read_list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise InvalidWorkflow(f"{key!r} of {where} must be a list, got {type(value).__name__}")
    return value


# -- writing TOML -----------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        pairs = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + pairs + " }" if pairs else "{}"
    raise InvalidWorkflow(f"cannot write {value!r} ({type(value).__name__}) as TOML")


def toml_document(data: Mapping[str, Any]) -> str:
    lines: list[str] = []
    tables: list[tuple[str, list[Mapping[str, Any]]]] = []
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            tables.append((key, value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, items in tables:
        for item in items:
            lines += ["", f"[[{_toml_key(key)}]]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"
