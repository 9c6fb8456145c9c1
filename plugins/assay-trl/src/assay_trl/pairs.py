"""Preference data from verifier scores: k completions per prompt, scored, best vs worst.

For each prompt the pipeline scores its ``k`` sampled completions; the highest and the lowest
make a (chosen, rejected) pair when they differ by more than ``min_margin`` (ties teach nothing and
are skipped). KTO takes the same two as one desirable and one undesirable example.

With a pairwise judge (``pair_judge``, e.g. assay-judge's ``pairwise_judge``) the pair comes
from head-to-head comparisons instead of scores: see `judged_pairs`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any


def combine(values: Sequence[float | None], weights: Sequence[float]) -> float | None:
    """TRL's weighted sum over reward functions; None when no function applied."""
    total, seen = 0.0, False
    for v, w in zip(values, weights, strict=True):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        seen = True
        total += w * v
    return total if seen else None


def score_groups(
    rows: Sequence[dict[str, Any]],
    completions: Sequence[Sequence[Any]],
    funcs: Sequence[Callable[..., Sequence[float | None]]],
    weights: Sequence[float],
) -> list[list[float | None]]:
    """The combined reward of every completion, grouped per prompt (one batch call per function)."""
    flat_rows = [row for row, group in zip(rows, completions, strict=True) for _ in group]
    flat = [c for group in completions for c in group]
    columns: dict[str, list[Any]] = {}
    for key in dict.fromkeys(k for row in rows for k in row):
        if key != "prompt":
            columns[key] = [row.get(key) for row in flat_rows]
    prompts = [row["prompt"] for row in flat_rows]
    per_func = []
    for fn, w in zip(funcs, weights, strict=True):
        if w == 0.0:  # a logged-only component
            per_func.append([None] * len(flat))
            continue
        per_func.append(list(fn(prompts=prompts, completions=flat, **columns)))
    combined = [combine([vals[i] for vals in per_func], weights) for i in range(len(flat))]
    out, i = [], 0
    for group in completions:
        out.append(combined[i : i + len(group)])
        i += len(group)
    return out


def best_worst_pairs(
    rows: Sequence[dict[str, Any]],
    completions: Sequence[Sequence[Any]],
    rewards: Sequence[Sequence[float | None]],
    min_margin: float = 0.0,
) -> list[dict[str, Any]]:
    """One ``{prompt, chosen, rejected, chosen_reward, rejected_reward}`` per prompt whose best and
    worst scored completions differ by more than ``min_margin``."""
    pairs = []
    for row, group, scores in zip(rows, completions, rewards, strict=True):
        scored = [(s, c) for s, c in zip(scores, group, strict=True) if s is not None]
        if len(scored) < 2:
            continue
        best = max(scored, key=lambda sc: sc[0])
        worst = min(scored, key=lambda sc: sc[0])
        if best[0] - worst[0] <= min_margin:
            continue
        pairs.append(
            {
                "prompt": row["prompt"],
                "chosen": _as_completion(row["prompt"], best[1]),
                "rejected": _as_completion(row["prompt"], worst[1]),
                "chosen_reward": best[0],
                "rejected_reward": worst[0],
            }
        )
    return pairs


def unpaired_examples(pairs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """KTO's ``{prompt, completion, label}`` rows: each pair's chosen (True) and rejected (False)."""
    out = []
    for p in pairs:
        out.append({"prompt": p["prompt"], "completion": p["chosen"], "label": True})
        out.append({"prompt": p["prompt"], "completion": p["rejected"], "label": False})
    return out


def _as_completion(prompt: Any, text: Any) -> Any:
    """Chat prompts take an assistant message as completion; text prompts take text."""
    if isinstance(prompt, list) and isinstance(text, str):
        return [{"role": "assistant", "content": text}]
    return text


def load_pair_judge(spec: dict[str, Any]) -> Any:
    """A pairwise judge from ``{"use": NAME, "with": {options}}`` (``use`` defaults to
    ``pairwise_judge``, from assay-judge): any registered reward that scores a sample's
    ``completion`` against its ``other`` with a preference in [0, 1]."""
    import assay

    unknown = set(spec) - {"use", "with"}
    if unknown:
        raise ValueError(f"pair_judge takes `use` and `with`, not {sorted(unknown)}")
    return assay.get_reward(spec.get("use", "pairwise_judge"), **(spec.get("with") or {}))


def judged_pairs(
    rows: Sequence[dict[str, Any]],
    completions: Sequence[Sequence[Any]],
    judge: Any,
    min_margin: float = 0.0,
) -> list[dict[str, Any]]:
    """Pairs chosen by a pairwise judge: per prompt, every two distinct completions are compared
    (one judge batch for all prompts; the judge controls position bias itself), each completion's
    win rate is its mean preference, and the highest and lowest win rates make the pair when they
    differ by more than ``min_margin``. Comparisons the judge could not decide (None, error) do
    not count. ``chosen_reward``/``rejected_reward`` are the win rates."""
    import assay

    samples, where = [], []
    for p, (row, group) in enumerate(zip(rows, completions, strict=True)):
        distinct = list({_key(c): c for c in group}.values())
        extra = {k: v for k, v in row.items() if k not in ("prompt", "completion", "other")}
        for i, a in enumerate(distinct):
            for b in distinct[i + 1 :]:
                fields = {**extra, "prompt": row["prompt"], "completion": a, "other": b}
                samples.append(assay.Sample.model_validate(fields))
                where.append((p, a, b))
    wins: list[dict[str, list[float]]] = [{} for _ in rows]
    for (p, a, b), s in zip(where, judge.score(samples) if samples else [], strict=True):
        value = s.value if isinstance(s, assay.Score) and s.status == "ok" else s
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            continue  # undecided, or the judge failed on this comparison
        wins[p].setdefault(_key(a), []).append(float(value))
        wins[p].setdefault(_key(b), []).append(1.0 - float(value))
    pairs = []
    for row, group, w in zip(rows, completions, wins, strict=True):
        rated = [
            (sum(v) / len(v), c)
            for c in {_key(c): c for c in group}.values()
            if (v := w.get(_key(c)))
        ]
        if len(rated) < 2:
            continue
        best = max(rated, key=lambda rc: rc[0])
        worst = min(rated, key=lambda rc: rc[0])
        if best[0] - worst[0] <= min_margin:
            continue
        pairs.append(
            {
                "prompt": row["prompt"],
                "chosen": _as_completion(row["prompt"], best[1]),
                "rejected": _as_completion(row["prompt"], worst[1]),
                "chosen_reward": best[0],
                "rejected_reward": worst[0],
            }
        )
    return pairs


def _key(completion: Any) -> str:
    return completion if isinstance(completion, str) else repr(completion)
