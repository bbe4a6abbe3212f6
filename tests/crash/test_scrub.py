"""Scrubbing secrets by key and by value, without eating what is not secret."""

from __future__ import annotations

import re
import time
import types

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ticketkit import ValidationError
from ticketkit.crash._scrub import DEFAULT_SECRET_KEYS, SCRUBBED, Scrubber

SECRET = "s3cr3t-Vq9Lx2Pw"
SCRUBBER = Scrubber()

#: (text, what scrub_text must make of it)
SCRUBBED_TEXTS = [
    # URL userinfo
    (f"cannot reach https://bob:{SECRET}@db.example.com/x", "https://[scrubbed]@db.example.com/x"),
    (
        f"postgresql://admin:{SECRET}@localhost:5432/shop",
        "postgresql://[scrubbed]@localhost:5432/shop",
    ),
    (f"git clone https://{SECRET}@github.com/o/r", "https://[scrubbed]@github.com/o/r"),
    # key=value pairs in free text, reprs and JSON
    (f"password={SECRET} user=bob", "password=[scrubbed] user=bob"),
    (f"DB_PASSWORD = {SECRET}", "DB_PASSWORD = [scrubbed]"),
    (f"token: {SECRET}", "token: [scrubbed]"),
    (f"{{'password': '{SECRET}', 'user': 'bob'}}", "{'password': '[scrubbed]', 'user': 'bob'}"),
    (f'User(name="bob", api_key="{SECRET}")', 'User(name="bob", api_key="[scrubbed]")'),
    (f'{{"X-Api-Key": "{SECRET}", "n": 5}}', '{"X-Api-Key": "[scrubbed]", "n": 5}'),
    (f'payload {{\\"secret\\": \\"{SECRET}\\"}}', 'payload {\\"secret\\": \\"[scrubbed]\\"}'),
    (f"GET /orders?id=7&access_key={SECRET}&page=2", "access_key=[scrubbed]&page=2"),
    (f"Cookie: sessionid={SECRET}; theme=dark", "Cookie: [scrubbed]; theme=dark"),
    (f"'tokens': ['{SECRET}', 'x']", "'tokens': [scrubbed]"),
    # argv-style flags
    (f"run --token {SECRET} --verbose", "run --token [scrubbed] --verbose"),
    (f"run --password={SECRET}", "run --password=[scrubbed]"),
    # secrets near a secret-ish key
    ("the token is 3f9a8b7c6d5e4f3a2b1c0d9e", "the token is [scrubbed]"),
    ("secret AbCdEfGhIjKlMnOpQrStUvWxYz012345", "secret [scrubbed]"),
    # auth headers
    (f"Authorization: Bearer {SECRET}.abc", "Authorization: Bearer [scrubbed]"),
    (f"sent Bearer {SECRET}", "sent Bearer [scrubbed]"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [scrubbed]"),
    ("header Basic dXNlcjpwYXNzd29yZA==", "header Basic [scrubbed]"),
    # recognisable token formats
    ("key AKIAIOSFODNN7EXAMPLE in use", "key [scrubbed] in use"),
    ("ghp_" + "a1B2" * 9 + " leaked", "[scrubbed] leaked"),
    ("xoxb-1234567890-abcdefghij", "[scrubbed]"),
    ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "[scrubbed]"),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlF",
        "jwt [scrubbed]",
    ),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY----- ok",
        "[scrubbed] ok",
    ),
    ("cut -----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA", "cut [scrubbed]"),
    # card numbers that pass the Luhn check
    ("paid with 4111 1111 1111 1111.", "paid with [scrubbed]."),
    ("card 4111-1111-1111-1111", "card [scrubbed]"),
    ("amex 378282246310005", "amex [scrubbed]"),
    ("mc 5555555555554444 ok", "mc [scrubbed] ok"),
]

#: Texts that must come through unchanged.
INNOCENT_TEXTS = [
    "invalid literal for int() with base 10: 'abc'",
    "order 12345 not found",
    "timestamp 1700000000000 ms",
    "id 123e4567-e89b-12d3-a456-426614174000",
    "requires attrs>=23.1 (found 22.2.0), python 3.11.7",
    "sha 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a",
    "card-like 4111 1111 1111 1112 fails Luhn",
    "phone +1 202 555 0143",
    "Basic authentication failed",
    "see https://example.com/path?q=1&page=2",
    "mailto bob@example.com",
    "ssh host:22 and ratio 3:4",
    "x = {'user': 'bob', 'count': 3}",
    "",
]


