"""Fingerprints group one bug's crashes and keep different bugs apart."""

from __future__ import annotations

import doctest
import importlib.util
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ticketkit.crash import _fingerprint
from ticketkit.crash._capture import CaptureOptions, build_report
from ticketkit.crash._fingerprint import (
    FINGERPRINT_VERSION,
    compute_fingerprint,
    default_fingerprint_parts,
    parameterise,
)
from ticketkit.crash._report import CrashReport

CART = """
def checkout(basket):
    return total(basket)


def refund(basket):
    return total(basket)


def total(basket):
    return sum(item["price"] for item in basket)


def recurse(n, basket):
    if n:
        return recurse(n - 1, basket)
    return total(basket)
"""


MAIN = sys.modules["__main__"]


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Callable[[str, str], Any]]:
    """Import ``source`` as module ``shop_cart`` from a fresh directory under ``tmp_path``."""
    count = 0

    def load(source: str, name: str = "shop_cart") -> Any:
        nonlocal count
        count += 1
        directory = tmp_path / f"checkout-{count}"
        directory.mkdir()
        path = directory / f"{name}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    yield load
    sys.modules.pop("shop_cart", None)
    sys.modules.pop("__mp_main__", None)


def report(call: Callable[[], object], module: Any = None, **options: Any) -> CrashReport:
    """The report of the exception ``call`` raises, with ``module``'s directory as the project."""
    if module is not None:
        options.setdefault("project_root", str(Path(module.__file__).parent))
    try:
        call()
    except BaseException as exc:
        return build_report(
            exc, options=CaptureOptions(**options), mechanism="capture", handled=True
        )
    raise AssertionError("expected an exception")


def fingerprint(call: Callable[[], object], module: Any = None, **options: Any) -> str:
    return report(call, module, **options).fingerprint


class TestSameBug:
    def test_moving_code_down_a_line_keeps_the_fingerprint(self, load: Any) -> None:
        """The same code one line lower, in another checkout directory, is the same bug."""
        before = load(CART)
        first = fingerprint(lambda: before.checkout([{}]), before)
        after = load("# a new comment at the top\n" + CART)
        second = fingerprint(lambda: after.checkout([{}]), after)
        assert first == second
        assert before.__file__ != after.__file__

    def test_reformatting_white_space_keeps_the_fingerprint(self, load: Any) -> None:
        """White space inside a source line does not count."""
        before = load(CART)
        after = load(CART.replace('sum(item["price"] for', 'sum( item["price"]  for'))
        assert fingerprint(lambda: before.checkout([{}]), before) == fingerprint(
            lambda: after.checkout([{}]), after
        )

    def test_values_in_the_message_do_not_count(self, load: Any) -> None:
        """With in-app frames the message is ignored: other keys, ids, amounts, same bug."""
        module = load(CART)
        assert fingerprint(lambda: module.checkout([{"prize": 1}]), module) == fingerprint(
            lambda: module.checkout([{"cost": 2}]), module
        )

    def test_ids_and_addresses_in_a_message_do_not_split(self) -> None:
        """Without frames, messages count after their values are replaced by placeholders."""

        def raise_(message: str) -> Callable[[], None]:
            def call() -> None:
                raise ValueError(message)

            return call

        options = {"project_root": "/nowhere"}
        first = fingerprint(
            raise_("user 42 not found at 0x7f3a2c1b (id 3f2504e0-4f89-11d3-9a0c-0305e82c3301)"),
            **options,
        )
        second = fingerprint(
            raise_("user 97 not found at 0x8b21ffe0 (id 9a1b04e0-1f89-41d3-8a0c-0305e82c9999)"),
            **options,
        )
        assert first == second
        assert fingerprint(raise_("disk full"), **options) != first

    def test_a_spawned_child_running_the_script_is_the_same_bug(self, load: Any) -> None:
        """multiprocessing's spawn runs the main script as ``__mp_main__``; it is ``__main__``."""
        source = CART + "\n\nclass CartError(Exception):\n    pass\n"
        source += "\n\ndef fail():\n    raise CartError('no price')\n"
        in_parent, in_child = load(source, "__main__"), load(source, "__mp_main__")
        try:
            assert fingerprint(in_parent.fail, in_parent) == fingerprint(in_child.fail, in_child)
            assert fingerprint(in_parent.fail, in_parent) != fingerprint(
                lambda: in_parent.checkout([{}]), in_parent
            )
        finally:
            sys.modules["__main__"] = MAIN

    def test_recursion_depth_does_not_count(self, load: Any) -> None:
        """A recursion 3 or 300 deep is the same bug."""
        module = load(CART)
        assert fingerprint(lambda: module.recurse(3, [{}]), module) == fingerprint(
            lambda: module.recurse(300, [{}]), module
        )

    def test_order_and_repeats_of_group_members_do_not_count(self) -> None:
        """Exception groups with the same kinds of failures in another order are one bug."""

        def group(*kinds: type[Exception]) -> Callable[[], None]:
            def call() -> None:
                raise ExceptionGroup("tasks", [kind("x") for kind in kinds])

            return call

        first = fingerprint(group(ValueError, KeyError))
        assert fingerprint(group(KeyError, ValueError)) == first
        assert fingerprint(group(KeyError, ValueError, ValueError)) == first
        assert fingerprint(group(KeyError, TypeError)) != first


