"""Pipeline components: a reward and how it counts (weight, gate, penalty, deadline).

A component scores the whole batch through its reward (the reward's own batching, caching and
parallelism). A reward that raises is retried sample by sample, so one bad sample gets an
``error`` score and the rest are scored. A component with a deadline runs each sample in a
`GuardedPool` worker that is killed and replaced when the deadline passes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import DeadlineExceeded, WorkerCrashed
from .models import Sample, Score, ScoreLike
from .registry import get_registry
from .rewards import ROW, Reward
from .workers import GuardedPool

__all__ = ["Component", "upstream_slice"]

_GUARDED: dict[int, Reward] = {}


def _install_guarded(key: int, reward: Reward) -> None:
    _GUARDED[key] = reward  # runs in the forked worker: the reward object is inherited


def _guarded_one(arg: tuple[int, Sample]) -> ScoreLike:
    key, sample = arg
    return _GUARDED[key].score([sample])[0]


@dataclass
class Component:
    """A pipeline term: a reward and how it counts.

    ``reward`` is a `Reward`, a nested `Pipeline` (wrapped as a reward through its
    ``as_reward()``), or the name of a registered reward (``Component("math", weight=2)``), as
    `Pipeline` accepts them.
    """

    reward: Any  # Reward after __post_init__; a Pipeline or a registered name before
    name: str = ""
    weight: float = 1.0
    gate: bool = False
    threshold: float = 1.0
    penalty: bool | str = False  # True: subtract |weight * value|; "below": see combination
    timeout: float | None = None
    memory_mb: int | None = None
    workers: int = 2
    num_cpus: float | None = None  # what a Ray actor holding this component reserves
    num_gpus: float | None = None
    plugin: str | None = None
    version: str | None = None
    _pool: GuardedPool | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        r = self.reward
        if isinstance(r, str):
            entry = get_registry().get("reward", r)
            self.reward = r = entry.obj()
            self.name = self.name or entry.name
            if self.plugin is None:
                self.plugin, self.version = entry.plugin, entry.version
        elif not isinstance(r, Reward) and callable(getattr(r, "as_reward", None)):
            self.reward = r = r.as_reward()  # a nested pipeline
        if not isinstance(r, Reward):
            raise TypeError(f"cannot use {r!r} as a pipeline component")
        if not self.name:
            self.name = r.name
        if self.timeout is None and r.expensive:
            self.timeout = r.timeout
        if self.memory_mb is None:
            self.memory_mb = r.memory_mb

    @property
    def guarded(self) -> bool:
        """Scored per sample in a killable worker (a nested pipeline's terms carry their own)."""
        return self.timeout is not None and not getattr(self.reward, "nested", False)

    @property
    def rowwise(self) -> bool:
        """Safe to score slice by slice: a row-wise reward, unguarded, reading no other term."""
        r: Reward = self.reward
        return r.rowwise and r.split_by() == ROW and not self.guarded and not r.dependencies()

    def dependencies(self) -> list[str]:
        r: Reward = self.reward
        return r.dependencies()

    def split_by(self) -> str:
        r: Reward = self.reward
        return r.split_by()

    def _get_pool(self) -> GuardedPool:
        with self._lock:
            if self._pool is None:
                self._pool = GuardedPool(
                    self.workers,
                    memory_mb=self.memory_mb,
                    initializer=_install_guarded,
                    initargs=(id(self), self.reward),
                )
            return self._pool

    def score(self, samples: Sequence[Sample], upstream: dict[str, list[Score]]) -> list[ScoreLike]:
        """The reward's values over ``samples`` (``upstream``: the scores it depends on)."""
        if self.guarded:
            return self._score_guarded(samples)
        r: Reward = self.reward
        try:
            out = r.score_with(samples, upstream) if r.dependencies() else r.score(samples)
            if type(out) is not list:
                out = list(out)
            if len(out) != len(samples):
                raise ValueError(f"returned {len(out)} scores for {len(samples)} samples")
            return out
        except Exception as exc:  # noqa: BLE001 - a reward's failure becomes error scores
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
    """The upstream scores of sample ``i`` only."""
    return {k: [v[i]] for k, v in upstream.items()}
