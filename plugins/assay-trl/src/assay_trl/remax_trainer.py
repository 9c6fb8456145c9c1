"""ReMax (Li et al., 2023) on TRL's GRPOTrainer machinery: the baseline of a sampled completion is
the reward of the greedy completion of the same prompt.

    A_i = R(x, y_i) - R(x, y_greedy)

The greedy decode is one extra ``generate`` per prompt (``do_sample=False``) with the current
policy, scored by the same reward functions; no reward scaling. Logged: ``remax/greedy_reward``.
"""

from __future__ import annotations

from typing import Any

import torch
from trl.data_utils import is_conversational

from .grpo_base import ScoredGRPOTrainer


class ReMaxTrainer(ScoredGRPOTrainer):
    """GRPOTrainer whose advantage is the reward minus the reward of the greedy completion."""

    @torch.no_grad()
    def _greedy(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor) -> list[list[int]]:
        """Greedy completion ids (cut after the first end-of-sequence token) for each prompt."""
        model = self.accelerator.unwrap_model(self.model)
        was_training = model.training
        model.eval()
        try:
            generated = model.generate(
                input_ids=prompt_ids,
                attention_mask=prompt_mask,
                do_sample=False,
                max_new_tokens=self.max_completion_length,
                pad_token_id=self._tokenizer.pad_token_id,
                eos_token_id=self.eos_token_ids,
            )
        finally:
            model.train(was_training)
        out = []
        for row in generated[:, prompt_ids.size(1) :].tolist():
            ids = []
            for tok in row:
                ids.append(tok)
                if tok in self.eos_token_ids:
                    break
            out.append(ids)
        return out

    def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
        out = super()._generate_and_score_completions(inputs)
        g = self.num_generations
        rewards = self.combined_rewards()
        firsts = list(range(0, len(inputs), g))
        group_inputs: list[dict[str, Any]] = [inputs[i] for i in firsts]
        prompts = [x["prompt"] for x in group_inputs]
        idx = torch.tensor(firsts, device=out["prompt_ids"].device)
        greedy_ids = self._greedy(out["prompt_ids"][idx], out["prompt_mask"][idx])
        texts = self._tokenizer.batch_decode(greedy_ids, skip_special_tokens=True)
        if is_conversational({"prompt": prompts[0]}):
            completions: list[Any] = [[{"role": "assistant", "content": t}] for t in texts]
        else:
            completions = texts
        greedy_rpf = self._calculate_rewards(group_inputs, prompts, completions, greedy_ids)
        baseline = torch.nan_to_num(self.combined_rewards(greedy_rpf), nan=0.0)
        advantages = rewards - baseline.repeat_interleave(g)
        advantages = torch.nan_to_num(advantages, nan=0.0)
        n_local = out["completion_ids"].size(0)
        out["advantages"] = advantages[self.local_slice(n_local)].to(out["completion_ids"].device)
        self.metric("remax/greedy_reward", baseline.mean().item())
        return out
