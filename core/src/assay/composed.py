"""`Pipeline`: rewards composed into one reward (weights, gates, penalties, routing, nesting).

Scoring a batch:
1. inputs become `Sample`s (dicts are validated; a bad row gets an ``error`` result, the rest
   are scored);
2. identical samples are scored once (GRPO groups repeat answers) and results fanned back out;
3. the executor cuts the batch into chunks along what every reward allows (`assay.executors`);
4. each component scores its chunk (its own batching, caching, parallelism), in dependency
   order; a component with a deadline runs per sample in a `GuardedPool` worker;
5. component values are combined per sample by the rules in `assay.combination`.

A pipeline used as a component of another is a `Reward` (`Pipeline.as_reward`), whose score
carries the inner components' values in ``details["components"]``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

from .adapters import OpenRLHFRewardFunc, TRLReward, VerlComputeScore, as_trl
from .combination import Combine, combine
from .components import Component
from .errors import SpecError
from .executors import (
    EXECUTORS,
    ROW_CHUNK,
    Executor,
    Split,
    join_splits,
    merge_chunks,
    plan_chunks,
    process_pool,
    run_in_processes,
    run_in_threads,
)
from .models import Sample, Score, ScoreLike, as_score
from .results import Results, _Batch, _with_bad_rows
from .rewards import Reward
from .samples import dedupe, validate_rows

if TYPE_CHECKING:
    from .executors import ChunkRunner
    from .ray_executor import RayExecutor
    from .routing import Router
    from .spec import PipelineSpec

__all__ = ["Pipeline", "PipelineReward"]


class Pipeline:
    """Rewards composed into one reward; see the module docstring for the semantics.

    >>> pipe = Pipeline(["exact_match", Component("regex_bonus", weight=0.2)])  # doctest: +SKIP
    >>> pipe = assay.load_pipeline({"rewards": [{"use": "math"}, {"use": "think_format"}]})
    ... # doctest: +SKIP

    Mistakes in composing it (duplicate names, a dependency cycle, a missing dependency, both or
    neither of components and route) raise `SpecError`, as the same mistake in a spec does.
    """

    def __init__(
        self,
        components: Iterable[Component | Reward | Pipeline | str] = (),
        *,
        combine: Combine = "sum",
        name: str = "pipeline",
        route: Router | None = None,
        spec: PipelineSpec | None = None,
        dedupe: bool = True,
    ) -> None:
        self.name = name
        self.dedupe = dedupe
        self.combine: Combine = combine
        self.components = [c if isinstance(c, Component) else Component(c) for c in components]
        self.route = route
        self.spec = spec
        if bool(self.components) == (route is not None):
            raise SpecError("", "a pipeline needs components or a route (exactly one)")
        names = [c.name for c in self.components]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(
                "rewards", f"duplicate component names {dup}: give each a distinct name"
            )
        self._order = self._dependency_order()
        self._rowwise = bool(self.components) and all(c.rowwise for c in self.components)
        self._procs: tuple[int, ProcessPoolExecutor] | None = None
        self._ray: RayExecutor | None = None  # the Ray executor's actors, started on first use
        self._pool_lock = threading.Lock()

    # -- scoring ------------------------------------------------------------------------------
    def score(
        self,
        samples: Iterable[Sample | Mapping[str, Any]],
        *,
        executor: Executor | ChunkRunner = "inline",
        workers: int | None = None,
        chunk_size: int | None = None,
    ) -> Results:
        """Score a batch. Results are in input order and identical whichever executor runs them.

        ``executor``: ``inline``, ``thread``, ``process``, ``ray`` (warm actors on a Ray cluster,
        see `assay.ray_executor`), or an object with ``workers`` and ``run(chunks) -> results``
        such as a `assay.ray_executor.RayExecutor` built with its own address and resources."""
        rows = samples if isinstance(samples, list) else list(samples)
        good, good_idx, bad = validate_rows(rows)
        uniq, inverse = dedupe(good) if self.dedupe else (good, None)
        ub = self._run(uniq, executor, workers, chunk_size)
        batch = ub.take(inverse) if inverse is not None else ub
        if bad:
            batch = _with_bad_rows(batch, good_idx, bad, len(rows))
        return Results(batch, self._meta())

    async def ascore(self, samples: Iterable[Sample | Mapping[str, Any]], **kw: Any) -> Results:
        """`score` without blocking the event loop (runs on a worker thread)."""
        return await asyncio.to_thread(self.score, list(samples), **kw)

    def __call__(self, samples: Iterable[Sample | Mapping[str, Any]]) -> Results:
        return self.score(samples)

    def split(self) -> Split:
        """What a batch may be split along without changing a score (see `assay.executors`)."""
        if self.route is not None:
            return self.route.split()
        return join_splits(c.split_by() for c in self.components)

    def _run(
        self,
        uniq: list[Sample],
        executor: Executor | ChunkRunner,
        workers: int | None,
        chunk_size: int | None,
    ) -> _Batch:
        runner: ChunkRunner | None = None
        if not isinstance(executor, str):
            runner = executor
        elif executor not in EXECUTORS:
            raise ValueError(f"unknown executor {executor!r}; use inline, thread, process or ray")
        if not uniq:
            return _Batch([], None, None, {c.name: [] for c in self.components})
        if runner is not None or executor == "ray":  # every chunk on an actor, even one
            runner = runner or self._ray_executor(workers or 2)
            split = self.split()
            score_batch = getattr(runner, "score_batch", None)
            if score_batch is not None:  # it plans its own chunks (Ray: per pool, guided sizes)
                batch: _Batch = score_batch(uniq, split, chunk_size)
                return batch
            chunks = plan_chunks(uniq, split, runner.workers, chunk_size)
            parts = [[uniq[i] for i in c] for c in chunks]
            return merge_chunks(runner.run(parts, split), chunks)
        if executor == "inline" or len(uniq) == 1:
            return self._score_unique(uniq)
        n = workers or 2
        chunks = plan_chunks(uniq, self.split(), n, chunk_size)
        if len(chunks) == 1:
            return self._score_unique(uniq)
        parts = [[uniq[i] for i in c] for c in chunks]
        if executor == "thread":
            return merge_chunks(run_in_threads(self._score_unique, parts, n), chunks)
        with self._pool_lock:
            if self._procs is None or self._procs[0] != n:
                if self._procs is not None:
                    self._procs[1].shutdown(cancel_futures=True)
                self._procs = (n, process_pool(self, n))
            pool = self._procs[1]
        return merge_chunks(run_in_processes(pool, parts), chunks)

    def _ray_executor(self, workers: int) -> RayExecutor:
        """This pipeline's Ray actors (started once, kept warm; restarted if ``workers`` changes)."""
        with self._pool_lock:
            if self._ray is None or self._ray.workers != workers:
                from .ray_executor import RayExecutor

                if self._ray is not None:
                    self._ray.close()
                self._ray = RayExecutor(self, workers)
            return self._ray

    def _score_unique(self, samples: list[Sample]) -> _Batch:
        if self.route is not None:
            return self.route.score(samples)
        if self._rowwise and len(samples) > ROW_CHUNK:
            return self._score_rowwise(samples)
        return combine(self.components, self._columns(samples), self.combine)

    def _columns(self, samples: list[Sample]) -> list[list[ScoreLike]]:
        """Each component's values over the batch (dependencies first), in component order."""
        cols: dict[str, list[ScoreLike]] = {}
        upstream: dict[str, list[Score]] = {}
        for c in self._order:
            deps = c.dependencies()
            ups = {d: upstream.setdefault(d, [as_score(v, d) for v in cols[d]]) for d in deps}
            cols[c.name] = c.score(samples, ups)
        return [cols[c.name] for c in self.components]

    def _score_rowwise(self, samples: list[Sample]) -> _Batch:
        """Score row-wise components and combine them slice by slice, so that every pass over a
        slice finds its samples (and then its values) still in the CPU cache."""
        n = len(samples)
        parts = []
        for i in range(0, n, ROW_CHUNK):
            chunk = samples[i : i + ROW_CHUNK]
            cols = [c.score(chunk, {}) for c in self.components]
            parts.append(combine(self.components, cols, self.combine))
        return _Batch.concat(parts)

    def _score_nested(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        b = self._score_unique(list(samples))
        out: list[ScoreLike] = []
        for i, r in enumerate(b.rewards):
            comps = {
                k: _value(v[i])
                for k, v in b.components.items()
                if not (b.present and k in b.present and not b.present[k][i])
            }
            st = b.statuses[i] if b.statuses else "ok"
            why = b.reasons[i] if b.reasons else ""
            out.append(Score(value=r, status=st, reason=why, details={"components": comps}))  # type: ignore[arg-type]  # statuses hold only STATUSES
        return out

    def _dependency_order(self) -> list[Component]:
        by_name = {c.name: c for c in self.components}
        order: list[Component] = []
        state: dict[str, int] = {}

        def visit(c: Component, chain: tuple[str, ...]) -> None:
            if state.get(c.name) == 2:
                return
            if state.get(c.name) == 1:
                raise SpecError("rewards", f"dependency cycle: {' -> '.join((*chain, c.name))}")
            state[c.name] = 1
            for d in c.dependencies():
                if d not in by_name:
                    raise SpecError(
                        f"rewards.{c.name}",
                        f"reads component {d!r}, which is not in this pipeline "
                        f"(components: {', '.join(by_name)})",
                    )
                visit(by_name[d], (*chain, c.name))
            state[c.name] = 2
            order.append(c)

        for c in self.components:
            visit(c, ())
        return order

    def _meta(self) -> dict[str, tuple[str | None, str | None]]:
        meta = {c.name: (c.plugin, c.version) for c in self.components}
        if self.route is not None:
            meta.update(self.route.meta())
        return meta

    # -- as a reward, and for trainers ----------------------------------------------------------
    def as_reward(self) -> PipelineReward:
        """This pipeline as a `Reward`, e.g. a component of another pipeline."""
        return PipelineReward(self)

    def as_trl(self, components: bool = False, **options: Any) -> list[TRLReward]:
        """TRL ``reward_funcs``: the combined reward, plus one logger per component if asked
        (``options``: `assay.adapters.as_trl`'s ``non_ok``, ``max_non_ok_rate``)."""
        return as_trl(self, components=components, **options)

    def as_verl(self, **options: Any) -> VerlComputeScore:
        """verl ``compute_score`` (options: `assay.verl_adapter.VerlComputeScore`)."""
        return VerlComputeScore(self, **options)

    def as_openrlhf(self, **options: Any) -> OpenRLHFRewardFunc:
        """OpenRLHF ``reward_func`` (options: `assay.openrlhf_adapter.OpenRLHFRewardFunc`)."""
        return OpenRLHFRewardFunc(self, **options)

    @property
    def component_names(self) -> list[str]:
        if self.route is not None:
            return self.route.component_names()
        return [c.name for c in self.components]

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        if self._procs is not None:
            self._procs[1].shutdown(cancel_futures=True)
            self._procs = None
        if self._ray is not None:
            self._ray.close()
            self._ray = None
        for c in self.components:
            c.close()
        if self.route is not None:
            self.route.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_procs"] = None
        state["_ray"] = None
        state.pop("_pool_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pool_lock = threading.Lock()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def dependencies(self) -> list[str]:  # a nested pipeline reads nothing from its parent
        return []

    def __repr__(self) -> str:
        if self.route is not None:
            return f"<Pipeline {self.name} route by {self.route.by}>"
        terms = ", ".join(f"{c.name}*{c.weight:g}" for c in self.components)
        return f"<Pipeline {self.name} {self.combine}({terms})>"


class PipelineReward(Reward):
    """A pipeline as a reward: its combined reward per sample, the inner components' values in
    ``details["components"]``. Splits along what the inner rewards allow."""

    name = "pipeline"
    nested: ClassVar[bool] = True

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.name = pipeline.name  # type: ignore[misc]  # a pipeline's name is known at run time

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        return self.pipeline._score_nested(samples)

    def split_by(self) -> str:
        split = self.pipeline.split()
        if split is None:
            return "batch"
        if len(split) > 1:
            return "batch"  # several keys do not fit one path: keep the batch whole (safe)
        return split[0] if split else "row"

    def close(self) -> None:
        self.pipeline.close()

    def __repr__(self) -> str:
        return f"<reward {self.pipeline!r}>"


def _value(v: ScoreLike) -> float | None:
    if isinstance(v, Score):
        return v.value
    return None if v is None else float(v)
