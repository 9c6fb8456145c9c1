"""What a trainer adapter does with samples that did not score ``ok``, and how it reports them.

A sample whose status is ``unverifiable``, ``error`` or ``timeout`` has no real verdict. Left
alone it becomes a silent 0 in a trainer's log; here every adapter counts them per component
(TRL: ``log_metric``, OpenRLHF: ``extra_logs``, verl: the returned dict) and applies a policy:

- ``non_ok="pipeline"`` (default): the pipeline's reward as is (an ``error``/``timeout``
  component counts 0, an ``unverifiable`` one is left out; verl and OpenRLHF need a number, so a
  reward of None becomes 0.0 there, TRL gets None and ignores the sample);
- ``non_ok="zero"``: such a sample's reward is 0.0;
- ``non_ok="mask"``: its reward is None, which TRL ignores (TRL only: verl and OpenRLHF have
  no way to skip a sample);
- ``max_non_ok_rate``: raise `NonOkRateExceeded` when more than this share of the last
  ``window`` samples (at least ``min_samples`` of them) were not ``ok``: a broken sandbox or a
  dataset with unparsable gold answers stops the run instead of training on zeros.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .errors import NonOkRateExceeded

if TYPE_CHECKING:
    from .results import Results

NonOk = Literal["pipeline", "zero", "mask"]
NON_OK_STATUSES = ("unverifiable", "error", "timeout")


def status_key(component: str, status: str) -> str:
    """The log key of one component's count of one status: ``assay/math/unverifiable``."""
    return f"assay/{component}/{status}"


@dataclass
class AdapterPolicy:
    """How an adapter counts samples that were not scored ``ok`` (see the module docstring)."""

    non_ok: NonOk = "pipeline"
    max_non_ok_rate: float | None = None
    window: int = 256
    min_samples: int = 32
    _recent: deque[bool] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.non_ok not in ("pipeline", "zero", "mask"):
            raise ValueError(f"non_ok must be pipeline, zero or mask, not {self.non_ok!r}")
        rate = self.max_non_ok_rate
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError(f"max_non_ok_rate must lie in [0, 1], not {rate!r}")
        self._recent = deque(maxlen=max(1, self.window))

    def __getstate__(self) -> dict[str, object]:  # adapters are pickled into worker processes
        return {k: v for k, v in self.__dict__.items() if k not in ("_recent", "_lock")}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._recent = deque(maxlen=max(1, self.window))

    def require_number(self, trainer: str) -> None:
        """Refuse ``mask`` for a trainer that needs a number for every sample."""
        if self.non_ok == "mask":
            raise ValueError(
                f"{trainer} needs a number for every sample: use non_ok='pipeline' or 'zero' "
                "(or max_non_ok_rate to stop when too many samples cannot be scored)"
            )

    def rewards(self, results: Results) -> list[float | None]:
        """The rewards under this policy (None where the pipeline or ``mask`` gives none)."""
        rewards = results.rewards
        statuses = results.statuses
        self._check_rate(statuses, results)
        if self.non_ok == "pipeline":
            return rewards
        fill = 0.0 if self.non_ok == "zero" else None
        return [r if st == "ok" else fill for r, st in zip(rewards, statuses)]

    def _check_rate(self, statuses: Sequence[str], results: Results) -> None:
        if self.max_non_ok_rate is None:
            return
        with self._lock:
            self._recent.extend(st != "ok" for st in statuses)
            seen = len(self._recent)
            bad = sum(self._recent)
        if (
            seen >= min(self.min_samples, self._recent.maxlen or 1)
            and bad / seen > self.max_non_ok_rate
        ):
            reasons = [r.reason for r in _first_bad(results, 3)]
            raise NonOkRateExceeded(
                f"{bad} of the last {seen} samples were not scored ok "
                f"(max_non_ok_rate={self.max_non_ok_rate:g}); e.g. {reasons}. Fix the inputs "
                "(gold answers, tests, the sandbox) or raise max_non_ok_rate"
            )


def _first_bad(results: Results, n: int) -> list:  # type: ignore[type-arg]
    out = []
    for i, st in enumerate(results.statuses):
        if st != "ok":
            out.append(results[i])
            if len(out) == n:
                break
    return out


def non_ok_indicators(results: Results) -> dict[str, list[float]]:
    """Per component and non-ok status, 1.0 for each sample with that status, else 0.0.

    Every component of the batch gets all three keys, so the keys are the same for every call
    (verl collects them per sample); a mean is the rate, a sum the count."""
    out: dict[str, list[float]] = {}
    for name in results.component_names:
        column = results.component_statuses(name)
        for status in NON_OK_STATUSES:
            out[status_key(name, status)] = [1.0 if s == status else 0.0 for s in column]
    return out


def non_ok_counts(results: Results) -> dict[str, int]:
    """Per component and non-ok status, how many samples of the batch had it."""
    return {k: int(sum(v)) for k, v in non_ok_indicators(results).items()}
