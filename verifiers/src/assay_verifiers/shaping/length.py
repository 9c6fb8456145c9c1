"""``length``: a length-shaping reward, in a target range or scaled by correctness.

``unit`` is ``tokens`` (the trainer's ``completion_ids``, or the ``tokenizer`` option), ``chars``
or ``words``. Modes:

- ``range``: 1.0 for ``min_len <= |y| <= max_len``; outside, ``max(0, 1 - d / falloff)`` where
  ``d`` is the distance to the range (``falloff = 0``: a hard 0).
- ``cosine`` (Yeo et al. 2025, app. C.1; open-r1 / TRL ``get_cosine_scaled_reward``): with
  ``p = min(|y| / max_len, 1)``::

      R = v_min + (v_max - v_min) * (1 + cos(pi * p)) / 2

  where ``(v_min, v_max) = (min_value_correct, max_value_correct)`` for a correct completion
  (short correct answers best) and ``(max_value_wrong, min_value_wrong)`` for a wrong one (long
  wrong answers penalised least, which keeps exploring).
- ``kimi`` (Kimi k1.5 report, §2.3.3; open-r1 ``len_reward``): within each group of completions
  of the same prompt, ``lam = 0.5 - (|y| - min) / (max - min)``; ``R = lam`` when correct,
  ``min(0, lam)`` when wrong, 0 when all lengths are equal.

Correctness comes from another reward: the pipeline component named ``correctness`` (default
``math``) through ``dependencies()`` / ``score_with``; used alone, the reward instantiates the
registered reward of that name (with ``correctness_options``) and scores the samples with it, so
gold and completion are never swapped (open-r1 #557). A value ``>= correct_threshold`` counts as
correct; a correctness score without a value makes this sample ``unverifiable``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assay.models import Sample, Score, ScoreLike
from assay.rewards import Reward

from .tokens import TokenSource


class LengthOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    mode: Literal["range", "cosine", "kimi"] = "range"
    unit: Literal["tokens", "chars", "words"] = "tokens"
    tokenizer: Any = None
    min_len: int = Field(default=0, ge=0)
    max_len: int | None = Field(default=None, gt=0)
    falloff: int = Field(default=0, ge=0)
    min_value_wrong: float = -1.0
    max_value_wrong: float = -0.5
    min_value_correct: float = 0.5
    max_value_correct: float = 1.0
    correctness: str = "math"
    correctness_options: dict[str, Any] = Field(default_factory=dict)
    correct_threshold: float = 1.0

    @model_validator(mode="after")
    def _bounds(self) -> LengthOptions:
        if self.mode == "cosine" and self.max_len is None:
            raise ValueError("mode 'cosine' needs max_len (the length where the schedule ends)")
        if self.max_len is not None and self.max_len < self.min_len:
            raise ValueError(
                f"max_len must be >= min_len (max_len={self.max_len}, min_len={self.min_len})"
            )
        return self


def range_value(length: int, lo: int, hi: int | None, falloff: int) -> float:
    """1 inside ``[lo, hi]``, then linear decay to 0 over ``falloff`` units outside."""
    d = lo - length if length < lo else (length - hi if hi is not None and length > hi else 0)
    if d <= 0:
        return 1.0
    return max(0.0, 1.0 - d / falloff) if falloff else 0.0


def cosine_value(length: int, max_len: int, correct: bool, o: LengthOptions) -> float:
    """The cosine schedule (see module docstring), progress clamped at ``max_len``."""
    cos = math.cos(min(length / max_len, 1.0) * math.pi)
    if correct:
        lo, hi = o.min_value_correct, o.max_value_correct
    else:  # swapped: a short wrong answer is penalised most
        lo, hi = o.max_value_wrong, o.min_value_wrong
    return float(lo + 0.5 * (hi - lo) * (1.0 + cos))


class Length(Reward):
    """Length shaping: a target range, or cosine / Kimi scaling by a correctness reward."""

    name = "length"
    Options = LengthOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._tokens = TokenSource(self.options.tokenizer)
        self._correctness: Reward | None = None

    def dependencies(self) -> list[str]:
        return [] if self.options.mode == "range" else [self.options.correctness]

    def split_by(self) -> str:
        """``kimi`` compares lengths within each prompt's group: never split a group."""
        return "prompt" if self.options.mode == "kimi" else "row"

    def close(self) -> None:
        if self._correctness is not None:
            self._correctness.close()
            self._correctness = None

    def _lengths(self, samples: Sequence[Sample]) -> list[int | str]:
        unit = self.options.unit
        if unit == "tokens":
            return [ids if isinstance(ids, str) else len(ids) for ids in self._tokens.ids(samples)]
        if unit == "chars":
            return [len(s.completion_text) for s in samples]
        return [len(s.completion_text.split()) for s in samples]

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        if self.options.mode == "range":
            return self._range(samples)
        from assay.rewards import score_batch

        if self._correctness is None:
            from assay.registry import get_reward

            self._correctness = get_reward(
                self.options.correctness, **self.options.correctness_options
            )
        upstream = {self.options.correctness: score_batch(self._correctness, samples)}
        return self.score_with(samples, upstream)

    def score_with(
        self, samples: Sequence[Sample], upstream: dict[str, list[Score]]
    ) -> list[ScoreLike]:
        if self.options.mode == "range":
            return self._range(samples)
        scores = upstream.get(self.options.correctness)
        if scores is None:  # not wired by the pipeline: compute it ourselves
            return self.score(samples)
        if len(scores) != len(samples):
            raise ValueError(f"length: {len(scores)} correctness scores for {len(samples)} samples")
        lengths = self._lengths(samples)
        if self.options.mode == "cosine":
            return self._cosine(lengths, scores)
        return self._kimi(samples, lengths, scores)

    def _range(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        o = self.options
        out: list[ScoreLike] = []
        for n in self._lengths(samples):
            if isinstance(n, str):
                out.append(Score.unverifiable(n))
            else:
                v = range_value(n, o.min_len, o.max_len, o.falloff)
                out.append(Score.ok(v, f"{n} {o.unit}", length=n))
        return out

    def _verdict(self, score: Score) -> bool | str:
        """Correct / wrong, or the reason there is no verdict."""
        if score.value is None or math.isnan(score.value):
            why = score.reason or ("NaN" if score.value is not None else score.status)
            return f"no correctness verdict from {self.options.correctness!r}: {why}"
        return score.value >= self.options.correct_threshold

    def _cosine(self, lengths: list[int | str], scores: list[Score]) -> list[ScoreLike]:
        o = self.options
        assert o.max_len is not None
        out: list[ScoreLike] = []
        for n, sc in zip(lengths, scores, strict=True):
            verdict = self._verdict(sc)
            if isinstance(n, str) or isinstance(verdict, str):
                out.append(Score.unverifiable(n if isinstance(n, str) else str(verdict)))
                continue
            v = cosine_value(n, o.max_len, verdict, o)
            label = "correct" if verdict else "wrong"
            out.append(Score.ok(v, f"{label}, {n} {o.unit}", length=n, correct=verdict))
        return out

    def _kimi(
        self, samples: Sequence[Sample], lengths: list[int | str], scores: list[Score]
    ) -> list[ScoreLike]:
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(samples):
            groups.setdefault(repr(s.prompt), []).append(i)
        out: list[ScoreLike] = [None] * len(samples)
        for idx in groups.values():
            known = [lengths[i] for i in idx if not isinstance(lengths[i], str)]
            lo, hi = (min(known), max(known)) if known else (0, 0)  # type: ignore[type-var]
            for i in idx:
                n, verdict = lengths[i], self._verdict(scores[i])
                if isinstance(n, str) or isinstance(verdict, str):
                    out[i] = Score.unverifiable(n if isinstance(n, str) else str(verdict))
                    continue
                lam = 0.0 if hi == lo else 0.5 - (n - lo) / (hi - lo)
                v = lam if verdict else min(0.0, lam)
                out[i] = Score.ok(
                    float(v),
                    f"{'correct' if verdict else 'wrong'}, {n} in [{lo}, {hi}] {self.options.unit}",
                    length=n,
                    correct=verdict,
                )
        return out
