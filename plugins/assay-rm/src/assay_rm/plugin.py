"""Assay plugin entry point: registers the learned rewards (torch loads only when one scores)."""

from __future__ import annotations

from typing import Any

import assay

from .online import OnlineRewardModel
from .process import ProcessReward
from .rewards import RewardModelReward


@assay.hookimpl
def assay_register_rewards(register: Any) -> None:
    register(RewardModelReward)
    register(ProcessReward)
    register(OnlineRewardModel)
