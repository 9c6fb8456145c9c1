"""``assay serve --executor ray``: each micro-batch is split across warm Ray actors.

One batch at a time goes to the `RayExecutor`, which cuts it into chunks along what every
reward allows and spreads them over all the actors (on one machine or a cluster); while it is
being scored, the next requests gather into the next batch. Dead actors are replaced and their
chunk retried once (see `assay.ray_executor`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .scorers import Row, score_rows

if TYPE_CHECKING:
    from ..composed import Pipeline


class RayScorer:
    """Scores batches on ``workers`` Ray actors holding the pipeline."""

    def __init__(
        self,
        pipeline: Pipeline,
        workers: int = 2,
        *,
        batch_timeout: float | None = 300.0,
        address: str | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.workers = workers
        self.concurrency = 1
        self.batch_timeout = batch_timeout
        self.address = address
        self.executor: Any = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        from ..ray_executor import RayExecutor

        if self.executor is None:
            self.executor = RayExecutor(
                self.pipeline, self.workers, address=self.address, chunk_timeout=self.batch_timeout
            )
        self.executor.warm()

    def score(self, samples: Sequence[Any], full: bool = True) -> list[Row]:
        with self._lock:
            if self.executor is None:
                self.warm()
            return score_rows(self.pipeline, samples, full, executor=self.executor)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
            self.executor = None
        self.pipeline.close()
