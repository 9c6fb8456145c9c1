"""The process executor: score chunks of a batch in forked worker processes.

The pipeline object is handed to the workers at fork time (inherited, not pickled), so
pipelines built in Python, and rewards registered at runtime in a notebook, work too. Only
samples and column results cross the process boundary. Results are merged in input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from .workers import _mp_context

if TYPE_CHECKING:
    from .models import Sample
    from .pipeline import Pipeline
    from .results import _Batch

_PIPELINE: Any = None


def _install(pipeline: Pipeline) -> None:
    global _PIPELINE
    _PIPELINE = pipeline


def _score_chunk(chunk: list[Sample]) -> _Batch:
    return _PIPELINE._score_unique(chunk)


def process_pool(pipeline: Pipeline, workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` forked processes that hold ``pipeline``."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_mp_context(),
        initializer=_install,
        initargs=(pipeline,),
    )


def run_in_processes(pool: ProcessPoolExecutor, chunks: Sequence[list[Sample]]) -> list[_Batch]:
    """Score each chunk in the pool; results in chunk order."""
    return list(pool.map(_score_chunk, chunks))
