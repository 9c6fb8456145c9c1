"""Routing: each sample goes to one target pipeline by the value at a dotted path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .executors import Split, join_splits
from .models import Sample
from .results import _Batch
from .samples import group_value

if TYPE_CHECKING:
    from .composed import Pipeline

__all__ = ["Router"]


class Router:
    """Sends each sample to one target by the value at a dotted path; a default catches the rest.

    A sample with no route and no default is ``unverifiable`` (with the reason), never 0.
    """

    def __init__(
        self,
        by: str,
        routes: Mapping[str, Pipeline],
        default: Pipeline | None = None,
    ) -> None:
        self.by = by
        self.routes = dict(routes)
        self.default = default

    def score(self, samples: list[Sample]) -> _Batch:
        groups: dict[Any, list[int]] = {}
        for i, s in enumerate(samples):
            groups.setdefault(group_value(s, self.by), []).append(i)
        parts: list[tuple[list[int], _Batch]] = []
        for key, idx in groups.items():
            target = self.routes.get(key) if key is not None else None
            if target is None:
                target = self.default
            if target is None:
                why = f"no route for {self.by}={key!r} and no default"
                k = len(idx)
                parts.append((idx, _Batch([None] * k, ["unverifiable"] * k, [why] * k, {})))
            else:
                parts.append((idx, target._score_unique([samples[i] for i in idx])))
        merged = _Batch.concat([b for _, b in parts])
        order = [i for idx, _ in parts for i in idx]
        back = [0] * len(order)
        for pos, i in enumerate(order):
            back[i] = pos
        return merged.take(back)

    def targets(self) -> list[Pipeline]:
        ts = list(self.routes.values())
        return ts + ([self.default] if self.default is not None else [])

    def split(self) -> Split:
        """What a batch may be split along: what every target allows (a sample's target is
        decided by itself alone, so routing adds no constraint)."""
        return join_splits(t.split() for t in self.targets())

    def component_names(self) -> list[str]:
        return list(dict.fromkeys(n for t in self.targets() for n in t.component_names))

    def meta(self) -> dict[str, tuple[str | None, str | None]]:
        out: dict[str, tuple[str | None, str | None]] = {}
        for t in self.targets():
            out.update(t._meta())
        return out

    def close(self) -> None:
        for t in self.targets():
            t.close()
