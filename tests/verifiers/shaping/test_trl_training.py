"""A real TRL GRPOTrainer step on a tiny in-code model, rewarded by a shaping pipeline.

Checks what only a trainer can show: TRL's own ``completion_ids`` reach the token-based rewards
through ``pipe.as_trl()``, and each value equals TRL's built-in on those very inputs.
"""

from __future__ import annotations

import pytest

import assay
from assay.adapters import trl_weights

WORDS = [
    "the",
    "a",
    "cat",
    "sat",
    "on",
    "mat",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "4",
    "2",
    "+",
    "=",
]


def test_grpo_step_feeds_completion_ids_to_overlong_and_repetition(
    tmp_path, tiny_word_lm, record_reward
) -> None:
    pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    from datasets import Dataset
    from trl.rewards import get_repetition_penalty_reward, get_soft_overlong_punishment

    model, tokenizer = tiny_word_lm(WORDS, n_positions=64)
    pipe = assay.load_pipeline(
        {
            "rewards": [
                {"use": "overlong", "with": {"max_completion_len": 8, "soft_punish_cache": 4}},
                {"use": "repetition", "with": {"unit": "tokens", "ngram_size": 2}},
                {"use": "tag_count"},
            ]
        }
    )
    funcs = [record_reward(f) for f in pipe.as_trl(components=True)]
    args = trl.GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        max_steps=1,
        report_to=[],
        logging_steps=1,
        use_cpu=True,
        save_strategy="no",
        reward_weights=trl_weights(funcs),
    )
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=Dataset.from_dict({"prompt": ["2 + 2 ="] * 4}),
        processing_class=tokenizer,
    )
    trainer.train()

    by_name = {f.__name__: f for f in funcs}
    [(inputs, overlong)] = by_name["pipeline/overlong"].calls
    ids = inputs["completion_ids"]
    assert len(ids) == 4 and all(isinstance(i, int) for seq in ids for i in seq)
    assert overlong == pytest.approx(get_soft_overlong_punishment(8, 4)(ids))
    [(_, repetition)] = by_name["pipeline/repetition"].calls
    assert repetition == pytest.approx(get_repetition_penalty_reward(2, -1.0)(ids))
    logged = trainer.state.log_history[0]
    assert logged["rewards/pipeline/overlong/mean"] == pytest.approx(sum(overlong) / 4)
    [(_, combined)] = by_name["pipeline"].calls  # components weigh 0: counted once
    assert logged["reward"] == pytest.approx(sum(combined) / 4)
