"""TRPO (Schulman et al., 2015) on TRL's GRPOTrainer machinery: generation, assay rewards and
group-relative advantages come from TRL; the update is the trust-region step of
`assay_trl.trust_region` instead of an optimizer step.

Per generated batch (one update per batch, on-policy):

    L(theta)  = sum_t m_t * exp(log pi_theta(y_t) - log pi_old(y_t)) * A_t / sum_t m_t
    KL(theta) = sum_t m_t * KL(pi_old(.|s_t) || pi_theta(.|s_t)) / sum_t m_t   (full vocabulary)

g = grad L; x = CG(F, g) with F v = grad (grad KL . v) + damping v; step sqrt(2 delta / x^T F x) x;
backtracking until L improves and KL <= delta (else no update). Only parameters with
``requires_grad`` move, so with a LoRA ``peft_config`` the step is over the adapter alone.
Every step's outcome is kept in ``trainer.trpo_steps`` and logged as ``trpo/*``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from trl import GRPOConfig

from .grpo_base import ScoredGRPOTrainer
from .trust_region import StepResult, trust_region_step


@dataclass
class TRPOConfig(GRPOConfig):
    """GRPOConfig plus the trust-region settings (the optimizer and learning rate are unused)."""

    max_kl: float = field(default=0.01, metadata={"help": "KL radius delta of the trust region."})
    cg_iters: int = field(default=10, metadata={"help": "Conjugate-gradient iterations."})
    cg_damping: float = field(default=0.1, metadata={"help": "Damping added to the Fisher matrix."})
    max_backtracks: int = field(default=10, metadata={"help": "Line-search halvings."})
    backtrack_ratio: float = field(default=0.5, metadata={"help": "Line-search shrink factor."})


class TRPOTrainer(ScoredGRPOTrainer):
    """GRPO-style sampling and advantages, TRPO's natural-gradient trust-region update."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _one_process(self, "trpo")
        self.trpo_steps: list[StepResult] = []

    def _completion_logprobs(self, model: Any, batch: dict[str, Any]) -> torch.Tensor:
        """Log-softmax over the vocabulary (temperature-scaled, as sampled) at each completion
        position: shape (B, T, V)."""
        t = batch["completion_ids"].size(1)
        input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        # The Fisher-vector product differentiates twice: fused attention kernels (flash,
        # memory-efficient) have no double backward, the math kernel does.
        with sdpa_kernel(SDPBackend.MATH):
            logits = model(
                input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=t + 1
            ).logits
        logits = logits[:, :-1, :].float() / self.temperature
        return torch.log_softmax(logits, dim=-1)

    def training_step(self, model, inputs, num_items_in_batch=None):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        batch = self._prepare_inputs(inputs)
        mask = self.loss_mask(batch).float()
        n_tokens = mask.sum().clamp(min=1.0)
        advantages = batch["advantages"]
        if advantages.dim() == 1:
            advantages = advantages.unsqueeze(1)
        tokens = batch["completion_ids"].unsqueeze(-1)
        with torch.no_grad():
            old_all = self._completion_logprobs(model, batch)
        old_tokens = old_all.gather(-1, tokens).squeeze(-1)
        old_probs = old_all.exp()

        def surrogate_and_kl(grad: bool) -> tuple[torch.Tensor, torch.Tensor]:
            with torch.set_grad_enabled(grad):
                new_all = self._completion_logprobs(model, batch)
                ratio = torch.exp(new_all.gather(-1, tokens).squeeze(-1) - old_tokens)
                surrogate = (ratio * advantages * mask).sum() / n_tokens
                kl_tokens = (old_probs * (old_all - new_all)).sum(-1)
                kl = (kl_tokens * mask).sum() / n_tokens
            return surrogate, kl

        params = [p for p in model.parameters() if p.requires_grad]
        args = self.args
        result = trust_region_step(
            params,
            surrogate_and_kl,
            delta=args.max_kl,
            cg_iters=args.cg_iters,
            damping=args.cg_damping,
            max_backtracks=args.max_backtracks,
            backtrack_ratio=args.backtrack_ratio,
        )
        self.trpo_steps.append(result)
        for key in ("kl", "tried_kl", "surrogate_gain", "expected_gain", "fraction", "cg_residual"):
            self.metric(f"trpo/{key}", getattr(result, key))
        self.metric("trpo/accepted", float(result.accepted))
        self.metric("trpo/backtracks", float(result.backtracks))
        self._step += 1
        self._metrics["train"]["step_time"].append(time.perf_counter() - started)
        return torch.tensor(-result.surrogate_gain, device=mask.device)


def _one_process(trainer: ScoredGRPOTrainer, name: str) -> None:
    """TRPO computes its update on this process's rows only: refuse a multi-process run rather
    than let the replicas drift apart."""
    if trainer.accelerator.num_processes > 1:
        from .errors import TrainError

        raise TrainError(f"{name} runs on one process (got {trainer.accelerator.num_processes})")
