"""Process rewards: split a solution into steps, score each step, aggregate.

Input layout (Math-Shepherd style): ``prompt, step_1, TAG, step_2, TAG, ..., step_n, TAG``; a
token-classification model reads its verdict on step *k* at the *k*-th tag: ``P(good) =
softmax(logits)[good_label]`` (two or more labels) or ``sigmoid(logit)`` (one label). Each
piece is tokenised on its own, so the tag positions are exact for any tokenizer; the tag text
is removed from the steps first, so a completion cannot plant extra verdict positions.

Aggregates of the step scores ``p_1..p_n``: ``min`` (a chain is as good as its worst step),
``last``, ``mean``, ``product`` (``prod p_k``, the chance every step is right if independent).

Training (`train_process_rm`) uses TRL's stepwise-supervision rows ``{"prompt", "completions":
[step, ...], "labels": [bool, ...]}``; the loss is cross-entropy at the tag positions only
(every other position is labelled -100). TRL removed its ``PRMTrainer`` in 1.14; this uses
``transformers.Trainer`` with the same data layout.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, field_validator

from assay.models import Sample, Score

from .encoding import length_batches
from .rewards import RewardModelReward, ScorerOptions
from .scoring import RewardModelScorer, as_sample
from .tiny import STEP_TAG

Aggregate = Literal["min", "last", "mean", "product"]
NO_STEPS = "no steps in completion"


def split_steps(text: str, separator: str = "auto", pattern: str | None = None) -> list[str]:
    """The non-empty, stripped steps of ``text``.

    ``pattern``: a regex whose matches separate steps (e.g. ``r"Step \\d+:"``). Otherwise
    ``separator``; ``auto`` = blank lines when the text has any, else single newlines.

    >>> split_steps("a=1\\nb=2\\n\\nc=3")
    ['a=1\\nb=2', 'c=3']
    """
    if pattern is not None:
        compiled = re.compile(pattern)
        # re.split also returns what capture groups matched: keep only the text between matches
        parts = compiled.split(text)[:: compiled.groups + 1]
    else:
        sep = separator
        if sep == "auto":
            sep = "\n\n" if re.search(r"\n\s*\n", text) else "\n"
        parts = re.split(r"\n\s*\n", text) if sep == "\n\n" else text.split(sep)
    return [p.strip() for p in parts if p.strip()]


def aggregate(scores: Sequence[float], how: Aggregate) -> float:
    """Combine step scores (see module docstring); raises on an empty list."""
    if not scores:
        raise ValueError("no step scores to aggregate")
    if how == "min":
        return min(scores)
    if how == "last":
        return scores[-1]
    if how == "mean":
        return sum(scores) / len(scores)
    if how == "product":
        return math.prod(scores)
    raise ValueError(f"unknown aggregate {how!r}; use min, last, mean or product")


def encode_steps(
    tokenizer: Any, prompt: str, steps: Sequence[str], step_tag: str
) -> tuple[list[int], list[int]]:
    """Ids of ``prompt, step_1, TAG, ...`` and the position of the last tag token of each step."""
    tag_ids = list(tokenizer(step_tag, add_special_tokens=False)["input_ids"])
    if not tag_ids:
        raise ValueError(f"step tag {step_tag!r} encodes to no tokens")
    ids = list(tokenizer(prompt.replace(step_tag, ""))["input_ids"])
    positions = []
    for step in steps:
        ids += tokenizer(step.replace(step_tag, ""), add_special_tokens=False)["input_ids"]
        ids += tag_ids
        positions.append(len(ids) - 1)
    return ids, positions


class ProcessRewardScorer(RewardModelScorer):
    """Step scores from a ``*ForTokenClassification`` model (see module docstring)."""

    auto_class = "TokenClassification"

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        *,
        step_tag: str = STEP_TAG,
        separator: str = "auto",
        pattern: str | None = None,
        good_label: int = 1,
        max_steps: int | None = 64,
        **kwargs: Any,
    ) -> None:
        if not step_tag:
            raise ValueError("step_tag must be a non-empty string")
        if not separator:
            raise ValueError("separator must be a non-empty string ('auto' for blank lines/lines)")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regex: {exc}") from exc
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"max_steps must be at least 1 or None, got {max_steps}")
        super().__init__(model, tokenizer, **kwargs)
        labels = getattr(self.model.config, "num_labels", None)
        if isinstance(labels, int) and labels > 1 and not 0 <= good_label < labels:
            raise ValueError(f"good_label={good_label} but the model has {labels} labels")
        self.step_tag = step_tag
        self.separator = separator
        self.pattern = pattern
        self.good_label = good_label
        self.max_steps = max_steps

    def steps_of(self, sample: Sample) -> list[str]:
        return split_steps(sample.completion_text, self.separator, self.pattern)

    def score_steps(
        self, samples: Sequence[Sample | dict[str, Any] | str]
    ) -> list[list[float] | str]:
        """Per sample, the list of step scores in order, or a string saying why there are none."""
        import torch

        rows: list[list[int]] = []
        where: list[list[int]] = []
        owner: list[int] = []
        out: list[list[float] | str] = []
        for n, raw in enumerate(samples):
            try:
                s = as_sample(raw)
                steps = self.steps_of(s)
            except (ValueError, TypeError) as exc:
                out.append(f"cannot read sample: {exc}")
                continue
            if not steps:
                out.append(NO_STEPS)
                continue
            if self.max_steps is not None and len(steps) > self.max_steps:
                out.append(f"{len(steps)} steps, more than max_steps={self.max_steps}")
                continue
            try:
                ids, pos = encode_steps(self.tokenizer, s.prompt_text, steps, self.step_tag)
            except Exception as exc:  # noqa: BLE001 - the tokenizer rejects this text (e.g. a lone surrogate)
                out.append(f"cannot encode sample: {type(exc).__name__}: {exc}")
                continue
            if self.max_length is not None and len(ids) > self.max_length:
                out.append(f"{len(ids)} tokens, more than max_length={self.max_length}")
                continue
            out.append([])
            rows.append(ids)
            where.append(pos)
            owner.append(n)
        batches = length_batches([len(r) for r in rows], self.batch_size, self.max_tokens)
        with torch.inference_mode():
            for batch in batches:
                logits = self.model(**self._inputs([rows[i] for i in batch])).logits.float()
                for b, i in enumerate(batch):
                    at = logits[b, where[i]]
                    if at.shape[-1] == 1:
                        probs = torch.sigmoid(at[:, 0])
                    else:
                        probs = torch.softmax(at, dim=-1)[:, self.good_label]
                    out[owner[i]] = probs.cpu().tolist()
        return out


class ProcessRewardOptions(ScorerOptions):
    step_tag: str = Field(STEP_TAG, min_length=1)
    separator: str = Field("auto", min_length=1)
    pattern: str | None = None
    aggregate: Aggregate = "min"
    good_label: int = Field(1, ge=0)
    max_steps: int | None = Field(64, ge=1)
    threshold: float = Field(0.5, description="a step below this is reported as first_error")

    @field_validator("pattern")
    @classmethod
    def _valid_regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regex: {exc}") from exc
        return v


class ProcessReward(RewardModelReward):
    """Score each reasoning step with a process reward model; the value aggregates the steps.

    ``details``: ``steps`` (count), ``step_scores`` (list), ``aggregate`` and ``first_error``
    (index of the first step scored below ``threshold``, or None).
    """

    name = "process_reward"
    Options = ProcessRewardOptions

    def _load(self) -> Any:
        if self._scorer is None:
            o = self.options
            self._scorer = ProcessRewardScorer(
                o.model,
                o.tokenizer,
                step_tag=o.step_tag,
                separator=o.separator,
                pattern=o.pattern,
                good_label=o.good_label,
                max_steps=o.max_steps,
                device=o.device,
                dtype=o.dtype,
                batch_size=o.batch_size,
                max_tokens=o.max_tokens,
                max_length=o.max_length,
            )
        return self._scorer

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        o = self.options
        out = []
        for steps in self.scorer.score_steps(samples):
            if isinstance(steps, str):
                kind = Score.unverifiable if steps == NO_STEPS else Score.error
                out.append(kind(steps))
                continue
            if not all(math.isfinite(p) for p in steps):
                out.append(Score.error(f"process reward model returned {steps}"[:300]))
                continue
            first = next((k for k, p in enumerate(steps) if p < o.threshold), None)
            out.append(
                Score.ok(
                    aggregate(steps, o.aggregate),
                    steps=len(steps),
                    step_scores=steps,
                    aggregate=o.aggregate,
                    first_error=first,
                )
            )
        return out


def train_process_rm(
    model: Any,
    tokenizer: Any,
    examples: Sequence[dict[str, Any]],
    *,
    step_tag: str = STEP_TAG,
    epochs: float = 3.0,
    learning_rate: float = 1e-3,
    batch_size: int = 16,
    seed: int = 0,
    output_dir: str | None = None,
    **config: Any,
) -> Any:
    """Train a token-classification PRM on stepwise rows (see module docstring); returns it."""
    from datasets import Dataset
    from transformers import DataCollatorForTokenClassification, Trainer, TrainingArguments

    from .training import TrainingDataError, _bf16_ok, _quiet

    rows = []
    for i, ex in enumerate(examples):
        steps, labels = ex.get("completions"), ex.get("labels")
        if not isinstance(steps, list) or not isinstance(labels, list) or len(steps) != len(labels):
            raise TrainingDataError(f"row {i} needs 'completions' and 'labels' lists of one length")
        if not steps:
            continue
        ids, pos = encode_steps(tokenizer, str(ex.get("prompt", "")), steps, step_tag)
        lab = [-100] * len(ids)
        for p, ok in zip(pos, labels, strict=True):
            lab[p] = int(bool(ok))
        rows.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": lab})
    if not rows:
        raise TrainingDataError("no stepwise rows to train on")
    config.setdefault("bf16", _bf16_ok())
    with tempfile.TemporaryDirectory(prefix="assay-prm-") as tmp:
        args = TrainingArguments(
            output_dir=output_dir or tmp,
            num_train_epochs=epochs,
            learning_rate=learning_rate,
            per_device_train_batch_size=batch_size,
            seed=seed,
            report_to="none",
            save_strategy="no",
            logging_strategy="no",
            disable_tqdm=True,
            dataloader_pin_memory=False,
            **config,
        )
        model.train()
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(rows),
            data_collator=DataCollatorForTokenClassification(tokenizer),
        )
        _quiet(trainer)
        trainer.train()
        if output_dir is not None:
            trainer.save_model(output_dir)
            tokenizer.save_pretrained(output_dir)
    return model.eval()
