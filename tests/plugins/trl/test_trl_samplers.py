"""The transformers sampler (vLLM is registered only where it is importable: not here)."""

from __future__ import annotations

import importlib.util

import pytest

import assay
from assay_trl.samplers import TransformersSampler, samplers


def test_k_completions_per_prompt_in_order(tiny) -> None:
    model, tok = tiny
    sampler = TransformersSampler(model, tok, max_new_tokens=6, seed=0, batch_size=2)
    out = sampler.sample(["abc", "bcd", "cde"], k=3)
    assert [len(group) for group in out] == [3, 3, 3]
    assert all(isinstance(c, str) and len(c) <= 6 for group in out for c in group)


def test_seeded_sampling_is_reproducible_and_greedy_is_constant(tiny) -> None:
    model, tok = tiny
    a = TransformersSampler(model, tok, max_new_tokens=6, seed=1).sample(["abc"], k=4)
    b = TransformersSampler(model, tok, max_new_tokens=6, seed=1).sample(["abc"], k=4)
    assert a == b
    greedy = TransformersSampler(model, tok, max_new_tokens=6, temperature=0.0).sample(["abc"], k=3)
    assert len(set(greedy[0])) == 1 and len(greedy[0]) == 3


def test_sampler_restores_training_mode(tiny) -> None:
    model, tok = tiny
    model.train()
    TransformersSampler(model, tok, max_new_tokens=2).sample(["a"], k=2)
    assert model.training


def test_loads_by_name_and_rejects_bad_options(tmp_path) -> None:
    from assay_trl.tiny import save_tiny

    path = save_tiny(tmp_path / "m", alphabet="ab")
    out = TransformersSampler(str(path), max_new_tokens=3).sample(["ab"], k=2)
    assert len(out[0]) == 2
    with pytest.raises(ValueError, match="max_new_tokenz"):
        TransformersSampler(str(path), max_new_tokenz=3)
    with pytest.raises(ValueError, match="give `model`"):
        TransformersSampler()


def test_registered_samplers_match_the_machine() -> None:
    names = assay.get_registry().names("sampler")
    assert "transformers" in names
    has_vllm = importlib.util.find_spec("vllm") is not None
    assert ("vllm" in names) == has_vllm
    assert [s.name for s in samplers()] == (
        ["transformers", "vllm"] if has_vllm else ["transformers"]
    )


def test_chat_prompts_use_the_chat_template(tiny) -> None:
    model, tok = tiny
    chat = [[{"role": "user", "content": "abc"}]]
    out = TransformersSampler(model, tok, max_new_tokens=4, seed=0).sample(chat, k=2)
    text = TransformersSampler(model, tok, max_new_tokens=4, seed=0).sample(["abc"], k=2)
    assert out == text  # the tiny template renders the messages' contents
