"""Ranking accuracy, score distribution and calibration reports, drift between checkpoints."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

from assay_rm.evaluation import (
    drift,
    outcome_ranking_accuracy,
    pair_accuracy,
    ranking_accuracy,
    score_report,
)


@pytest.mark.parametrize(
    ("chosen", "rejected", "expected"),
    [
        ([2.0, 1.0, 0.0], [1.0, 2.0, -1.0], 2 / 3),
        ([1.0, 1.0], [1.0, 0.0], 0.75),  # a tie counts one half
        ([1.0, None], [0.0, 0.0], 0.5),  # an unscored pair counts as wrong
        ([0.0], [1.0], 0.0),
    ],
)
def test_pair_accuracy(chosen: list[Any], rejected: list[Any], expected: float) -> None:
    assert pair_accuracy(chosen, rejected) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("scores", "labels", "groups", "expected"),
    [
        ([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0], None, 1.0),
        ([0.1, 0.9, 0.2, 0.8], [1, 0, 1, 0], None, 0.0),
        ([0.9, 0.1, 0.5, 0.5], [1, 0, 1, 0], None, 0.875),  # 3 wins + 1 tie over 4 pairs
        ([0.9, 0.1, 0.5, 0.5], [1, 0, 1, 0], ["a", "a", "b", "b"], 0.75),  # within groups only
        ([0.9, 0.1, None, 0.2], [1, 0, 1, None], None, 1.0),  # missing values skipped
        ([0.3, 0.2, 0.1], [1.0, 0.5, 0.0], None, 1.0),  # graded labels: every ordered pair
        ([0.3, 0.2], [1, 1], None, math.nan),  # no pair with different labels
    ],
)
def test_outcome_ranking_accuracy(
    scores: list[Any], labels: list[Any], groups: Any, expected: float
) -> None:
    got = outcome_ranking_accuracy(scores, labels, groups)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def test_ranking_accuracy_scores_prompt_plus_completion() -> None:
    def scorer(samples: list[Any]) -> list[float]:
        return [float(len(s["prompt"]) + s["completion"].count("a")) for s in samples]

    pairs = [
        {"prompt": "p", "chosen": "aa", "rejected": "a"},
        {"prompt": "p", "chosen": "b", "rejected": "a"},
        {"chosen": "aaa", "rejected": "bbb"},
    ]
    assert ranking_accuracy(scorer, pairs) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no pairs"):
        ranking_accuracy(scorer, [])


def test_score_report_distribution_matches_statistics() -> None:
    vals = [0.5, -1.0, 2.0, 3.5, 0.0, None, float("nan"), 1.0]
    finite = [0.5, -1.0, 2.0, 3.5, 0.0, 1.0]
    r = score_report(vals)
    assert r.n == 6
    assert r.mean == pytest.approx(statistics.fmean(finite))
    assert r.std == pytest.approx(statistics.pstdev(finite))
    assert (r.min, r.max) == (-1.0, 3.5)
    assert r.quantiles["p50"] == pytest.approx(statistics.median(finite))
    assert r.ece is None and r.auroc is None
    with pytest.raises(ValueError, match="no finite"):
        score_report([None, float("inf")])


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_calibration_separates_calibrated_from_overconfident_scores() -> None:
    # 10 samples at P=0.7 of which 7 are right: calibrated. The same labels with P=0.99: not.
    labels = [1] * 7 + [0] * 3
    calibrated = score_report([_logit(0.7)] * 10, labels)
    overconfident = score_report([_logit(0.99)] * 10, labels)
    assert calibrated.ece == pytest.approx(0.0, abs=1e-9)
    assert overconfident.ece == pytest.approx(0.29, abs=1e-9)
    assert calibrated.brier == pytest.approx(0.7 * 0.09 + 0.3 * 0.49)
    assert overconfident.brier > calibrated.brier
    separating = score_report([2.0, 1.0, -1.0, -2.0], [1, 1, 0, 0])
    assert separating.auroc == 1.0
    assert separating.mean_by_label == {"0": -1.5, "1": 1.5}


def test_drift_between_checkpoints() -> None:
    before = [0.1, 0.4, 0.2, 0.9, 0.5]
    same = drift(before, before)
    assert (same.mean_shift, same.ks, same.spearman, same.std_ratio) == (
        0.0,
        0.0,
        pytest.approx(1.0),
        1.0,
    )
    shifted = drift(before, [v + 10 for v in before])
    assert shifted.mean_shift == pytest.approx(10.0) and shifted.ks == 1.0
    assert shifted.spearman == pytest.approx(1.0)  # same order, other scale: no re-ranking
    flipped = drift(before, [-v for v in before])
    assert flipped.spearman == pytest.approx(-1.0)
    assert drift([1.0, None, 2.0, 3.0], [1.0, 5.0, None, 4.0]).n == 2  # rows both scored
    with pytest.raises(ValueError, match="at least two"):
        drift([1.0, None], [None, 1.0])


@pytest.mark.parametrize("seed", range(5))
def test_outcome_ranking_accuracy_equals_the_pairwise_definition(seed: int) -> None:
    import random

    rng = random.Random(seed)
    n = 120
    scores = [rng.choice([None, *[rng.randint(0, 20) / 4 for _ in range(5)]]) for _ in range(n)]
    labels = [rng.choice([None, 0.0, 0.5, 1.0]) for _ in range(n)]
    groups = [rng.choice("abc") for _ in range(n)]
    for g in (None, groups):
        total = count = 0.0
        for i in range(n):
            for j in range(n):
                if scores[i] is None or scores[j] is None or labels[i] is None or labels[j] is None:
                    continue
                if (g is None or g[i] == g[j]) and labels[i] > labels[j]:
                    count += 1
                    total += (
                        1.0 if scores[i] > scores[j] else 0.5 if scores[i] == scores[j] else 0.0
                    )
        assert outcome_ranking_accuracy(scores, labels, g) == pytest.approx(total / count)


def _within(seconds: float, fn: Any, *args: Any) -> Any:
    """Run ``fn`` on a daemon thread: a hang fails the test instead of stalling the run."""
    import threading

    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(fn(*args)), daemon=True)
    t.start()
    t.join(seconds)
    assert box, f"{fn.__name__} did not return within {seconds}s"
    return box[0]


def test_nan_scores_and_labels_are_skipped_not_looped_on() -> None:
    """NaN != NaN: a NaN label never matched its own label group and the loop never ended."""
    nan = float("nan")
    got = _within(10, outcome_ranking_accuracy, [0.9, 0.1, 0.5, nan], [1, 0, nan, 1])
    assert got == 1.0  # only (0.9, label 1) vs (0.1, label 0) is a valid pair
    report = _within(10, score_report, [2.0, -2.0, 1.0], [1, 0, nan])
    assert report.n == 3 and report.auroc == 1.0 and report.mean_by_label == {"0": -2.0, "1": 2.0}
    assert report.brier == pytest.approx(
        ((1 - 1 / (1 + math.exp(-2.0))) ** 2 + (1 / (1 + math.exp(2.0))) ** 2) / 2
    )


def test_drift_skips_non_finite_rows_and_constant_scores_have_ratio_one() -> None:
    nan = float("nan")
    d = drift([1.0, 2.0, nan, 3.0], [1.0, 2.0, 9.0, float("inf")])
    assert d.n == 2 and d.mean_shift == 0.0 and d.spearman == pytest.approx(1.0)
    same = drift([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])  # nothing moved
    assert same.std_ratio == 1.0 and same.ks == 0.0 and same.mean_shift == 0.0
    assert drift([0.5, 0.5], [0.0, 1.0]).std_ratio == math.inf
