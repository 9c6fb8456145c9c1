"""Pipelines: rewards composed with weights, gates, penalties, routing and nesting.

Scoring a batch:
1. inputs become `Sample`s (dicts are validated; a bad row gets an ``error`` result, the rest
   are scored);
2. identical samples are scored once (GRPO groups repeat answers) and results fanned back out;
3. each component scores the whole batch (its own batching, caching, parallelism), in
   dependency order; a component with a deadline runs per sample in a `GuardedPool` worker
   that is killed and replaced when the deadline passes;
4. component values are combined per sample: ``sum``/``mean`` of ``weight * value``, ``min``,
   ``max``; gates (a component that must reach its ``threshold`` for the non-gate, non-penalty
   terms to count); penalties (``weight * value`` subtracted after combining).

Components that return None ("does not apply") are left out of the combination; if nothing
applies the reward is None. A component with status ``error``/``timeout`` counts as 0 (never
as a success) and marks the result's status; ``unverifiable`` leaves the value None.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import operator
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import ValidationError

from .errors import DeadlineExceeded, SpecError, UnknownNameError, WorkerCrashed
from .models import STATUSES, Sample, Score, ScoreLike, as_score
from .results import Results, _Batch, _with_bad_rows
from .rewards import Reward
from .spec import Combine, ComponentSpec, PipelineSpec, RouteSpec, parse_spec

Executor = Literal["inline", "thread", "process", "ray"]
_SEVERITY = {"ok": 0, "unverifiable": 1, "timeout": 2, "error": 3}

# -- samples ---------------------------------------------------------------------------------


def to_sample(row: Any) -> Sample:
    """A `Sample` from a Sample or a mapping (validated)."""
    if isinstance(row, Sample):
        return row
    if isinstance(row, Mapping):
        return Sample.model_validate(row)
    raise TypeError(f"expected a mapping or assay.Sample, got {type(row).__name__}")


def _freeze(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    return repr(value)


def sample_key(s: Sample) -> tuple[Any, ...]:
    """A hashable identity of everything a reward may read from a sample."""
    extra = s.__pydantic_extra__
    return (
        _freeze(s.prompt),
        _freeze(s.completion),
        _freeze(s.answer),
        _freeze(s.tests) if s.tests is not None else None,
        repr(s.metadata) if s.metadata else None,
        repr(extra) if extra else None,
    )


_COMPLETION = operator.attrgetter("completion")

#: Samples per slice when a pipeline of row-wise rewards scores a large batch: every pass over
#: a slice (each reward, then the combination) finds its samples still in the CPU cache.
ROW_CHUNK = 1024


def dedupe(samples: Sequence[Sample]) -> tuple[list[Sample], list[int] | None]:
    """Unique samples (first occurrence order) and, per input, the index of its unique sample
    (None when all samples are distinct).

    Samples with distinct completions cannot be duplicates, so a batch whose completions are
    all distinct (the common case outside GRPO groups) skips building full keys.
    """
    try:
        distinct = len(set(map(_COMPLETION, samples))) == len(samples)
    except TypeError:  # chat-message completions are unhashable
        distinct = False
    if distinct:
        return list(samples), None
    index: dict[tuple[Any, ...], int] = {}
    uniq: list[Sample] = []
    inverse: list[int] = []
    for s in samples:
        k = sample_key(s)
        i = index.get(k)
        if i is None:
            i = index[k] = len(uniq)
            uniq.append(s)
        inverse.append(i)
    return uniq, inverse


def dotted(sample: Sample, path: str) -> Any:
    """Value at a dotted path (``metadata.task``, ``answer``, an extra field), or None."""
    cur: Any = sample
    for part in path.split("."):
        if isinstance(cur, Sample):
            cur = getattr(cur, part, None)
            if cur is None and cur is not sample and sample.model_extra:
                cur = sample.model_extra.get(part)
        elif isinstance(cur, Mapping):
            cur = cur.get(part)
        else:
            return None
        if cur is None:
            return None
    return cur


# -- components ------------------------------------------------------------------------------

_GUARDED: dict[int, Reward] = {}


def _install_guarded(key: int, reward: Reward) -> None:
    _GUARDED[key] = reward  # runs in the forked worker: the reward object is inherited


def _guarded_one(arg: tuple[int, Sample]) -> ScoreLike:
    key, sample = arg
    return _GUARDED[key].score([sample])[0]


@dataclass
class Component:
    """A pipeline term: a reward (or nested pipeline) and how it counts."""

    reward: Union[Reward, Pipeline]
    name: str = ""
    weight: float = 1.0
    gate: bool = False
    threshold: float = 1.0
    penalty: bool = False
    timeout: float | None = None
    memory_mb: int | None = None
    workers: int = 2
    num_cpus: float | None = None  # what a Ray actor holding this component reserves
    num_gpus: float | None = None
    plugin: str | None = None
    version: str | None = None
    _pool: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.reward.name
        if isinstance(self.reward, Reward) and self.timeout is None and self.reward.expensive:
            self.timeout = self.reward.timeout
        if isinstance(self.reward, Reward) and self.memory_mb is None:
            self.memory_mb = self.reward.memory_mb

    @property
    def guarded(self) -> bool:
        return isinstance(self.reward, Reward) and self.timeout is not None

    @property
    def rowwise(self) -> bool:
        """Safe to score slice by slice: a row-wise reward, unguarded, reading no other term."""
        r = self.reward
        return isinstance(r, Reward) and r.rowwise and not self.guarded and not r.dependencies()

    def _get_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                from .workers import GuardedPool

                self._pool = GuardedPool(
                    self.workers,
                    memory_mb=self.memory_mb,
                    initializer=_install_guarded,
                    initargs=(id(self), self.reward),
                )
            return self._pool

    def score(self, samples: Sequence[Sample], upstream: dict[str, list[Score]]) -> list[ScoreLike]:
        r = self.reward
        if isinstance(r, Pipeline):
            return r._score_nested(samples)
        if self.guarded:
            return self._score_guarded(samples)
        try:
            out = r.score_with(samples, upstream) if r.dependencies() else r.score(samples)
            if type(out) is not list:
                out = list(out)
            if len(out) != len(samples):
                raise ValueError(f"returned {len(out)} scores for {len(samples)} samples")
            return out
        except Exception as exc:
            if len(samples) == 1:
                return [Score.error(f"{type(exc).__name__}: {exc}")]
            # One bad sample must not sink the batch: retry one by one to isolate it.
            return [self.score([s], upstream_slice(upstream, i))[0] for i, s in enumerate(samples)]

    def _score_guarded(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        pool = self._get_pool()
        outcomes = pool.map(_guarded_one, [(id(self), s) for s in samples], timeout=self.timeout)
        out: list[ScoreLike] = []
        for o in outcomes:
            if o.ok:
                out.append(o.value)
            elif isinstance(o.error, DeadlineExceeded):
                out.append(Score.timeout(f"exceeded {self.timeout:g} s; worker killed"))
            elif isinstance(o.error, MemoryError):
                out.append(Score.error(f"MemoryError: over the {self.memory_mb} MiB cap"))
            elif isinstance(o.error, WorkerCrashed):
                out.append(Score.error(str(o.error)))
            else:
                out.append(Score.error(f"{type(o.error).__name__}: {o.error}"))
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self.reward.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_pool"] = None
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def upstream_slice(upstream: dict[str, list[Score]], i: int) -> dict[str, list[Score]]:
    return {k: [v[i]] for k, v in upstream.items()}


# -- combining -------------------------------------------------------------------------------


def _combine_fast(comps: list[Component], cols: list[list[ScoreLike]], how: Combine) -> list[float]:
    """Weighted combination when every value is a number; raises TypeError otherwise (a None or
    a `Score` among the values), and the caller falls back to `_combine_one` per sample.

    Summation order matches `_combine_one`, so both paths give bit-identical rewards.
    """
    w = [c.weight for c in comps]
    if how in ("sum", "mean"):
        # One fused pass for the usual 2-3 components; a fold beyond that.
        if len(cols) == 2:
            w0, w1 = w
            acc = [w0 * a + w1 * b for a, b in zip(*cols)]
        elif len(cols) >= 3:
            w0, w1, w2 = w[:3]
            acc = [w0 * a + w1 * b + w2 * c for a, b, c in zip(*cols[:3])]
            for wi, col in zip(w[3:], cols[3:]):
                acc = [a + wi * v for a, v in zip(acc, col)]
        else:
            acc = [w[0] * v for v in cols[0]]
        if how == "mean":
            n = len(cols)
            acc = [a / n for a in acc]
        return acc
    terms = [[wi * v for v in col] for wi, col in zip(w, cols)]
    return [float(x) for x in map(min if how == "min" else max, *terms)]


def _combine_one(
    comps: list[Component], values: list[ScoreLike], how: Combine
) -> tuple[float | None, str, str]:
    """Combine one sample's component values; returns (reward, status, reason)."""
    status, reason = "ok", ""
    terms: list[float] = []
    penalties = 0.0
    gate_ok = True
    gate_terms: list[float] = []
    for c, raw in zip(comps, values):
        if isinstance(raw, Score):
            v = raw.value
            if raw.status != "ok" and _SEVERITY[raw.status] > _SEVERITY[status]:
                status, reason = raw.status, f"{c.name}: {raw.reason}"
            if raw.status in ("error", "timeout"):
                v = 0.0
        elif raw is None or isinstance(raw, (int, float)):
            v = None if raw is None else float(raw)
        else:
            v = 0.0
            if _SEVERITY["error"] > _SEVERITY[status]:
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
        if c.penalty:
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
    if how == "sum":
        total = sum(terms)
    elif how == "mean":
        total = sum(terms) / len(terms) if terms else 0.0
    elif how == "min":
        total = min(terms) if terms else 0.0
    else:
        total = max(terms) if terms else 0.0
    return total - penalties, status, reason


