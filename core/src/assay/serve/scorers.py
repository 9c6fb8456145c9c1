"""Where a server's batches are scored: a worker thread, forked worker processes, or Ray actors.

Every scorer's `score` blocks, is safe to call from several threads at once (up to
`concurrency` calls run in parallel), and returns one row per sample in input order: a
``Result.model_dump(mode="json")`` dict, or with ``full=False`` the brief form of
`Results.brief` (values and statuses, no details: cheaper to build and to send). A batch whose worker died is retried once on a fresh
worker; if that one dies too, `BatchCrashed` is raised (the batcher then scores the batch's
requests one by one, so only the request that kills workers fails). A batch past
``batch_timeout`` gets ``timeout`` rows (its worker is killed and replaced).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import DeadlineExceeded, WorkerCrashed

if TYPE_CHECKING:
    from ..composed import Pipeline

Row = dict[str, Any]


class Scorer(Protocol):
    """What the server needs from a scoring backend."""

    concurrency: int

    def warm(self) -> None: ...

    def score(self, samples: Sequence[Any], full: bool = True) -> list[Row]: ...

    def close(self) -> None: ...


class BatchCrashed(Exception):
    """The batch killed its worker twice (on the first worker and on its replacement)."""


def failed_rows(n: int, status: str, reason: str) -> list[Row]:
    """``n`` rows saying the batch could not be scored, and why."""
    return [
        {"reward": None, "status": status, "reason": reason, "components": {}} for _ in range(n)
    ]


def score_rows(
    pipeline: Pipeline, samples: Sequence[Any], full: bool = True, executor: Any = "inline"
) -> list[Row]:
    """Score with ``pipeline``: each result as a JSON-ready dict, in full
    (``Result.model_dump``) or brief (`Results.brief`: values and statuses, no details)."""
    results = pipeline.score(list(samples), executor=executor)
    if not full:
        return results.brief()
    return [r.model_dump(mode="json") for r in results]


class ThreadScorer:
    """Scores on the calling (worker) thread: one batch at a time, in the server's process."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.concurrency = 1
        self._lock = threading.Lock()

    def warm(self) -> None:
        pass

    def score(self, samples: Sequence[Any], full: bool = True) -> list[Row]:
        with self._lock:
            return score_rows(self.pipeline, samples, full)

    def close(self) -> None:
        self.pipeline.close()


_PIPELINE: Any = None


def _install(pipeline: Pipeline) -> None:
    global _PIPELINE
    _PIPELINE = pipeline  # runs in the forked worker: the pipeline object is inherited


def _score_in_worker(samples: list[Any], full: bool) -> list[Row]:
    return score_rows(_PIPELINE, samples, full)


class ProcessScorer:
    """Scores in ``workers`` forked processes that hold the pipeline, warm, for their lifetime.

    The pipeline is inherited at fork time (not pickled), so pipelines built in Python with
    rewards registered at runtime work too. A worker that dies mid-batch (killed, out of
    memory, a crash in C code) is replaced and its batch retried once on the new worker.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        workers: int = 2,
        *,
        batch_timeout: float | None = 300.0,
        memory_mb: int | None = None,
    ) -> None:
        from ..workers import GuardedPool

        self.pipeline = pipeline
        self.concurrency = workers
        self.batch_timeout = batch_timeout
        self.pool = GuardedPool(
            workers, memory_mb=memory_mb, initializer=_install, initargs=(pipeline,)
        )
        self.retries = 0  # batches retried after their worker died (observability, tests)

    def warm(self) -> None:
        self.pool.warm()

    def worker_pids(self, busy: bool = False) -> list[int]:
        """The scoring workers' process ids (``busy``: only those scoring a batch now)."""
        workers = set(self.pool._all)
        if busy:
            workers -= set(self.pool._idle.queue)
        return sorted(w.pid for w in workers)

    def score(self, samples: Sequence[Any], full: bool = True) -> list[Row]:
        batch = list(samples)
        crash = ""
        for _attempt in range(2):
            try:
                rows: list[Row] = self.pool.call(
                    _score_in_worker, batch, full, timeout=self.batch_timeout
                )
                return rows
            except WorkerCrashed as exc:
                crash = str(exc)
                self.retries += 1
            except DeadlineExceeded:
                why = f"batch of {len(batch)} exceeded {self.batch_timeout:g} s; worker killed"
                return failed_rows(len(batch), "timeout", why)
        raise BatchCrashed(f"scoring worker died twice: {crash}")

    def close(self) -> None:
        self.pool.close()
        self.pipeline.close()
