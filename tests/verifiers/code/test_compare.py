from __future__ import annotations

import math

import pytest

from assay_verifiers.code.compare import outputs_match, values_equal

VALUES = [
    # (got, expected, options, equal)
    (3, 3, {}, True),
    (True, 1, {}, False),
    (1, True, {}, False),
    (3, 3.0, {}, False),
    (3, 3.0, {"int_float": True}, True),
    (True, 1.0, {"int_float": True}, False),
    ("1", 1, {}, False),
    ((1, 2), [1, 2], {}, True),
    ((1, 2), [1, 2], {"tuples_as_lists": False}, False),
    ([1, [2, (3,)]], [1, [2, [3]]], {}, True),
    ({1: "a"}, {"1": "a"}, {}, False),
    ({True: 1}, {1: 1}, {}, False),
    ({1: [1.5]}, {1: [1.5]}, {}, True),
    ({1, 2}, {1, 2}, {}, True),
    ({1}, {True}, {}, False),
    ({1}, {1.0}, {}, False),
    (frozenset({1}), {1}, {}, False),
    (0.1 + 0.2, 0.3, {}, False),
    (0.1 + 0.2, 0.3, {"float_tol": 1e-9}, True),
    (1e6 + 1, 1e6, {"float_tol": 1e-5}, True),
    (float("nan"), float("nan"), {}, True),
    (math.inf, math.inf, {"float_tol": 1e-9}, True),
    (math.inf, 1e308, {"float_tol": 1e-9}, False),
    (None, None, {}, True),
    (None, 0, {}, False),
    (b"ab", "ab", {}, False),
    ([1, 2], [1, 2, 3], {}, False),
    (1 + 2j, 1 + 2j, {}, True),
    # an int past float range under int_float: compared exactly, no OverflowError
    (10**400, 1.5, {"int_float": True}, False),
    (1.5, 10**400, {"int_float": True, "float_tol": 1e-6}, False),
    (10**400, math.inf, {"int_float": True}, False),
]


@pytest.mark.parametrize(("got", "expected", "options", "equal"), VALUES)
def test_values_equal_uses_exact_types(
    got: object, expected: object, options: dict, equal: bool
) -> None:
    assert values_equal(got, expected, **options) is equal


def test_values_equal_rejects_objects_that_claim_equality() -> None:
    class Always:
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    class S(str):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = str.__hash__

    assert not values_equal(Always(), 3)
    assert not values_equal(S("x"), "y")
    assert not values_equal([Always()], [3])
    assert not values_equal({1: Always()}, {1: 2})


def test_values_equal_survives_deep_nesting() -> None:
    a: list = []
    for _ in range(10_000):
        a = [a]
    assert values_equal(a, a) is False  # too deep to prove equal: unequal, no crash


OUTPUTS = [
    # (got, expected, mode, float_tol, match)
    ("3\n", "3\n", "lines", None, True),
    ("3", "3\n", "lines", None, True),
    ("3  \n\n\n", "3\n", "lines", None, True),
    ("3\r\n4\r\n", "3\n4\n", "lines", None, True),
    ("1  2\n", "1 2\n", "lines", None, True),
    ("3\n", "3\n4\n", "lines", None, False),  # a prefix is not a match
    ("3\n4\n5\n", "3\n4\n", "lines", None, False),  # nor is extra output
    ("", "0\n", "lines", None, False),
    ("1 2\n", "1\n2\n", "lines", None, False),
    ("1 2\n", "1\n2\n", "tokens", None, True),
    ("1 2 3", "1 2", "tokens", None, False),
    ("0.333333\n", "0.3333333333\n", "lines", None, False),
    ("0.333333\n", "0.3333333333\n", "lines", 1e-5, True),
    ("0.33\n", "0.3333333333\n", "lines", 1e-5, False),
    ("abc\n", "abd\n", "lines", 1e-5, False),
    ("nan\n", "1.0\n", "lines", 1e-5, False),
    ("3\n", "3\n", "exact", None, True),
    ("3", "3\n", "exact", None, False),
    ("YES\n", "yes\n", "tokens", None, False),
    # numbers past float range all become inf: with a tolerance they must not match each other
    ("2" + "0" * 400 + "\n", "1" + "0" * 400 + "\n", "lines", 1e-6, False),
    ("1e400", "2e400", "tokens", 1e-6, False),
    ("1e400", "1e400", "tokens", 1e-6, True),  # the same text still matches
]


@pytest.mark.parametrize(("got", "expected", "mode", "tol", "match"), OUTPUTS)
def test_outputs_match_compares_whole_output(
    got: str, expected: str, mode: str, tol: float | None, match: bool
) -> None:
    ok, why = outputs_match(got, expected, mode, tol)  # type: ignore[arg-type]
    assert ok is match
    assert bool(why) is not match  # a mismatch always says where
