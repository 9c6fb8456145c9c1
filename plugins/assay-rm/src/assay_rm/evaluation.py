"""Evaluate reward models: ranking accuracy, score distribution, calibration, drift.

These answer the pitfalls the seed documents list for learned rewards:

- overfitting -> `ranking_accuracy` on *held-out* pairs;
- miscalibration -> `score_report` with labels: expected calibration error (ECE) of
  ``sigmoid(score)`` against 0/1 outcomes, Brier score, AUROC;
- distribution shift / reward hacking -> `score_report` (mean, spread, quantiles) of the
  policy's samples over time, and `drift` between two checkpoints on the same texts (mean
  shift, Kolmogorov-Smirnov distance, rank correlation): a reward whose scores climb while the
  verifier's do not is being gamed.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel


def _scores(scorer: Any, samples: Sequence[Any]) -> list[float | None]:
    """Raw values from a `RewardModelScorer`, an assay reward, or a callable."""
    if hasattr(scorer, "encode") and hasattr(scorer, "forward"):
        return scorer.score(samples)
    if hasattr(scorer, "score"):
        from .training import _value_of

        return [_value_of(v) for v in scorer.score(samples)]
    return list(scorer(samples))


def ranking_accuracy(scorer: Any, pairs: Sequence[dict[str, Any]]) -> float:
    """Fraction of pairs where ``chosen`` scores above ``rejected`` (ties count one half).

    ``pairs``: TRL preference rows (``prompt`` optional). Unscorable rows count as wrong.
    """
    if not pairs:
        raise ValueError("no pairs to evaluate")
    chosen = [{"prompt": p.get("prompt", ""), "completion": p["chosen"]} for p in pairs]
    rejected = [{"prompt": p.get("prompt", ""), "completion": p["rejected"]} for p in pairs]
    values = _scores(scorer, chosen + rejected)
    n = len(pairs)
    return pair_accuracy(values[:n], values[n:])


def pair_accuracy(chosen: Sequence[float | None], rejected: Sequence[float | None]) -> float:
    """Fraction of ``chosen[i] > rejected[i]``; ties one half; a missing score counts as wrong."""
    total = 0.0
    for c, r in zip(chosen, rejected, strict=True):
        if c is None or r is None:
            continue
        total += 1.0 if c > r else 0.5 if c == r else 0.0
    return total / len(chosen) if chosen else float("nan")


def outcome_ranking_accuracy(
    scores: Sequence[float | None],
    labels: Sequence[float | None],
    groups: Sequence[Any] | None = None,
) -> float:
    """How often a better-labelled sample scores above a worse one (ties one half).

    Over every pair with different labels, within the same group (e.g. prompt) when ``groups``
    is given, else over all pairs (then it equals the AUROC for 0/1 labels). NaN without pairs.
    Sort-based (Mann-Whitney style), so large evaluation sets cost ``O(n log n)``-ish, not
    ``O(n^2)``.
    """
    by: dict[Any, list[tuple[float, float]]] = {}
    for i, (s, y) in enumerate(zip(scores, labels, strict=True)):
        # NaN is no score / no label (it equals nothing, not even itself: it would break the
        # sort and the grouping of equal labels)
        if s is not None and y is not None and not math.isnan(s) and not math.isnan(y):
            by.setdefault(groups[i] if groups is not None else 0, []).append((float(y), float(s)))
    total = count = 0.0
    for members in by.values():
        members.sort()
        lower: list[float] = []  # scores of the samples with a strictly lower label, sorted
        k = 0
        while k < len(members):
            end = k
            while end < len(members) and members[end][0] == members[k][0]:
                end += 1
            for _, s in members[k:end]:
                below = bisect.bisect_left(lower, s)
                ties = bisect.bisect_right(lower, s) - below
                total += below + 0.5 * ties
                count += len(lower)
            for _, s in members[k:end]:
                bisect.insort(lower, s)
            k = end
    return total / count if count else float("nan")


class ScoreReport(BaseModel):
    """Distribution (and, with labels, calibration) of a reward model's scores."""

    n: int
    mean: float
    std: float
    min: float
    max: float
    quantiles: dict[str, float]
    ece: float | None = None
    brier: float | None = None
    auroc: float | None = None
    mean_by_label: dict[str, float] | None = None