FRAGMENTS = [
    "password=",
    "token ",
    "--token ",
    "x",
    " ",
    "://",
    "@",
    "'",
    '"',
    ":",
    "=",
    "9",
    "[",
    "]",
    "Bearer ",
    "Basic ",
    "dXNlcjpwYXNz",
    "4111111111111111",
    "AKIAIOSFODNN7EXAMPLE",
    "{",
    "}",
    "3f9a8b7c6d5e4f3a2b1c",
    "\\",
    "\n",
    "[scrubbed]",
    "ab",
    ",",
    "-",
]


class TestScrubText:
    @pytest.mark.parametrize(("text", "expected"), SCRUBBED_TEXTS)
    def test_secrets_are_replaced(self, text: str, expected: str) -> None:
        """Secrets recognised by their key or their form are replaced with ``[scrubbed]``."""
        scrubbed = SCRUBBER.scrub_text(text)
        assert expected in scrubbed
        assert SECRET not in scrubbed

    @pytest.mark.parametrize("text", INNOCENT_TEXTS)
    def test_ordinary_text_survives(self, text: str) -> None:
        """Numbers, ids, versions, hashes, URLs without credentials are left alone."""
        assert SCRUBBER.scrub_text(text) == text

    @pytest.mark.parametrize(("text", "expected"), SCRUBBED_TEXTS)
    def test_scrubbing_twice_changes_nothing(self, text: str, expected: str) -> None:
        """Scrubbed text is left as it is by a second pass."""
        once = SCRUBBER.scrub_text(text)
        assert SCRUBBER.scrub_text(once) == once

    @given(st.text(max_size=300))
    def test_never_raises(self, text: str) -> None:
        """Any text can be scrubbed."""
        assert isinstance(SCRUBBER.scrub_text(text), str)

    @given(st.lists(st.sampled_from(FRAGMENTS)))
    @example(["--token ", "'", "password=", "token ", "'"])  # a second pass once scrubbed more
    def test_fragments_scrub_to_a_fixed_point(self, parts: list[str]) -> None:
        """Any mix of secret-looking fragments scrubs once and for all."""
        once = SCRUBBER.scrub_text("".join(parts))
        assert SCRUBBER.scrub_text(once) == once

    @pytest.mark.parametrize(
        "text",
        [
            "a" * 200_000,
            "password" * 20_000,
            "1 " * 100_000,
            "x=" * 100_000,
            "https://" + "a:" * 50_000,
            "--token " * 20_000,
            "'" * 100_000,
        ],
    )
    def test_pathological_input_takes_linear_time(self, text: str) -> None:
        """Long hostile input is scrubbed in well under a second (no backtracking blow-up)."""
        began = time.process_time()
        SCRUBBER.scrub_text(text)
        assert time.process_time() - began < 2.0

    def test_extra_keys_and_patterns(self) -> None:
        """``extra_keys`` adds secret key names, ``value_patterns`` secret value shapes."""
        scrubber = Scrubber(extra_keys=["pin"], value_patterns=[r"ORD-\d{6}", re.compile("zz+")])
        assert (
            scrubber.scrub_text("pin=1234 ORD-123456 buzz")
            == "pin=[scrubbed] [scrubbed] bu[scrubbed]"
        )
        assert scrubber.scrub({"PIN": 4321}) == {"PIN": SCRUBBED}

    def test_keys_replace_the_defaults(self) -> None:
        """``keys`` replaces the default list."""
        scrubber = Scrubber(keys=["pin"])
        assert scrubber.scrub_text("password=x pin=1") == "password=x pin=[scrubbed]"
        assert scrubber.all_keys == ("pin",)

    def test_bad_configuration_says_what_to_do(self) -> None:
        """Invalid keys or patterns raise ValidationError."""
        with pytest.raises(ValidationError, match="not the single string"):
            Scrubber(extra_keys="pin")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="not a regular expression"):
            Scrubber(value_patterns=["("])
        with pytest.raises(ValidationError, match="letter or digit"):
            Scrubber(extra_keys=["--"])


