"""Micro-batching: requests that arrive together are scored in one `score` call.

A GRPO group posted as many one-sample requests (slime, NeMo Gym) then still shares the
pipeline's dedupe and each reward's batching. A batch is sent when a scoring slot is free and
either ``max_batch`` samples are waiting, the oldest request has waited ``max_wait`` seconds, or
no request has arrived for ``max_wait / 5`` (a burst keeps gathering, a lone request does not
wait the whole time). When waiting stops bringing company (one client at a time), batches go
out at once, with a wait every 16th batch to notice when concurrent clients return; under load
requests still merge while the workers are busy. Bounded wait, bounded batch; a single request
larger than ``max_batch`` is its own batch. While every slot is busy, requests gather in a queue of at most ``max_queue`` samples; past
that `Overloaded` is raised (the server answers ``503`` with ``Retry-After``), never an
unbounded backlog. ``max_batch=1`` turns merging off: each request is its own `score` call.

Scoring runs on worker threads (which wait on worker processes or Ray actors), never on the
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .metrics import ServerMetrics
from .scorers import BatchCrashed, failed_rows

Row = dict[str, Any]


class Overloaded(Exception):
    """The queue is full (or the server is draining): try again after ``retry_after`` s."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass
class _Job:
    samples: list[Any]
    future: asyncio.Future[list[Row]]
    full: bool = True
    since: float = field(default_factory=time.monotonic)


class MicroBatcher:
    """Merges concurrent requests into batches for a blocking ``score(samples, full) -> rows``
    (``full``: whether any request of the batch needs full results)."""

    def __init__(
        self,
        score: Callable[[list[Any], bool], list[Row]],
        *,
        concurrency: int = 1,
        max_batch: int = 256,
        max_wait: float = 0.005,
        max_queue: int = 4096,
        metrics: ServerMetrics | None = None,
    ) -> None:
        if concurrency < 1 or max_batch < 1 or max_queue < 1 or max_wait < 0:
            raise ValueError("concurrency, max_batch and max_queue must be >= 1, max_wait >= 0")
        self._score = score
        self.concurrency = concurrency
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.metrics = metrics or ServerMetrics()
        self._pending: deque[_Job] = deque()
        self.queued = 0  # samples waiting
        self.inflight = 0  # batches being scored
        self._arrived = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._seconds_per_sample = 0.001  # running estimate, for Retry-After
        self._last_arrival = 0.0
        self._gain = 1.0  # how often waiting brought company (moving average)
        self._batches = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._dispatch_loop())

    async def submit(self, samples: list[Any], full: bool = True) -> list[Row]:
        """Score ``samples`` in the next batch; raises `Overloaded` when the queue is full."""
        if not samples:
            return []
        if self.queued + len(samples) > self.max_queue:
            raise Overloaded(
                f"queue full ({self.queued} of {self.max_queue} samples waiting)",
                self.retry_after(),
            )
        job = _Job(samples, asyncio.get_running_loop().create_future(), full)
        self._last_arrival = job.since
        self._pending.append(job)
        self._set_queued(self.queued + len(samples))
        self._idle.clear()
        self._arrived.set()
        return await job.future

    def retry_after(self) -> float:
        """Seconds until the queue should have room: the waiting work over the workers."""
        backlog = (self.queued + self.inflight * self.max_batch) * self._seconds_per_sample
        return min(max(1.0, backlog / self.concurrency), 60.0)

    @property
    def busy(self) -> bool:
        return bool(self._pending) or self.inflight > 0

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or in flight; False if ``timeout`` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def _set_queued(self, n: int) -> None:
        self.queued = n
        self.metrics.queue.set(n)

    async def _dispatch_loop(self) -> None:
        while True:
            while not self._pending:
                self._arrived.clear()
                await self._arrived.wait()
            await self._slots.acquire()
            # Gather: until the batch is full, the oldest request has waited max_wait, or the
            # arrivals have paused for a fifth of it. Skipped while waiting has stopped paying
            # (a lone client), except every 16th batch, to notice company coming back.
            deadline, gap = self._pending[0].since + self.max_wait, self.max_wait / 5
            self._batches += 1
            wait = self._gain >= 0.1 or self._batches % 16 == 0
            before = len(self._pending)
            while wait and self.queued < self.max_batch:
                left = min(deadline, self._last_arrival + gap) - time.monotonic()
                if left <= 0:
                    break
                self._arrived.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), left)
            if wait:
                gained = 1.0 if len(self._pending) > before else 0.0
                self._gain = 0.9 * self._gain + 0.1 * gained
            jobs = [self._pending.popleft()]
            n = len(jobs[0].samples)
            while self._pending and n + len(self._pending[0].samples) <= self.max_batch:
                job = self._pending.popleft()
                jobs.append(job)
                n += len(job.samples)
            self._set_queued(self.queued - n)
            self.inflight += 1
            self.metrics.inflight.set(self.inflight)
            task = asyncio.get_running_loop().create_task(self._run(jobs))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, jobs: list[_Job]) -> None:
        samples = [s for job in jobs for s in job.samples]
        t0 = time.perf_counter()
        try:
            full = any(job.full for job in jobs)
            try:
                rows = await asyncio.to_thread(self._score, samples, full)
            except BatchCrashed as exc:
                rows = await self._one_by_one(jobs, full, exc)
            if len(rows) != len(samples):
                raise RuntimeError(f"scorer returned {len(rows)} rows for {len(samples)} samples")
        except BaseException as exc:  # noqa: BLE001 - every waiting request gets an answer
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
        else:
            self.metrics.batch.observe(len(samples))
            self.metrics.observe_rows(rows)
            per = (time.perf_counter() - t0) / len(samples)
            self._seconds_per_sample = 0.8 * self._seconds_per_sample + 0.2 * per
            start = 0
            for job in jobs:
                end = start + len(job.samples)
                if not job.future.done():  # the client may have gone away
                    job.future.set_result(rows[start:end])
                start = end
        finally:
            self.inflight -= 1
            self.metrics.inflight.set(self.inflight)
            self._slots.release()
            if not self.busy:
                self._idle.set()

    async def _one_by_one(self, jobs: list[_Job], full: bool, exc: BatchCrashed) -> list[Row]:
        """After a batch killed two workers: each request alone, so that only a request that
        kills workers by itself gets ``error`` rows and the others are scored."""
        if len(jobs) == 1:
            return failed_rows(len(jobs[0].samples), "error", str(exc))
        rows: list[Row] = []
        for job in jobs:
            try:
                rows += await asyncio.to_thread(self._score, job.samples, full)
            except BatchCrashed as again:
                rows += failed_rows(len(job.samples), "error", str(again))
        return rows

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
