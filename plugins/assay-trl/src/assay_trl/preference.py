"""Preference backends trained on verifier-scored samples: DPO (all TRL loss types, IPO included),
KTO, and from TRL's experimental package ORPO and SimPO.

Each round (iterative DPO, Xu et al. 2023 / Pang et al. 2024 "Iterative RPO"): the sampler draws
``k`` completions per prompt with the *current* policy, the assay pipeline scores them, best and
worst make (chosen, rejected) pairs, and the TRL trainer trains on them; for DPO and KTO the
reference model of a round is the policy at its start. With ``split_rounds`` the prompts are cut
into ``rounds`` shards, one per round, as in the seed article; otherwise every round sees all.
``trainer.assay_history`` lists per round the mean reward of the samples and the pair count, and
with ``evaluate`` a final entry scores fresh samples from the trained policy.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from .algorithm import TrainConfig, TRLAlgorithm
from .data import load_prompts
from .errors import NoPreferencePairs, TrainError
from .loading import ensure_on_disk, load_model_and_tokenizer, snapshot
from .pairs import (
    best_worst_pairs,
    judged_pairs,
    load_pair_judge,
    score_groups,
    unpaired_examples,
)
from .rewards import trl_reward_funcs

logger = logging.getLogger(__name__)


class PreferenceConfig(TrainConfig):
    """Settings of the preference backends: sampling, rounds, and the TRL trainer's own."""

    learning_rate: float = 1e-6
    max_steps: int = Field(default=-1, description="optimizer steps per round (-1: epochs)")
    num_train_epochs: float = 1.0
    beta: float = 0.1
    rounds: int = Field(default=1, ge=1, description="sample -> score -> train rounds")
    split_rounds: bool = Field(default=True, description="one shard of the prompts per round")
    k: int = Field(default=4, ge=2, description="completions sampled per prompt")
    max_new_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    sampler: Literal["transformers", "vllm"] = "transformers"
    min_margin: float = Field(default=0.0, ge=0.0, description="least best-worst reward gap")
    pair_judge: dict[str, Any] | None = Field(
        default=None,
        description="pairs from a pairwise judge ({use: pairwise_judge, with: {...}}) "
        "instead of the pipeline's best/worst; the pipeline is then optional (statistics only)",
    )
    max_length: int | None = 1024
    evaluate: bool = Field(default=True, description="score fresh samples after the last round")
    eval_prompts: int | None = Field(
        default=64, ge=1, description="prompts sampled for the final evaluation (None: all)"
    )


SAMPLING_FIELDS = frozenset(
    {
        "rounds",
        "split_rounds",
        "k",
        "max_new_tokens",
        "temperature",
        "top_p",
        "sampler",
        "min_margin",
        "pair_judge",
        "evaluate",
        "eval_prompts",
    }
)


class PreferenceAlgorithm(TRLAlgorithm):
    """Sample, score, pair, train; repeated for ``rounds``."""

    Config: ClassVar[type[TrainConfig]] = PreferenceConfig
    trainer_path: ClassVar[str] = ""
    config_path: ClassVar[str] = ""
    needs_reference: ClassVar[bool] = False
    unpaired: ClassVar[bool] = False

    def assay_fields(self) -> set[str]:
        return set(SAMPLING_FIELDS)

    def _sampler(self, model: Any, tokenizer: Any) -> Any:
        c = self.config
        opts = {
            "max_new_tokens": c.max_new_tokens,
            "temperature": c.temperature,
            "top_p": c.top_p,
            "seed": c.seed,
        }
        if c.sampler == "vllm":
            from .samplers import VLLMSampler

            return VLLMSampler(model.config._name_or_path, **opts)
        from .samplers import TransformersSampler

        return TransformersSampler(model, tokenizer, **opts)

    def _round_data(self, pairs: list[dict[str, Any]]) -> Any:
        from datasets import Dataset

        rows = unpaired_examples(pairs) if self.unpaired else pairs
        keep = (
            ("prompt", "completion", "label") if self.unpaired else ("prompt", "chosen", "rejected")
        )
        return Dataset.from_list([{k: r[k] for k in keep} for r in rows])

    def train(  # type: ignore[override]
        self,
        model: Any,
        tokenizer: Any = None,
        dataset: Any = None,
        pipeline: Any = None,
        *,
        callbacks: list[Any] | None = None,
        resume_from_checkpoint: str | bool | None = None,
    ) -> Any:
        c = self.config
        if resume_from_checkpoint:
            raise TrainError(
                f"{self.name}: resuming is for the online backends; a preference run restarts "
                "from its last round's saved model (config.output_dir/round-N)"
            )
        trainer_cls = self.load_class(self.trainer_path)
        args_cls = self.load_class(self.config_path)
        model, tokenizer = load_model_and_tokenizer(model, tokenizer, dtype=c.dtype, seed=c.seed)
        prompts = load_prompts(dataset)
        judge = load_pair_judge(c.pair_judge) if c.pair_judge else None
        if pipeline is None and judge is not None:
            funcs, weights = [], []  # judge-only: no reward statistics
        else:
            funcs, weights = trl_reward_funcs(pipeline, components=False)
        rows = [dict(r) for r in prompts]
        shards = _shards(rows, c.rounds) if c.split_rounds else [rows] * c.rounds
        out = Path(c.output_dir)
        history: list[dict[str, Any]] = []
        trainer = None
        for r, shard in enumerate(shards):
            # The policy at the start of a round: DPO/KTO's reference, and what vLLM loads.
            if self.needs_reference or c.sampler == "vllm":
                if r == 0:
                    ensure_on_disk(model, tokenizer, out / "round-0" / "reference")
                else:
                    snapshot(model, tokenizer, out / f"round-{r}" / "reference")
            sampler = self._sampler(model, tokenizer)
            completions = sampler.sample([row["prompt"] for row in shard], c.k)
            del sampler  # a vLLM engine holds GPU memory the trainer needs
            rewards = score_groups(shard, completions, funcs, weights)
            if judge is not None:
                pairs = judged_pairs(shard, completions, judge, c.min_margin)
            else:
                pairs = best_worst_pairs(shard, completions, rewards, c.min_margin)
            history.append(_round_stats(r, rewards, len(pairs), len(shard)))
            logger.info("round %d: %s", r, history[-1])
            if not pairs:
                if r == len(shards) - 1 and trainer is None:
                    raise NoPreferencePairs(
                        f"{self.name}: every prompt's {c.k} completions scored alike in every "
                        "round; raise k or temperature, or use a reward that separates them"
                    )
                continue
            kwargs = self.trl_kwargs()
            kwargs["output_dir"] = str(out / f"round-{r}") if c.rounds > 1 else str(out)
            trainer = trainer_cls(
                model=model,
                args=args_cls(**kwargs),
                train_dataset=self._round_data(pairs),
                processing_class=tokenizer,
                callbacks=callbacks,
            )
            trainer.train()
            model = trainer.model
        if c.evaluate:
            eval_rows = rows[: c.eval_prompts] if c.eval_prompts else rows
            if c.sampler == "vllm":
                snapshot(model, tokenizer, out / "final")
            sampler = self._sampler(model, tokenizer)
            completions = sampler.sample([row["prompt"] for row in eval_rows], c.k)
            rewards = score_groups(eval_rows, completions, funcs, weights)
            history.append(_round_stats("final", rewards, None, len(eval_rows)))
        trainer.assay_history = history  # type: ignore[union-attr]
        return trainer


