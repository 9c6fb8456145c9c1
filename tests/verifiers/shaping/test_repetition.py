"""repetition: n-gram penalty over script-aware units, words, chars or tokens (= TRL)."""

from __future__ import annotations

import random

import pytest

from assay.models import Sample
from assay.rewards import score_batch
from assay_verifiers.shaping.repetition import Repetition, repetition_penalty
from assay_verifiers.shaping.scripts import units

# (completion, options, value): value = (1 - distinct/total n-grams) * max_penalty
CASES = [
    ("the cat sat on the mat", {}, 0.0),
    ("we we we we we", {}, -2 / 3),  # 3 trigrams, 1 distinct
    ("我们我们我们我们我们", {}, -0.75),  # 10 chars: 8 trigrams, 2 distinct
    ("我们我们我们我们我们", {"unit": "words"}, 0.0),  # whitespace words are blind to Chinese
    ("今天天气很好，我们去公园散步。", {}, 0.0),
    ("猫が好きです猫が好きです猫が好きです", {}, -(1 - 6 / 16)),  # Japanese: 18 chars
    ("สวัสดีสวัสดีสวัสดี", {}, -(1 - 6 / 16)),  # Thai: 6 chars x 3
    ("The the THE the", {"ngram_size": 1}, -0.75),  # lower-cased
    ("a b", {}, 0.0),  # fewer units than n
    ("", {}, 0.0),
    ("ab ab ab", {"unit": "chars"}, -0.5),  # a,b,a,b,a,b: 4 trigrams, 2 distinct
    ("we we we we we", {"max_penalty": -0.5}, -1 / 3),
    ("ok! ok! ok! ok!", {"unit": "auto"}, -(1 - 2 / 6)),  # ok ! ok ! ...: punctuation counts
]


@pytest.mark.parametrize(("completion", "options", "value"), CASES)
def test_repetition_table(completion: str, options: dict, value: float) -> None:
    [score] = score_batch(Repetition(**options), [Sample(completion=completion)])
    assert score.value == pytest.approx(value)


def test_units_split_unspaced_scripts_per_character() -> None:
    assert units("I like 猫猫! Привет мир") == ["i", "like", "猫", "猫", "!", "привет", "мир"]
    assert units("GRPO训练") == ["grpo", "训", "练"]


def test_english_words_match_open_r1_definition() -> None:
    """open-r1's penalty uses lower-cased whitespace words; unit='words' is that definition."""
    text = "It is what it is and it is what it is"
    words = text.lower().split()
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    expected = (1 - len(set(trigrams)) / len(trigrams)) * -1.0
    [score] = score_batch(Repetition(unit="words"), [Sample(completion=text)])
    assert score.value == pytest.approx(expected)
    assert expected < 0


def test_equals_trl_repetition_penalty_on_token_ids() -> None:
    trl_rewards = pytest.importorskip("trl.rewards")
    rng = random.Random(7)
    ids = [[rng.randint(0, 5) for _ in range(rng.randint(0, 40))] for _ in range(300)]
    ids += [[1, 2, 3, 4], [5, 5, 5, 5, 5], []]
    for n, p in [(3, -1.0), (2, -1.0), (1, -0.3), (4, 0.0)]:
        trl = trl_rewards.get_repetition_penalty_reward(ngram_size=n, max_penalty=p)(ids)
        ours = Repetition(unit="tokens", ngram_size=n, max_penalty=p).score(
            [Sample(completion="", completion_ids=i) for i in ids]
        )
        assert [s.value if hasattr(s, "value") else s for s in ours] == pytest.approx(trl)


def test_tokens_from_a_tokenizer(tokenizer_dir: str) -> None:
    reward = Repetition(unit="tokens", ngram_size=2, tokenizer=tokenizer_dir)
    scores = score_batch(reward, [Sample(completion="the cat the cat the cat"), Sample()])
    assert scores[0].value == pytest.approx(-(1 - 2 / 5))
    assert scores[1].value == 0.0


def test_tokens_without_ids_or_tokenizer_are_unverifiable() -> None:
    [score] = score_batch(Repetition(unit="tokens"), [Sample(completion="a a a a")])
    assert score.status == "unverifiable"


def test_unhashable_ids_are_an_error_for_that_sample_only() -> None:
    rows = [Sample(completion_ids=[[1], [2], [3]]), Sample(completion_ids=[1, 1, 1, 1])]
    bad, good = score_batch(Repetition(unit="tokens"), rows)
    assert bad.status == "error" and "cannot be compared" in bad.reason
    assert good.value == pytest.approx(-0.5)


def test_positive_penalty_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_penalty"):
        Repetition(max_penalty=0.5)


def test_penalty_function_edges() -> None:
    assert repetition_penalty([], 3, -1.0) == 0.0
    assert repetition_penalty([1, 1], 1, -1.0) == -0.5


def test_non_finite_penalty_is_rejected() -> None:
    # -inf would make every repetitive sample -inf (and nan * 0 stays nan): a clear option error.
    for bad in (float("-inf"), float("nan")):
        with pytest.raises(ValueError, match="max_penalty"):
            Repetition(max_penalty=bad)


@pytest.mark.parametrize(
    "completion", ["", "a b", "猫", "😀😀", [{"role": "assistant", "content": None}]]
)
def test_shorter_than_n_is_zero(completion: object) -> None:
    [score] = score_batch(Repetition(), [Sample(completion=completion)])  # type: ignore[arg-type]
    assert (score.status, score.value) == ("ok", 0.0)
