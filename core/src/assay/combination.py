"""How a pipeline combines its components' values per sample: the one implementation of the rules.

Per sample, each component's value is normalised first: a number counts as itself; None ("does
not apply") is left out; a `Score` counts as its value, except that ``error``/``timeout`` count
as 0 (never as a success) and ``unverifiable`` leaves it out; anything else counts as 0 with
status ``error``. The worst status among the components (``error`` > ``timeout`` >
``unverifiable`` > ``ok``, the first component on a tie) becomes the sample's, with its reason.

Then: gates (``gate=True``) must reach their ``threshold`` for the other terms to count, and
their own ``weight * value`` always counts; penalties (``penalty=True``) have
``|weight * value|`` subtracted after combining (so a reward whose high values are good, put as a
penalty, punishes the good samples), and ``penalty="below"`` subtracts
``|weight| * (threshold - value)`` when the value falls below ``threshold`` (it punishes low
values: a failed format check, a short answer); the other terms are ``weight * value``. The
terms (gates first, then the others, in component order) are combined with ``sum``, ``mean``,
``min`` or ``max``. No term and no penalty: the reward is 0.0 when some component had a value
(e.g. a failed gate), None when nothing applied.

The work is done column by column (one list comprehension per component and step), which keeps
scoring large batches of cheap rewards close to a plain loop; batches of plain numbers without
gates or penalties take a single fused pass of the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from .models import Score, ScoreLike
from .results import _Batch

Combine = Literal["sum", "min", "max", "mean"]

SEVERITY = {"ok": 0, "unverifiable": 1, "timeout": 2, "error": 3}
_STATUS_OF = {v: k for k, v in SEVERITY.items()}

__all__ = ["SEVERITY", "Combine", "Term", "combine"]


class Term(Protocol):
    """What the combination reads of a component."""

    name: str
    weight: float
    gate: bool
    threshold: float
    penalty: bool | str


Values = list[float | None]


def combine(terms: Sequence[Term], columns: list[list[ScoreLike]], how: Combine) -> _Batch:
    """Combine the component columns (one list per term, one entry per sample) into rewards."""
    named = {t.name: col for t, col in zip(terms, columns)}
    n = len(columns[0]) if columns else 0
    if not any(t.gate or t.penalty for t in terms):
        fused = _fused(terms, columns, how)
        if fused is not None:
            return _Batch(fused, None, None, named)
    severity: list[int] | None = None
    reasons: list[str] | None = None
    values: list[Values] = []
    for t, col in zip(terms, columns):
        vals, marks = _normalise(t.name, col)
        values.append(vals)
        if marks:
            if severity is None or reasons is None:
                severity, reasons = [0] * n, [""] * n
            for i, (sev, why) in marks.items():
                if sev > severity[i]:  # the first component with the worst status wins
                    severity[i], reasons[i] = sev, why
    rewards = _rewards(terms, values, how, n)
    if severity is None or reasons is None or not any(severity):
        return _Batch(rewards, None, None, named)
    return _Batch(rewards, [_STATUS_OF[s] for s in severity], reasons, named)


def _fused(terms: Sequence[Term], cols: list[list[ScoreLike]], how: Combine) -> Values | None:
    """The weighted combination in one pass when every value is a number; None otherwise."""
    w = [float(t.weight) for t in terms]
    try:
        if how in ("sum", "mean"):
            if len(cols) == 1:
                acc = [w[0] * v for v in cols[0]]  # type: ignore[operator]  # TypeError: not all numbers
            elif len(cols) == 2:
                w0, w1 = w
                acc = [w0 * a + w1 * b for a, b in zip(*cols)]
            elif len(cols) == 3:
                w0, w1, w2 = w
                acc = [w0 * a + w1 * b + w2 * c for a, b, c in zip(*cols)]
            else:
                return None
            if how == "mean" and len(cols) > 1:
                k = len(cols)
                acc = [a / k for a in acc]
            return acc  # type: ignore[return-value]  # numbers, as the TypeError guard proved
        return None
    except TypeError:  # a None, a Score or another object among the values
        return None


def _normalise(name: str, col: list[ScoreLike]) -> tuple[Values, dict[int, tuple[int, str]]]:
    """The column as numbers / None, and {row: (severity, reason)} where not ``ok``."""
    marks: dict[int, tuple[int, str]] = {}
    vals: Values = []
    for i, raw in enumerate(col):
        if raw is None:
            vals.append(None)
        elif isinstance(raw, (int, float)):
            vals.append(float(raw))
        elif isinstance(raw, Score):
            v = raw.value
            if raw.status != "ok":
                marks[i] = (SEVERITY[raw.status], f"{name}: {raw.reason}")
                if raw.status in ("error", "timeout"):
                    v = 0.0
            vals.append(v)
        else:
            vals.append(0.0)
            why = f"{name}: returned {type(raw).__name__}, expected a float, None or Score"
            marks[i] = (SEVERITY["error"], why)
    return vals, marks


def _fold(acc: Values | None, col: Values, op: Callable[[float, float], float]) -> Values:
    """Fold one column of terms into the running per-sample result (None: no term yet)."""
    if acc is None:
        return list(col)
    return [t if a is None else (a if t is None else op(a, t)) for a, t in zip(acc, col)]


def _add(a: float, b: float) -> float:
    return a + b


_OPS: dict[str, Callable[[float, float], float]] = {
    "sum": _add,
    "mean": _add,
    "min": min,
    "max": max,
}


def _rewards(terms: Sequence[Term], values: list[Values], how: Combine, n: int) -> Values:
    op = _OPS[how]
    gates = [(t, v) for t, v in zip(terms, values) if t.gate]
    passed: list[bool] | None = None
    if gates:
        passed = [True] * n
        for t, vals in gates:
            th = t.threshold
            passed = [p and v is not None and v >= th for p, v in zip(passed, vals)]
    acc: Values | None = None
    count = [0] * n if how == "mean" else None
    ordered = [(t, v) for t, v in gates] + [(t, v) for t, v in zip(terms, values) if not t.gate]
    penalties: list[float] | None = None
    for t, vals in ordered:
        w = float(t.weight)
        if t.penalty and not t.gate:  # a gate that is also a penalty counts as a gate
            if penalties is None:
                penalties = [0.0] * n
            if t.penalty == "below":
                th, aw = t.threshold, abs(w)
                penalties = [
                    p if v is None or v >= th else p + aw * (th - v)
                    for p, v in zip(penalties, vals)
                ]
            else:
                penalties = [p if v is None else p + abs(w * v) for p, v in zip(penalties, vals)]
            continue
        col: Values = [None if v is None else w * v for v in vals]
        if passed is not None and not t.gate:
            col = [x if ok else None for x, ok in zip(col, passed)]
        if count is not None:
            count = [k if x is None else k + 1 for k, x in zip(count, col)]
        acc = _fold(acc, col, op)
    if acc is None:
        acc = [None] * n
    if count is not None:
        acc = [a if a is None else a / k for a, k in zip(acc, count)]
    out: Values = []
    for i, a in enumerate(acc):
        pen = penalties[i] if penalties is not None else 0.0
        if a is None and not pen:  # nothing counted: 0.0 if anything had a value, else None
            out.append(0.0 if any(v[i] is not None for v in values) else None)
        elif penalties is None:
            out.append(a)
        else:
            out.append((0.0 if a is None else a) - pen)
    return out
