"""What changed between two scored runs of the same samples: per-component mean shifts and the
samples whose verdict flipped.

Rows are paired by ``id`` when every row of both files has a unique one, else by position (the
report says which). A verdict is a component's status where it is not ``ok``, else the sign of
its value (``pass`` above 0, ``zero``, ``negative``), else ``n/a``; the combined reward is
judged the same way under the name ``reward``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .analysis import Loaded, Row


@dataclass
class Shift:
    name: str
    mean_a: float | None
    mean_b: float | None
    paired: int  # samples with a value in both runs

    @property
    def delta(self) -> float | None:
        if self.mean_a is None or self.mean_b is None:
            return None
        return self.mean_b - self.mean_a


@dataclass
class Flip:
    id: str
    component: str
    before: str
    after: str
    value_a: float | None
    value_b: float | None
    reason_a: str
    reason_b: str


@dataclass
class Comparison:
    paired_by: str
    paired: int
    only_a: int
    only_b: int
    shifts: list[Shift]
    flips: list[Flip]
    flips_per_component: dict[str, int] = field(default_factory=dict)


def verdict(value: float | None, status: str | None) -> str:
    if status is None:
        return "absent"
    if status not in ("ok", "n/a"):
        return status
    if value is None:
        return "n/a"
    return "pass" if value > 0 else ("zero" if value == 0 else "negative")


def _pairs(a: Loaded, b: Loaded) -> tuple[str, list[tuple[Row, Row]], int, int]:
    ids_a = [r.id for r in a.rows]
    ids_b = [r.id for r in b.rows]
    has_ids = all(not i.startswith("line ") for i in ids_a + ids_b)
    if has_ids and len(set(ids_a)) == len(ids_a) and len(set(ids_b)) == len(ids_b):
        by_id = {r.id: r for r in b.rows}
        pairs = [(r, by_id[r.id]) for r in a.rows if r.id in by_id]
        return "id", pairs, len(a.rows) - len(pairs), len(b.rows) - len(pairs)
    n = min(len(a.rows), len(b.rows))
    return "position", list(zip(a.rows[:n], b.rows[:n])), len(a.rows) - n, len(b.rows) - n


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def compare(a: Loaded, b: Loaded) -> Comparison:
    """Pair the rows of two runs and measure what moved."""
    paired_by, pairs, only_a, only_b = _pairs(a, b)
    names = list(dict.fromkeys([*a.components, *b.components]))
    shifts: list[Shift] = []
    flips: list[Flip] = []
    per: dict[str, int] = {}
    for name in ["reward", *names]:
        va: list[float] = []
        vb: list[float] = []
        for ra, rb in pairs:
            if name == "reward":
                xa, xb = ra.reward, rb.reward
                sa: str | None = "ok" if ra.status == "ok" else ra.status
                sb: str | None = "ok" if rb.status == "ok" else rb.status
            else:
                xa, xb = ra.values.get(name), rb.values.get(name)
                sa, sb = ra.component_status(name), rb.component_status(name)
            if xa is not None and xb is not None:
                va.append(xa)
                vb.append(xb)
            before, after = verdict(xa, sa), verdict(xb, sb)
            if before != after and "absent" not in (before, after):
                per[name] = per.get(name, 0) + 1
                flips.append(
                    Flip(
                        ra.id,
                        name,
                        before,
                        after,
                        xa,
                        xb,
                        ra.reasons() if name == "reward" else ra.component_reason(name),
                        rb.reasons() if name == "reward" else rb.component_reason(name),
                    )
                )
        shifts.append(Shift(name, _mean(va), _mean(vb), len(va)))
    return Comparison(paired_by, len(pairs), only_a, only_b, shifts, flips, per)
