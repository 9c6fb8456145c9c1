"""GTPO / GRPO-S (Tan et al., 2025) on TRL's GRPOTrainer: the advantages are replaced by
entropy-weighted token (or sequence) advantages, `advantages.entropy_weighted_advantages`.

The entropies are those of the policy that sampled the batch (one extra no-grad forward pass);
the loss is TRL's clipped token-level loss with these (B, T) advantages. Logged:
``gtpo/entropy`` (mean token entropy of the batch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from trl import GRPOConfig

from .advantages import entropy_weighted_advantages
from .grpo_base import ScoredGRPOTrainer


@dataclass
class GTPOConfig(GRPOConfig):
    """GRPOConfig plus GTPO's weights and level."""

    entropy_alpha1: float = field(default=1.0, metadata={"help": "Weight of the outcome reward."})
    entropy_alpha2: float = field(default=0.1, metadata={"help": "Weight of the entropy share."})
    entropy_level: str = field(default="token", metadata={"help": "'token' (GTPO) or 'sequence'."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.entropy_level not in ("token", "sequence"):
            raise ValueError(f"entropy_level must be token or sequence, got {self.entropy_level!r}")


class GTPOTrainer(ScoredGRPOTrainer):
    """GRPOTrainer with GTPO's entropy-weighted advantages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _one_process(self, "gtpo")

    @torch.no_grad()
    def _sampling_entropies(self, batch: dict[str, Any]) -> torch.Tensor:
        input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        _, entropies, _ = self._get_per_token_logps_and_entropies(
            self.model,
            input_ids,
            attention_mask,
            batch["completion_ids"].size(1),
            batch_size=self.args.per_device_train_batch_size,
            compute_entropy=True,
        )
        return entropies

    def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
        out = super()._generate_and_score_completions(inputs)
        mask = self.loss_mask(out)
        n_local = mask.size(0)
        rewards = self.combined_rewards()[self.local_slice(n_local)].to(mask.device)
        entropies = self._sampling_entropies(out).float()
        out["advantages"] = entropy_weighted_advantages(
            rewards,
            entropies,
            mask,
            self.num_generations,
            alpha1=self.args.entropy_alpha1,
            alpha2=self.args.entropy_alpha2,
            level=self.args.entropy_level,
        )
        maskf = mask.float()
        self.metric("gtpo/entropy", ((entropies * maskf).sum() / maskf.sum().clamp(min=1)).item())
        return out


def _one_process(trainer: ScoredGRPOTrainer, name: str) -> None:
    """GTPO computes its advantages from this process's rows only: refuse a multi-process run rather
    than let the replicas drift apart."""
    if trainer.accelerator.num_processes > 1:
        from .errors import TrainError

        raise TrainError(f"{name} runs on one process (got {trainer.accelerator.num_processes})")
