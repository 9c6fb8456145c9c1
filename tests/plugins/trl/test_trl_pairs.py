"""Preference pairs from verifier scores: best vs worst per prompt, ties skipped."""

from __future__ import annotations

import math

import pytest

from assay_trl.pairs import best_worst_pairs, combine, score_groups, unpaired_examples
from assay_trl.rewards import trl_reward_funcs


@pytest.mark.parametrize(
    ("values", "weights", "expected"),
    [
        ([1.0, 0.5], [1.0, 0.2], 1.1),
        ([None, 0.5], [1.0, 2.0], 1.0),
        ([None, None], [1.0, 1.0], None),
        ([math.nan, 2.0], [1.0, 1.0], 2.0),
        ([1.0, 7.0], [1.0, 0.0], 1.0),
    ],
)
def test_combine(values, weights, expected) -> None:
    assert combine(values, weights) == (pytest.approx(expected) if expected is not None else None)


def test_score_groups_with_a_real_pipeline() -> None:
    funcs, weights = trl_reward_funcs("char_fraction", components=False)
    rows = [{"prompt": "ab"}, {"prompt": "cd"}]
    completions = [["aa", "ab", "bb"], ["a", ""]]
    assert score_groups(rows, completions, funcs, weights) == [[1.0, 0.5, 0.0], [1.0, 0.0]]


def test_score_groups_passes_dataset_columns() -> None:
    funcs, weights = trl_reward_funcs("exact_match", components=False)
    rows = [{"prompt": "q1", "answer": "yes"}, {"prompt": "q2", "answer": "no"}]
    out = score_groups(rows, [["yes", "no"], ["yes", "no"]], funcs, weights)
    assert out == [[1.0, 0.0], [0.0, 1.0]]


def test_best_worst_pairs_skip_ties_and_unscored() -> None:
    rows = [{"prompt": "p1"}, {"prompt": "p2"}, {"prompt": "p3"}, {"prompt": "p4"}]
    completions = [["x", "y", "z"], ["u", "v"], ["s", "t"], ["m", "n"]]
    rewards = [[0.2, 0.9, 0.1], [0.5, 0.5], [None, 1.0], [0.3, 0.35]]
    pairs = best_worst_pairs(rows, completions, rewards, min_margin=0.1)
    assert pairs == [
        {
            "prompt": "p1",
            "chosen": "y",
            "rejected": "z",
            "chosen_reward": 0.9,
            "rejected_reward": 0.1,
        }
    ]
    assert len(best_worst_pairs(rows, completions, rewards, min_margin=0.0)) == 2  # p1 and p4


def test_chat_prompts_get_assistant_messages() -> None:
    prompt = [{"role": "user", "content": "hi"}]
    pairs = best_worst_pairs([{"prompt": prompt}], [["good", "bad"]], [[1.0, 0.0]])
    assert pairs[0]["chosen"] == [{"role": "assistant", "content": "good"}]
    assert pairs[0]["rejected"] == [{"role": "assistant", "content": "bad"}]


def test_unpaired_examples_for_kto() -> None:
    pairs = [{"prompt": "p", "chosen": "c", "rejected": "r"}]
    assert unpaired_examples(pairs) == [
        {"prompt": "p", "completion": "c", "label": True},
        {"prompt": "p", "completion": "r", "label": False},
    ]
