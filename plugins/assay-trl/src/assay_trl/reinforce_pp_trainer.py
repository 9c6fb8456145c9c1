"""REINFORCE++ (Hu, 2025) on TRL's GRPOTrainer machinery: TRL has no such trainer.

Per token, the KL to the reference is a penalty inside the reward, the sequence score is added at
the last token, and the advantage is the return, normalised over the whole batch (not per group):

    r_t = -beta * (log pi(y_t) - log pi_ref(y_t)) + [t = T] * R
    G_t = sum_{s >= t} gamma^(s-t) r_s
    A_t = (G_t - mean_batch(G)) / std_batch(G)

then PPO's clipped surrogate (``epsilon``) on the token level. ``baseline="group"`` subtracts the
group mean of ``R`` first (REINFORCE++-baseline, for several samples per prompt).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from trl import GRPOConfig

from .advantages import discounted_returns, group_mean_baseline, kl_token_rewards, whiten
from .grpo_base import ScoredGRPOTrainer


@dataclass
class ReinforcePPConfig(GRPOConfig):
    """GRPOConfig where ``beta`` is the KL coefficient *in the reward*, plus REINFORCE++'s options."""

    baseline: str = field(
        default="none", metadata={"help": "'none' or 'group' (REINFORCE++-baseline)."}
    )
    gamma: float = field(default=1.0, metadata={"help": "Discount of the token-level returns."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.baseline not in ("none", "group"):
            raise ValueError(f"baseline must be 'none' or 'group', got {self.baseline!r}")


class ReinforcePPTrainer(ScoredGRPOTrainer):
    """REINFORCE++: token-level KL in the reward, batch-normalised returns as advantages."""

    kl_in_reward = True

    def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
        out = super()._generate_and_score_completions(inputs)
        mask = self.loss_mask(out)
        n_local = mask.size(0)
        scores = self.combined_rewards()
        if self.args.baseline == "group":
            scores = group_mean_baseline(scores, self.num_generations)
        scores = scores[self.local_slice(n_local)].to(mask.device)
        scored = ~torch.isnan(scores)
        scores = torch.nan_to_num(scores, nan=0.0)
        logps = self.sampling_logps(out)
        ref = out.get("ref_per_token_logps")
        token_rewards = kl_token_rewards(scores, logps, ref, mask, self.beta)
        returns = discounted_returns(token_rewards, mask, self.args.gamma)
        valid = mask * scored.unsqueeze(1)  # unscored rows carry no signal
        out["advantages"] = whiten(returns, valid)
        if ref is not None:
            kl = ((logps - ref) * mask).sum() / mask.sum().clamp(min=1)
            self.metric("kl_in_reward", kl.item())
        return out
