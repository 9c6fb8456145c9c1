"""Fixtures shared by the verifiers' TRL tests: a tiny word-level GPT-2 built in code (no Hub)
and a recorder that keeps what TRL passed to a reward function and what it returned."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest


class Recorder:
    """Wraps a TRL reward function and keeps every call's inputs and outputs."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.__name__, self.calls = fn, fn.__name__, []
        self.weight = getattr(fn, "weight", 1.0)  # trl_weights reads it

    def __call__(self, **kwargs: Any) -> list[float | None]:
        out = self.fn(**kwargs)
        self.calls.append((kwargs, out))
        return out


@pytest.fixture
def record_reward() -> Callable[[Any], Recorder]:
    return Recorder


@pytest.fixture
def tiny_word_lm() -> Callable[..., tuple[Any, Any]]:
    """``tiny_word_lm(words, n_positions=32) -> (model, tokenizer)``: one-layer GPT-2 over a
    whitespace word vocabulary; skips when torch/transformers are missing."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    def make(words: list[str], n_positions: int = 32) -> tuple[Any, Any]:
        warnings.filterwarnings("ignore")
        vocab = {"[UNK]": 0, "[PAD]": 1, "[EOS]": 2, **{w: i + 3 for i, w in enumerate(words)}}
        tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
        )
        torch.manual_seed(0)
        config = GPT2Config(
            vocab_size=len(vocab), n_positions=n_positions, n_embd=16, n_layer=1, n_head=2,
            bos_token_id=2, eos_token_id=2, pad_token_id=1,
        )  # fmt: skip
        return GPT2LMHeadModel(config), tokenizer

    return make
