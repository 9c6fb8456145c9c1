"""Batch input: rows become `Sample`s, identical samples are found, dotted paths are read.

A bad row never sinks a batch: `validate_rows` reports it by index and the pipeline gives that
row an ``error`` result while the rest are scored.
"""

from __future__ import annotations

import contextlib
import gc
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from .models import Sample

__all__ = ["dedupe", "dotted", "group_value", "sample_key", "to_sample", "validate_rows"]


def to_sample(row: Any) -> Sample:
    """A `Sample` from a Sample or a mapping (validated)."""
    if isinstance(row, Sample):
        return row
    if isinstance(row, Mapping):
        return Sample.model_validate(row)
    raise TypeError(f"expected a mapping or assay.Sample, got {type(row).__name__}")


def validate_rows(rows: list[Any]) -> tuple[list[Sample], list[int], dict[int, str]]:
    """(valid samples, their input indices, {index: why} for bad rows); indices are empty when
    every row was already a `Sample`."""
    if not rows or set(map(type, rows)) == {Sample}:
        return rows, [], {}
    good: list[Sample] = []
    good_idx: list[int] = []
    bad: dict[int, str] = {}
    with no_gc():  # validating many rows allocates many objects: skip GC passes
        for i, row in enumerate(rows):
            try:
                good.append(to_sample(row))
                good_idx.append(i)
            except (ValidationError, TypeError, ValueError) as exc:
                bad[i] = short_validation(exc)
    return good, good_idx, bad


def short_validation(exc: Exception) -> str:
    """One line for a row that is not a valid sample."""
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        loc = ".".join(str(x) for x in e["loc"])
        return f"invalid sample: {loc}: {e['msg']}" if loc else f"invalid sample: {e['msg']}"
    return f"invalid sample: {exc}"


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


def group_value(sample: Sample, path: str) -> Any:
    """A hashable group identity: the value at ``path`` (its repr unless a plain scalar)."""
    v = dotted(sample, path)
    return v if isinstance(v, (str, int, float, bool)) or v is None else repr(v)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic GC while allocating a batch of objects (nothing cyclic is created)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
