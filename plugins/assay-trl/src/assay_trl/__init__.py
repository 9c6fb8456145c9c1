"""Assay training backends on TRL: online RL (GRPO, Dr. GRPO, DAPO, GSPO, SAPO, RLOO, ReMax,
REINFORCE++, PPO, GTPO, TRPO), preference optimisation on verifier-scored samples (DPO/IPO, KTO,
ORPO, SimPO, Plackett-Luce), fine-tuning on verified samples (STaR, RFT), a transformers/vLLM
sampler, and ``assay train``.

>>> from assay_trl import get_algorithm
>>> algo = get_algorithm("grpo", learning_rate=1e-6, max_steps=10)
>>> algo.config.beta
0.04

Importing this package is cheap; TRL and torch load when a backend builds its trainer.
"""

from __future__ import annotations

from typing import Any

from .algorithm import TrainConfig, TRLAlgorithm
from .online import (
    DAPO,
    GRPO,
    GSPO,
    ONLINE_ALGORITHMS,
    PPO,
    RLOO,
    SAPO,
    DrGRPO,
    OnlineAlgorithm,
    OnlineConfig,
    ReinforcePP,
    ReMax,
)
from .online_trpo_gtpo import GTPO, TRPO, TRPO_GTPO_ALGORITHMS
from .plackett_luce import PlackettLuce
from .preference import DPO, KTO, ORPO, PREFERENCE_ALGORITHMS, PreferenceAlgorithm, SimPO
from .samplers import TransformersSampler, VLLMSampler
from .self_training import RFT, SELF_TRAINING_ALGORITHMS, SelfTrainingAlgorithm, STaR

__all__ = [
    "ALGORITHMS",
    "DAPO",
    "DPO",
    "GRPO",
    "GSPO",
    "GTPO",
    "KTO",
    "ORPO",
    "PPO",
    "RFT",
    "RLOO",
    "SAPO",
    "TRPO",
    "DrGRPO",
    "OnlineAlgorithm",
    "OnlineConfig",
    "PlackettLuce",
    "PreferenceAlgorithm",
    "ReMax",
    "ReinforcePP",
    "STaR",
    "SelfTrainingAlgorithm",
    "SimPO",
    "TRLAlgorithm",
    "TrainConfig",
    "TransformersSampler",
    "VLLMSampler",
    "get_algorithm",
]

ALGORITHMS: dict[str, type[TRLAlgorithm]] = {
    cls.name: cls
    for cls in (
        *ONLINE_ALGORITHMS,
        *TRPO_GTPO_ALGORITHMS,
        *PREFERENCE_ALGORITHMS,
        PlackettLuce,
        *SELF_TRAINING_ALGORITHMS,
    )
}


def get_algorithm(name: str, config: Any = None, **overrides: Any) -> TRLAlgorithm:
    """A backend of this plugin by name, configured (``config`` dict and/or keyword overrides)."""
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        raise KeyError(
            f"no algorithm {name!r} in assay-trl; known: {', '.join(ALGORITHMS)}"
        ) from None
    return cls(config, **overrides)
