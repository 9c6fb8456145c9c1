"""Tagged JSON round trips keep exact types; hostile or malformed input is rejected, never run."""

from __future__ import annotations

import contextlib
import json
import math
import time
from decimal import Decimal
from fractions import Fraction

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


@pytest.mark.parametrize(
    "value",
    [
        range(2, 10, 3),
        Fraction(5, 6),
        Decimal("-1.50"),
        2**20000 + 1,
        -(2**9000),
        [Fraction(1, 3), {range(0): Decimal("NaN").is_nan()}],
    ],
    ids=["range", "fraction", "decimal", "big-int", "big-negative-int", "nested"],
)
def test_numbers_and_ranges_cross_with_their_types(value: object) -> None:
    assert codec.decode(codec.encode(value)) == value
    assert type(codec.decode(codec.encode(value))) is type(value)


def test_huge_fractions_are_rejected_in_linear_time() -> None:
    text = '{"$fraction": [{"$int": "%s"}, 3]}' % hex(1 << 300_000)  # noqa: UP031
    with pytest.raises(codec.Undecodable):
        codec.decode(text)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, complex(math.inf, math.nan)])
def test_non_finite_floats(value: object) -> None:
    text = codec.encode(value)
    assert "NaN" not in text and "Infinity" not in text  # strict JSON only
    assert _same(codec.decode(text), value)


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (object(), "object"),
        ([1, print], "builtin_function_or_method"),
        ({1: iter(range(3))}, "range_iterator"),
    ],
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


# -- bounded decoding ------------------------------------------------------------------------
P = 2**61 - 1  # ints k * P all hash to 0: a dict of them is quadratic to build


def _seconds(text: str) -> float:
    t0 = time.perf_counter()
    with contextlib.suppress(codec.Undecodable):
        codec.decode(text)
    return time.perf_counter() - t0


def _baseline(n: int) -> float:
    """Decoding as many distinct keys: what linear time looks like on this machine, now."""
    return _seconds(json.dumps({"$dict": [[i, 0] for i in range(n)]}))


@pytest.mark.parametrize(
    "tree",
    [
        {"$dict": [[i * P, 0] for i in range(40_000)]},
        {"$set": [i * P for i in range(40_000)]},
        {"$frozenset": [{"$tuple": [i * P]} for i in range(40_000)]},
        {"$dict": [[{"$float": "nan"}, i] for i in range(40_000)]},  # every NaN its own key
    ],
    ids=["dict", "set", "frozenset of tuples", "nan keys"],
)
def test_colliding_keys_are_rejected_in_linear_time(tree: object) -> None:
    # Quadratic insertion of 40,000 colliding keys takes minutes; rejected, it costs about as
    # much as decoding 40,000 ordinary keys. Compared with that, measured now: the machine is
    # shared and its speed varies.
    text = json.dumps(tree)
    with pytest.raises(codec.Undecodable, match="one hash"):
        codec.decode(text)
    assert _seconds(text) < 10 * _baseline(40_000) + 0.5


def test_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "MAX_NODES", 1000)
    with pytest.raises(codec.Undecodable, match="more than 1000 values"):
        codec.decode("[" + ",".join(["1"] * 2000) + "]")
    monkeypatch.setattr(codec, "MAX_TEXT", 100)
    with pytest.raises(codec.Undecodable, match="characters"):
        codec.decode("[" + "1," * 100 + "1]")


def test_many_distinct_keys_still_decode() -> None:
    value = {i: str(i) for i in range(50_000)} | {(i, -i): i for i in range(1000)}
    assert codec.decode(codec.encode(value)) == value


# -- helper classes ---------------------------------------------------------------------------
class Node:
    def __init__(self, val: object = 0, next: object = None) -> None:
        self.val, self.next = val, next


class Other:
    pass


def test_helper_objects_cross_with_shared_nodes_cycles_and_long_chains() -> None:
    classes = {"Node": Node}
    head = None
    for i in range(100_000):  # far past the recursion limit and MAX_DEPTH
        head = Node(i, head)
    back = codec.decode(codec.encode(head, classes), classes)
    n = 0
    while back is not None:
        assert type(back) is Node
        back, n = back.next, n + 1
    assert n == 100_000
    a = Node(1)
    a.next = a  # a cycle
    pair = codec.decode(codec.encode([a, a], classes), classes)
    assert pair[0] is pair[1] and pair[0].next is pair[0] and pair[0].val == 1


def test_only_named_classes_cross() -> None:
    with pytest.raises(codec.Unencodable, match="Other"):
        codec.encode([Other()], {"Node": Node})
    text = codec.encode(Node(1), {"Node": Node})
    with pytest.raises(codec.Undecodable, match="unknown helper class"):
        codec.decode(text, {"Other": Other})
    with pytest.raises(codec.Undecodable, match="graph"):  # without classes nothing resolves
        codec.decode(text)


# -- hostile input, generated: decoding is bounded and only ever raises Undecodable ------------
def _json_trees() -> object:
    from hypothesis import strategies as st

    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
    )
    tags = st.sampled_from(
        [
            "$tuple",
            "$set",
            "$frozenset",
            "$dict",
            "$bytes",
            "$float",
            "$complex",
            "$ref",
            "$graph",
            "$x",
        ]
    )
    return st.recursive(
        leaves,
        lambda kids: st.one_of(
            st.lists(kids, max_size=6),
            st.dictionaries(st.text(max_size=4), kids, max_size=4),
            st.builds(lambda t, v: {t: v}, tags, kids),
        ),
        max_leaves=40,
    )


def test_generated_hostile_trees_only_raise_undecodable() -> None:
    from hypothesis import given, settings

    @settings(max_examples=400, deadline=None)
    @given(_json_trees())
    def check(tree: object) -> None:
        text = json.dumps(tree)
        for classes in (None, {"Node": Node}):
            with contextlib.suppress(codec.Undecodable):
                codec.decode(text, classes)

    check()


def test_generated_collision_floods_stay_linear() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=20, deadline=None)
    @given(st.integers(2_000, 30_000), st.sampled_from(["$dict", "$set"]), st.integers(1, 50))
    def check(n: int, tag: str, spread: int) -> None:
        keys = [(i // spread) * P + (i % spread) for i in range(n)]  # ``spread`` hash values
        body = [[k, 0] for k in keys] if tag == "$dict" else keys
        text = json.dumps({tag: body})
        assert _seconds(text) < 10 * _baseline(n) + 0.5

    check()