def _shards(rows: list[dict[str, Any]], n: int) -> list[list[dict[str, Any]]]:
    size = max(1, len(rows) // n)
    shards = [rows[i * size : (i + 1) * size] for i in range(n)]
    shards[-1].extend(rows[n * size :])
    return [s for s in shards if s]


def _round_stats(
    r: int | str, rewards: list[list[float | None]], pairs: int | None, prompts: int
) -> dict[str, Any]:
    flat = [v for group in rewards for v in group if v is not None]
    stats: dict[str, Any] = {
        "round": r,
        "prompts": prompts,
        "mean_reward": sum(flat) / len(flat) if flat else None,
    }
    if pairs is not None:
        stats["pairs"] = pairs
    return stats


DPO_LOSSES = Literal[
    "sigmoid",
    "hinge",
    "ipo",
    "exo_pair",
    "nca_pair",
    "robust",
    "bco_pair",
    "sppo_hard",
    "aot",
    "apo_zero",
    "apo_down",
    "discopop",
    "sft",
    "sigmoid_norm",
]


class DPOSettings(PreferenceConfig):
    loss_type: DPO_LOSSES | list[DPO_LOSSES] = "sigmoid"
    loss_weights: list[float] | None = None
    label_smoothing: float = 0.0


class DPO(PreferenceAlgorithm):
    """DPO (Rafailov et al., 2023) on best/worst verifier-scored pairs; ``loss_type: ipo`` is IPO
    (Azar et al., 2023: squared loss to the margin 1/(2 beta)); ``rounds > 1`` is iterative DPO."""

    name = "dpo"
    summary = "DPO (+IPO and TRL's other losses), iterative, on verifier-scored pairs"
    Config = DPOSettings
    trainer_path = "trl:DPOTrainer"
    config_path = "trl:DPOConfig"
    needs_reference = True


class KTOSettings(PreferenceConfig):
    desirable_weight: float = 1.0
    undesirable_weight: float = 1.0


class KTO(PreferenceAlgorithm):
    """KTO (Ethayarajh et al., 2024): unpaired desirable / undesirable examples (each prompt's best
    and worst sample), prospect-theoretic loss against a reference KL estimate."""

    name = "kto"
    summary = "KTO: unpaired desirable/undesirable samples"
    Config = KTOSettings
    trainer_path = "trl:KTOTrainer"
    config_path = "trl:KTOConfig"
    needs_reference = True
    unpaired = True


class ORPO(PreferenceAlgorithm):
    """ORPO (Hong et al., 2024): SFT loss on chosen plus beta (lambda) times the log odds-ratio
    loss; no reference model. From ``trl.experimental.orpo``."""

    name = "orpo"
    summary = "ORPO: odds-ratio preference loss, reference-free (TRL experimental)"
    trainer_path = "trl.experimental.orpo:ORPOTrainer"
    config_path = "trl.experimental.orpo:ORPOConfig"


class SimPOSettings(PreferenceConfig):
    beta: float = 2.0
    simpo_gamma: float = 0.5


class SimPO(PreferenceAlgorithm):
    """SimPO (Meng et al., 2024): length-normalised log-likelihood margin with target margin gamma,
    no reference model. TRL's experimental CPOTrainer with ``loss_type="simpo"``, ``cpo_alpha=0``."""

    name = "simpo"
    summary = "SimPO: reference-free length-normalised margin (TRL experimental CPO)"
    Config = SimPOSettings
    trainer_path = "trl.experimental.cpo:CPOTrainer"
    config_path = "trl.experimental.cpo:CPOConfig"

    def fixed(self) -> dict[str, Any]:
        return {"loss_type": "simpo", "cpo_alpha": 0.0}


PREFERENCE_ALGORITHMS: tuple[type[PreferenceAlgorithm], ...] = (DPO, KTO, ORPO, SimPO)
