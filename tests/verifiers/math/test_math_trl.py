"""A real TRL GRPOTrainer step on a tiny in-code model, rewarded by the `math` reward through a
pipeline's TRL adapter: the ``answer`` column reaches the reward, the reward is called from
TRL's training loop, and TRL logs exactly our scores."""

from __future__ import annotations

import pytest

import assay

PROMPT = "What is 2 + 2 ?"
WORDS = ["the", "answer", "is", r"\boxed{4}", r"\boxed{5}", "4", "5", "or", "####"]


def test_grpo_step_with_the_math_reward(tmp_path, tiny_word_lm, record_reward) -> None:
    pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    from datasets import Dataset

    model, tokenizer = tiny_word_lm(WORDS)
    pipe = assay.load_pipeline({"rewards": [{"use": "math", "with": {"timeout": 2.0}}]})
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
        train_dataset=Dataset.from_dict({"prompt": [PROMPT] * 8, "answer": ["4"] * 8}),
        processing_class=tokenizer,
    )
    trainer.train()

    [(inputs, values)] = rec.calls
    assert inputs["answer"] == ["4"] * 8
    assert len(values) == 8 and all(v in (0.0, 1.0) for v in values)
    reward = assay.get_reward("math")
    try:
        direct = reward.score(
            [
                assay.Sample(prompt=p, completion=c, answer="4")
                for p, c in zip(inputs["prompts"], inputs["completions"], strict=True)
            ]
        )
    finally:
        reward.close()
    assert values == [s.value for s in direct]
    logged = trainer.state.log_history[0]
    assert logged["reward"] == pytest.approx(sum(values) / 8)
    # The adapter TRL called, on completions we choose: right, wrong, hedged, GSM8K style.
    completions = [r"the answer is \boxed{4}", r"\boxed{5}", "4 or 5", "#### 4"]
    assert fn(prompts=[PROMPT] * 4, completions=completions, answer=["4"] * 4) == [
        1.0,
        0.0,
        0.0,
        1.0,
    ]
