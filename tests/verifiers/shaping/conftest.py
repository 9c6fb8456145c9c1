"""Shared fixtures for the shaping tests: a tiny word-level tokenizer built in code (no Hub)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.models import Sample

VOCAB_WORDS = [
    "the",
    "a",
    "cat",
    "sat",
    "on",
    "mat",
    "dog",
    "ran",
    "far",
    "step",
    "one",
    "two",
    "three",
    "<think>",
    "</think>",
    "猫",
]


def build_tokenizer(directory: Path) -> str:
    """Save a whitespace word-level fast tokenizer to ``directory`` and return its path."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(VOCAB_WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    fast.save_pretrained(str(directory))
    return str(directory)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_tokenizer(tmp_path_factory.mktemp("tiny_tokenizer"))


def samples(*completions: str, **fields: object) -> list[Sample]:
    return [Sample(completion=c, **fields) for c in completions]  # type: ignore[arg-type]
