"""``overlong``: DAPO's soft overlong punishment (Yu et al. 2025, eq. 13) on token counts.

With ``L = max_completion_len`` and ``C = soft_punish_cache``, for a completion of ``|y|`` tokens::

    R(y) = 0                      if |y| <= L - C
         = ((L - C) - |y|) / C    if L - C < |y| <= L
         = -1                     if |y| > L

Defaults are the paper's interval: ``L = 20480``, ``C = 4096`` (penalty starts after 16384
tokens). Token counts come from the trainer's ``completion_ids`` or the ``tokenizer`` option;
a sample with neither is ``unverifiable``. Same values as ``trl.rewards.get_soft_overlong_punishment``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assay.models import Sample, Score, ScoreLike
from assay.rewards import Reward

from .tokens import TokenSource


class OverlongOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_completion_len: int = Field(default=20480, gt=0)
    soft_punish_cache: int = Field(default=4096, ge=0)
    tokenizer: Any = None

    @model_validator(mode="after")
    def _cache_fits(self) -> OverlongOptions:
        if self.soft_punish_cache > self.max_completion_len:
            raise ValueError("soft_punish_cache must not exceed max_completion_len")
        return self


def soft_overlong(length: int, max_len: int, cache: int) -> float:
    """DAPO eq. 13 for one completion length."""
    start = max_len - cache
    if length <= start:
        return 0.0
    if length <= max_len:
        return (start - length) / cache
    return -1.0


class Overlong(Reward):
    """0 up to ``L - C`` tokens, then linearly down to -1 at ``L``, -1 beyond (DAPO)."""

    name = "overlong"
    Options = OverlongOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._tokens = TokenSource(self.options.tokenizer)

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        # Bare floats on the hot path (the pipeline lifts them to ok scores when looked at):
        # a Score per sample would cost more than the formula.
        o = self.options
        max_len, cache = o.max_completion_len, o.soft_punish_cache
        return [
            Score.unverifiable(ids)
            if isinstance(ids, str)
            else soft_overlong(len(ids), max_len, cache)
            for ids in self._tokens.ids(samples)
        ]
