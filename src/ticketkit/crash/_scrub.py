"""Scrubbing secrets out of crash reports, by key and by value.

A :class:`Scrubber` replaces secrets with ``"[scrubbed]"``. It looks at

* **keys**: in a mapping, the value of every key whose *normalised* form
  (lower case, only letters and digits: ``"X-Api-Key"`` → ``"xapikey"``)
  contains one of the normalised :attr:`Scrubber.keys` or
  :attr:`Scrubber.extra_keys` is replaced as a whole (``None``, booleans and
  ``""`` are kept: they reveal nothing). Matching is by substring, so
  ``"db_password"`` and ``"oauth_token"`` match, and so do harmless keys such
  as ``"author"`` (it contains ``"auth"``): scrubbing errs on the safe side.
* **values**, in every string (:meth:`Scrubber.scrub_text`):

  - ``key=value``, ``key: value``, ``"key": "value"``, ``'key': 'value'``
    (reprs of dicts and objects), ``--key=value`` and ``--key value`` where the
    key, one word of letters, digits, ``_``, ``.`` and ``-``, is secret-ish as
    above; the value may be quoted, a flat ``[...]``, ``(...)`` or ``{...}``,
    or start with an auth scheme (``Bearer x``);
  - a long hex (16+) or base64-like (20+) string shortly after a secret-ish
    key (``"token is 3f9a..."``);
  - userinfo in URLs (``https://user:pass@host`` → ``https://[scrubbed]@host``);
  - ``Bearer <token>``, and ``Basic <base64>`` when it decodes to ``user:pass``;
  - JSON Web Tokens, PEM private keys, AWS access key ids (``AKIA…``) and the
    token formats of GitHub, Slack, Stripe, Google and OpenAI;
  - card numbers: 13 to 19 digits, optionally grouped by spaces or dashes,
    starting with 2 to 6 (the card networks' ranges) and passing the Luhn
    check; so timestamps, ordinary numbers, version strings and UUIDs survive;
  - every regular expression in :attr:`Scrubber.value_patterns`.

Scrubbing is idempotent and never raises for ``str`` input.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from attrs import field, frozen

from .._errors import ValidationError

__all__ = ["DEFAULT_SECRET_KEYS", "SCRUBBED", "Scrubber"]

#: What a secret is replaced with.
SCRUBBED = "[scrubbed]"

#: The keys :class:`Scrubber` treats as secret unless told otherwise.
DEFAULT_SECRET_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "authorization",
    "auth",
    "cookie",
    "set-cookie",
    "session",
    "sessionid",
    "csrf",
    "private_key",
    "credential",
    "dsn",
)

_T = TypeVar("_T")
_NOT_ALNUM = re.compile(r"[\W_]+")
_MAX_DEPTH = 64


def _normalise(key: str) -> str:
    return _NOT_ALNUM.sub("", key.lower())


def _to_keys(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError(
            f"scrubber keys must be a collection of strings, not the single string {value!r}",
            field="keys",
        )
    keys = tuple(_normalise(str(k)) for k in value)
    if any(not k for k in keys):
        raise ValidationError(
            "a scrubber key must contain a letter or digit; remove the empty key", field="keys"
        )
    return tuple(dict.fromkeys(keys))


def _to_patterns(value: Iterable[str | re.Pattern[str]]) -> tuple[re.Pattern[str], ...]:
    if isinstance(value, str | re.Pattern):
        value = (value,)
    patterns: list[re.Pattern[str]] = []
    for pattern in value:
        if isinstance(pattern, re.Pattern):
            patterns.append(pattern)
            continue
        try:
            patterns.append(re.compile(pattern))
        except (re.error, TypeError) as error:
            raise ValidationError(
                f"value pattern {pattern!r} is not a regular expression ({error}); "
                "pass a string that re.compile accepts",
                field="value_patterns",
            ) from error
    return tuple(patterns)


@frozen
class Scrubber:
    """Replaces secrets with ``"[scrubbed]"``; see the module docstring for what it finds.

    ``keys`` replaces the default list of secret-ish key names, ``extra_keys``
    adds to it; both are stored normalised. ``value_patterns`` are extra
    regular expressions (strings or compiled) whose every match is replaced.
    """

    keys: tuple[str, ...] = field(default=DEFAULT_SECRET_KEYS, converter=_to_keys)
    extra_keys: tuple[str, ...] = field(default=(), converter=_to_keys)
    value_patterns: tuple[re.Pattern[str], ...] = field(default=(), converter=_to_patterns)

    @property
    def all_keys(self) -> tuple[str, ...]:
        """The normalised secret-ish key names: ``keys`` then ``extra_keys``."""
        return tuple(dict.fromkeys(self.keys + self.extra_keys))

    def is_secret_key(self, key: object) -> bool:
        """Whether the value stored under ``key`` is scrubbed as a whole."""
        normalised = _normalise(key if isinstance(key, str) else str(key))
        return any(k in normalised for k in self.all_keys)

    def scrub(self, value: _T) -> _T:
        """A scrubbed copy of ``value``, recursing into mappings, lists, tuples and sets.

        Strings go through :meth:`scrub_text` (mapping keys too); mappings come
        back as ``dict`` (a ``MappingProxyType`` as a ``MappingProxyType``),
        lists, tuples and sets as the same built-in type; other objects are
        returned as they are. Cycles and nesting beyond 64 levels become
        ``"[cycle]"`` and ``"[too deep]"``.
        """
        return cast(_T, self._scrub(value, 0, frozenset()))

    def _scrub(self, value: object, depth: int, path: frozenset[int]) -> object:
        if isinstance(value, str):
            return self.scrub_text(value)
        if not isinstance(value, Mapping | list | tuple | set | frozenset):
            return value
        if depth >= _MAX_DEPTH:
            return "[too deep]"
        if id(value) in path:
            return "[cycle]"
        inner = path | {id(value)}
        if isinstance(value, Mapping):
            copy: dict[Any, object] = {}
            for key, item in value.items():
                if self.is_secret_key(key) and not _reveals_nothing(item):
                    item = SCRUBBED
                else:
                    item = self._scrub(item, depth + 1, inner)
                copy[self.scrub_text(key) if isinstance(key, str) else key] = item
            return (
                types.MappingProxyType(copy) if isinstance(value, types.MappingProxyType) else copy
            )
        items = [self._scrub(item, depth + 1, inner) for item in value]
        if isinstance(value, list):
            return items
        if isinstance(value, tuple):
            return tuple(items)
        try:
            return frozenset(items) if isinstance(value, frozenset) else set(items)
        except TypeError:  # an unhashable scrubbed copy of a hashable item
            return items

    def scrub_argv(self, argv: Iterable[object]) -> list[str]:
        """Scrubbed command-line arguments.

        Besides :meth:`scrub_text` on each argument, the argument after a
        secret-ish flag given without ``=`` (``--token x``, ``-password x``) is
        replaced unless it is itself a flag.
        """
        scrubbed: list[str] = []
        hide_next = False
        for arg in argv:
            text = arg if isinstance(arg, str) else str(arg)
            if hide_next and not text.startswith("-"):
                scrubbed.append(SCRUBBED)
                hide_next = False
                continue
            hide_next = text.startswith("-") and "=" not in text and self.is_secret_key(text)
            scrubbed.append(self.scrub_text(text))
        return scrubbed

    def scrub_text(self, text: str) -> str:
        """``text`` with every secret the module docstring lists replaced.

        A replacement can complete a pattern that did not match before (a key
        now followed by ``'[scrubbed]'``), so the rules run again until the text
        stops changing: scrubbing scrubbed text changes nothing.
        """
        for _ in range(_MAX_PASSES):
            scrubbed = self._scrub_once(text)
            if scrubbed == text:
                break
            text = scrubbed
        return text

    def _scrub_once(self, text: str) -> str:
        if not text:
            return text
        for pattern, replace in _value_rules():
            text = pattern.sub(replace, text)
        is_secret = _secret_key_test(self.all_keys)
        for pattern in _pair_rules():
            text = _scrub_pairs(text, pattern, is_secret)
        for pattern in self.value_patterns:
            text = pattern.sub(SCRUBBED, text)
        return text


# -- the rules ------------------------------------------------------------------

_MAX_PASSES = 8  # each pass only replaces; texts settle in one or two

_SCHEME = r"(?:(?:Bearer|Basic|Token|Digest|Negotiate|Bot|JWT)[ \t]++)?"
# Values are matched up to a bounded length so that scanning stays linear
# however many key-like words a text holds; the value of a secret key is then
# followed to its real end by _value_end.
_VALUE = (
    r'\\"(?:[^\\\n]|\\(?!")){0,1024}+(?:\\")?'
    r'|"(?:[^"\\\n]|\\.){0,1024}+"?'
    r"|'(?:[^'\\\n]|\\.){0,1024}+'?"
    r"|\[[^\[\]\n]{0,1024}+\]?"
    r"|\([^()\n]{0,1024}+\)?"
    r"|\{[^{}\n]{0,1024}+\}?"
    r"|(?!\[scrubbed\])[^\s,;&'\"{}<>]{1,256}+"
)
_KEY = r"(?<![\w.-])(?P<key>[\w.-]++)"
_CLOSERS = {'\\"': '\\"', '"': '"', "'": "'", "[": "]", "(": ")", "{": "}"}
_UNQUOTED_REST = re.compile(r"[^\s,;&'\"{}<>]*+")


@functools.cache
def _pair_rules() -> tuple[re.Pattern[str], ...]:
    """Patterns for ``key=value``, ``--key value`` and ``key ... <long token>``.

    Each finds any word in the right position; :func:`_scrub_pairs` checks the
    word against the secret keys. Words are matched possessively from their
    first character and values have a bounded length, so a scan is linear.
    """
    return (
        re.compile(
            rf"{_KEY}(?P<sep>(?:\\?[\"'])?[ \t]*+[:=][ \t]*+)(?P<value>{_SCHEME}(?:{_VALUE}))",
            re.IGNORECASE,
        ),
        re.compile(
            r"(?<![\w.-])(?P<key>--?[\w.-]++)(?P<sep>[ \t]++)"
            r"(?P<value>(?!\[scrubbed\])[^\s\-][^\s]{0,255}+)"
        ),
        re.compile(
            rf"{_KEY}(?P<sep>[^\w\n]{{1,3}}+(?:is[ \t]++)?)"
            r"(?P<value>(?:[A-Fa-f0-9]{16,}+|[A-Za-z0-9+/_-]{20,}+={0,2})(?![\w+/=-]))"
        ),
    )


@functools.cache
def _secret_key_test(keys: tuple[str, ...]) -> Callable[[str], bool]:
    pattern = re.compile("|".join(re.escape(k) for k in keys))

    def is_secret(word: str) -> bool:
        return pattern.search(_normalise(word)) is not None

    return is_secret


def _scrub_pairs(text: str, pattern: re.Pattern[str], is_secret: Callable[[str], bool]) -> str:
    """``text`` with the value of every match of ``pattern`` whose key is secret replaced."""
    pieces: list[str] = []
    last = position = 0
    while (match := pattern.search(text, position)) is not None:
        if not is_secret(match["key"]):
            position = match.end("key")
            continue
        start, end = match.start("value"), _value_end(text, match)
        pieces.append(text[last:start])
        pieces.append(_masked(text[start:end]))
        last = position = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _value_end(text: str, match: re.Match[str]) -> int:
    """Where the value of ``match`` ends: after its closing quote or bracket, or its last letter."""
    value = match["value"]
    scheme = re.match(_SCHEME, value, re.IGNORECASE)
    rest = value[scheme.end() if scheme else 0 :]
    end = match.end("value")
    opener = rest[:2] if rest.startswith('\\"') else rest[:1]
    closer = _CLOSERS.get(opener)
    if closer is None:
        extra = _UNQUOTED_REST.match(text, end)
        return extra.end() if extra else end
    if len(rest) > len(opener) and rest.endswith(closer):
        return end
    found = text.find(closer, end)
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return found + len(closer) if 0 <= found < line_end else line_end


def _masked(value: str) -> str:
    scheme = re.match(_SCHEME, value, re.IGNORECASE)
    prefix = scheme.group(0) if scheme else ""
    rest = value[len(prefix) :]
    if rest.strip("\\\"'") == SCRUBBED:
        return value
    opener = rest[:2] if rest.startswith('\\"') else rest[:1]
    quote = opener if opener in ('\\"', '"', "'") else ""
    return f"{prefix}{quote}{SCRUBBED}{quote}"


def _reveals_nothing(value: object) -> bool:
    return value is None or value is True or value is False or value == ""


def _basic(match: re.Match[str]) -> str:
    import base64
    import binascii

    try:
        decoded = base64.b64decode(match["value"], validate=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    return f"{match['scheme']}{SCRUBBED}" if b":" in decoded else match.group(0)


def _card(match: re.Match[str]) -> str:
    digits = [int(c) for c in match.group(0) if c in "0123456789"]
    if not 13 <= len(digits) <= 19 or digits[0] not in (2, 3, 4, 5, 6):
        return match.group(0)
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return SCRUBBED if total % 10 == 0 else match.group(0)


def _constant(match: re.Match[str]) -> str:
    return SCRUBBED


def _userinfo(match: re.Match[str]) -> str:
    return match.group(0) if match["info"] == SCRUBBED else f"{SCRUBBED}@"


_Replace = Callable[[re.Match[str]], str]


@functools.cache
def _value_rules() -> tuple[tuple[re.Pattern[str], _Replace], ...]:
    """Patterns for secrets recognised by their form alone, in the order they are applied."""
    rules: list[tuple[str, int, _Replace]] = [
        (
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
            _constant,
        ),
        (r"\beyJ[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]*+", 0, _constant),
        (r"(?<=://)(?P<info>[^\s/?#]*)@", 0, _userinfo),
        (r"(?P<scheme>\bBasic[ \t]++)(?P<value>[A-Za-z0-9+/]{4,}+={0,2})", re.IGNORECASE, _basic),
        (
            r"\b(?P<scheme>Bearer[ \t]++)(?!\[scrubbed\])[A-Za-z0-9._~+/=-]++",
            re.IGNORECASE,
            lambda m: f"{m['scheme']}{SCRUBBED}",
        ),
        (
            r"(?<![\w])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}"
            r"(?![\w])",
            0,
            _constant,
        ),
        (
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}+|github_pat_[A-Za-z0-9_]{22,}+"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}+|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}+"
            r"|AIza[0-9A-Za-z_-]{35}|sk-(?:proj-)?[A-Za-z0-9_-]{32,}+)",
            0,
            _constant,
        ),
        (r"(?<![\w])(?<![0-9][ -])[0-9](?:[ -]?[0-9]){12,18}(?![\w])(?![ -][0-9])", 0, _card),
    ]
    return tuple((re.compile(source, flags), replace) for source, flags, replace in rules)