class TestScrubValues:
    def test_keys_are_matched_normalised_as_substrings(self) -> None:
        """Keys match case-insensitively, ignoring separators, anywhere in the key."""
        for key in (
            "Password",
            "DB_PASSWORD",
            "x-api-key",
            "X-API-KEY",
            "apiKey",
            "oauth_token",
            "Set-Cookie",
            "SESSIONID",
            "sentry_dsn",
            "aws_access_key_id",
            "Authorization",
        ):
            assert SCRUBBER.is_secret_key(key), key
        for key in ("user", "name", "id", "count", "message", "url", "host"):
            assert not SCRUBBER.is_secret_key(key), key

    def test_default_keys(self) -> None:
        """The default keys are stored normalised."""
        assert SCRUBBER.keys == tuple(
            dict.fromkeys(k.replace("-", "").replace("_", "") for k in DEFAULT_SECRET_KEYS)
        )

    def test_scrub_recurses_and_copies(self) -> None:
        """Mappings, lists, tuples and sets are scrubbed recursively into copies."""
        value = {
            "user": "bob",
            "Authorization": f"Bearer {SECRET}",
            "nested": [{"password": SECRET}, ("ok", f"token={SECRET}")],
            "tags": {f"https://u:{SECRET}@h"},
            "count": 3,
        }
        scrubbed = SCRUBBER.scrub(value)
        assert scrubbed == {
            "user": "bob",
            "Authorization": SCRUBBED,
            "nested": [{"password": SCRUBBED}, ("ok", "token=[scrubbed]")],
            "tags": {"https://[scrubbed]@h"},
            "count": 3,
        }
        assert value["nested"][0] == {"password": SECRET}  # type: ignore[index]

    def test_values_that_reveal_nothing_are_kept(self) -> None:
        """``None``, booleans and empty strings under secret keys stay (they reveal nothing)."""
        value = {"password": None, "token": "", "auth": False, "secret": 0, "pin": 1}
        assert SCRUBBER.scrub(value) == {
            "password": None,
            "token": "",
            "auth": False,
            "secret": SCRUBBED,
            "pin": 1,
        }

    def test_read_only_mappings_stay_read_only(self) -> None:
        """A MappingProxyType comes back as one."""
        scrubbed = SCRUBBER.scrub(types.MappingProxyType({"token": "x"}))
        assert isinstance(scrubbed, types.MappingProxyType)
        assert dict(scrubbed) == {"token": SCRUBBED}

    def test_cycles_and_depth_are_bounded(self) -> None:
        """A self-containing structure is scrubbed without recursing for ever."""
        value: dict[str, object] = {"a": 1}
        value["self"] = value
        assert SCRUBBER.scrub(value) == {"a": 1, "self": "[cycle]"}
        deep: list[object] = []
        for _ in range(200):
            deep = [deep]
        SCRUBBER.scrub(deep)

    def test_other_objects_are_returned_as_they_are(self) -> None:
        """Objects scrub does not know are not copied."""
        marker = object()
        assert SCRUBBER.scrub(marker) is marker
        assert SCRUBBER.scrub(42) == 42


class TestScrubArgv:
    def test_flag_values_are_scrubbed(self) -> None:
        """The value after a secret flag, and ``--flag=value`` forms, are scrubbed."""
        argv = [
            "shop",
            "--token",
            SECRET,
            "--password=" + SECRET,
            "--user",
            "bob",
            "-v",
            f"--db=postgresql://u:{SECRET}@h/db",
            "--api-key",
            "--next",
        ]
        assert SCRUBBER.scrub_argv(argv) == [
            "shop",
            "--token",
            SCRUBBED,
            "--password=[scrubbed]",
            "--user",
            "bob",
            "-v",
            "--db=postgresql://[scrubbed]@h/db",
            "--api-key",
            "--next",
        ]

    def test_non_strings_are_shown_as_text(self) -> None:
        """Arguments that are not strings (set by the host) are converted."""
        assert SCRUBBER.scrub_argv(["x", 3]) == ["x", "3"]  # type: ignore[list-item]
