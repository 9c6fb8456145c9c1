"""Job digests keep every type; Score text from the candidate always serialises."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from assay import Score
from assay_verifiers.code.digest import job_digest
from assay_verifiers.code.scoretext import serialisable

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=4), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(_VALUES)
@settings(max_examples=200, deadline=None)
def test_equal_values_share_a_digest(value: Any) -> None:
    assert job_digest("p", value) == job_digest("p", value)


@given(st.lists(st.integers(), min_size=1, max_size=6, unique=True))
@settings(max_examples=100, deadline=None)
def test_containers_of_the_same_items_have_their_own_digests(items: list[int]) -> None:
    digests = {job_digest("p", kind(items)) for kind in (list, tuple, set, frozenset)}
    assert len(digests) == 4


def test_scalars_that_compare_equal_have_their_own_digests() -> None:
    assert len({job_digest(v) for v in (1, 1.0, True, "1", 10**5000)}) == 5


def test_a_value_too_deep_to_walk_gets_a_key_of_its_own() -> None:
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    assert job_digest(deep) != job_digest(deep)  # never shared, never a crash


@given(st.text(alphabet=st.characters(), max_size=200))
@settings(max_examples=300, deadline=None)
def test_candidate_text_always_serialises(text: str) -> None:
    s = serialisable(Score.ok(0.0, text, first_failure=[text, {"k": text}]))
    s.model_dump_json()  # never raises, lone surrogates included


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    s = serialisable(Score.ok(0.0, "x\ud800y"))
    assert s.reason == "x\ufffdy"
