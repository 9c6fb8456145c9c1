"""PPO with a value head, GAE and a clipped value loss, fed by assay rewards (TRL removed its
PPOTrainer in 1.13, and it never took Python reward functions).

Built on TRL's GRPOTrainer machinery (generation, reward functions, reference model, logging);
what differs is the advantage and an extra critic:

    r_t   = -beta * (log pi(y_t) - log pi_ref(y_t)) + [t = T] * R          (KL in the reward)
    A_t   = GAE(r, V; gamma, lam),  returns_t = A_t + V_t,  A whitened over the batch
    L     = L_clip(pi; A, epsilon) + vf_coef * 1/2 max((V - ret)^2, (V_old + clip(V - V_old, +-cv) - ret)^2)

The critic (`ValueModel`) is a copy of the policy's transformer body with a scalar head, trained by
the same optimizer (its own learning rate, ``value_learning_rate``) and saved with each checkpoint
as ``value_model.pt``. ``num_iterations`` is PPO's number of epochs over each batch.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from trl import GRPOConfig

from .advantages import gae, kl_token_rewards, whiten
from .grpo_base import ScoredGRPOTrainer


@dataclass
class PPOConfig(GRPOConfig):
    """GRPOConfig where ``beta`` is the KL coefficient in the reward, plus PPO's critic settings."""

    gamma: float = field(default=1.0, metadata={"help": "Discount factor."})
    lam: float = field(default=0.95, metadata={"help": "GAE lambda."})
    vf_coef: float = field(default=0.1, metadata={"help": "Weight of the value loss."})
    cliprange_value: float = field(
        default=0.2, metadata={"help": "Clip range of the value update."}
    )
    value_learning_rate: float | None = field(
        default=None, metadata={"help": "Critic learning rate (default: learning_rate)."}
    )
    whiten_advantages: bool = field(default=True, metadata={"help": "Whiten advantages per batch."})


class ValueModel(nn.Module):
    """A causal LM's transformer body with a scalar head: ``V(prefix)`` at every position."""

    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        prefix = getattr(policy, "base_model_prefix", "model")
        body = getattr(policy, prefix, None)
        if body is None:
            raise TypeError(
                f"{type(policy).__name__} has no `{prefix}` body to build a critic from"
            )
        self.body = copy.deepcopy(body)
        hidden = policy.config.get_text_config().hidden_size
        self.head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(hidden.to(self.head.weight.dtype)).squeeze(-1)


class PPOTrainer(ScoredGRPOTrainer):
    """PPO with a critic, GAE and a clipped value loss; configure with `PPOConfig`."""

    kl_in_reward = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        policy = self.accelerator.unwrap_model(self.model)
        self.value_model = ValueModel(policy).to(self.accelerator.device)
        self.value_model.train()

    # -- the critic trains in the trainer's own optimizer --------------------------------------
    def create_optimizer(self, model: Any = None):  # type: ignore[no-untyped-def]
        optimizer = super().create_optimizer(model)
        critic = list(self.value_model.parameters())
        if not any(p is critic[0] for group in optimizer.param_groups for p in group["params"]):
            lr = self.args.value_learning_rate or self.args.learning_rate
            optimizer.add_param_group({"params": critic, "lr": lr, "weight_decay": 0.0})
        return optimizer

    def _values(self, batch: dict[str, Any]) -> torch.Tensor:
        """V for the state before each completion token (the position whose logits predict it)."""
        p = batch["prompt_ids"].size(1)
        t = batch["completion_ids"].size(1)
        input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        values = self.value_model(input_ids, attention_mask)
        return values[:, p - 1 : p + t - 1].float()

    def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
        out = super()._generate_and_score_completions(inputs)
        mask = self.loss_mask(out)
        scores = self.combined_rewards()[self.local_slice(mask.size(0))].to(mask.device)
        scored = ~torch.isnan(scores)
        scores = torch.nan_to_num(scores, nan=0.0)
        logps = self.sampling_logps(out)
        ref = out.get("ref_per_token_logps")
        with torch.no_grad():
            values = self._values(out)
        valid = mask * scored.unsqueeze(1)
        token_rewards = kl_token_rewards(scores, logps, ref, mask, self.beta)
        advantages, returns = gae(token_rewards, values, valid, self.args.gamma, self.args.lam)
        if self.args.whiten_advantages:
            advantages = whiten(advantages, valid)
        out["advantages"] = advantages
        out["returns"] = returns
        out["old_values"] = values * valid
        out["value_mask"] = valid
        if ref is not None:
            self.metric(
                "kl_in_reward", (((logps - ref) * mask).sum() / mask.sum().clamp(min=1)).item()
            )
        return out

    def _compute_loss(self, model, inputs):  # type: ignore[no-untyped-def]
        loss = super()._compute_loss(model, inputs)
        mask = inputs["value_mask"]
        values = self._values(inputs)
        old = inputs["old_values"]
        clipped = old + (values - old).clamp(-self.args.cliprange_value, self.args.cliprange_value)
        err = torch.max((values - inputs["returns"]) ** 2, (clipped - inputs["returns"]) ** 2)
        vf_loss = 0.5 * (err * mask).sum() / mask.sum().clamp(min=1.0)
        training = self.model.training
        normalizer = self.current_gradient_accumulation_steps if training else 1.0
        clipfrac = (
            ((values - old).abs() > self.args.cliprange_value).float() * mask
        ).sum() / mask.sum().clamp(min=1.0)
        self.metric("value_loss", vf_loss.item())
        self.metric("value_clipfrac", clipfrac.item())
        return loss + self.args.vf_coef * vf_loss / normalizer

    def _save(self, output_dir: str | None = None, state_dict: Any = None) -> None:
        super()._save(output_dir, state_dict)
        output_dir = output_dir or self.args.output_dir
        torch.save(self.value_model.state_dict(), os.path.join(output_dir, "value_model.pt"))
