"""Bradley-Terry training (TRL RewardTrainer) and training from verifier outcomes."""

from __future__ import annotations

from typing import Any

import pytest

import assay
from assay import Sample
from assay_rm.evaluation import outcome_ranking_accuracy, ranking_accuracy
from assay_rm.scoring import RewardModelScorer
from assay_rm.synthetic import LETTERS, preference_pairs
from assay_rm.tiny import tiny_reward_model
from assay_rm.training import (
    TrainingDataError,
    check_pairs,
    label_outcomes,
    outcome_pairs,
    train_bradley_terry,
    train_from_outcomes,
)


def test_bradley_terry_reaches_90_percent_on_held_out_pairs(trained_rm: Any, tok: Any) -> None:
    held_out = preference_pairs(300, seed=99)  # other seed: other pairs than training
    untrained = ranking_accuracy(RewardModelScorer(tiny_reward_model(tok, seed=0), tok), held_out)
    trained = ranking_accuracy(RewardModelScorer(trained_rm, tok), held_out)
    assert untrained < 0.75
    assert trained >= 0.90


def test_chat_pairs_train_and_score_alike(tok: Any) -> None:
    """Chat rows go through the chat template in training and in scoring."""
    rows = [
        {
            "prompt": [{"role": "user", "content": r["prompt"]}],
            "chosen": [{"role": "assistant", "content": r["chosen"]}],
            "rejected": [{"role": "assistant", "content": r["rejected"]}],
        }
        for r in preference_pairs(600, seed=4)
    ]
    model = tiny_reward_model(tok, seed=0)
    train_bradley_terry(model, tok, rows, epochs=3, learning_rate=5e-3)
    assert ranking_accuracy(RewardModelScorer(model, tok), rows[:200]) >= 0.85


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([], "no preference pairs"),
        ([{"chosen": "a"}], "'chosen' and 'rejected'"),
        (["ab"], "'chosen' and 'rejected'"),
        (
            [{"chosen": "a", "rejected": "b"}, {"prompt": "p", "chosen": "a", "rejected": "b"}],
            "same keys",
        ),
    ],
)
def test_check_pairs_rejects_malformed_rows(rows: list[Any], needle: str) -> None:
    with pytest.raises(TrainingDataError, match=needle):
        check_pairs(rows)


def test_outcome_pairs_compare_within_a_prompt_only() -> None:
    samples = [
        Sample(prompt="p1", completion="good"),
        Sample(prompt="p1", completion="bad"),
        Sample(prompt="p1", completion="unlabelled"),
        Sample(prompt="p2", completion="also good"),  # no contrast inside p2
        Sample(prompt="p3", completion="half"),
        Sample(prompt="p3", completion="zero"),
    ]
    values = [1.0, 0.0, None, 1.0, 0.5, 0.0]
    pairs = outcome_pairs(samples, values)
    got = sorted((p["prompt"], p["chosen"], p["rejected"]) for p in pairs)
    assert got == [("p1", "good", "bad"), ("p3", "half", "zero")]


def test_outcome_pairs_cap_and_chat_rows() -> None:
    samples = [Sample(prompt="p", completion=str(i)) for i in range(10)]
    assert len(outcome_pairs(samples, [float(i) for i in range(10)], max_pairs_per_prompt=7)) == 7
    chat = [Sample(prompt=[{"role": "user", "content": "q"}], completion=c) for c in ("a", "b")]
    (row,) = outcome_pairs(chat, [1.0, 0.0])
    assert row["chosen"] == [{"role": "assistant", "content": "a"}]
    assert row["prompt"] == [{"role": "user", "content": "q"}]


@pytest.mark.parametrize(
    "verifier",
    [
        "exact_match",
        assay.get_reward("exact_match"),
        assay.load_pipeline({"rewards": [{"use": "exact_match"}]}),
        lambda samples: [float(s.completion_text == s.answer) for s in samples],
    ],
    ids=["name", "reward", "pipeline", "callable"],
)
def test_label_outcomes_accepts_names_rewards_pipelines_and_callables(verifier: Any) -> None:
    samples = [Sample(completion="abc", answer="abc"), Sample(completion="xyz", answer="abc")]
    assert label_outcomes(samples, verifier) == [1.0, 0.0]


def test_label_outcomes_leaves_failed_verdicts_unlabelled() -> None:
    def verifier(samples: list[Sample]) -> list[Any]:
        return [assay.Score.ok(1.0), assay.Score.error("boom"), None, assay.Score.timeout("slow")]

    assert label_outcomes([Sample()] * 4, verifier) == [1.0, None, None, None]
    with pytest.raises(TrainingDataError, match="3 values for 4"):
        label_outcomes([Sample()] * 4, lambda s: [1.0] * 3)


def _policy_like_samples(n_prompts: int, k: int, seed: int) -> list[Sample]:
    import random

    rng = random.Random(seed)
    return [
        Sample(prompt=f"Q{p}: ", completion="".join(rng.choice(LETTERS) for _ in range(8)))
        for p in range(n_prompts)
        for _ in range(k)
    ]


def test_train_from_outcomes_learns_the_verifier(tok: Any) -> None:
    """A real registered verifier (regex) labels sampled completions; the RM learns its verdicts."""
    verifier = assay.get_reward("regex", pattern="a.*a")  # at least two 'a'
    train = _policy_like_samples(60, 8, seed=0)
    test = _policy_like_samples(30, 8, seed=1)
    labels = label_outcomes(test, verifier)
    groups = [s.prompt for s in test]
    model = tiny_reward_model(tok, seed=0)
    scorer = RewardModelScorer(model, tok)
    before = outcome_ranking_accuracy(scorer.score(test), labels, groups)
    train_from_outcomes(model, tok, train, verifier, epochs=4, learning_rate=5e-3)
    after = outcome_ranking_accuracy(scorer.score(test), labels, groups)
    assert before < 0.7 and after >= 0.85, (before, after)


def test_train_from_outcomes_without_contrast_says_why(tok: Any) -> None:
    samples = [Sample(prompt="p", completion="zzz")] * 4
    with pytest.raises(TrainingDataError, match="different verifier outcomes"):
        train_from_outcomes(
            tiny_reward_model(tok), tok, samples, assay.get_reward("regex", pattern="a")
        )
