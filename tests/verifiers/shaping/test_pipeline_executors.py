"""All shaping rewards in one pipeline: same results inline, on threads and in worker processes
(the rewards pickle, jsonschema validators and lazily loaded tokenizers included)."""

from __future__ import annotations

import pickle

import pytest

import assay
from assay.models import Sample

SPEC = {
    "rewards": [
        {"use": "exact_match"},
        {"use": "think_format", "weight": 0.2},
        {"use": "tag_count", "weight": 0.1},
        {"use": "json_schema", "with": {"schema": {"type": "object"}, "tag": "answer"}},
        {
            "use": "length",
            "with": {
                "mode": "cosine",
                "max_len": 50,
                "unit": "chars",
                "correctness": "exact_match",
            },
        },
        {"use": "overlong", "with": {"max_completion_len": 6, "soft_punish_cache": 2}},
        {"use": "repetition", "penalty": True},
        {"use": "reasoning_steps"},
        {"use": "language"},
    ]
}
ROWS = [
    {
        "prompt": "q?",
        "completion": "<think>1. a\n2. b</think><answer>{}</answer>",
        "answer": "x",
        "completion_ids": [1, 2, 3],
    },
    {
        "prompt": "问题",
        "completion": "<think>我们我们我们我们</think><answer>[1]</answer>",
        "answer": "x",
        "completion_ids": [1] * 7,
    },
    {"prompt": "q?", "completion": "x", "answer": "x", "completion_ids": [4, 5, 6, 7, 8]},
    {"prompt": "q?", "completion": "no ids here", "answer": "y"},
]


def _table(results: object) -> list[tuple]:
    return [
        (r.reward, r.status, tuple(sorted((k, s.value, s.status) for k, s in r.components.items())))
        for r in results  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_executors_agree(executor: str) -> None:
    pipe = assay.load_pipeline(SPEC)
    inline = _table(pipe.score(ROWS))
    assert _table(pipe.score(ROWS, executor=executor, workers=2, chunk_size=2)) == inline
    overlong = [comps for _, _, comps in inline]
    assert ("overlong", None, "unverifiable") in overlong[3]  # no ids, no tokenizer


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("think_format", {}),
        ("tag_count", {}),
        ("json_schema", {"schema": {"required": ["a"]}}),
        ("length", {"unit": "tokens", "max_len": 3}),
        ("overlong", {}),
        ("repetition", {}),
        ("reasoning_steps", {}),
        ("language", {"section": "answer"}),
    ],
)
def test_rewards_pickle(name: str, options: dict, tokenizer_dir: str) -> None:
    if "unit" in options:
        options = {**options, "tokenizer": tokenizer_dir}
    reward = assay.get_reward(name, **options)
    rows = [Sample(prompt="p", completion='<answer>{"a": 1}</answer> the cat sat on the mat')]
    before = reward.score(rows)
    assert pickle.loads(pickle.dumps(reward)).score(rows) == before
