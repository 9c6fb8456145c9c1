"""Rankings of a prompt's k scored completions, for the Plackett-Luce preference backend.

Completions a reward could not score (None or NaN) leave the ranking; the rest are sorted by
reward, best first, and cut into *tiers* of ties: a completion joins the current tier when its
reward is within ``tie_tolerance`` of that tier's best (anchored, so ties never chain across a
wide range). A ranking needs two tiers and a best-worst gap above ``min_margin``, otherwise the
prompt teaches nothing and is skipped. Sorting is O(k log k) per prompt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def rank_tiers(
    scores: Sequence[float | None], tie_tolerance: float = 1e-6, min_margin: float = 0.0
) -> list[tuple[int, int]] | None:
    """``[(index, tier), ...]`` of the scored completions, best first (tier 0 is the best), or
    None when fewer than two tiers remain or the best-worst gap is not above ``min_margin``."""
    if tie_tolerance < 0 or min_margin < 0:
        raise ValueError("tie_tolerance and min_margin must be >= 0")
    scored = [
        (float(s), i)
        for i, s in enumerate(scores)
        if s is not None and not (isinstance(s, float) and math.isnan(s))
    ]
    if len(scored) < 2:
        return None
    scored.sort(key=lambda si: (-si[0], si[1]))
    if scored[0][0] - scored[-1][0] <= min_margin:
        return None
    out: list[tuple[int, int]] = []
    tier, anchor = 0, scored[0][0]
    for value, index in scored:
        if anchor - value > tie_tolerance:
            tier += 1
            anchor = value
        out.append((index, tier))
    return out if tier > 0 else None


def ranked_groups(
    rows: Sequence[dict[str, Any]],
    completions: Sequence[Sequence[Any]],
    rewards: Sequence[Sequence[float | None]],
    tie_tolerance: float = 1e-6,
    min_margin: float = 0.0,
) -> list[dict[str, Any]]:
    """One ``{prompt, completions, tiers, rewards}`` per prompt with a usable ranking (best first)."""
    groups = []
    for row, group, scores in zip(rows, completions, rewards, strict=True):
        ranking = rank_tiers(scores, tie_tolerance, min_margin)
        if ranking is None:
            continue
        groups.append(
            {
                "prompt": row["prompt"],
                "completions": [group[i] for i, _ in ranking],
                "tiers": [t for _, t in ranking],
                "rewards": [scores[i] for i, _ in ranking],
            }
        )
    return groups
