"""Online backends from the seed articles beyond the GRPO family: GTPO (entropy-weighted token
advantages) and TRPO (the trust-region natural-gradient step). Same contract as `online`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .errors import TrainError
from .online import OnlineAlgorithm, OnlineConfig


class GTPOSettings(OnlineConfig):
    beta: float = 0.0
    entropy_alpha1: float = Field(default=1.0, description="weight of the outcome reward")
    entropy_alpha2: float = Field(default=0.1, ge=0.0, description="weight of the entropy share")
    entropy_level: Literal["token", "sequence"] = "token"


class GTPO(OnlineAlgorithm):
    """GTPO (Tan et al., 2025): entropy-weighted token rewards, normalised per group, in GRPO's
    clipped token-level loss; ``entropy_level: sequence`` is GRPO-S."""

    name = "gtpo"
    summary = "GTPO: entropy-weighted token-level advantages (GRPO-S at sequence level)"
    Config = GTPOSettings
    trainer_path = "assay_trl.gtpo_trainer:GTPOTrainer"
    config_path = "assay_trl.gtpo_trainer:GTPOConfig"

    def fixed(self) -> dict[str, Any]:
        return {"loss_type": "dapo", "scale_rewards": "none"}


class TRPOSettings(OnlineConfig):
    num_generations: int = Field(default=4, ge=2)
    max_kl: float = Field(default=0.01, gt=0.0, description="KL radius delta of the trust region")
    cg_iters: int = Field(default=10, ge=1)
    cg_damping: float = Field(default=0.1, ge=0.0)
    max_backtracks: int = Field(default=10, ge=0)
    backtrack_ratio: float = Field(default=0.5, gt=0.0, lt=1.0)
    lora: dict[str, Any] | None = Field(
        default=None,
        description="peft LoraConfig fields (r, lora_alpha, target_modules, ...): the step "
        "then moves the adapter only",
    )
    max_trainable_params: int = Field(
        default=50_000_000,
        ge=1,
        description="refuse a natural-gradient step over more parameters (use lora)",
    )


class TRPO(OnlineAlgorithm):
    """TRPO (Schulman et al., 2015): conjugate-gradient natural-gradient step scaled to the KL
    radius, backtracking line search on the surrogate and the KL; GRPO-style group advantages."""

    name = "trpo"
    summary = "TRPO: trust-region natural-gradient step (CG + line search), small policy or LoRA"
    Config = TRPOSettings
    trainer_path = "assay_trl.trpo_trainer:TRPOTrainer"
    config_path = "assay_trl.trpo_trainer:TRPOConfig"

    def assay_fields(self) -> set[str]:
        return {"lora", "max_trainable_params"}

    def fixed(self) -> dict[str, Any]:
        # One trust-region update per generated batch, no KL-to-reference term, no optimizer.
        return {
            "scale_rewards": "group",
            "num_iterations": 1,
            "steps_per_generation": 1,
            "gradient_accumulation_steps": 1,
            "beta": 0.0,
        }

    def trainer_kwargs(self) -> dict[str, Any]:
        if self.config.lora is None:
            return {}
        try:
            from peft import LoraConfig
        except ImportError as exc:
            raise TrainError("trpo: lora needs peft: pip install 'assay-trl[peft]'") from exc

        try:
            lora = LoraConfig(**{"task_type": "CAUSAL_LM", **self.config.lora})
        except (TypeError, ValueError) as exc:
            raise TrainError(f"trpo: config.lora is not a valid peft LoraConfig: {exc}") from exc
        return {"peft_config": lora}

    def build(self, *args: Any, **kwargs: Any) -> Any:
        trainer = super().build(*args, **kwargs)
        n = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
        if n > self.config.max_trainable_params:
            raise TrainError(
                f"trpo: {n:,} trainable parameters exceed max_trainable_params "
                f"({self.config.max_trainable_params:,}); train a LoRA adapter (lora: {{r: 8}}) "
                "or raise the limit"
            )
        return trainer


TRPO_GTPO_ALGORITHMS: tuple[type[OnlineAlgorithm], ...] = (GTPO, TRPO)
