"""Online RL backends: GRPO, Dr. GRPO, DAPO, GSPO, SAPO, RLOO, ReMax, REINFORCE++ and PPO
(GTPO and TRPO: `online_trpo_gtpo`).

Each maps to a TRL trainer (or a subclass of GRPOTrainer where TRL lacks the algorithm) with the
settings its paper prescribes; ``docs/trl.md`` has the table. All of them sample completions
with the policy, score them with an assay pipeline (``Pipeline.as_trl``), and log each reward
component per step through TRL's own logging.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from .algorithm import TrainConfig, TRLAlgorithm
from .data import load_prompts
from .loading import ensure_on_disk, load_model_and_tokenizer
from .rewards import trl_reward_funcs


class OnlineConfig(TrainConfig):
    """Settings of the sampling backends (TRL ``GRPOConfig`` names)."""

    learning_rate: float = 1e-6
    num_generations: int = Field(default=8, ge=2, description="completions per prompt (G)")
    max_completion_length: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    beta: float = Field(default=0.0, ge=0.0, description="KL coefficient to the reference model")
    epsilon: float = 0.2
    epsilon_high: float | None = None
    num_iterations: int = Field(default=1, ge=1, description="optimisation passes per batch (mu)")
    steps_per_generation: int | None = None
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    log_completions: bool = False
    log_components: bool = Field(
        default=True, description="log every pipeline component (rewards/<name>/mean)"
    )


class OnlineAlgorithm(TRLAlgorithm):
    """A backend that samples with the policy and trains with a TRL GRPO-family trainer."""

    Config: ClassVar[type[TrainConfig]] = OnlineConfig
    trainer_path: ClassVar[str] = "trl:GRPOTrainer"
    config_path: ClassVar[str] = "trl:GRPOConfig"

    def trainer_class(self) -> Any:
        return self.load_class(self.trainer_path)

    def args_class(self) -> Any:
        return self.load_class(self.config_path)

    def extra_reward_funcs(self) -> list[tuple[Any, float]]:
        """Reward functions the algorithm itself adds (e.g. DAPO's overlong penalty)."""
        return []

    def trainer_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for the trainer (e.g. TRPO's ``peft_config``)."""
        return {}

    def build(
        self,
        model: Any,
        tokenizer: Any = None,
        dataset: Any = None,
        pipeline: Any = None,
        *,
        callbacks: list[Any] | None = None,
    ) -> Any:
        """The configured TRL trainer, ready for ``.train()``."""
        c = self.config
        model, tokenizer = load_model_and_tokenizer(model, tokenizer, dtype=c.dtype, seed=c.seed)
        train_dataset = load_prompts(dataset)
        funcs, weights = trl_reward_funcs(pipeline, components=c.log_components)
        for fn, weight in self.extra_reward_funcs():
            funcs.append(fn)
            weights.append(weight)
        kwargs = self.trl_kwargs()
        kwargs.setdefault("reward_weights", weights)
        args = self.args_class()(**kwargs)
        if args.beta != 0.0:  # TRL reloads the reference model by path
            ensure_on_disk(model, tokenizer, Path(args.output_dir) / "reference")
        return self.trainer_class()(
            model=model,
            reward_funcs=funcs,
            args=args,
            train_dataset=train_dataset,
            processing_class=tokenizer,
            callbacks=callbacks,
            **self.trainer_kwargs(),
        )

    def train(  # type: ignore[override]
        self,
        model: Any,
        tokenizer: Any = None,
        dataset: Any = None,
        pipeline: Any = None,
        *,
        resume_from_checkpoint: str | bool | None = None,
        callbacks: list[Any] | None = None,
    ) -> Any:
        trainer = self.build(model, tokenizer, dataset, pipeline, callbacks=callbacks)
        trainer.train(resume_from_checkpoint=resume_from_checkpoint)
        return trainer


# -- GRPO family (TRL's GRPOTrainer) ------------------------------------------------------------


class GRPOSettings(OnlineConfig):
    beta: float = 0.04
    loss_type: Literal["grpo", "bnpo", "dr_grpo", "dapo", "cispo", "luspo", "vespo"] = "grpo"
    scale_rewards: Literal["group", "batch", "none"] = "group"


class GRPO(OnlineAlgorithm):
    """GRPO (Shao et al., 2024, DeepSeekMath): group-normalised advantages, per-sequence loss mean,
    KL to the reference in the loss (beta 0.04)."""

    name = "grpo"
    summary = "GRPO: group-relative advantages (TRL GRPOTrainer)"
    Config = GRPOSettings


class DrGRPOSettings(OnlineConfig):
    beta: float = 0.0


class DrGRPO(OnlineAlgorithm):
    """Dr. GRPO (Liu et al., 2025): no std scaling of advantages, no per-length normalisation
    (token sum over a constant), no KL."""

    name = "dr_grpo"
    summary = "Dr. GRPO: unbiased GRPO, no std / length normalisation"
    Config = DrGRPOSettings

    def fixed(self) -> dict[str, Any]:
        return {"loss_type": "dr_grpo", "scale_rewards": "none"}


class DAPOSettings(OnlineConfig):
    beta: float = 0.0
    epsilon: float = 0.2
    epsilon_high: float | None = 0.28
    mask_truncated_completions: bool = Field(
        default=True, description="overlong filtering: truncated completions leave the loss"
    )
    dynamic_sampling: bool = True
    max_num_gen_batches: int = Field(default=8, ge=1)
    overlong_buffer: int | None = Field(
        default=None,
        description="soft overlong punishment cache L_cache (None: off); penalty is linear in the "
        "last L_cache tokens before max_completion_length",
    )


class DAPO(OnlineAlgorithm):
    """DAPO (Yu et al., 2025): clip-higher (0.2 / 0.28), token-level loss, overlong filtering and
    optional soft overlong punishment, dynamic sampling, no KL."""

    name = "dapo"
    summary = "DAPO: clip-higher, token loss, overlong filtering, dynamic sampling"
    Config = DAPOSettings
    trainer_path = "assay_trl.dapo_trainer:DAPOTrainer"
    config_path = "assay_trl.dapo_trainer:DAPOConfig"

    def assay_fields(self) -> set[str]:
        return {"overlong_buffer"}

    def fixed(self) -> dict[str, Any]:
        return {"loss_type": "dapo", "scale_rewards": "group"}

    def extra_reward_funcs(self) -> list[tuple[Any, float]]:
        c = self.config
        if not c.overlong_buffer:
            return []
        from trl.rewards import get_soft_overlong_punishment

        fn = get_soft_overlong_punishment(c.max_completion_length, c.overlong_buffer)
        fn.__name__ = "overlong_penalty"
        return [(fn, 1.0)]


class GSPOSettings(OnlineConfig):
    beta: float = 0.0
    epsilon: float = 3e-4
    epsilon_high: float | None = 4e-4
    steps_per_generation: int | None = Field(
        default=2,
        description="minibatches per generated batch: GSPO's ratio differs from 1 only off-policy",
    )


class GSPO(OnlineAlgorithm):
    """GSPO (Zheng et al., 2025): sequence-level importance ratio (geometric mean of token ratios),
    tight clip range 3e-4 / 4e-4, no KL; the batch is split into minibatches so later updates are
    off-policy (on-policy the ratio is exactly 1 and GSPO equals a policy gradient)."""

    name = "gspo"
    summary = "GSPO: sequence-level importance ratios and clipping"
    Config = GSPOSettings

    def fixed(self) -> dict[str, Any]:
        return {"importance_sampling_level": "sequence", "loss_type": "grpo"}


class SAPOSettings(OnlineConfig):
    beta: float = 0.0
    sapo_temperature_pos: float = 1.0
    sapo_temperature_neg: float = 1.05
    steps_per_generation: int | None = Field(
        default=2,
        description="minibatches per generated batch: on-policy the soft gate has slope 1 at "
        "ratio 1 and SAPO equals a policy gradient",
    )


class SAPO(OnlineAlgorithm):
    """SAPO (Gao et al., 2025): a smooth sigmoid gate on the ratio instead of a hard clip, sharper
    for negative advantages (tau_neg 1.05 > tau_pos 1.0); minibatched so the gate acts."""

    name = "sapo"
    summary = "SAPO: soft adaptive (sigmoid-gated) policy optimisation"
    Config = SAPOSettings

    def fixed(self) -> dict[str, Any]:
        return {"loss_type": "sapo"}


# -- RLOO (TRL's RLOOTrainer) -------------------------------------------------------------------


class RLOOSettings(OnlineConfig):
    num_generations: int = Field(default=4, ge=2)
    beta: float = 0.05
    normalize_advantages: bool = False


class RLOO(OnlineAlgorithm):
    """RLOO (Ahmadian et al., 2024): leave-one-out baseline over k samples, KL in the reward."""

    name = "rloo"
    summary = "RLOO: REINFORCE with a leave-one-out baseline (TRL RLOOTrainer)"
    Config = RLOOSettings
    trainer_path = "trl:RLOOTrainer"
    config_path = "trl:RLOOConfig"


# -- What TRL lacks (GRPOTrainer subclasses) ------------------------------------------------------


class ReMaxSettings(OnlineConfig):
    num_generations: int = Field(default=2, ge=2)


class ReMax(OnlineAlgorithm):
    """ReMax (Li et al., 2023): REINFORCE whose baseline is the reward of the greedy completion."""

    name = "remax"
    summary = "ReMax: REINFORCE with the greedy decode's reward as baseline"
    Config = ReMaxSettings
    trainer_path = "assay_trl.remax_trainer:ReMaxTrainer"

    def fixed(self) -> dict[str, Any]:
        return {"loss_type": "dr_grpo", "scale_rewards": "none"}


class ReinforcePPSettings(OnlineConfig):
    num_generations: int = Field(default=4, ge=2)
    beta: float = Field(default=0.01, ge=0.0, description="KL coefficient in the reward")
    baseline: Literal["none", "group"] = "none"
    gamma: float = 1.0


class ReinforcePP(OnlineAlgorithm):
    """REINFORCE++ (Hu, 2025): token-level KL in the reward, batch-normalised returns, PPO clip."""

    name = "reinforce_pp"
    summary = "REINFORCE++: KL in the reward, batch-normalised advantages"
    Config = ReinforcePPSettings
    trainer_path = "assay_trl.reinforce_pp_trainer:ReinforcePPTrainer"
    config_path = "assay_trl.reinforce_pp_trainer:ReinforcePPConfig"

    def fixed(self) -> dict[str, Any]:
        return {"loss_type": "dapo", "scale_rewards": "none"}


class PPOSettings(OnlineConfig):
    num_generations: int = Field(default=2, ge=2)
    beta: float = Field(default=0.05, ge=0.0, description="KL coefficient in the reward")
    num_iterations: int = Field(default=4, ge=1, description="PPO epochs per batch")
    gamma: float = 1.0
    lam: float = 0.95
    vf_coef: float = 0.1
    cliprange_value: float = 0.2
    value_learning_rate: float | None = None
    whiten_advantages: bool = True


class PPO(OnlineAlgorithm):
    """PPO (Schulman et al., 2017; RLHF settings of Ouyang et al., 2022): critic, GAE, clipped
    policy and value losses, KL in the reward."""

    name = "ppo"
    summary = "PPO: value head, GAE, clipped value loss, KL in the reward"
    Config = PPOSettings
    trainer_path = "assay_trl.ppo_trainer:PPOTrainer"
    config_path = "assay_trl.ppo_trainer:PPOConfig"

    def fixed(self) -> dict[str, Any]:
        return {"loss_type": "dapo", "scale_rewards": "none"}


ONLINE_ALGORITHMS: tuple[type[OnlineAlgorithm], ...] = (
    GRPO,
    DrGRPO,
    DAPO,
    GSPO,
    SAPO,
    RLOO,
    ReMax,
    ReinforcePP,
    PPO,
)
