"""Train reward models: Bradley-Terry on preference pairs, and from verifier outcomes.

Bradley-Terry (the loss TRL's ``RewardTrainer`` minimises): the probability that ``chosen``
beats ``rejected`` is ``sigmoid(r(x, y_c) - r(x, y_r))``, so the loss is
``-log sigmoid(r_c - r_r)`` averaged over pairs (plus, optionally,
``center_rewards_coefficient * mean((r_c + r_r)^2)`` to keep scores near zero).

Outcome supervision: a verifier (or a pipeline) labels sampled completions; within each prompt,
every (higher-scored, lower-scored) pair of completions becomes a preference pair, and the model
is trained with the same loss. Pairs only compare completions of one prompt, so the reward
model learns what makes an answer better for that question, not which questions are easy.
"""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from assay import AssayError
from assay.models import Sample

from .scoring import as_sample

Pair = dict[str, Any]  # {"prompt": ..., "chosen": ..., "rejected": ...} as TRL reads it


class TrainingDataError(AssayError, ValueError):
    """The training data cannot train anything (no pairs, malformed rows)."""


def check_pairs(pairs: Sequence[Pair]) -> list[Pair]:
    """Validate preference rows: ``chosen`` and ``rejected`` (text or chat), optional ``prompt``."""
    rows = []
    for i, p in enumerate(pairs):
        if not isinstance(p, dict) or "chosen" not in p or "rejected" not in p:
            raise TrainingDataError(f"pair {i} needs 'chosen' and 'rejected' keys")
        rows.append({k: p[k] for k in ("prompt", "chosen", "rejected", "margin") if k in p})
    if not rows:
        raise TrainingDataError("no preference pairs to train on")
    kinds = {tuple(sorted(r)) for r in rows}
    if len(kinds) > 1:
        raise TrainingDataError(f"all pairs need the same keys, got {sorted(kinds)}")
    return rows


def train_bradley_terry(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[Pair],
    *,
    epochs: float = 3.0,
    learning_rate: float = 1e-3,
    batch_size: int = 16,
    center_rewards_coefficient: float | None = None,
    max_length: int | None = 1024,
    seed: int = 0,
    output_dir: str | None = None,
    **config: Any,
) -> Any:
    """Train ``model`` (``*ForSequenceClassification``, ``num_labels=1``) with TRL's ``RewardTrainer``.

    ``pairs`` follow TRL's preference format (``prompt`` optional; text or chat messages).
    Extra keyword arguments go to ``trl.RewardConfig``. Returns the trained model (in eval mode).
    Nothing is saved unless ``output_dir`` is given.
    """
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    rows = check_pairs(pairs)
    config.setdefault("bf16", _bf16_ok())
    with tempfile.TemporaryDirectory(prefix="assay-rm-") as tmp:
        args = RewardConfig(
            output_dir=output_dir or tmp,
            num_train_epochs=epochs,
            learning_rate=learning_rate,
            per_device_train_batch_size=batch_size,
            center_rewards_coefficient=center_rewards_coefficient,
            max_length=max_length,
            seed=seed,
            report_to="none",
            save_strategy="no" if output_dir is None else config.pop("save_strategy", "epoch"),
            logging_strategy="no",
            disable_tqdm=True,
            dataloader_pin_memory=False,
            **config,
        )
        trainer = RewardTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
        )
        _quiet(trainer)
        trainer.train()
        if output_dir is not None:
            trainer.save_model(output_dir)
            tokenizer.save_pretrained(output_dir)
    return model.eval()


def _quiet(trainer: Any) -> None:
    """No log lines on stdout: with progress bars off, transformers prints every log dict."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def _bf16_ok() -> bool:
    """TRL's configs default to bf16, which a CPU-only machine refuses: use it only on a GPU."""
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


Labeller = Any  # a registered reward name, an assay Reward, a pipeline, or fn(samples) -> values


