"""The Ray executor: long-lived actors that hold a pipeline warm, on one machine or a cluster.

``pipe.score(rows, executor="ray", workers=4)`` (or ``assay score --executor ray``) starts
``workers`` actors once per pipeline and keeps them: each holds its own copy of the pipeline,
so sandbox pools, math workers and loaded reward models start once, not per batch. The batch is
cut into chunks along what every reward allows (groups stay together), large ones first and
smaller towards the end (guided self-scheduling, so the actors finish together), the chunks go
to actors as they free up (two in flight per actor, so none waits for the driver between
chunks), and the results come back merged in input order, identical to the inline executor.

Where Ray runs: the cluster this process is already connected to (``ray.init`` called before),
else ``address=`` or ``RAY_ADDRESS`` (an existing cluster, e.g. ``ray://head:10001`` or
``auto``), else a local Ray started here (its workers at nice 0, not Ray's default 15, so
actors compete for the CPU on equal terms with the rest of the machine).

Faults: an actor that dies mid-chunk (killed, out of memory, a node lost) is replaced and its
chunk retried once on the new actor (a chunk that only waited behind it is sent again, not
counted against it; from then on that pool sends one chunk per actor at a time). If that one dies too, the chunk is cut into the smallest
pieces the rewards allow (single samples, or whole groups) and each piece is scored once more:
a piece that kills its actor again is marked ``error``, the rest of the chunk is scored. A chunk past
``chunk_timeout`` seconds gets ``timeout`` results and its actor is replaced. Per-component
deadlines and memory caps hold inside the actors as anywhere else (the component's worker
processes are forked by the actor).

What must be importable on the cluster's nodes: the pipeline travels to the actors pickled
(cloudpickle). Reward functions and classes defined in ``__main__`` (a script, a notebook) travel
by value; those defined in a module travel by reference, so that module (and every plugin the
pipeline uses: ``assay``, ``assay_verifiers``, ``assay_sandbox``, ...) must be installed on every
node, or shipped with ``runtime_env={"py_modules": [...]}`` (pass ``init_kwargs``), or marked
with ``ray.cloudpickle.register_pickle_by_value(module)``.

Resources and placement (`assay.ray_placement`): when no component asks for resources, one
pool of actors each holding the whole pipeline (one CPU each). When the top-level components
ask (``num_cpus`` / ``num_gpus`` in the spec), each group of them gets its own pool of up to
``workers`` actors reserving what the group asks (a reward model with ``num_gpus: 1`` on
actors holding a GPU, the CPU rewards on CPU actors); each pool scores only its components over
the whole batch, and the driver combines the columns (weights, gates, penalties) exactly as
inline scoring does. ``num_cpus=`` / ``num_gpus=`` given here force one whole-pipeline pool.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from .combination import combine
from .executors import Split, plan_chunks
from .models import Score
from .ray_placement import (
    ComponentGroup,
    PoolPlan,
    fit_actors,
    pipeline_resources,
    plan_pools,
)
from .ray_pool import ActorPool, Failure, Job, run_jobs
from .results import _Batch

if TYPE_CHECKING:
    from .composed import Pipeline
    from .models import Sample

__all__ = ["RayExecutor", "failed_batch", "guided_chunks", "pipeline_resources"]

#: Smallest chunk: about 1/32 of an actor's share of the batch (and at most `MAX_PIECES`
#: pieces in all), so the last chunks are short and few enough that Ray's cost per call
#: (about 0.4 ms of the driver's CPU here) stays small.
PIECES_PER_ACTOR = 32
MAX_PIECES = 256


def failed_batch(n: int, status: str, reason: str) -> _Batch:
    """Results for ``n`` samples that could not be scored, saying why."""
    return _Batch([None] * n, [status] * n, [reason] * n, {})


def failed_columns(names: tuple[str, ...], n: int, status: str, reason: str) -> _Batch:
    """A component group's columns for ``n`` samples it could not score: a ``status`` score
    per component, which the combination then reports as for any failing component."""
    score = Score(value=None, status=status, reason=reason)  # type: ignore[arg-type]  # timeout / error
    return _Batch([None] * n, None, None, {name: [score] * n for name in names})


def guided_chunks(pieces: Sequence[Sequence[int]], workers: int) -> list[list[int]]:
    """Consecutive ``pieces`` (indices into it) joined into chunks of about 1/(2 x workers) of
    what remains: large chunks first, the smallest at the end, so that actors that run at
    different speeds still finish close together."""
    remaining = sum(len(p) for p in pieces)
    chunks: list[list[int]] = []
    current: list[int] = []
    size = 0
    target = max(1, remaining // (2 * workers))
    for k, piece in enumerate(pieces):
        current.append(k)
        size += len(piece)
        if size >= target:
            chunks.append(current)
            remaining -= size
            current, size = [], 0
            target = max(1, remaining // (2 * workers))
    if current:
        chunks.append(current)
    return chunks


class RayExecutor:
    """Pools of Ray actors holding ``pipeline`` (or groups of its components); `score_batch`
    scores a batch on them, `run` scores given chunks."""

    def __init__(
        self,
        pipeline: Pipeline,
        workers: int = 2,
        *,
        address: str | None = None,
        num_cpus: float | None = None,
        num_gpus: float | None = None,
        chunk_timeout: float | None = None,
        init_kwargs: dict[str, Any] | None = None,
        check_resources: bool = True,
    ) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ImportError("the ray executor needs Ray: pip install 'assay[ray]'") from exc
        if workers < 1:
            raise ValueError("the ray executor needs at least one worker")
        self._ray = ray
        self.pipeline = pipeline
        self.workers = workers
        self.chunk_timeout = chunk_timeout
        if not ray.is_initialized():
            kw = dict(init_kwargs or {})
            address = address or os.environ.get("RAY_ADDRESS") or None
            if address is None:  # a local Ray, started here
                kw.setdefault("include_dashboard", False)
                # Ray runs its workers at nice 15 by default: on a machine busy with other work
                # the scoring actors would get a fraction of the CPU that inline scoring gets.
                os.environ.setdefault("RAY_worker_niceness", "0")
            ray.init(address=address, log_to_driver=False, **kw)
        if num_cpus is not None or num_gpus is not None:  # one pool, as the caller says
            cpus, gpus = pipeline_resources(pipeline)
            cpus = cpus if num_cpus is None else num_cpus
            plans = [PoolPlan((), cpus, gpus if num_gpus is None else num_gpus)]
        else:
            plans = plan_pools(pipeline)
        sizes = [workers] * len(plans)
        if check_resources:  # no more actors than the nodes hold: Ray would leave them pending
            alive = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
            sizes = fit_actors(plans, [n.get("Resources", {}) for n in alive], workers)
        order = pipeline._order
        pools: dict[int, ActorPool] = {}
        # GPU pools first: their actors are placed before CPU-only ones could take a GPU
        # node's CPUs (Ray keeps CPU-only actors off GPU nodes only when it can).
        for i in sorted(range(len(plans)), key=lambda i: -plans[i].num_gpus):
            plan, size = plans[i], sizes[i]
            if plan.components:
                scorer: Any = ComponentGroup([c for c in order if c.name in plan.components])
                fail: Failure = partial(failed_columns, plan.components)
            else:
                scorer, fail = pipeline, failed_batch
            pools[i] = ActorPool(
                ray,
                scorer,
                size,
                num_cpus=plan.num_cpus,
                num_gpus=plan.num_gpus,
                fail=fail,
                components=plan.components,
            )
        self.pools = [pools[i] for i in range(len(plans))]

    @property
    def actors(self) -> list[Any]:
        return [a for p in self.pools for a in p.actors]

    @property
    def replaced(self) -> int:
        """Actors replaced after dying or running past the deadline (all pools)."""
        return sum(p.replaced for p in self.pools)

    def warm(self) -> None:
        """Wait until every actor holds its scorer (the first chunks then pay nothing)."""
        self._ray.get([a.where.remote() for a in self.actors])

    def where(self) -> list[tuple[int, str]]:
        """(pid, node id) of each actor, pool after pool (for operators and tests)."""
        return list(self._ray.get([a.where.remote() for a in self.actors]))

    def placement(self) -> dict[str, list[tuple[int, str]]]:
        """Per pool (its components joined by ``+``, or ``pipeline``): its actors' (pid, node)."""
        return {
            p.label: list(self._ray.get([a.where.remote() for a in p.actors])) for p in self.pools
        }

    def gpus(self) -> dict[str, list[tuple[list[Any], str | None]]]:
        """Per pool: each actor's GPU ids from Ray and its ``CUDA_VISIBLE_DEVICES``."""
        return {
            p.label: list(self._ray.get([a.gpus.remote() for a in p.actors])) for p in self.pools
        }

    def score_batch(
        self, samples: list[Sample], split: Split, chunk_size: int | None = None
    ) -> _Batch:
        """Score ``samples`` (unique, validated) on the pools; results in input order.

        The batch is cut along ``split`` into chunks of ``chunk_size`` samples, or, by default,
        into small pieces that `guided_chunks` joins into shrinking chunks for the largest pool."""
        n = len(samples)
        biggest = max(p.size for p in self.pools)
        if chunk_size:
            chunks = plan_chunks(samples, split, biggest, chunk_size)
        else:
            least = max(1, n // (biggest * PIECES_PER_ACTOR), -(-n // MAX_PIECES))
            pieces = plan_chunks(samples, split, biggest, least)
            groups = guided_chunks(pieces, biggest)
            chunks = [[i for k in g for i in pieces[k]] for g in groups]
        return self._score(samples, split, chunks)

    def run(self, chunks: Sequence[list[Sample]], split: Split = None) -> list[_Batch]:
        """Score each chunk as given; results in chunk order, never an exception for a chunk
        (see the module docstring for how faults are reported). ``split`` (what the pipeline
        allows a batch to be cut along) lets a chunk that killed two actors be cut into its
        smallest pieces, so that only the piece that kills actors fails."""
        flat = [s for c in chunks for s in c]
        bounds, start = [], 0
        for c in chunks:
            bounds.append(list(range(start, start + len(c))))
            start += len(c)
        batch = self._score(flat, split, bounds)
        return [batch.take(b) for b in bounds]

    def _score(self, samples: list[Sample], split: Split, chunks: list[list[int]]) -> _Batch:
        ray = self._ray
        if not samples:
            return _Batch([], None, None, {c.name: [] for c in self.pipeline.components})
        # Several pools score the same chunks: put each chunk in the object store once rather
        # than serialize it for every pool (one pool: the samples go with the call, which
        # costs less than a put per chunk).
        args: list[tuple[Any, ...]] = [([samples[i] for i in c],) for c in chunks]
        if len(self.pools) > 1:
            args = [(ray.put(a[0]),) for a in args]
        jobs = [Job(pool, chunks, args) for pool in self.pools]
        batches = run_jobs(ray, jobs, samples, split, self.chunk_timeout)
        if len(batches) == 1 and not self.pools[0].components:
            return batches[0]
        # The combination runs once, here, over every pool's columns, as inline scoring runs it.
        columns: dict[str, Any] = {}
        for b in batches:
            columns.update(b.components)
        comps = self.pipeline.components
        return combine(comps, [columns[c.name] for c in comps], self.pipeline.combine)

    def close(self) -> None:
        """Stop the actors (their scorers release workers first). Idempotent."""
        for p in self.pools:
            p.close()
