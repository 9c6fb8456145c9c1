"""Tagged JSON round trips keep exact types; hostile or malformed input is rejected, never run."""

from __future__ import annotations

import math

import pytest

from assay_sandbox import codec

ROUND_TRIP = [
    None,
    True,
    False,
    0,
    1,
    -(10**40),
    1.0,
    -0.5,
    1e308,
    "",
    "héllo\x00",
    [],
    [1, True, 1.0, "1"],
    (),
    (1, (2, [3])),
    set(),
    {1, 2, 3},
    frozenset({"a", (1, 2)}),
    {},
    {"a": 1},
    {1: "a", (1, 2): None, 2.5: True, None: 0},
    {"$tuple": [1]},
    {"x": {"$set": 1}},
    b"\x00\xffabc",
    bytearray(b"xy"),
    1 + 2j,
    [[[[[]]]]],
    {"nested": [({1}, frozenset()), {"k": (b"",)}]},
]


def _same(a: object, b: object) -> bool:
    """Equal and of the same type, recursively (``1 == True == 1.0`` must not pass)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (float, complex)):
        return repr(a) == repr(b)  # nan == nan here, and -0.0 != 0.0
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return list(a) == list(b) and all(  # type: ignore[call-overload]
            type(k1) is type(k2) and _same(a[k1], b[k2])
            for k1, k2 in zip(a, b, strict=True)  # type: ignore[index]
        )
    if isinstance(a, (set, frozenset)):
        return a == b and {type(x) for x in a} == {type(x) for x in b}  # type: ignore[union-attr]
    return a == b


@pytest.mark.parametrize("value", ROUND_TRIP, ids=repr)
def test_round_trip_keeps_exact_types(value: object) -> None:
    assert _same(codec.decode(codec.encode(value)), value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, complex(math.inf, math.nan)])
def test_non_finite_floats(value: object) -> None:
    text = codec.encode(value)
    assert "NaN" not in text and "Infinity" not in text  # strict JSON only
    assert _same(codec.decode(text), value)


@pytest.mark.parametrize(
    "value, type_name",
    [(object(), "object"), ([1, print], "builtin_function_or_method"), ({1: range(3)}, "range")],
)
def test_unencodable_names_the_type(value: object, type_name: str) -> None:
    with pytest.raises(codec.Unencodable, match=f"unencodable return value: {type_name}"):
        codec.encode(value)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"$set": [[1]]}',  # unhashable member
        '{"$dict": [[[1], 2]]}',  # unhashable key
        '{"$dict": [[1]]}',  # not a pair
        '{"$bytes": "***"}',
        '{"$float": "1e999"}',
        '{"$eval": "__import__(\'os\')"}',
        '{"$tuple": 5}',
        "[" * 100_000 + "]" * 100_000,  # nesting bomb
        "[" * 300 + "]" * 300,  # over MAX_DEPTH
    ],
)
def test_hostile_input_is_rejected(text: str) -> None:
    with pytest.raises(codec.Undecodable):
        codec.decode(text)


def test_deep_structures_fail_cleanly_on_encode() -> None:
    deep: list[object] = []
    for _ in range(1000):
        deep = [deep]
    with pytest.raises(codec.Unencodable):
        codec.encode(deep)
