"""The labelled set (cases.yaml) through the real `math` reward: real sympy, real workers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

import assay

CASES = yaml.safe_load((Path(__file__).parent / "cases.yaml").read_text(encoding="utf-8"))
SETS = {
    "extraction",
    "real_endings",
    "normalisation",
    "equivalence",
    "structures",
    "choices",
    "hacking",
    "adversarial",
    "unverifiable",
}


def _sample(case: dict) -> assay.Sample:
    return assay.Sample(
        prompt=case.get("p", ""), completion=case["c"].replace("¶", "\n"), answer=case["a"]
    )


@pytest.fixture(scope="module")
def scores() -> list[assay.Score]:
    reward = assay.get_reward("math")
    try:
        return reward.score([_sample(c) for c in CASES])
    finally:
        reward.close()


def test_the_set_is_big_enough_and_covers_every_part() -> None:
    expected = Counter(str(c["e"]) for c in CASES)
    assert len(CASES) >= 300
    assert expected["0"] >= 80
    assert {c["s"] for c in CASES} == SETS
    assert all(set(c) <= {"s", "c", "a", "e", "p"} for c in CASES)


@pytest.mark.parametrize(
    "index", range(len(CASES)), ids=[f"{c['s']}-{i}" for i, c in enumerate(CASES)]
)
def test_case(index: int, scores: list[assay.Score]) -> None:
    case, score = CASES[index], scores[index]
    where = f"completion={case['c']!r} gold={case['a']!r}: {score.reason} {score.details}"
    if case["e"] == "u":
        assert score.status == "unverifiable" and score.value is None, where
    else:
        assert score.status == "ok", where
        assert score.value == float(case["e"]), where
    assert score.reason, where


def test_the_same_batch_again_comes_from_the_cache() -> None:
    reward = assay.get_reward("math")
    try:
        samples = [_sample(c) for c in CASES[:60]]
        first = reward.score(samples)
        second = reward.score(samples)
    finally:
        reward.close()
    assert [s.value for s in first] == [s.value for s in second]
    assert any(s.details.get("path") == "cache" for s in second)
