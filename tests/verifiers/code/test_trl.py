"""A real TRL GRPOTrainer step on a tiny in-code model, rewarded by the `code` reward through a
pipeline's TRL adapter: the dataset's ``tests`` column reaches the reward, the prompt is used as
the program's prefix (HumanEval-style continuation), and TRL logs exactly our scores."""

from __future__ import annotations

import json
import warnings
from typing import Any

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


class Recorder:
    def __init__(self, fn: Any) -> None:
        self.fn, self.__name__, self.calls = fn, fn.__name__, []

    def __call__(self, **kwargs: Any) -> list[float | None]:
        out = self.fn(**kwargs)
        self.calls.append((kwargs, out))
        return out


def test_grpo_step_with_the_code_reward(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    from datasets import Dataset
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    warnings.filterwarnings("ignore")
    vocab = {"[UNK]": 0, "[PAD]": 1, "[EOS]": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(vocab), n_positions=32, n_embd=16, n_layer=1, n_head=2,
        bos_token_id=2, eos_token_id=2, pad_token_id=1,
    )  # fmt: skip
    model = GPT2LMHeadModel(config)
    pipe = assay.load_pipeline({"rewards": [{"use": "code", "with": {"partial_credit": True}}]})
    [fn] = pipe.as_trl()
    rec = Recorder(fn)
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
