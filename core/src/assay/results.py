"""Column-wise scoring results: `_Batch` (what a scoring pass produces, cheap to build and
merge) and `Results` (the public sequence of `Result`, built lazily from the columns)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .models import Result, Score, ScoreLike, as_score


@dataclass
class _Batch:
    """Column-wise results of one scoring pass (cheap to build, cheap to merge)."""

    rewards: list[float | None]
    statuses: list[str] | None  # None: all ok
    reasons: list[str] | None
    components: dict[str, list[ScoreLike]]
    present: dict[str, list[bool]] | None = None  # routing: which rows a component touched

    def take(self, idx: Sequence[int]) -> _Batch:
        return _Batch(
            [self.rewards[i] for i in idx],
            [self.statuses[i] for i in idx] if self.statuses else None,
            [self.reasons[i] for i in idx] if self.reasons else None,
            {k: [v[i] for i in idx] for k, v in self.components.items()},
            {k: [v[i] for i in idx] for k, v in self.present.items()} if self.present else None,
        )

    @staticmethod
    def concat(parts: Sequence[_Batch]) -> _Batch:
        if len(parts) == 1:
            return parts[0]
        n = [len(p.rewards) for p in parts]
        rewards: list[float | None] = []
        for p in parts:
            rewards.extend(p.rewards)
        statuses = reasons = None
        if any(p.statuses for p in parts):
            statuses, reasons = [], []
            for p, k in zip(parts, n):
                statuses.extend(p.statuses or ["ok"] * k)
                reasons.extend(p.reasons or [""] * k)
        names = list(dict.fromkeys(k for p in parts for k in p.components))
        comps: dict[str, list[ScoreLike]] = {}
        for name in names:
            col: list[ScoreLike] = []
            for p, k in zip(parts, n):
                col.extend(p.components.get(name, [None] * k))
            comps[name] = col
        present: dict[str, list[bool]] | None = None
        if any(p.present for p in parts) or any(set(p.components) != set(names) for p in parts):
            present = {}
            for name in names:
                flags: list[bool] = []
                for p, k in zip(parts, n):
                    if name not in p.components:
                        flags.extend([False] * k)
                    elif p.present and name in p.present:
                        flags.extend(p.present[name])
                    else:
                        flags.extend([True] * k)
                present[name] = flags
        return _Batch(rewards, statuses, reasons, comps, present)


class Results(Sequence[Result]):
    """Pipeline results for a batch, in input order. ``results[i]`` is a `Result`.

    Stored column-wise and turned into `Result` objects only when read, so scoring large
    batches of cheap rewards stays close to a plain loop.
    """

    def __init__(self, batch: _Batch, component_meta: Mapping[str, tuple[str | None, str | None]]):
        self._b = batch
        self._meta = component_meta

    def __len__(self) -> int:
        return len(self._b.rewards)

    @property
    def rewards(self) -> list[float | None]:
        """The combined reward per sample (what a trainer consumes)."""
        return list(self._b.rewards)

    @property
    def statuses(self) -> list[str]:
        return list(self._b.statuses) if self._b.statuses else ["ok"] * len(self)

    def component(self, name: str) -> list[float | None]:
        """One component's values per sample (None where it did not apply)."""
        col = self._b.components[name]
        return [v.value if isinstance(v, Score) else (None if v is None else float(v)) for v in col]

    def component_statuses(self, name: str) -> list[str]:
        """One component's status per sample (``absent`` where a route did not run it)."""
        col = self._b.components[name]
        present = self._b.present.get(name) if self._b.present else None
        out: list[str] = [v.status if isinstance(v, Score) else "ok" for v in col]
        if present is not None:
            out = [st if here else "absent" for st, here in zip(out, present)]
        return out

    @property
    def component_names(self) -> list[str]:
        return list(self._b.components)

    def _result(self, i: int) -> Result:
        b = self._b
        comps: dict[str, Score] = {}
        for name, col in b.components.items():
            if b.present is not None and name in b.present and not b.present[name][i]:
                continue
            try:
                s = as_score(col[i], name)
            except TypeError as exc:  # the reward returned neither a number, None nor a Score
                s = Score.error(str(exc))
                s.reward = name
            if isinstance(col[i], Score):
                s = s.model_copy()
                s.reward = s.reward or name
            plugin, version = self._meta.get(name, (None, None))
            if s.plugin is None and plugin is not None:
                s.plugin, s.version = plugin, version
            comps[name] = s
        status = b.statuses[i] if b.statuses else "ok"
        reason = b.reasons[i] if b.reasons else ""
        return Result(reward=b.rewards[i], status=status, reason=reason, components=comps)  # type: ignore[arg-type]  # statuses hold Status values only

    def brief(self) -> list[dict[str, Any]]:
        """Per sample, ``{"reward", "status", "reason", "components": {name: {"value",
        "status"}}}``: what a trainer and a metrics counter read, built from the columns without
        making a `Result` per sample (a reward server answers with these)."""
        b = self._b
        n = len(b.rewards)
        statuses = b.statuses or ["ok"] * n
        reasons = b.reasons or [""] * n
        rows: list[dict[str, Any]] = [
            {"reward": r, "status": st, "reason": why, "components": {}}
            for r, st, why in zip(b.rewards, statuses, reasons)
        ]
        for name, col in b.components.items():
            present = b.present.get(name) if b.present else None
            for i, (row, v) in enumerate(zip(rows, col)):
                if present is not None and not present[i]:
                    continue
                if isinstance(v, Score):
                    comp = {"value": v.value, "status": v.status}
                elif v is None or isinstance(v, (int, float)):
                    comp = {"value": None if v is None else float(v), "status": "ok"}
                else:  # the combination already marked the row: not a number
                    comp = {"value": None, "status": "error"}
                row["components"][name] = comp
        return rows

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._result(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._result(i)

    def __iter__(self) -> Iterator[Result]:
        for i in range(len(self)):
            yield self._result(i)

    def __repr__(self) -> str:
        return f"<Results n={len(self)} components={self.component_names}>"


def _with_bad_rows(batch: _Batch, good_idx: list[int], bad: dict[int, str], n: int) -> _Batch:
    rewards: list[float | None] = [None] * n
    statuses = ["error"] * n
    reasons = [""] * n
    for i, why in bad.items():
        reasons[i] = why
    comps: dict[str, list[ScoreLike]] = {k: [None] * n for k in batch.components}
    present = {k: [False] * n for k in batch.components}
    for j, i in enumerate(good_idx):
        rewards[i] = batch.rewards[j]
        statuses[i] = batch.statuses[j] if batch.statuses else "ok"
        reasons[i] = batch.reasons[j] if batch.reasons else ""
        for k in comps:
            comps[k][i] = batch.components[k][j]
            present[k][i] = batch.present[k][j] if batch.present and k in batch.present else True
    return _Batch(rewards, statuses, reasons, comps, present)