class TestDifferentBugs:
    def test_a_new_call_site_is_a_new_bug(self, load: Any) -> None:
        """The same failure reached from another function is another ticket."""
        module = load(CART)
        assert fingerprint(lambda: module.checkout([{}]), module) != fingerprint(
            lambda: module.refund([{}]), module
        )

    def test_a_changed_line_is_a_new_bug(self, load: Any) -> None:
        """Changing the failing line's code changes the fingerprint."""
        before = load(CART)
        after = load(CART.replace('item["price"]', 'item["price"] * 1'))
        assert fingerprint(lambda: before.checkout([{}]), before) != fingerprint(
            lambda: after.checkout([{}]), after
        )

    def test_another_exception_type_is_a_new_bug(self, load: Any) -> None:
        """The same place failing with another exception type is another bug."""
        module = load(CART)
        assert fingerprint(lambda: module.checkout([{}]), module) != fingerprint(
            lambda: module.checkout([None]), module
        )

    def test_the_chain_counts(self, load: Any) -> None:
        """The exceptions a crash was chained from are part of the fingerprint."""
        module = load(CART)

        def wrapped(cause: type[Exception]) -> Callable[[], None]:
            def call() -> None:
                try:
                    raise cause("x")
                except Exception as exc:
                    raise RuntimeError("wrapped") from exc

            return call

        assert fingerprint(wrapped(ValueError), module) != fingerprint(wrapped(KeyError), module)


class TestParts:
    def test_parts_name_types_modules_functions_and_source(self, load: Any) -> None:
        """Parts hold type, module, function and normalised source; no line numbers or paths."""
        module = load(CART)
        parts = default_fingerprint_parts(report(lambda: module.checkout([{}]), module))
        assert parts == [
            "type:builtins.KeyError",
            "frame:shop_cart:checkout:returntotal(basket)",
            'frame:shop_cart:total:returnsum(item["price"]foriteminbasket)',
            'frame:shop_cart:total.<locals>.<genexpr>:returnsum(item["price"]foriteminbasket)',
        ]
        assert not any(str(Path(module.__file__).parent) in part for part in parts)

    def test_comprehension_frames_do_not_count(self, load: Any) -> None:
        """List, dict and set comprehension frames (gone in Python 3.12) are left out."""
        module = load(
            """
            def prices(basket):
                return [item["price"] for item in basket]
            """
        )
        crash = report(lambda: module.prices([{}]), module)
        assert default_fingerprint_parts(crash) == [
            "type:builtins.KeyError",
            'frame:shop_cart:prices:return[item["price"]foriteminbasket]',
        ]

    def test_without_in_app_frames_the_message_counts(self) -> None:
        """A crash with no in-app frame is told apart by its type and parameterised message."""
        parts = default_fingerprint_parts(report(lambda: int("abc"), project_root="/nowhere"))
        assert parts == [
            "type:builtins.ValueError",
            "message:invalid literal for int() with base <num>: <str>",
        ]


