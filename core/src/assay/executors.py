"""Executors: where the chunks of a batch are scored (inline, threads, forked processes, Ray
actors: `assay.ray_executor`), and the one place that decides how a batch is cut into chunks.

A batch is split only along what every reward of the pipeline allows (`Reward.split_by`):
anywhere when all are row-wise, never when one needs the whole batch, and otherwise so that
the samples sharing a group key (the prompt, for a reward that normalises within a GRPO group)
stay in one chunk; with several keys, samples linked through any of them stay together. So the
results are identical whichever executor runs them. `plan_chunks` is that planning function;
any executor (threads, processes, a cluster) scores the chunks it returns and `merge_chunks`
puts the results back in input order.

The process executor hands the pipeline to the workers at fork time (inherited, not pickled),
so pipelines built in Python and rewards registered at runtime in a notebook work too. Only
samples and column results cross the process boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Literal, Protocol

from .models import Sample
from .results import _Batch
from .rewards import ROW, WHOLE
from .samples import group_value
from .workers import _mp_context

Executor = Literal["inline", "thread", "process", "ray"]
EXECUTORS: tuple[str, ...] = ("inline", "thread", "process", "ray")

#: What a batch may be split along: None (never split), () (anywhere) or group key paths.
Split = tuple[str, ...] | None

#: Samples per slice when a pipeline of row-wise rewards scores a large batch: every pass over
#: a slice (each reward, then the combination) finds its samples still in the CPU cache.
ROW_CHUNK = 1024

__all__ = [
    "EXECUTORS",
    "ROW_CHUNK",
    "ChunkRunner",
    "Executor",
    "Split",
    "join_splits",
    "merge_chunks",
    "plan_chunks",
    "process_pool",
    "run_in_processes",
    "run_in_threads",
]


class ChunkRunner(Protocol):
    """An executor object (``Pipeline.score(executor=...)``): scores chunks somewhere, such as
    `assay.ray_executor.RayExecutor`'s actors; results in chunk order."""

    workers: int

    def run(self, chunks: Sequence[list[Sample]], split: Split = None) -> list[_Batch]: ...


def join_splits(splits: Iterable[str | Split]) -> Split:
    """The split that every one of ``splits`` allows (reward `split_by` values or joined ones)."""
    keys: dict[str, None] = {}
    for s in splits:
        if s is None or s == WHOLE:
            return None
        if s == ROW:
            continue
        if isinstance(s, str):
            keys[s] = None
        else:
            keys.update(dict.fromkeys(s))
    return tuple(keys)


def plan_chunks(
    samples: Sequence[Sample], split: Split, parts: int, size: int | None = None
) -> list[list[int]]:
    """Cut ``samples`` into chunks of indices for ``parts`` workers, along ``split`` only.

    ``size`` is the target chunk length (default: about four chunks per worker, so a slow chunk
    does not hold the others up). Groups are never cut; a group larger than ``size`` is one
    chunk. Indices are in input order within each chunk.
    """
    n = len(samples)
    if n == 0:
        return []
    size = size or max(1, -(-n // (max(1, parts) * 4)))
    if split is None:
        return [list(range(n))]
    if not split:
        return [list(range(i, min(i + size, n))) for i in range(0, n, size)]
    chunks: list[list[int]] = []
    current: list[int] = []
    for group in _groups(samples, split):
        current.extend(group)
        if len(current) >= size:
            chunks.append(sorted(current))
            current = []
    if current:
        chunks.append(sorted(current))
    return chunks


def _groups(samples: Sequence[Sample], keys: tuple[str, ...]) -> list[list[int]]:
    """Indices of samples linked through any of ``keys`` (union-find), by first appearance."""
    parent = list(range(len(samples)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for key in keys:
        first: dict[Any, int] = {}
        for i, s in enumerate(samples):
            j = first.setdefault(group_value(s, key), i)
            if j != i:
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(samples)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def merge_chunks(parts: Sequence[_Batch], chunks: Sequence[Sequence[int]]) -> _Batch:
    """The chunks' results as one batch in input order."""
    merged = _Batch.concat(parts)
    order = [i for c in chunks for i in c]
    if all(a == b for a, b in zip(order, range(len(order)))):
        return merged
    back = [0] * len(order)
    for pos, i in enumerate(order):
        back[i] = pos
    return merged.take(back)


def run_in_threads(
    score: Callable[[list[Sample]], _Batch], chunks: Sequence[list[Sample]], workers: int
) -> list[_Batch]:
    """Score each chunk on a pool of ``workers`` threads; results in chunk order."""
    with ThreadPoolExecutor(workers) as ex:
        return list(ex.map(score, chunks))


_SCORER: Any = None


def _install(scorer: Any) -> None:
    global _SCORER
    _SCORER = scorer


def _score_chunk(chunk: list[Sample]) -> _Batch:
    batch: _Batch = _SCORER._score_unique(chunk)
    return batch


def process_pool(scorer: Any, workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` forked processes holding ``scorer`` (a pipeline; its
    ``_score_unique(chunk)`` is called there)."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_mp_context(),
        initializer=_install,
        initargs=(scorer,),
    )


def run_in_processes(pool: ProcessPoolExecutor, chunks: Sequence[list[Sample]]) -> list[_Batch]:
    """Score each chunk in the pool; results in chunk order."""
    return list(pool.map(_score_chunk, chunks))
