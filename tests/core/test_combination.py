"""The combination rules, column-wise (`assay.combination`), against a per-sample statement of
the same rules (the former ``_combine_one``, kept here as the oracle), on generated columns of
numbers, None and Scores with gates, penalties and every combine mode."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from assay import Score
from assay.combination import SEVERITY, combine


@dataclass
class T:
    name: str
    weight: float = 1.0
    gate: bool = False
    threshold: float = 1.0
    penalty: bool | str = False


def oracle(comps: list[T], values: list[Any], how: str) -> tuple[float | None, str, str]:
    status, reason = "ok", ""
    terms: list[float] = []
    penalties = 0.0
    gate_ok = True
    gate_terms: list[float] = []
    for c, raw in zip(comps, values):
        if isinstance(raw, Score):
            v = raw.value
            if raw.status != "ok" and SEVERITY[raw.status] > SEVERITY[status]:
                status, reason = raw.status, f"{c.name}: {raw.reason}"
            if raw.status in ("error", "timeout"):
                v = 0.0
        elif raw is None or isinstance(raw, (int, float)):
            v = None if raw is None else float(raw)
        else:
            v = 0.0
            if SEVERITY["error"] > SEVERITY[status]:
                status = "error"
                reason = f"{c.name}: returned {type(raw).__name__}, expected a float, None or Score"
        if c.gate:
            if v is None or v < c.threshold:
                gate_ok = False
            if v is not None:
                gate_terms.append(c.weight * v)
            continue
        if v is None:
            continue
        if c.penalty == "below":
            if v < c.threshold:
                penalties += abs(c.weight) * (c.threshold - v)
        elif c.penalty:
            penalties += abs(c.weight * v)
        else:
            terms.append(c.weight * v)
    if not gate_ok:
        terms = []
    terms = gate_terms + terms
    if not terms and not penalties:
        has_value = any(
            (x.value is not None or x.status in ("error", "timeout"))
            if isinstance(x, Score)
            else x is not None
            for x in values
        )
        return (0.0 if has_value else None), status, reason
    if how in ("sum", "mean"):
        total = sum(terms)
        if how == "mean":
            total = total / len(terms) if terms else 0.0
    elif how == "min":
        total = min(terms) if terms else 0.0
    else:
        total = max(terms) if terms else 0.0
    return total - penalties, status, reason


finite = st.floats(-4, 4, allow_nan=False).map(lambda x: round(x, 2))
value = st.one_of(
    finite,
    st.none(),
    st.integers(-2, 2),
    st.builds(Score.ok, finite),
    st.builds(Score.error, st.sampled_from(["boom", "bad"])),
    st.builds(Score.timeout, st.just("slow")),
    st.builds(Score.unverifiable, st.just("no gold")),
    st.just("not a number"),
)
term = st.builds(
    T,
    name=st.just(""),
    weight=finite,
    gate=st.booleans(),
    threshold=st.sampled_from([0.0, 0.5, 1.0]),
    penalty=st.sampled_from([False, True, "below"]),
)


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=0, abs_tol=0) or a == b


@settings(max_examples=400, deadline=None)
@given(
    st.lists(term, min_size=1, max_size=4),
    st.integers(1, 6),
    st.sampled_from(["sum", "mean", "min", "max"]),
    st.data(),
)
def test_columnwise_rules_match_the_per_sample_rules(terms, n, how, data) -> None:
    for i, t in enumerate(terms):
        t.name = f"c{i}"
    plain = data.draw(st.booleans())
    cell = finite if plain else value
    cols = [data.draw(st.lists(cell, min_size=n, max_size=n)) for _ in terms]
    b = combine(terms, cols, how)  # type: ignore[arg-type]
    for i in range(n):
        want = oracle(terms, [c[i] for c in cols], how)
        got = (
            b.rewards[i],
            b.statuses[i] if b.statuses else "ok",
            b.reasons[i] if b.reasons else "",
        )
        assert same(got[0], want[0]), (got, want)
        assert got[1:] == want[1:]