class TestCustom:
    def test_a_list_replaces_the_default(self, load: Any) -> None:
        """``fingerprint=["payments"]`` puts every crash in one group."""
        module = load(CART)
        custom = {"fingerprint": ["payments"]}
        first = fingerprint(lambda: module.checkout([{}]), module, **custom)
        assert first == fingerprint(lambda: module.refund([None]), module, **custom)
        assert first == compute_fingerprint(["custom:payments"])

    def test_default_placeholder_extends_the_default(self, load: Any) -> None:
        """``{{ default }}`` stands for the default parts."""
        module = load(CART)
        crash = report(lambda: module.checkout([{}]), module)
        assert compute_fingerprint(crash, ["{{ default }}"]) == crash.fingerprint
        assert compute_fingerprint(crash, ["{{default}}"]) == crash.fingerprint
        eu = compute_fingerprint(crash, ["{{ default }}", "eu"])
        assert eu not in (crash.fingerprint, compute_fingerprint(crash, ["{{ default }}", "us"]))
        assert (
            fingerprint(lambda: module.checkout([{}]), module, fingerprint=["{{ default }}", "eu"])
            == eu
        )

    def test_a_callable_decides(self, load: Any) -> None:
        """A callable returns parts, a single string, or None for the default."""
        module = load(CART)
        crash = report(lambda: module.checkout([{}]), module)
        assert compute_fingerprint(crash, lambda r: None) == crash.fingerprint
        assert compute_fingerprint(crash, lambda r: "one") == compute_fingerprint(crash, ["one"])
        by_type = compute_fingerprint(crash, lambda r: [r.exception_type, "{{ default }}"])
        assert by_type == compute_fingerprint(crash, [crash.exception_type, "{{ default }}"])
        assert compute_fingerprint(crash, []) == crash.fingerprint

    def test_a_callable_needs_a_report(self) -> None:
        """Parts and a callable cannot be combined."""
        with pytest.raises(TypeError, match="needs the CrashReport"):
            compute_fingerprint(["a"], lambda r: None)


class TestHash:
    def test_the_hash_is_stable(self) -> None:
        """The hash of given parts never changes within a fingerprint version."""
        assert FINGERPRINT_VERSION == 1
        assert compute_fingerprint(["type:builtins.ValueError"]) == (
            "c214f3ce395f0a30fe6da106784837fb"
        )

    def test_reports_carry_the_version(self) -> None:
        """Every report records the fingerprint version it was made with."""
        assert report(lambda: int("x")).fingerprint_version == FINGERPRINT_VERSION


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("user 42 not found", "user <num> not found"),
        ("object at 0x7f3a2c1b0e10", "object at <hex>"),
        ("hash 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "hash <hex>"),
        ("order 3f2504e0-4f89-11d3-9a0c-0305e82c3301", "order <uuid>"),
        ("mail to bob@example.com failed", "mail to <email> failed"),
        ("GET https://shop.example.com/orders/7?x=1 failed", "GET <url> failed"),
        ("connect 10.0.0.12:5432 refused", "connect <ip> refused"),
        ("connect fe80::1:2:3 refused", "connect <ip> refused"),
        ("due 2026-03-02T09:30:00Z missed", "due <date> missed"),
        ("at 09:30:15 today", "at <time> today"),
        ("no key 'price' in row", "no key <str> in row"),
        ('no file "a b.csv"', "no file <str>"),
        ("can't parse    it", "can't parse it"),
        ("ratio -1.5e3 too low", "ratio <num> too low"),
        ("plain words stay", "plain words stay"),
    ],
)
def test_parameterise(message: str, expected: str) -> None:
    """Values in messages become placeholders; the words around them stay."""
    assert parameterise(message) == expected


def test_parameterise_cuts_long_messages() -> None:
    """Only the start of a huge message is parameterised."""
    assert len(parameterise("word " * 100_000)) < 1100


def test_docstring_examples() -> None:
    """The examples in the module's docstrings are right."""
    assert doctest.testmod(_fingerprint).failed == 0
