"""Fixtures for the assay-rm tests: a character tokenizer and tiny models built in code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("assay_rm")


@pytest.fixture(scope="session")
def tok() -> Any:
    from assay_rm.tiny import char_tokenizer

    return char_tokenizer()


@pytest.fixture(scope="module")
def trained_rm(tok: Any, _one_torch_thread: None) -> Any:
    """A tiny reward model trained (TRL RewardTrainer) on the synthetic preference task."""
    from assay_rm.synthetic import preference_pairs
    from assay_rm.tiny import tiny_reward_model
    from assay_rm.training import train_bradley_terry

    model = tiny_reward_model(tok, seed=0)
    train_bradley_terry(
        model, tok, preference_pairs(1000, seed=1), epochs=4, learning_rate=5e-3, batch_size=16
    )
    return model


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from intra-op threads, and on a shared 2-core machine torch's
    spinning worker threads slow training several-fold; restored after this directory's tests."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
