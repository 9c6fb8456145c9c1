"""Plackett-Luce preference optimisation (the multi-answer DPO of seed 003) on verifier scores.

Each round: sample ``k`` completions per prompt with the current policy, score them with the
pipeline, rank them (`ranking.ranked_groups`: unscorable ones dropped, ties kept as tiers), and
train `pl_trainer.PlackettLuceTrainer` on the rankings; the reference of a round is the policy at
its start (its log-probs are computed once, before training). k = 2 is DPO. Rounds, shards,
sampling and the final evaluation work as in the DPO backend (`preference`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import Field

from .data import load_prompts
from .errors import NoPreferencePairs, TrainError
from .loading import load_model_and_tokenizer, snapshot
from .pairs import score_groups
from .preference import (
    SAMPLING_FIELDS,
    PreferenceAlgorithm,
    PreferenceConfig,
    _round_stats,
    _shards,
)
from .ranking import ranked_groups
from .rewards import trl_reward_funcs

logger = logging.getLogger(__name__)


class PlackettLuceSettings(PreferenceConfig):
    tie_tolerance: float = Field(
        default=1e-6, ge=0.0, description="rewards this close to a tier's best join the tier"
    )


class PlackettLuce(PreferenceAlgorithm):
    """Plackett-Luce ranking loss with DPO's implicit reward over k verifier-ranked completions."""

    name = "plackett_luce"
    summary = "Plackett-Luce: multi-completion DPO on verifier rankings (k = 2 is DPO)"
    Config = PlackettLuceSettings

    def assay_fields(self) -> set[str]:
        return {*SAMPLING_FIELDS, "beta", "max_length", "tie_tolerance"}

    def _groups(self, tokenizer: Any, ranked: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from .pl_trainer import tokenize_completion

        out = []
        for g in ranked:
            ids = [tokenize_completion(tokenizer, g["prompt"], c) for c in g["completions"]]
            out.append(
                {
                    "prompt_ids": ids[0][0],
                    "completion_ids": [c for _, c in ids],
                    "tiers": g["tiers"],
                }
            )
        return out

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
        from datasets import Dataset
        from transformers import TrainingArguments

        from .pl_trainer import PlackettLuceCollator, PlackettLuceTrainer, add_reference_logps

        c = self.config
        if resume_from_checkpoint:
            raise TrainError(f"{self.name}: resuming is for the online backends")
        model, tokenizer = load_model_and_tokenizer(model, tokenizer, dtype=c.dtype, seed=c.seed)
        rows = [dict(r) for r in load_prompts(dataset)]
        funcs, weights = trl_reward_funcs(pipeline, components=False)
        shards = _shards(rows, c.rounds) if c.split_rounds else [rows] * c.rounds
        collator = PlackettLuceCollator(tokenizer.pad_token_id, c.max_length)
        out = Path(c.output_dir)
        history: list[dict[str, Any]] = []
        trainer = None
        for r, shard in enumerate(shards):
            if c.sampler == "vllm":
                snapshot(model, tokenizer, out / f"round-{r}" / "policy")
            sampler = self._sampler(model, tokenizer)
            completions = sampler.sample([row["prompt"] for row in shard], c.k)
            del sampler
            rewards = score_groups(shard, completions, funcs, weights)
            ranked = ranked_groups(shard, completions, rewards, c.tie_tolerance, c.min_margin)
            stats = _round_stats(r, rewards, len(ranked), len(shard))
            stats["groups"] = stats.pop("pairs")
            history.append(stats)
            logger.info("round %d: %s", r, stats)
            if not ranked:
                continue
            groups = self._groups(tokenizer, ranked)
            add_reference_logps(model, groups, collator, c.per_device_train_batch_size)
            kwargs = self.trl_kwargs()
            kwargs["output_dir"] = str(out / f"round-{r}") if c.rounds > 1 else str(out)
            kwargs["remove_unused_columns"] = False
            trainer = PlackettLuceTrainer(
                model=model,
                args=TrainingArguments(**kwargs),
                train_dataset=Dataset.from_list(groups),
                data_collator=collator,
                callbacks=callbacks,
                beta=c.beta,
            )
            trainer.train()
            model = trainer.model
        if trainer is None:
            raise NoPreferencePairs(
                f"{self.name}: no prompt's {c.k} completions could be ranked in any round (all "
                "tied or unscorable); raise k or temperature, or use a reward that separates them"
            )
        if c.evaluate:
            eval_rows = rows[: c.eval_prompts] if c.eval_prompts else rows
            if c.sampler == "vllm":
                snapshot(model, tokenizer, out / "final")
            sampler = self._sampler(model, tokenizer)
            completions = sampler.sample([row["prompt"] for row in eval_rows], c.k)
            rewards = score_groups(eval_rows, completions, funcs, weights)
            history.append(_round_stats("final", rewards, None, len(eval_rows)))
        trainer.assay_history = history  # type: ignore[attr-defined]
        return trainer
