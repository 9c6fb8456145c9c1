"""assay-rm: learned reward models as assay rewards.

- `RewardModelReward` (``reward_model``): batched, length-sorted scoring with a
  sequence-classification model; chat-template aware; normalisation.
- `train_bradley_terry` / `train_from_outcomes`: TRL ``RewardTrainer`` on preference pairs, or
  on pairs built from verifier outcomes.
- `ranking_accuracy`, `score_report`, `drift`: held-out accuracy, calibration and drift.
- `ProcessReward` (``process_reward``), `train_process_rm`: step-level rewards.
- `OnlineRewardModel` (``online_reward_model``): updated every N policy steps from the verifier.
- `assay_rm.tiny`: tiny models and a character tokenizer built in code (tests, no Hub).

Importing this package is cheap: torch and transformers load when a model is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "OnlineRewardModel",
    "ProcessReward",
    "ProcessRewardScorer",
    "RewardModelReward",
    "RewardModelScorer",
    "aggregate",
    "drift",
    "label_outcomes",
    "outcome_pairs",
    "outcome_ranking_accuracy",
    "ranking_accuracy",
    "score_report",
    "split_steps",
    "train_bradley_terry",
    "train_from_outcomes",
    "train_process_rm",
]

_LAZY = {
    "OnlineRewardModel": "online",
    "ProcessReward": "process",
    "ProcessRewardScorer": "process",
    "aggregate": "process",
    "split_steps": "process",
    "train_process_rm": "process",
    "RewardModelReward": "rewards",
    "RewardModelScorer": "scoring",
    "drift": "evaluation",
    "outcome_ranking_accuracy": "evaluation",
    "ranking_accuracy": "evaluation",
    "score_report": "evaluation",
    "label_outcomes": "training",
    "outcome_pairs": "training",
    "train_bradley_terry": "training",
    "train_from_outcomes": "training",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'assay_rm' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .evaluation import drift, outcome_ranking_accuracy, ranking_accuracy, score_report
    from .online import OnlineRewardModel
    from .process import (
        ProcessReward,
        ProcessRewardScorer,
        aggregate,
        split_steps,
        train_process_rm,
    )
    from .rewards import RewardModelReward
    from .scoring import RewardModelScorer
    from .training import label_outcomes, outcome_pairs, train_bradley_terry, train_from_outcomes
