"""Fixtures of the assay-trl tests: a tiny in-code model, the toy task, fast trainer settings.

Torch runs on one intra-op thread here: the models are tiny, and on a shared 2-core machine
more threads only contend (a step went from ~40 ms to over a second under load). No module of
this folder imports torch at collection time, so the tests of other folders that run before these
do not run in a process that has loaded it.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

ALPHABET = "abcdefgh"


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    """One intra-op thread, set when the first test of this folder runs (torch is not imported
    while pytest collects, so other folders' tests never run in a process that loaded it)."""
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", module="trl")
    logging.getLogger("transformers").setLevel(logging.ERROR)


@pytest.fixture
def tiny() -> tuple[Any, Any]:
    from assay_trl.tiny import tiny_model_and_tokenizer

    return tiny_model_and_tokenizer(ALPHABET, seed=0)


@pytest.fixture
def toy_data() -> list[str]:
    from assay_trl.toy import toy_prompts

    return toy_prompts(64, ALPHABET)


def _online_settings(tmp_path: Any, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "output_dir": str(tmp_path / "out"),
        "learning_rate": 1e-2,
        "max_steps": 4,
        "per_device_train_batch_size": 16,
        "num_generations": 4,
        "max_completion_length": 8,
        "save_strategy": "no",
        "trl": {"disable_tqdm": True},
    }
    settings.update(overrides)
    return settings


def _logged(trainer: Any, key: str) -> list[float]:
    return [h[key] for h in trainer.state.log_history if key in h]


@pytest.fixture
def online_settings(tmp_path: Any) -> Callable[..., dict[str, Any]]:
    """``online_settings(**overrides)``: small, fast settings for the online backends."""
    return lambda **overrides: _online_settings(tmp_path, **overrides)


@pytest.fixture
def logged() -> Callable[[Any, str], list[float]]:
    """``logged(trainer, key)``: every logged value of ``key``, in step order."""
    return _logged
