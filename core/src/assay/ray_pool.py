"""Pools of Ray actors and the one loop that feeds them chunks (`run_jobs`).

Each pool's actors hold a warm scorer: the whole pipeline, or a group of its components
(`assay.ray_placement`). A chunk's samples travel with the call, or, when several pools score
the same chunks, as an object reference put once by the driver. The driver
sleeps in ``ray.wait`` until an actor finishes, hands that actor the next chunk of its pool's
queue (work-stealing: a fast actor takes more chunks), and keeps going until every pool's
queue is empty.

Faults, per pool: an actor that dies mid-chunk is replaced and the chunk retried once on the
new actor; if that one dies too, the chunk is cut into the smallest pieces the rewards allow and
each piece is scored once more, and a piece that kills its actor again gets ``error`` results.
A chunk past ``chunk_timeout`` seconds gets ``timeout`` results and its actor is replaced. A bug
that escapes the scorer (a `RayTaskError`) gives its chunk ``error`` results.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .executors import Split, merge_chunks, plan_chunks
from .models import Sample
from .results import _Batch

__all__ = ["ActorPool", "Job", "ScoringActor", "run_jobs"]

#: Results for ``n`` samples that could not be scored: ``(n, status, reason) -> batch``.
Failure = Callable[[int, str, str], _Batch]


class ScoringActor:
    """One Ray actor: a warm scorer (a pipeline or a `ComponentGroup`)."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer

    def where(self) -> tuple[int, str]:
        """(pid, node id): which process and node this actor runs in."""
        import ray

        return os.getpid(), ray.get_runtime_context().get_node_id()

    def gpus(self) -> tuple[list[Any], str | None]:
        """(GPU ids Ray gave this actor, its ``CUDA_VISIBLE_DEVICES``)."""
        import ray

        return list(ray.get_gpu_ids()), os.environ.get("CUDA_VISIBLE_DEVICES")

    def score(self, chunk: list[Sample]) -> _Batch:
        """Score one chunk (sent with the call, or put once and resolved here by Ray)."""
        batch: _Batch = self.scorer._score_unique(chunk)
        return batch

    def close(self) -> None:
        self.scorer.close()


class ActorPool:
    """``size`` actors holding ``scorer``, each reserving ``num_cpus`` / ``num_gpus``."""

    def __init__(
        self,
        ray: Any,
        scorer: Any,
        size: int,
        *,
        num_cpus: float,
        num_gpus: float,
        fail: Failure,
        components: tuple[str, ...] = (),
    ) -> None:
        self._ray = ray
        self.size = size
        self.num_cpus, self.num_gpus = num_cpus, num_gpus
        self.components = components  # empty: the whole pipeline
        self.fail = fail
        self._cls = ray.remote(ScoringActor).options(
            num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=0
        )
        self._scorer_ref = ray.put(scorer)
        self.actors = [self._spawn() for _ in range(size)]
        self.replaced = 0  # actors replaced after dying or running past the deadline

    @property
    def label(self) -> str:
        return "+".join(self.components) or "pipeline"

    def _spawn(self) -> Any:
        return self._cls.remote(self._scorer_ref)

    def replace(self, actor: Any) -> Any:
        """Kill ``actor`` and start a fresh one in its place."""
        self._ray.kill(actor, no_restart=True)
        self.replaced += 1
        new = self._spawn()
        self.actors = [new if a is actor else a for a in self.actors]
        return new

    def close(self) -> None:
        ray = self._ray
        if self.actors and ray.is_initialized():
            with contextlib.suppress(Exception):  # a dead actor has nothing left to close
                ray.get([a.close.remote() for a in self.actors], timeout=30)
            for a in self.actors:
                ray.kill(a, no_restart=True)
        self.actors = []


#: Chunks in flight per actor: the next one waits at the actor (Ray runs an actor's calls in
#: order), so the actor never sits idle while the driver learns of a result and sends more.
#: Once an actor of a pool dies, that pool sends one chunk at a time for the rest of the batch:
#: an actor that dies right after a chunk can take that chunk's reply with it, so with one in
#: flight there is no doubt which chunk killed it.
DEPTH = 2


@dataclass
class Job:
    """A pool's share of one batch: its chunks (positions in the batch) and, per chunk, the
    arguments that carry the samples (object references, or sample lists)."""

    pool: ActorPool
    chunks: list[list[int]]
    args: list[tuple[Any, ...]]
    # the loop's state: work items (positions, args), tries, finished parts, queue
    items: list[tuple[list[int], tuple[Any, ...]]] = field(default_factory=list)
    tries: list[int] = field(default_factory=list)
    parts: list[tuple[list[int], _Batch]] = field(default_factory=list)
    todo: deque[int] = field(default_factory=deque)
    depth: int = DEPTH  # chunks in flight per actor; 1 once one of the pool's actors died

    def __post_init__(self) -> None:
        self.items = list(zip(self.chunks, self.args))
        self.tries = [0] * len(self.items)
        self.todo = deque(range(len(self.items)))

    def result(self) -> _Batch:
        return merge_chunks([b for _, b in self.parts], [pos for pos, _ in self.parts])

    def fail(self, k: int, status: str, reason: str) -> None:
        pos = self.items[k][0]
        self.parts.append((pos, self.pool.fail(len(pos), status, reason)))


#: How long to wait for a dead actor's chunk to resolve when working out which one was running.
_SETTLE_S = 10.0


@dataclass
class _Flight:
    """A chunk sent to an actor; ``started``: when it began running there (None: it waits
    behind the actor's earlier chunk)."""

    job: Job
    k: int
    actor: Any
    started: float | None


