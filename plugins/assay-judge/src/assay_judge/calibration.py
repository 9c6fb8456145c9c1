"""Agreement of a judge with human labels: accuracy, Cohen's kappa, Spearman, a confusion table.

- Cohen's kappa: ``(p_o - p_e) / (1 - p_e)``, observed agreement against the agreement expected
  from each side's marginals (1 perfect, 0 chance, below 0 worse than chance). For ordinal labels
  the quadratically weighted kappa is reported too (a 4 judged 5 is a smaller miss than a 1).
- Spearman's rho: Pearson correlation of the ranks (ties get their mean rank) of the judge's
  continuous score and the label; it needs no binning at all.

Pure Python, no numpy: calibration sets are hundreds of rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Label = Any  # hashable and sortable: bool or int


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        mean = (i + j) / 2 + 1
        for k in range(i, j + 1):
            out[order[k]] = mean
        i = j + 1
    return out


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None  # a constant side: correlation undefined
    return sxy / math.sqrt(sxx * syy)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    return pearson(ranks(x), ranks(y))


def confusion(
    labels: Sequence[Label], predictions: Sequence[Label]
) -> tuple[list[Label], list[list[int]]]:
    """Categories (sorted) and counts: rows are human labels, columns the judge's."""
    cats = sorted(set(labels) | set(predictions))
    pos = {c: i for i, c in enumerate(cats)}
    table = [[0] * len(cats) for _ in cats]
    for a, b in zip(labels, predictions):
        table[pos[a]][pos[b]] += 1
    return cats, table


def cohen_kappa(
    labels: Sequence[Label], predictions: Sequence[Label], weights: str | None = None
) -> float | None:
    """Cohen's kappa; ``weights="quadratic"`` for ordinal categories (numbers)."""
    cats, table = confusion(labels, predictions)
    k, n = len(cats), len(labels)
    if n == 0:
        return None
    if weights == "quadratic":
        span = (max(cats) - min(cats)) or 1
        w = [[((a - b) / span) ** 2 for b in cats] for a in cats]
    else:
        w = [[0.0 if i == j else 1.0 for j in range(k)] for i in range(k)]
    rows = [sum(r) for r in table]
    cols = [sum(table[i][j] for i in range(k)) for j in range(k)]
    observed = sum(w[i][j] * table[i][j] for i in range(k) for j in range(k)) / n
    expected = sum(w[i][j] * rows[i] * cols[j] for i in range(k) for j in range(k)) / (n * n)
    if expected == 0:
        return 1.0 if observed == 0 else None
    return 1.0 - observed / expected


def agreement(
    labels: Sequence[Label], predictions: Sequence[Label], scores: Sequence[float] | None = None
) -> dict[str, Any]:
    """Accuracy, kappa (and weighted kappa for ordinal labels), Spearman, the confusion table.

    ``labels`` and ``predictions`` are categories on the same scale; ``scores`` the judge's
    continuous values for Spearman (the predictions when omitted).
    """
    if len(labels) != len(predictions):
        raise ValueError(f"{len(labels)} labels but {len(predictions)} predictions")
    n = len(labels)
    ordinal = all(isinstance(v, int) and not isinstance(v, bool) for v in (*labels, *predictions))
    cats, table = confusion(labels, predictions)
    numeric = scores if scores is not None else [float(p) for p in predictions]
    out: dict[str, Any] = {
        "n": n,
        "accuracy": sum(a == b for a, b in zip(labels, predictions)) / n if n else None,
        "cohen_kappa": cohen_kappa(labels, predictions),
        "spearman": spearman(list(numeric), [float(v) for v in labels]),
        "confusion": {"labels": cats, "rows_human_columns_judge": table},
    }
    if ordinal and len(cats) > 2:
        out["quadratic_kappa"] = cohen_kappa(labels, predictions, weights="quadratic")
    return out


def format_table(result: dict[str, Any]) -> str:
    """The confusion table and the figures as text."""
    cats = result["confusion"]["labels"]
    table = result["confusion"]["rows_human_columns_judge"]
    width = max(6, *(len(str(c)) + 1 for c in cats))
    lines = ["human \\ judge".ljust(14) + "".join(str(c).rjust(width) for c in cats)]
    for c, row in zip(cats, table):
        lines.append(str(c).ljust(14) + "".join(str(v).rjust(width) for v in row))

    def fmt(v: Any) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    lines.append("")
    lines.append(
        f"n={result['n']}  accuracy={fmt(result['accuracy'])}  kappa={fmt(result['cohen_kappa'])}"
        + (
            f"  quadratic_kappa={fmt(result['quadratic_kappa'])}"
            if "quadratic_kappa" in result
            else ""
        )
        + f"  spearman={fmt(result['spearman'])}"
    )
    return "\n".join(lines)
