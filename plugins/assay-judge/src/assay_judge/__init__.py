"""assay-judge: LLM-as-judge rewards for Assay.

- `JudgeReward` (``judge``): grades a sample against a rubric given as data (weighted pass/fail
  and ordinal criteria, or Likert) with a model behind an OpenAI-compatible endpoint; limits,
  retries, per-sample deadlines, a persistent SQLite cache, self-consistency, a cross-check.
- `PairwiseJudge` (``pairwise_judge``): which of two completions is better, asked in both orders.
- `calibration`: agreement of a judge with human labels (``assay judge calibrate``).
- `assay_judge.testing.ScriptedChatServer`: a loopback chat-completions server for tests.

Importing this package is cheap: the classes load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Criterion",
    "JudgeReward",
    "PairwiseJudge",
    "Rubric",
    "RubricError",
    "VerdictCache",
    "agreement",
    "load_rubric",
]

_LAZY = {
    "Criterion": "rubric",
    "Rubric": "rubric",
    "RubricError": "rubric",
    "load_rubric": "rubric",
    "JudgeReward": "reward",
    "PairwiseJudge": "pairwise",
    "VerdictCache": "cache",
    "agreement": "calibration",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'assay_judge' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .cache import VerdictCache
    from .calibration import agreement
    from .pairwise import PairwiseJudge
    from .reward import JudgeReward
    from .rubric import Criterion, Rubric, RubricError, load_rubric