def label_outcomes(
    samples: Sequence[Sample | dict[str, Any]], verifier: Labeller
) -> list[float | None]:
    """The verifier's value for each sample (None where it could not decide).

    ``verifier`` may be a registered reward name, an `assay.Reward`, an assay pipeline (anything
    whose ``score`` returns results with ``.reward``), or a callable ``fn(samples) -> values``.
    """
    items = [as_sample(s) for s in samples]
    if isinstance(verifier, str):
        import assay

        verifier = assay.get_reward(verifier)
    if hasattr(verifier, "score"):
        raw = verifier.score(items)
    elif callable(verifier):
        raw = verifier(items)
    else:
        raise TypeError(
            f"cannot label with {verifier!r}: give a reward name, a Reward or a callable"
        )
    raw = list(raw)
    if len(raw) != len(items):
        raise TrainingDataError(f"verifier returned {len(raw)} values for {len(items)} samples")
    return [_value_of(v) for v in raw]


def _value_of(v: Any) -> float | None:
    if v is None or isinstance(v, bool | int | float):
        return None if v is None else float(v)
    if hasattr(v, "status") and getattr(v, "status", "ok") != "ok":
        return None  # error / timeout / unverifiable: no label, rather than a wrong one
    # a pipeline Result carries the combined value in `reward`; a Score in `value` (its
    # `reward` field is the provenance name)
    attr = "reward" if hasattr(v, "components") else "value"
    if hasattr(v, attr):
        val = getattr(v, attr)
        return None if val is None else float(val)
    raise TypeError(f"cannot read a value from {v!r}")


def _group_key(s: Sample) -> str:
    return s.prompt if isinstance(s.prompt, str) else repr(s.prompt)


def outcome_pairs(
    samples: Sequence[Sample | dict[str, Any]],
    values: Sequence[float | None],
    *,
    min_gap: float = 1e-6,
    max_pairs_per_prompt: int | None = 16,
    seed: int = 0,
) -> list[Pair]:
    """Preference pairs from labelled completions: within each prompt, better beats worse.

    A pair needs values differing by more than ``min_gap``; unlabelled samples are skipped;
    at most ``max_pairs_per_prompt`` pairs per prompt are kept (drawn at random, seeded).
    """
    rng = random.Random(seed)
    groups: dict[str, list[tuple[Sample, float]]] = defaultdict(list)
    for raw, v in zip(samples, values, strict=True):
        if v is None:
            continue
        s = as_sample(raw)
        groups[_group_key(s)].append((s, float(v)))
    pairs: list[Pair] = []
    for members in groups.values():
        found = [(a, b) for a, va in members for b, vb in members if va - vb > min_gap]
        if max_pairs_per_prompt is not None and len(found) > max_pairs_per_prompt:
            found = rng.sample(found, max_pairs_per_prompt)
        for a, b in found:
            pairs.append(_pair_row(a.prompt, a.completion, b.completion))
    return pairs


def _pair_row(prompt: Any, chosen: Any, rejected: Any) -> Pair:
    """A TRL preference row; when any side is chat, every side becomes chat messages
    (TRL concatenates prompt and completion, which needs both of one kind)."""
    if not any(isinstance(x, list) for x in (prompt, chosen, rejected)):
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}

    def msgs(x: Any, role: str) -> list[dict[str, Any]]:
        if isinstance(x, list):
            return x
        return [{"role": role, "content": x}] if x else []

    return {
        "prompt": msgs(prompt, "user"),
        "chosen": msgs(chosen, "assistant"),
        "rejected": msgs(rejected, "assistant"),
    }


def train_from_outcomes(
    model: Any,
    tokenizer: Any,
    samples: Sequence[Sample | dict[str, Any]],
    verifier: Labeller | Callable[..., Any],
    *,
    max_pairs_per_prompt: int | None = 16,
    **train_kwargs: Any,
) -> Any:
    """Label ``samples`` with ``verifier``, build within-prompt pairs, train Bradley-Terry.

    Raises `TrainingDataError` when no prompt has both a better and a worse completion.
    """
    values = label_outcomes(samples, verifier)
    pairs = outcome_pairs(samples, values, max_pairs_per_prompt=max_pairs_per_prompt)
    if not pairs:
        raise TrainingDataError(
            "no prompt has completions with different verifier outcomes; sample more "
            "completions per prompt or use a harder/easier prompt set"
        )
    return train_bradley_terry(model, tokenizer, pairs, **train_kwargs)
