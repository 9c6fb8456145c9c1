"""The Ray executor: long-lived actors that hold a pipeline warm, on one machine or a cluster.

``pipe.score(rows, executor="ray", workers=4)`` (or ``assay score --executor ray``) starts
``workers`` actors once per pipeline and keeps them: each holds its own copy of the pipeline,
so sandbox pools, math workers and loaded reward models start once, not per batch. The batch is
cut into chunks along what every reward allows (groups stay together), the chunks go to free
actors, and the results come back merged in input order, identical to the inline executor.

Where Ray runs: the cluster this process is already connected to (``ray.init`` called before),
else ``address=`` or ``RAY_ADDRESS`` (an existing cluster, e.g. ``ray://head:10001`` or
``auto``), else a local Ray started here (its workers at nice 0, not Ray's default 15, so
actors compete for the CPU on equal terms with the rest of the machine).

Faults: an actor that dies mid-chunk (killed, out of memory, a node lost) is replaced and its
chunk retried once on the new actor. If that one dies too, the chunk is cut into the smallest
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

Resources: each actor holds every component, so it reserves the sum of the components'
``num_cpus`` / ``num_gpus`` from the spec (one CPU where none says), unless given here.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .executors import Split, merge_chunks, plan_chunks
from .results import _Batch

if TYPE_CHECKING:
    from .composed import Pipeline
    from .models import Sample


class _ScoringActor:
    """One Ray actor: a warm copy of the pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def where(self) -> tuple[int, str]:
        """(pid, node id): which process and node this actor runs in."""
        import ray

        return os.getpid(), ray.get_runtime_context().get_node_id()

    def score(self, chunk: list[Sample]) -> _Batch:
        return self.pipeline._score_unique(chunk)

    def close(self) -> None:
        self.pipeline.close()


def pipeline_resources(pipeline: Pipeline) -> tuple[float, float]:
    """(num_cpus, num_gpus) an actor holding ``pipeline`` needs: the sum over its components
    (nested pipelines and routes included) of what the spec asks for; one CPU where no
    component says."""
    cpus = gpus = 0.0
    asked = False
    stack = [pipeline]
    while stack:
        p = stack.pop()
        for c in p.components:
            asked = asked or c.num_cpus is not None
            cpus += c.num_cpus or 0.0
            gpus += c.num_gpus or 0.0
            inner = getattr(c.reward, "pipeline", None)  # a nested pipeline (as a reward)
            if inner is not None:
                stack.append(inner)
        if p.route is not None:
            stack.extend(p.route.targets())
    return (cpus if asked else 1.0), gpus


def failed_batch(n: int, status: str, reason: str) -> _Batch:
    """Results for ``n`` samples that could not be scored, saying why."""
    return _Batch([None] * n, [status] * n, [reason] * n, {})


