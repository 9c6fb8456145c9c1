"""What a scored JSONL file says, as plain numbers: per-component values and statuses, statuses
per route, rewards against completion length and repetition, and the rows worth reading.

Reads what ``assay score`` writes. With ``--details`` each line carries ``scores`` (every
component's status and reason) and the figures are exact; without it a component's status is
inferred from the line's ``status`` and ``error`` (which name only the most severe component)
and a missing value counts as ``n/a``. Pure Python, linear in the file (sorting aside), so it
runs wherever ``assay`` does; the plots and the HTML are built from these objects elsewhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models import text_of

#: Component statuses in the order the report shows them; ``n/a``: ok, but no value
#: (the reward does not apply to that sample).
STATUS_ORDER = ("ok", "n/a", "unverifiable", "timeout", "error")
SNIPPET = 300  # characters of a completion kept for the sample tables
ROUTE_PATHS = ("metadata.task", "task", "data_source", "metadata.data_source")


@dataclass
class Row:
    """One scored line, reduced to what the report reads."""

    line: int
    id: str
    reward: float | None
    status: str
    error: str
    values: dict[str, float | None]
    scores: dict[str, dict[str, Any]]
    route: str | None
    length: int
    repetition: float
    snippet: str

    def component_status(self, name: str) -> str | None:
        """The component's status on this row (None: the component did not score it)."""
        sc = self.scores.get(name)
        if isinstance(sc, dict) and sc.get("status") in STATUS_ORDER:
            st = str(sc["status"])
            return "n/a" if st == "ok" and sc.get("value") is None else st
        if name not in self.values:
            return None
        if self.status != "ok" and self.error.startswith(f"{name}: "):
            return self.status
        return "n/a" if self.values[name] is None else "ok"

    def component_reason(self, name: str) -> str:
        sc = self.scores.get(name)
        if isinstance(sc, dict) and sc.get("reason"):
            return str(sc["reason"])
        if self.error.startswith(f"{name}: "):
            return self.error[len(name) + 2 :]
        return ""

    def reasons(self) -> str:
        """Every component's reason on this row, ``name: reason``; else the line's error."""
        parts = [f"{n}: {r}" for n in self.values if (r := self.component_reason(n))]
        return "; ".join(parts) or self.error


@dataclass
class ComponentStats:
    name: str
    values: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def scored(self) -> int:
        return sum(self.statuses.values())

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None

    @property
    def positive(self) -> float | None:
        """Share of values above 0 (a pass, for a 0/1 verifier)."""
        return sum(v > 0 for v in self.values) / len(self.values) if self.values else None


@dataclass
class Loaded:
    """A scored file: its rows, components (first-seen order), skipped lines, route path."""

    path: str
    rows: list[Row]
    components: list[str]
    skipped: list[tuple[int, str]]
    route_by: str | None
    detailed: bool


def repetition_share(text: str, n: int = 3) -> float:
    """Share of the word ``n``-grams of ``text`` that repeat an earlier one (0: none repeat).

    Linear in the text: one pass over its words with a set of hashes."""
    words = text.split()
    total = len(words) - n + 1
    if total <= 1:
        return 0.0
    seen: set[int] = set()
    repeats = 0
    for i in range(total):
        h = hash(tuple(words[i : i + n]))
        if h in seen:
            repeats += 1
        else:
            seen.add(h)
    return repeats / total


def dotted_get(obj: Any, path: str) -> Any:
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _float(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def _route_path(objs: Sequence[dict[str, Any]], by: str | None) -> str | None:
    if by:
        return by
    for path in ROUTE_PATHS:
        if any(dotted_get(o, path) is not None for o in objs):
            return path
    return None


def _row(line: int, obj: dict[str, Any], route_by: str | None) -> Row:
    completion = obj.get("completion")
    text = (
        text_of(completion)
        if isinstance(completion, (str, list)) or completion is None
        else str(completion)
    )
    raw_rewards, raw_scores = obj.get("rewards"), obj.get("scores")
    rewards: dict[str, Any] = raw_rewards if isinstance(raw_rewards, dict) else {}
    scores: dict[str, Any] = raw_scores if isinstance(raw_scores, dict) else {}
    values = {str(k): _float(v) for k, v in rewards.items()}
    for k, sc in scores.items():  # a component --details knows but `rewards` lacks
        if str(k) not in values and isinstance(sc, dict):
            values[str(k)] = _float(sc.get("value"))
    route = dotted_get(obj, route_by) if route_by else None
    return Row(
        line=line,
        id=str(obj.get("id", f"line {line}")),
        reward=_float(obj.get("reward")),
        status=str(obj.get("status", "ok")),
        error=str(obj.get("error") or ""),
        values=values,
        scores={str(k): v for k, v in scores.items() if isinstance(v, dict)},
        route=None if route is None else str(route),
        length=len(text),
        repetition=repetition_share(text),
        snippet=text[:SNIPPET],
    )


def load_scored(path: str | Path, route_by: str | None = None) -> Loaded:
    """Read a scored JSONL file; lines that are not scored JSON objects are listed as skipped."""
    objs: list[tuple[int, dict[str, Any]]] = []
    skipped: list[tuple[int, str]] = []
    with Path(path).open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                skipped.append((n, f"not valid JSON: {str(exc)[:120]}"))
                continue
            if not isinstance(obj, dict) or "reward" not in obj:
                skipped.append((n, "not a scored line (no `reward`): run `assay score` first"))
                continue
            objs.append((n, obj))
    by = _route_path([o for _, o in objs], route_by)
    rows = [_row(n, o, by) for n, o in objs]
    names = list(dict.fromkeys(k for r in rows for k in r.values))
    detailed = any(r.scores for r in rows)
    return Loaded(str(path), rows, names, skipped, by, detailed)


def component_stats(data: Loaded) -> list[ComponentStats]:
    out = []
    for name in data.components:
        st = ComponentStats(name)
        for r in data.rows:
            status = r.component_status(name)
            if status is None:
                continue
            st.statuses[status] = st.statuses.get(status, 0) + 1
            v = r.values.get(name)
            if v is not None and status == "ok":
                st.values.append(v)
        out.append(st)
    return out


def route_statuses(data: Loaded) -> dict[str, dict[str, int]]:
    """Line status counts per route value (``(none)`` where a line has no route value)."""
    out: dict[str, dict[str, int]] = {}
    for r in data.rows:
        key = r.route if r.route is not None else "(none)"
        counts = out.setdefault(key, {})
        counts[r.status] = counts.get(r.status, 0) + 1
    return dict(sorted(out.items()))


def ranks(xs: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing their mean rank."""
    order = sorted(range(len(xs)), key=xs.__getitem__)
    out = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation; None with under 3 pairs or a constant side."""
    if len(xs) < 3 or len(xs) != len(ys):
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def rewarded(rows: Iterable[Row]) -> list[Row]:
    """The rows with a reward, highest first."""
    return sorted((r for r in rows if r.reward is not None), key=lambda r: -r.reward)  # type: ignore[operator]
