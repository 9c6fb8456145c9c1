"""length: target range, cosine and Kimi scaling by another reward's correctness (= TRL cosine)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import pytest

import assay
from assay.models import Sample, Score
from assay.registry import get_registry
from assay.rewards import Reward, score_batch
from assay_verifiers.shaping.length import Length, range_value


@pytest.mark.parametrize(
    ("n", "lo", "hi", "falloff", "value"),
    [
        (50, 10, 100, 0, 1.0),
        (10, 10, 100, 0, 1.0),
        (100, 10, 100, 0, 1.0),
        (101, 10, 100, 0, 0.0),
        (5, 10, 100, 0, 0.0),
        (125, 10, 100, 50, 0.5),
        (5, 10, 100, 10, 0.5),
        (500, 10, 100, 50, 0.0),
        (10**6, 0, None, 0, 1.0),  # no upper bound
    ],
)
def test_range_value(n: int, lo: int, hi: int | None, falloff: int, value: float) -> None:
    assert range_value(n, lo, hi, falloff) == pytest.approx(value)


@pytest.mark.parametrize(("unit", "value"), [("chars", 0.0), ("words", 1.0), ("tokens", 1.0)])
def test_range_units(unit: str, value: float, tokenizer_dir: str) -> None:
    reward = Length(mode="range", unit=unit, min_len=2, max_len=4, tokenizer=tokenizer_dir)
    [score] = score_batch(reward, [Sample(completion="the cat sat")])  # 11 chars, 3 words/tokens
    assert score.value == value
    assert reward.dependencies() == []


def test_range_without_token_source_is_unverifiable() -> None:
    [score] = score_batch(Length(max_len=5), [Sample(completion="abc")])
    assert score.status == "unverifiable" and "completion_ids" in score.reason


# --- cosine ---------------------------------------------------------------------------------
def _ok(v: float | None) -> Score:
    return Score.ok(v) if v is not None else Score.unverifiable("gold does not parse")


COSINE = [
    # (tokens, correct, value) with max_len=100 and the default bounds
    (0, True, 1.0),
    (50, True, 0.75),
    (100, True, 0.5),
    (250, True, 0.5),  # clamped: cos is periodic, long answers must not climb back up
    (0, False, -1.0),  # short wrong answers are penalised most
    (50, False, -0.75),
    (100, False, -0.5),
    (250, False, -0.5),
]


@pytest.mark.parametrize(("n", "correct", "value"), COSINE)
def test_cosine_table(n: int, correct: bool, value: float) -> None:
    reward = Length(mode="cosine", max_len=100)
    s = Sample(completion="x", completion_ids=[1] * n)
    [out] = reward.score_with([s], {"math": [_ok(1.0 if correct else 0.0)]})
    assert out.value == pytest.approx(value)
    assert reward.dependencies() == ["math"]


def test_cosine_unknown_correctness_is_unverifiable() -> None:
    reward = Length(mode="cosine", max_len=100, correctness="judge")
    [out] = reward.score_with([Sample(completion="x", completion_ids=[1])], {"judge": [_ok(None)]})
    assert out.status == "unverifiable" and "gold does not parse" in out.reason


def test_cosine_threshold_for_partial_credit_correctness() -> None:
    reward = Length(mode="cosine", max_len=10, unit="chars", correct_threshold=0.5)
    rows = [Sample(completion="x"), Sample(completion="x")]
    out = reward.score_with(rows, {"math": [Score.ok(0.6), Score.ok(0.4)]})
    assert out[0].details["correct"] is True and out[1].details["correct"] is False


def test_cosine_equals_trl_get_cosine_scaled_reward() -> None:
    """Same correctness verdicts (TRL's accuracy_reward) -> the same values as TRL's reward."""
    trl_rewards = pytest.importorskip("trl.rewards")
    completions = [
        [{"content": r"\boxed{\frac{1}{3}}"}],
        [{"content": r"\boxed{\frac{1}{2}}"}],
        [{"content": r"The answer is \boxed{3}"}],
        [{"content": r"\boxed{7}"}],
        [{"content": r"\boxed{3}"}],
    ]
    solution = [r"\frac{1}{3}", r"\frac{1}{3}", "$3$", "$3$", r"\invalid{"]
    ids = [[1] * 50, [1] * 50, [1] * 10, [1] * 180, [1] * 3]
    kwargs = {"min_value_wrong": -2.0, "max_value_wrong": -0.25, "min_value_correct": 0.1}
    trl = trl_rewards.get_cosine_scaled_reward(max_len=120, **kwargs)(completions, solution, ids)
    verdicts = trl_rewards.accuracy_reward(completions, solution)
    assert verdicts[:4] == [1.0, 0.0, 1.0, 0.0]  # both branches of the schedule are exercised
    reward = Length(mode="cosine", max_len=120, **kwargs)
    rows = [Sample(completion=c, completion_ids=i) for c, i in zip(completions, ids, strict=True)]
    ours = reward.score_with(rows, {"math": [_ok(v) for v in verdicts]})
    assert [o.value for o in ours] == pytest.approx(trl)
    assert ours[-1].value is None and trl[-1] is None


# --- correctness computed standalone / in a pipeline -----------------------------------------
class ContainsAnswer(Reward):
    """Asymmetric on purpose: 1.0 when the completion contains the gold answer.

    Swapping gold and completion (open-r1 #557) would change the verdicts: "the answer is 4"
    contains "4", but "4" does not contain "the answer is 4".
    """

    name = "contains_answer"

    def score(self, samples: Sequence[Sample]) -> list[float | None]:
        return [
            None if s.answer is None else float(str(s.answer) in s.completion_text) for s in samples
        ]


@pytest.fixture
def contains_answer() -> Iterator[str]:
    reg = get_registry()
    reg.add("reward", ContainsAnswer.name, ContainsAnswer, replace=True)
    yield ContainsAnswer.name
    reg.remove("reward", ContainsAnswer.name)


def test_standalone_computes_correctness_with_the_named_reward(contains_answer: str) -> None:
    reward = Length(mode="cosine", max_len=100, unit="chars", correctness=contains_answer)
    rows = [
        Sample(completion="the answer is 4", answer="4"),
        Sample(completion="4", answer="the answer is 4"),
        Sample(completion="no gold"),
    ]
    out = score_batch(reward, rows)
    assert [o.details.get("correct") for o in out] == [True, False, None]
    expected = 0.5 + 0.25 * (1 + math.cos(math.pi * 15 / 100))
    assert out[0].value == pytest.approx(expected)
    assert out[2].status == "unverifiable"


def test_pipeline_feeds_the_correctness_component(contains_answer: str) -> None:
    pipe = assay.load_pipeline(
        {
            "rewards": [
                {"use": contains_answer},
                {
                    "use": "length",
                    "weight": 0.5,
                    "with": {
                        "mode": "cosine",
                        "max_len": 20,
                        "unit": "chars",
                        "correctness": contains_answer,
                    },
                },
            ]
        }
    )
    results = pipe.score(
        [
            {"prompt": "q", "completion": "it is 4", "answer": "4"},
            {"prompt": "q", "completion": "it is 5", "answer": "4"},
        ]
    )
    right, wrong = results[0].components["length"], results[1].components["length"]
    assert right.details["correct"] is True and wrong.details["correct"] is False
    assert right.value == pytest.approx(0.5 + 0.25 * (1 + math.cos(math.pi * 7 / 20)))


def test_unknown_correctness_reward_says_so() -> None:
    reward = Length(mode="cosine", max_len=10, unit="chars", correctness="no_such_reward")
    with pytest.raises(KeyError, match="no_such_reward"):
        reward.score([Sample(completion="x")])


# --- kimi -----------------------------------------------------------------------------------
def test_kimi_group_relative_lengths() -> None:
    reward = Length(mode="kimi", unit="chars")
    rows = [Sample(prompt="p1", completion="x" * n) for n in (10, 20, 30)]
    rows += [Sample(prompt="p2", completion="y" * 5), Sample(prompt="p2", completion="y" * 5)]
    correct = [Score.ok(1.0), Score.ok(0.0), Score.ok(1.0), Score.ok(1.0), Score.ok(0.0)]
    out = reward.score_with(rows, {"math": correct})
    # group p1: lam = 0.5, 0.0, -0.5; wrong -> min(0, lam); group p2: equal lengths -> 0
    assert [o.value for o in out] == pytest.approx([0.5, 0.0, -0.5, 0.0, 0.0])


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="max_len"):
        Length(mode="cosine")
    with pytest.raises(ValueError, match="max_len must be >= min_len"):
        Length(min_len=10, max_len=5)
    with pytest.raises(ValueError, match="unit"):
        Length(unit="bytes")


def test_bad_bounds_are_rejected_in_every_mode() -> None:
    for mode in ("range", "cosine", "kimi"):
        with pytest.raises(ValueError, match="max_len must be >= min_len"):
            Length(mode=mode, min_len=20, max_len=10)
    for key in ("max_value_correct", "min_value_wrong", "correct_threshold"):
        for bad in (float("inf"), float("nan")):
            with pytest.raises(ValueError, match=key):
                Length(mode="cosine", max_len=10, **{key: bad})
    for key, bad in (("max_len", 0), ("max_len", -3), ("min_len", -1), ("falloff", -1)):
        with pytest.raises(ValueError, match=key):
            Length(**{key: bad})


def test_cosine_nan_correctness_is_unverifiable() -> None:
    reward = Length(mode="cosine", max_len=10, unit="chars")
    rows = [Sample(completion="abc"), Sample(completion="abc")]
    nan, ok = reward.score_with(rows, {"math": [_ok(math.nan), _ok(1.0)]})
    assert isinstance(nan, Score) and nan.status == "unverifiable"
    assert isinstance(ok, Score) and ok.value is not None and ok.value > 0.5
