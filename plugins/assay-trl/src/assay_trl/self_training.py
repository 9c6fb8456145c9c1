"""Fine-tuning on the policy's own verified samples: STaR and RFT (TRL's ``SFTTrainer``).

- ``star`` (Zelikman et al., 2022; seed 002, section 7.2): each round samples with the latest
  model, keeps the completions the verifier accepts, and for the prompts with none accepted
  *rationalises*: samples again with the answer given as a hint (``hint_template``), keeping those
  the verifier accepts *as answers to the original prompt*, which is what they are trained on.
  The round then fine-tunes **the base model** on everything kept that round (the paper restarts
  from the base each iteration to avoid overfitting; ``from_base: false`` continues instead).
- ``rft`` (Yuan et al., 2023; seed 004, section 6.2): rejection-sampling fine-tuning. Offline
  (default): sample ``k`` per prompt once from the initial model, keep distinct accepted
  completions, fine-tune. ``online: true`` (Online RFT): every round re-samples from the current
  policy and continues training it.

``trainer.assay_history`` lists per round the sample mean reward, accepted and rationalised counts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from .algorithm import TrainConfig, TRLAlgorithm
from .data import load_prompts
from .errors import DatasetError, NoAcceptedSamples, TrainError
from .filtering import accepted_examples, with_hint
from .loading import ensure_on_disk, load_model_and_tokenizer, snapshot
from .pairs import score_groups
from .preference import _round_stats
from .rewards import trl_reward_funcs

logger = logging.getLogger(__name__)

SELF_TRAINING_FIELDS = frozenset(
    {
        "rounds",
        "k",
        "max_new_tokens",
        "temperature",
        "top_p",
        "sampler",
        "accept_threshold",
        "per_prompt",
        "evaluate",
        "eval_prompts",
        "rationalize",
        "hint_column",
        "hint_template",
        "from_base",
        "online",
    }
)


class SelfTrainingConfig(TrainConfig):
    """Sampling, acceptance, rounds, and ``SFTConfig`` names for the fine-tuning."""

    learning_rate: float = 1e-5
    max_steps: int = Field(default=-1, description="optimizer steps per round (-1: epochs)")
    num_train_epochs: float = 1.0
    rounds: int = Field(default=1, ge=1, description="sample -> filter -> fine-tune rounds")
    k: int = Field(default=4, ge=1, description="completions sampled per prompt")
    max_new_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    sampler: Literal["transformers", "vllm"] = "transformers"
    accept_threshold: float = Field(
        default=1.0, description="least combined reward of an accepted completion"
    )
    per_prompt: int | None = Field(
        default=None, ge=1, description="most accepted completions kept per prompt (None: all)"
    )
    max_length: int | None = 1024
    evaluate: bool = Field(default=True, description="score fresh samples after the last round")
    eval_prompts: int | None = Field(default=64, ge=1)


class SelfTrainingAlgorithm(TRLAlgorithm):
    """Sample with the policy, keep what the verifier accepts, fine-tune; repeated ``rounds``."""

    Config: ClassVar[type[TrainConfig]] = SelfTrainingConfig

    def restarts_from_base(self) -> bool:
        """True when every round fine-tunes the base model rather than the latest one."""
        return False

    def assay_fields(self) -> set[str]:
        return set(SELF_TRAINING_FIELDS)

    def _sampler(self, model: Any, tokenizer: Any, out: Path, tag: str) -> Any:
        c = self.config
        opts = {
            "max_new_tokens": c.max_new_tokens,
            "temperature": c.temperature,
            "top_p": c.top_p,
            "seed": c.seed,
        }
        if c.sampler == "vllm":
            from .samplers import VLLMSampler

            return VLLMSampler(str(snapshot(model, tokenizer, out / tag)), **opts)
        from .samplers import TransformersSampler

        return TransformersSampler(model, tokenizer, **opts)

    def _extra(
        self,
        model: Any,
        tokenizer: Any,
        rows: list[dict[str, Any]],
        failed: list[int],
        funcs: Any,
        weights: Any,
        out: Path,
        r: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """More SFT rows for the failed prompts (STaR's rationalisation); ``(rows, count)``."""
        return [], 0

    def _check_data(self, rows: list[dict[str, Any]]) -> None:
        return None

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

        c = self.config
        if resume_from_checkpoint:
            raise TrainError(f"{self.name}: resuming is for the online backends")
        trainer_cls = self.load_class("trl:SFTTrainer")
        args_cls = self.load_class("trl:SFTConfig")
        model, tokenizer = load_model_and_tokenizer(model, tokenizer, dtype=c.dtype, seed=c.seed)
        rows = [dict(r) for r in load_prompts(dataset)]
        self._check_data(rows)
        funcs, weights = trl_reward_funcs(pipeline, components=False)
        out = Path(c.output_dir)
        base = None
        if self.restarts_from_base() and c.rounds > 1:
            base = ensure_on_disk(model, tokenizer, out / "base")
        history: list[dict[str, Any]] = []
        trainer = None
        for r in range(c.rounds):
            sampler = self._sampler(model, tokenizer, out, f"round-{r}/policy")
            completions = sampler.sample([row["prompt"] for row in rows], c.k)
            del sampler
            rewards = score_groups(rows, completions, funcs, weights)
            kept, failed = accepted_examples(
                rows, completions, rewards, c.accept_threshold, per_prompt=c.per_prompt
            )
            stats = _round_stats(r, rewards, None, len(rows))
            stats["accepted"] = len(kept)
            extra, n_extra = self._extra(model, tokenizer, rows, failed, funcs, weights, out, r)
            kept = kept + extra
            stats["rationalized"] = n_extra
            history.append(stats)
            logger.info("round %d: %s", r, stats)
            if not kept:
                continue
            if base is not None and r > 0:
                model, _ = load_model_and_tokenizer(str(base), tokenizer, dtype=c.dtype)
            kwargs = self.trl_kwargs()
            kwargs["output_dir"] = str(out / f"round-{r}") if c.rounds > 1 else str(out)
            trainer = trainer_cls(
                model=model,
                args=args_cls(**kwargs),
                train_dataset=Dataset.from_list(kept),
                processing_class=tokenizer,
                callbacks=callbacks,
            )
            trainer.train()
            model = trainer.model
        if trainer is None:
            raise NoAcceptedSamples(
                f"{self.name}: the verifier accepted none of the {c.k} completions of any prompt "
                f"(accept_threshold {c.accept_threshold}); raise k, lower the threshold, or start "
                "from a model that solves some prompts"
            )
        if c.evaluate:
            eval_rows = rows[: c.eval_prompts] if c.eval_prompts else rows
            sampler = self._sampler(model, tokenizer, out, "final")
            completions = sampler.sample([row["prompt"] for row in eval_rows], c.k)
            rewards = score_groups(eval_rows, completions, funcs, weights)
            history.append(_round_stats("final", rewards, None, len(eval_rows)))
        trainer.assay_history = history
        return trainer


class STaRSettings(SelfTrainingConfig):
    rounds: int = Field(default=3, ge=1)
    k: int = Field(default=1, ge=1)
    rationalize: bool = Field(default=True, description="retry failures with the answer as hint")
    hint_column: str = Field(default="answer", description="dataset column holding the answer")
    hint_template: str = "{prompt}\n(Hint: the answer is {answer}.)\n"
    from_base: bool = Field(default=True, description="fine-tune the base model every round")

    @field_validator("hint_template")
    @classmethod
    def _template_fields(cls, v: str) -> str:
        try:
            v.format(prompt="", answer="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"hint_template: only {{prompt}} and {{answer}} fields: {exc}"
            ) from exc
        if "{answer}" not in v:
            raise ValueError("hint_template must contain {answer}")
        return v


class STaR(SelfTrainingAlgorithm):
    """STaR (Zelikman et al., 2022): keep verified rationales, rationalise failures with the
    answer as a hint, fine-tune the base model on them each round."""

    name = "star"
    summary = "STaR: self-taught reasoner (verified samples + hinted rationalisation, SFT)"
    Config = STaRSettings

    def restarts_from_base(self) -> bool:
        return bool(self.config.from_base)  # type: ignore[attr-defined]

    def _check_data(self, rows: list[dict[str, Any]]) -> None:
        c = self.config
        if c.rationalize and rows and not any(c.hint_column in row for row in rows):
            raise DatasetError(
                f"star: rationalize needs the answer in column {c.hint_column!r} "
                f"(columns: {sorted(rows[0])}); set hint_column, or rationalize: false"
            )

    def _extra(self, model, tokenizer, rows, failed, funcs, weights, out, r):  # type: ignore[no-untyped-def]
        c = self.config
        if not c.rationalize:
            return [], 0
        todo = [rows[i] for i in failed if rows[i].get(c.hint_column) is not None]
        if not todo:
            return [], 0
        hinted = [with_hint(row["prompt"], row[c.hint_column], c.hint_template) for row in todo]
        sampler = self._sampler(model, tokenizer, out, f"round-{r}/policy")
        completions = sampler.sample(hinted, c.k)
        del sampler
        # Scored (and trained) as answers to the original prompt: the hint is not in the data.
        rewards = score_groups(todo, completions, funcs, weights)
        kept, _ = accepted_examples(todo, completions, rewards, c.accept_threshold, per_prompt=1)
        return kept, len(kept)


class RFTSettings(SelfTrainingConfig):
    online: bool = Field(default=False, description="re-sample from the current policy each round")

    @model_validator(mode="after")
    def _rounds_need_online(self) -> RFTSettings:
        if self.rounds > 1 and not self.online:
            raise ValueError("rft: rounds > 1 re-samples each round: set online: true")
        return self


class RFT(SelfTrainingAlgorithm):
    """RFT (Yuan et al., 2023): fine-tune on distinct verifier-accepted samples; ``online: true``
    re-samples from the current policy every round (Online RFT, Shao et al., 2024)."""

    name = "rft"
    summary = "RFT: rejection-sampling fine-tuning (offline, or online each round)"
    Config = RFTSettings


SELF_TRAINING_ALGORITHMS: tuple[type[SelfTrainingAlgorithm], ...] = (STaR, RFT)