class RayExecutor:
    """A pool of Ray actors holding ``pipeline``; `run` scores chunks on them."""

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
        cpus, gpus = pipeline_resources(pipeline)
        self.num_cpus = cpus if num_cpus is None else num_cpus
        self.num_gpus = gpus if num_gpus is None else num_gpus
        if check_resources:
            self._check_fits()
        self._run_lock = threading.Lock()
        self._actor_cls = ray.remote(_ScoringActor).options(
            num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_restarts=0
        )
        self._pipeline_ref = ray.put(pipeline)
        self.actors = [self._spawn() for _ in range(workers)]
        self.replaced = 0  # actors replaced after dying or running past the deadline

    def _check_fits(self) -> None:
        """Fail at once, saying why, when no node of the cluster can hold one actor (else Ray
        would leave the actors pending and the scoring waiting forever). An autoscaling cluster
        whose nodes come later: ``check_resources=False``."""
        alive = [n for n in self._ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
        nodes = [n.get("Resources", {}) for n in alive]
        if any(
            r.get("CPU", 0.0) >= self.num_cpus and r.get("GPU", 0.0) >= self.num_gpus for r in nodes
        ):
            return
        have = ", ".join(f"{r.get('CPU', 0):g} CPU / {r.get('GPU', 0):g} GPU" for r in nodes)
        raise ValueError(
            f"each Ray actor needs {self.num_cpus:g} CPU and {self.num_gpus:g} GPU (the sum of "
            f"the components' num_cpus / num_gpus), but no node has that (nodes: {have or 'none'}); "
            "lower them in the spec, pass num_cpus= / num_gpus=, or add such a node"
        )

    def _spawn(self) -> Any:
        return self._actor_cls.remote(self._pipeline_ref)

    def _replace(self, actor: Any) -> Any:
        self._ray.kill(actor, no_restart=True)
        self.replaced += 1
        new = self._spawn()
        self.actors = [new if a is actor else a for a in self.actors]
        return new

    def warm(self) -> None:
        """Wait until every actor holds its pipeline (the first chunks then pay nothing)."""
        self._ray.get([a.where.remote() for a in self.actors])

    def where(self) -> list[tuple[int, str]]:
        """(pid, node id) of each actor (for operators and tests)."""
        return list(self._ray.get([a.where.remote() for a in self.actors]))

    def run(self, chunks: Sequence[list[Sample]], split: Split = None) -> list[_Batch]:
        """Score each chunk on a free actor; results in chunk order, never an exception for a
        chunk (see the module docstring for how faults are reported). ``split`` (what the
        pipeline allows a batch to be cut along) lets a chunk that killed two actors be cut
        into its smallest pieces, so that only the piece that kills actors fails."""
        with self._run_lock:  # one run at a time owns the actors (calls from threads queue)
            return self._run(chunks, split)

    def _run(self, chunks: Sequence[list[Sample]], split: Split) -> list[_Batch]:
        ray = self._ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        # A work item: samples, the chunk they belong to, their positions in it (None: all).
        items: list[tuple[list[Sample], int, list[int] | None]] = [
            (c, i, None) for i, c in enumerate(chunks)
        ]
        tries = [0] * len(items)
        parts: dict[int, list[tuple[list[int] | None, _Batch]]] = {}
        todo = deque(range(len(items)))
        free = deque(self.actors)
        running: dict[Any, tuple[int, Any, float]] = {}

        def finish(k: int, batch: _Batch) -> None:
            _, owner, where = items[k]
            parts.setdefault(owner, []).append((where, batch))

        while todo or running:
            while todo and free:
                k, actor = todo.popleft(), free.popleft()
                running[actor.score.remote(items[k][0])] = (k, actor, time.monotonic())
            wait = None
            if self.chunk_timeout is not None:
                oldest = min(t for _, _, t in running.values())
                wait = max(oldest + self.chunk_timeout - time.monotonic(), 0.0)
            done, _ = ray.wait(list(running), num_returns=1, timeout=wait)
            if not done:  # the oldest chunk is past its deadline
                for ref, (k, actor, t0) in list(running.items()):
                    if time.monotonic() - t0 >= self.chunk_timeout:  # type: ignore[operator]
                        del running[ref]
                        why = f"chunk exceeded {self.chunk_timeout:g} s; actor replaced"
                        finish(k, failed_batch(len(items[k][0]), "timeout", why))
                        free.append(self._replace(actor))
                continue
            ref = done[0]
            k, actor, _ = running.pop(ref)
            try:
                finish(k, ray.get(ref))
                free.append(actor)
            except RayActorError as exc:
                free.append(self._replace(actor))
                tries[k] += 1
                samples, owner, where = items[k]
                pieces = plan_chunks(samples, split, 1, 1) if tries[k] == 2 else []
                if tries[k] < 2:
                    todo.appendleft(k)
                elif len(pieces) > 1:  # isolate what kills actors: each piece once more
                    for piece in pieces:
                        pos = piece if where is None else [where[j] for j in piece]
                        items.append(([samples[j] for j in piece], owner, pos))
                        tries.append(1)
                        todo.append(len(items) - 1)
                else:
                    why = f"scoring actor died twice: {str(exc).splitlines()[0][:300]}"
                    finish(k, failed_batch(len(samples), "error", why))
            except (RayTaskError, GetTimeoutError) as exc:  # a bug that escaped the pipeline
                cause = getattr(exc, "cause", None) or exc
                why = f"{type(cause).__name__}: {str(cause).splitlines()[0][:300]}"
                finish(k, failed_batch(len(items[k][0]), "error", why))
                free.append(actor)
        out = []
        for i in range(len(chunks)):
            got = parts[i]
            if len(got) == 1 and got[0][0] is None:
                out.append(got[0][1])
            else:
                out.append(merge_chunks([b for _, b in got], [w or [] for w, _ in got]))
        return out

    def close(self) -> None:
        """Stop the actors (their pipelines release workers first). Idempotent."""
        ray = self._ray
        if not self.actors or not ray.is_initialized():
            self.actors = []
            return
        with contextlib.suppress(Exception):  # a dead actor has nothing left to close
            ray.get([a.close.remote() for a in self.actors], timeout=30)
        for a in self.actors:
            ray.kill(a, no_restart=True)
        self.actors = []