# -- the pipeline ----------------------------------------------------------------------------


class Pipeline:
    """Rewards composed into one reward; see the module docstring for the semantics.

    >>> pipe = Pipeline([Component(get_reward("exact_match"), weight=1.0)])    # doctest: +SKIP
    >>> pipe = load_pipeline({"rewards": [{"use": "math"}, {"use": "think_format", "weight": 0.2}]})
    ... # doctest: +SKIP
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
        self.components = [_as_component(c) for c in components]
        self.route = route
        self.spec = spec
        if bool(self.components) == (route is not None):
            raise ValueError("a pipeline needs components or a route (exactly one)")
        names = [c.name for c in self.components]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate component names {sorted(dup)}: give each a distinct name")
        self._order = self._dependency_order()
        self._rowwise = bool(self.components) and all(c.rowwise for c in self.components)
        self._procs: tuple[int, Any] | None = None
        self._ray: Any = None  # the Ray executor's actors, started on first use
        self._pool_lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: PipelineSpec | dict[str, Any] | str | Path) -> Pipeline:
        return build(parse_spec(spec))

    # -- scoring ------------------------------------------------------------------------------
    def score(
        self,
        samples: Iterable[Sample | Mapping[str, Any]],
        *,
        executor: Executor | Any = "inline",
        workers: int | None = None,
        chunk_size: int | None = None,
    ) -> Results:
        """Score a batch. Results are in input order and identical whichever executor runs them.

        ``executor``: ``inline``, ``thread``, ``process``, ``ray`` (actors on a Ray cluster, see
        `assay.ray_executor`), or an executor object with ``run(chunks) -> results`` such as a
        `assay.ray_executor.RayExecutor` built with its own address and resources."""
        rows = samples if isinstance(samples, list) else list(samples)
        bad: dict[int, str] = {}
        good_idx: list[int] = []
        if not rows or set(map(type, rows)) == {Sample}:
            good: list[Sample] = rows  # type: ignore[assignment]
        else:
            good = []
            with _no_gc():  # validating many rows allocates many objects: skip GC passes
                for i, row in enumerate(rows):
                    try:
                        good.append(to_sample(row))
                        good_idx.append(i)
                    except (ValidationError, TypeError) as exc:
                        bad[i] = _short_validation(exc)
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

    def _run(
        self, uniq: list[Sample], executor: Any, workers: int | None, chunk_size: int | None
    ) -> _Batch:
        if not uniq:
            return _Batch([], None, None, {c.name: [] for c in self.components})
        if executor == "inline" or len(uniq) == 1:
            return self._score_unique(uniq)
        if executor == "ray" or hasattr(executor, "run"):
            ex = executor if hasattr(executor, "run") else self._ray_executor(workers or 2)
            n = getattr(ex, "workers", workers or 2)
            size = chunk_size or max(1, -(-len(uniq) // (n * 4)))
            chunks = [uniq[i : i + size] for i in range(0, len(uniq), size)]
            return _Batch.concat(ex.run(chunks))
        n = workers or 2
        size = chunk_size or max(1, -(-len(uniq) // (n * 4)))
        chunks = [uniq[i : i + size] for i in range(0, len(uniq), size)]
        if executor == "thread":
            with ThreadPoolExecutor(n) as ex:
                return _Batch.concat(list(ex.map(self._score_unique, chunks)))
        if executor == "process":
            from .executors import process_pool, run_in_processes

            with self._pool_lock:
                if self._procs is None or self._procs[0] != n:
                    if self._procs is not None:
                        self._procs[1].shutdown(cancel_futures=True)
                    self._procs = (n, process_pool(self, n))
                pool = self._procs[1]
            return _Batch.concat(run_in_processes(pool, chunks))
        raise ValueError(f"unknown executor {executor!r}; use inline, thread, process or ray")

    def _ray_executor(self, workers: int) -> Any:
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
        return self._combine(self._columns(samples))

    def _columns(self, samples: list[Sample]) -> list[list[ScoreLike]]:
        """Each component's values over the batch (dependencies first), in component order."""
        cols: dict[str, list[ScoreLike]] = {}
        upstream: dict[str, list[Score]] = {}
        for c in self._order:
            deps = c.reward.dependencies() if isinstance(c.reward, Reward) else []
            ups = {d: upstream.setdefault(d, [as_score(v, d) for v in cols[d]]) for d in deps}
            cols[c.name] = c.score(samples, ups)
        return [cols[c.name] for c in self.components]

    def _score_rowwise(self, samples: list[Sample]) -> _Batch:
        """Score row-wise components and combine them slice by slice, so that every pass over a
        slice finds its samples (and then its values) still in the CPU cache."""
        n = len(samples)
        cols: list[list[ScoreLike]] = [[None] * n for _ in self.components]
        rewards: list[float | None] = [None] * n
        statuses: list[str] | None = None
        reasons: list[str] | None = None
        for i in range(0, n, ROW_CHUNK):
            chunk = samples[i : i + ROW_CHUNK]
            j = i + len(chunk)
            part = [c.score(chunk, {}) for c in self.components]
            b = self._combine(part)
            rewards[i:j] = b.rewards
            for col, values in zip(cols, part):
                col[i:j] = values
            if b.statuses:
                if statuses is None or reasons is None:
                    statuses, reasons = ["ok"] * n, [""] * n
                statuses[i:j] = b.statuses
                reasons[i:j] = b.reasons  # type: ignore[assignment]
        return _Batch(
            rewards, statuses, reasons, {c.name: v for c, v in zip(self.components, cols)}
        )

    def _combine(self, ordered: list[list[ScoreLike]]) -> _Batch:
        if not any(c.gate or c.penalty for c in self.components):
            try:
                rewards: list[float | None] = _combine_fast(self.components, ordered, self.combine)  # type: ignore[assignment]
            except TypeError:
                pass  # a None or a Score among the values: the general path below
            else:
                return _Batch(
                    rewards, None, None, {c.name: col for c, col in zip(self.components, ordered)}
                )
        rewards, statuses, reasons = [], [], []
        for values in zip(*ordered):
            r, st, why = _combine_one(self.components, list(values), self.combine)
            rewards.append(r)
            statuses.append(st)
            reasons.append(why)
        any_bad = any(st != "ok" for st in statuses)
        return _Batch(
            rewards,
            statuses if any_bad else None,
            reasons if any_bad else None,
            {c.name: col for c, col in zip(self.components, ordered)},
        )

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
            out.append(Score(value=r, status=st, reason=why, details={"components": comps}))  # type: ignore[arg-type]
        return out

    def _dependency_order(self) -> list[Component]:
        by_name = {c.name: c for c in self.components}
        order: list[Component] = []
        state: dict[str, int] = {}

        def visit(c: Component, chain: tuple[str, ...]) -> None:
            if state.get(c.name) == 2:
                return
            if state.get(c.name) == 1:
                raise SpecError("rewards", f"dependency cycle: {' -> '.join(chain + (c.name,))}")
            state[c.name] = 1
            deps = c.reward.dependencies() if isinstance(c.reward, Reward) else []
            for d in deps:
                if d not in by_name:
                    raise SpecError(
                        f"rewards.{c.name}",
                        f"reads component {d!r}, which is not in this pipeline "
                        f"(components: {', '.join(by_name)})",
                    )
                visit(by_name[d], chain + (c.name,))
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

    # -- adapters -----------------------------------------------------------------------------
    def as_trl(self, components: bool = False) -> list[Any]:
        """TRL ``reward_funcs``: the combined reward, plus one logger per component if asked."""
        from .adapters import as_trl

        return as_trl(self, components=components)

    def as_verl(self) -> Any:
        from .adapters import VerlComputeScore

        return VerlComputeScore(self)

    def as_openrlhf(self) -> Any:
        from .adapters import OpenRLHFRewardFunc

        return OpenRLHFRewardFunc(self)

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

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def dependencies(self) -> list[str]:  # a nested pipeline reads nothing from its parent
        return []

    def __repr__(self) -> str:
        if self.route is not None:
            return f"<Pipeline {self.name} route by {self.route.by}>"
        terms = ", ".join(f"{c.name}*{c.weight:g}" for c in self.components)
        return f"<Pipeline {self.name} {self.combine}({terms})>"


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC while allocating a batch of objects (nothing cyclic is created)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _value(v: ScoreLike) -> float | None:
    if isinstance(v, Score):
        return v.value
    return None if v is None else float(v)