class _Actors:
    """Per live actor, its chunks in flight (oldest first: the one running); per dead actor, the
    chunk blamed for its death (the one that was running). Keyed by identity, handles kept."""

    def __init__(self) -> None:
        self.queues: dict[int, tuple[Any, list[Any]]] = {}
        self.dead: dict[int, tuple[Any, tuple[int, int] | None]] = {}

    def queue(self, actor: Any) -> list[Any]:
        return self.queues.setdefault(id(actor), (actor, []))[1]

    def kill(self, pool: ActorPool, actor: Any, blamed: tuple[int, int] | None) -> None:
        self.queues.pop(id(actor), None)
        self.dead[id(actor)] = (actor, blamed)
        pool.replace(actor)

    def blamed(self, actor: Any) -> tuple[int, int] | None:
        entry = self.dead.get(id(actor))
        return entry[1] if entry is not None and entry[0] is actor else None

    def is_dead(self, actor: Any) -> bool:
        entry = self.dead.get(id(actor))
        return entry is not None and entry[0] is actor


def run_jobs(
    ray: Any,
    jobs: Sequence[Job],
    samples: Sequence[Sample],
    split: Split,
    chunk_timeout: float | None,
) -> list[_Batch]:
    """Score every job's chunks on its pool's actors, all pools at once; per job, its results
    over the whole batch in input order (``samples``: the batch, for cutting a chunk that kills
    actors into its smallest pieces along ``split``)."""
    from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

    running: dict[Any, _Flight] = {}
    actors = _Actors()
    while True:
        now = time.monotonic()
        for job in jobs:
            while job.todo:
                actor = min(job.pool.actors, key=lambda a: len(actors.queue(a)))
                queue = actors.queue(actor)
                if len(queue) >= job.depth:
                    break
                k = job.todo.popleft()
                ref = actor.score.remote(*job.items[k][1])
                running[ref] = _Flight(job, k, actor, None if queue else now)
                queue.append(ref)
        if not running:
            break
        wait = None
        starts = [f.started for f in running.values() if f.started is not None]
        if chunk_timeout is not None and starts:
            wait = max(min(starts) + chunk_timeout - time.monotonic(), 0.0)
        done, _ = ray.wait(list(running), num_returns=1, timeout=wait)
        if not done:  # the oldest running chunk is past its deadline
            now = time.monotonic()
            for ref, f in list(running.items()):
                if f.started is not None and now - f.started >= chunk_timeout:  # type: ignore[operator]
                    del running[ref]
                    f.job.fail(
                        f.k, "timeout", f"chunk exceeded {chunk_timeout:g} s; actor replaced"
                    )
                    actors.kill(f.job.pool, f.actor, (id(f.job), f.k))
                    f.job.depth = 1
            continue
        ref = done[0]
        f = running.pop(ref)
        queue = actors.queue(f.actor) if not actors.is_dead(f.actor) else []
        oldest = bool(queue) and queue[0] == ref
        if ref in queue:
            queue.remove(ref)
        try:
            f.job.parts.append((f.job.items[f.k][0], ray.get(ref)))
            if oldest and queue:  # the next chunk starts running now
                running[queue[0]].started = time.monotonic()
        except RayActorError as exc:
            if not actors.is_dead(f.actor):  # the first news of its death: blame what ran
                blamed = _running_chunk(ray, running, [ref, *queue] if oldest else queue, ref, f)
                actors.kill(f.job.pool, f.actor, blamed)
                f.job.depth = 1
            if actors.blamed(f.actor) == (id(f.job), f.k):
                f.job.tries[f.k] += 1
                _retry(f.job, f.k, samples, split, exc)
            else:  # it waited behind the chunk that killed the actor: not its fault
                f.job.todo.appendleft(f.k)
        except (RayTaskError, GetTimeoutError) as exc:  # a bug that escaped the scorer
            cause = getattr(exc, "cause", None) or exc
            f.job.fail(f.k, "error", f"{type(cause).__name__}: {str(cause).splitlines()[0][:300]}")
            if oldest and queue:
                running[queue[0]].started = time.monotonic()
    return [job.result() for job in jobs]


def _running_chunk(
    ray: Any, running: dict[Any, _Flight], queue: list[Any], ref: Any, flight: _Flight
) -> tuple[int, int]:
    """(job, chunk) that was running when the actor died: the first of its chunks in flight
    (in the order sent, which is the order Ray runs them) that did not finish. One that
    finished may have its result still on the way: every chunk of a dead actor resolves soon,
    so wait for each (bounded) rather than guess from what has arrived."""
    from ray.exceptions import GetTimeoutError, RayActorError

    for r in queue:
        f = flight if r == ref else running.get(r)
        if f is None:
            continue
        try:
            ray.get(r, timeout=_SETTLE_S)
        except (RayActorError, GetTimeoutError):
            return id(f.job), f.k
        except Exception:  # noqa: BLE001 - it finished (with an error of its own): not this one
            continue
    return id(flight.job), flight.k


def _retry(job: Job, k: int, samples: Sequence[Sample], split: Split, exc: Exception) -> None:
    """After chunk ``k`` killed its actor: once more whole, then piece by piece, then error."""
    pos = job.items[k][0]
    if job.tries[k] < 2:
        job.todo.appendleft(k)
        return
    pieces = plan_chunks([samples[i] for i in pos], split, 1, 1) if job.tries[k] == 2 else []
    if len(pieces) > 1:  # isolate what kills actors: each piece once more
        for piece in pieces:
            sub = [pos[j] for j in piece]
            job.items.append((sub, ([samples[i] for i in sub],)))
            job.tries.append(1)
            job.todo.append(len(job.items) - 1)
        return
    job.fail(k, "error", f"scoring actor died twice: {str(exc).splitlines()[0][:300]}")
