"""`ScoredGRPOTrainer`: TRL's GRPOTrainer plus the hooks the extra algorithms need.

- the rewards of the last scored batch are kept (``combined_rewards``: TRL's weighted sum, NaN
  where no reward applied), so a subclass can recompute advantages from them;
- `kl_in_reward`: TRL's ``beta`` makes it load the reference model and compute reference log-probs;
  a subclass that sets ``kl_in_reward = True`` moves that KL from the loss into the reward
  (REINFORCE++, PPO) and the loss runs with ``beta = 0``;
- `sampling_logps`: the policy's log-probs of the sampled tokens, computed when TRL skipped them.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import torch
from trl import GRPOTrainer


class ScoredGRPOTrainer(GRPOTrainer):
    """GRPOTrainer that remembers the rewards it computed and can move the KL into the reward."""

    kl_in_reward: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_rewards_per_func: torch.Tensor | None = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):  # type: ignore[no-untyped-def]
        out = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._last_rewards_per_func = out
        return out

    def combined_rewards(self, rewards_per_func: torch.Tensor | None = None) -> torch.Tensor:
        """TRL's weighted sum of the reward functions (all gathered rows); NaN where none applied."""
        rpf = self._last_rewards_per_func if rewards_per_func is None else rewards_per_func
        if rpf is None:
            raise RuntimeError("no rewards computed yet")
        weights = self.reward_weights.to(rpf.device).unsqueeze(0)
        rewards = (rpf * weights).nansum(dim=1)
        rewards[torch.isnan(rpf).all(dim=1)] = torch.nan
        return rewards

    def local_slice(self, n_local: int) -> slice:
        """This process's rows of a gathered tensor."""
        i = self.accelerator.process_index
        return slice(i * n_local, (i + 1) * n_local)

    @contextmanager
    def _beta_off(self):  # type: ignore[no-untyped-def]
        saved = self.beta
        self.beta = 0.0
        try:
            yield
        finally:
            self.beta = saved

    def _compute_loss(self, model, inputs):  # type: ignore[no-untyped-def]
        if not self.kl_in_reward:
            return super()._compute_loss(model, inputs)
        with self._beta_off():  # the KL is already in the advantages
            return super()._compute_loss(model, inputs)

    @torch.no_grad()
    def sampling_logps(self, batch: dict[str, Any]) -> torch.Tensor:
        """Log-probs of the completion tokens under the policy that sampled them."""
        if batch.get("old_per_token_logps") is not None:
            return batch["old_per_token_logps"]
        input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        logps, _, _ = self._get_per_token_logps_and_entropies(
            self.model,
            input_ids,
            attention_mask,
            batch["completion_ids"].size(1),
            batch_size=self.args.per_device_train_batch_size,
        )
        return logps

    def loss_mask(self, batch: dict[str, Any]) -> torch.Tensor:
        mask = batch["completion_mask"]
        return mask * batch["tool_mask"] if "tool_mask" in batch else mask

    def metric(self, name: str, value: float) -> None:
        mode = "train" if self.model.training else "eval"
        self._metrics[mode][name].append(float(value))