class Router:
    """Sends each sample to one target by the value at a dotted path; a default catches the rest."""

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
            groups.setdefault(_route_key(dotted(s, self.by)), []).append(i)
        parts: list[tuple[list[int], _Batch]] = []
        for key, idx in groups.items():
            target = self.routes.get(key) if key is not None else None
            if target is None:
                target = self.default
            sub = [samples[i] for i in idx]
            if target is None:
                why = f"no route for {self.by}={key!r} and no default"
                parts.append(
                    (
                        idx,
                        _Batch(
                            [None] * len(idx), ["unverifiable"] * len(idx), [why] * len(idx), {}
                        ),
                    )
                )
            else:
                parts.append((idx, target._score_unique(sub)))
        merged = _Batch.concat([b for _, b in parts])
        order = [i for idx, _ in parts for i in idx]
        back = [0] * len(order)
        for pos, i in enumerate(order):
            back[i] = pos
        return merged.take(back)

    def targets(self) -> list[Pipeline]:
        ts = list(self.routes.values())
        return ts + ([self.default] if self.default is not None else [])

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


def _route_key(v: Any) -> Any:
    return v if isinstance(v, (str, int, float, bool)) or v is None else repr(v)


def _short_validation(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        loc = ".".join(str(x) for x in e["loc"])
        return f"invalid sample: {loc}: {e['msg']}" if loc else f"invalid sample: {e['msg']}"
    return f"invalid sample: {exc}"


# -- building from specs ---------------------------------------------------------------------


def _as_component(c: Component | Reward | Pipeline | str) -> Component:
    if isinstance(c, Component):
        return c
    if isinstance(c, (Reward, Pipeline)):
        return Component(c)
    if isinstance(c, str):
        from .registry import get_registry

        entry = get_registry().get("reward", c)
        return Component(entry.obj(), name=c, plugin=entry.plugin, version=entry.version)
    raise TypeError(f"cannot use {c!r} as a pipeline component")


def _build_component(spec: ComponentSpec, where: str) -> Component:
    if spec.pipeline is not None:
        sub = (
            spec.pipeline if isinstance(spec.pipeline, PipelineSpec) else parse_spec(spec.pipeline)
        )
        reward: Reward | Pipeline = build(sub, where=f"{where}.pipeline")
        plugin = version = None
    else:
        from .registry import get_registry

        try:
            entry = get_registry().get("reward", spec.use)  # type: ignore[arg-type]
        except UnknownNameError as exc:
            raise SpecError(f"{where}.use", str(exc)) from None
        try:
            reward = entry.obj(**spec.options)
        except ValidationError as exc:
            errs = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
            parts = []
            for e in errs:
                loc = ".".join(str(x) for x in e["loc"])
                msg = "unknown option" if e["type"] == "extra_forbidden" else e["msg"]
                parts.append(f"{where}.with.{loc}: {msg}" if loc else f"{where}.with: {msg}")
            known = ", ".join(entry.obj.Options.model_fields) or "none"
            raise SpecError("", "; ".join(parts) + f" (options of {spec.use!r}: {known})") from None
        except Exception as exc:  # a reward that cannot start (bad path, missing model, ...)
            raise SpecError(
                f"{where}.use", f"{spec.use!r} failed to start: {type(exc).__name__}: {exc}"
            ) from None
        plugin, version = entry.plugin, entry.version
    return Component(
        reward,
        name=spec.key,
        weight=spec.weight,
        gate=spec.gate,
        threshold=spec.threshold,
        penalty=spec.penalty,
        timeout=spec.timeout,
        memory_mb=spec.memory_mb,
        workers=spec.workers or 2,
        num_cpus=spec.num_cpus,
        num_gpus=spec.num_gpus,
        plugin=plugin,
        version=version,
    )


def _build_target(t: Any, where: str) -> Pipeline:
    if isinstance(t, str):
        t = ComponentSpec(use=t)
    if isinstance(t, ComponentSpec):
        return Pipeline([_build_component(t, where)], name=t.key)
    return build(t, where=where)


def _build_route(r: RouteSpec, where: str) -> Router:
    routes = {k: _build_target(v, f"{where}.routes.{k}") for k, v in r.routes.items()}
    default = _build_target(r.default, f"{where}.default") if r.default is not None else None
    return Router(r.by, routes, default)


def build(spec: PipelineSpec, where: str = "") -> Pipeline:
    """A `Pipeline` from a validated spec; unknown rewards and bad options name their key."""
    prefix = f"{where}." if where else ""
    if spec.route is not None:
        route = _build_route(spec.route, f"{prefix}route")
        return Pipeline(name=spec.name, route=route, spec=spec, dedupe=spec.dedupe)
    comps = [_build_component(c, f"{prefix}rewards[{i}]") for i, c in enumerate(spec.rewards)]
    try:
        return Pipeline(comps, combine=spec.combine, name=spec.name, spec=spec, dedupe=spec.dedupe)
    except SpecError:
        for c in comps:
            c.close()
        raise


def load_pipeline(spec: PipelineSpec | dict[str, Any] | str | Path) -> Pipeline:
    """Build a pipeline from a YAML/JSON file path, a YAML string, a dict, or a `PipelineSpec`."""
    return Pipeline.from_spec(spec)


__all__ = [
    "STATUSES",
    "Component",
    "Pipeline",
    "Results",
    "Router",
    "dedupe",
    "load_pipeline",
]
