"""A real TRL GRPOTrainer step on a tiny in-code model, rewarded by the `code` reward through a
pipeline's TRL adapter: the dataset's ``tests`` column reaches the reward, the prompt is used as
the program's prefix (HumanEval-style continuation), and TRL logs exactly our scores."""

from __future__ import annotations

import json

import pytest

import assay
from assay import Sample

PROMPT = "def add(a, b):\n    return"
TESTS = json.dumps(
    {
        "type": "check",
        "check": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(5, 0) == 5\n",
        "entry_point": "add",
    }
)
WORDS = ["a", "b", "+", "-", "*", "0", "1", "def", "add(a,", "b):", "return"]


def test_grpo_step_with_the_code_reward(tmp_path, tiny_word_lm, record_reward) -> None:
    pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    from datasets import Dataset

    model, tokenizer = tiny_word_lm(WORDS)
    pipe = assay.load_pipeline({"rewards": [{"use": "code", "with": {"partial_credit": True}}]})
    [fn] = pipe.as_trl()
    rec = record_reward(fn)
    args = trl.GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=8, num_generations=8,
        max_completion_length=4, max_steps=1, report_to=[], logging_steps=1, use_cpu=True,
        save_strategy="no", temperature=1.0,
    )  # fmt: skip
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=[rec],
        args=args,
        train_dataset=Dataset.from_dict({"prompt": [PROMPT] * 8, "tests": [TESTS] * 8}),
        processing_class=tokenizer,
    )
    trainer.train()

    [(inputs, values)] = rec.calls
    assert inputs["tests"] == [TESTS] * 8
    assert len(values) == 8 and all(v is not None for v in values)
    # The same completions scored directly give the same values.
    reward = assay.get_reward("code", partial_credit=True)
    try:
        direct = reward.score(
            [
                Sample(prompt=p, completion=c, tests=TESTS)
                for p, c in zip(inputs["prompts"], inputs["completions"], strict=True)
            ]
        )
    finally:
        reward.close()
    assert values == [s.value for s in direct]
    assert all(s.details.get("extraction") == "continuation" for s in direct if s.value)
    logged = trainer.state.log_history[0]
    assert logged["reward"] == pytest.approx(sum(values) / 8)
    # The adapter TRL called, on completions we choose: a right, a wrong and a broken one.
    assert fn(
        prompts=[PROMPT] * 3, completions=[" a + b", " a * b", " a +"], tests=[TESTS] * 3
    ) == [
        1.0,
        0.0,
        0.0,
    ]