def _quantile(sorted_vals: list[float], q: float) -> float:
    pos = q * (len(sorted_vals) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def score_report(
    scores: Sequence[float | None], labels: Sequence[float | None] | None = None, bins: int = 10
) -> ScoreReport:
    """Mean, spread and quantiles of ``scores``; with 0/1 ``labels`` also calibration.

    ECE = sum over equal-width bins of ``|bin| / n * |mean(sigmoid(s)) - mean(label)|``, the
    gap between the probability a Bradley-Terry score implies and how often it is right.
    """
    pairs = [
        (float(s), None if labels is None else labels[i])
        for i, s in enumerate(scores)
        if s is not None and math.isfinite(s)
    ]
    vals = sorted(s for s, _ in pairs)
    if not vals:
        raise ValueError("no finite scores to report on")
    n = len(vals)
    mean = sum(vals) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / n)
    qs = {f"p{int(q * 100):02d}": _quantile(vals, q) for q in (0.05, 0.25, 0.5, 0.75, 0.95)}
    report = ScoreReport(n=n, mean=mean, std=std, min=vals[0], max=vals[-1], quantiles=qs)
    labelled = [(s, float(y)) for s, y in pairs if y is not None and not math.isnan(y)]
    if labelled:
        probs = [(_sigmoid(s), y) for s, y in labelled]
        report.brier = sum((p - y) ** 2 for p, y in probs) / len(probs)
        ece = 0.0
        for b in range(bins):
            lo, hi = b / bins, (b + 1) / bins
            inside = [(p, y) for p, y in probs if lo <= p < hi or (b == bins - 1 and p == 1.0)]
            if inside:
                conf = sum(p for p, _ in inside) / len(inside)
                acc = sum(y for _, y in inside) / len(inside)
                ece += len(inside) / len(probs) * abs(conf - acc)
        report.ece = ece
        auroc = outcome_ranking_accuracy([s for s, _ in labelled], [y for _, y in labelled])
        report.auroc = None if math.isnan(auroc) else auroc
        by: dict[str, list[float]] = {}
        for s, y in labelled:
            by.setdefault(f"{y:g}", []).append(s)
        report.mean_by_label = {k: sum(v) / len(v) for k, v in sorted(by.items())}
    return report


class Drift(BaseModel):
    """How a reward model's scores moved between two checkpoints on the same inputs."""

    n: int
    mean_shift: float
    std_ratio: float
    ks: float
    spearman: float | None


def _ranks(vals: Sequence[float]) -> list[float]:
    order = sorted(range(len(vals)), key=lambda i: vals[i])
    ranks = [0.0] * len(vals)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and vals[order[j + 1]] == vals[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0
        i = j + 1
    return ranks


def _pearson(a: Sequence[float], b: Sequence[float]) -> float | None:
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    if va == 0 or vb == 0:
        return None
    return sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True)) / math.sqrt(va * vb)


def drift(before: Sequence[float | None], after: Sequence[float | None]) -> Drift:
    """Compare two checkpoints' scores of the same samples (rows where both scored).

    ``mean_shift = mean(after) - mean(before)``; ``std_ratio = std(after) / std(before)``;
    ``ks``: the largest gap between the two empirical CDFs (0 = same distribution, 1 = disjoint);
    ``spearman``: rank correlation (1 = the new checkpoint orders samples the same way).
    """
    both = [
        (float(a), float(b))
        for a, b in zip(before, after, strict=True)
        if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)
    ]
    if len(both) < 2:
        raise ValueError("need at least two samples with finite scores from both checkpoints")
    xa, xb = [a for a, _ in both], [b for _, b in both]
    ra, rb = score_report(xa), score_report(xb)
    sa, sb = sorted(xa), sorted(xb)
    ks = 0.0
    for v in sa + sb:
        fa = bisect.bisect_right(sa, v) / len(sa)
        fb = bisect.bisect_right(sb, v) / len(sb)
        ks = max(ks, abs(fa - fb))
    return Drift(
        n=len(both),
        mean_shift=rb.mean - ra.mean,
        std_ratio=rb.std / ra.std if ra.std > 0 else 1.0 if rb.std == 0 else float("inf"),
        ks=ks,
        spearman=_pearson(_ranks(xa), _ranks(xb)),
    )
