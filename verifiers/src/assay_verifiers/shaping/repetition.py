"""``repetition``: n-gram repetition penalty (Yeo et al. 2025, "Demystifying Long CoT", app. C.2).

For the ``N`` n-grams of a completion, ``U`` of them distinct::

    R(y) = (1 - U / N) * max_penalty        (0 when the completion has fewer than n units)

so text without a repeated n-gram scores 0 and fully repetitive text tends to ``max_penalty``.

``unit`` says what an n-gram is made of:

- ``auto`` (default): script-aware units: words for spaced scripts, single characters for
  Chinese, Japanese, Thai and other scripts written without spaces, punctuation marks on their
  own, so ``"我们我们我们我们"`` is as repetitive as ``"we we we we"``;
- ``words``: lower-cased whitespace-separated words (open-r1's definition; blind to Chinese);
- ``chars``: every non-space character;
- ``tokens``: the trainer's ``completion_ids`` (or the ``tokenizer`` option): the same values as
  ``trl.rewards.get_repetition_penalty_reward``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.models import Sample, Score, ScoreLike
from assay.rewards import Reward

from .scripts import units
from .tokens import TokenSource


class RepetitionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    ngram_size: int = Field(default=3, ge=1)
    max_penalty: float = Field(default=-1.0, le=0.0)
    unit: Literal["auto", "words", "chars", "tokens"] = "auto"
    tokenizer: Any = None


def repetition_penalty(seq: Sequence[Any], n: int, max_penalty: float) -> float:
    """``(1 - distinct/total) * max_penalty`` over the n-grams of ``seq``; 0.0 when too short."""
    if len(seq) < n:
        return 0.0
    total = len(seq) - n + 1
    distinct = len(set(zip(*[seq[i:] for i in range(n)], strict=False))) if n > 1 else len(set(seq))
    scaling = 1 - distinct / total
    return scaling * max_penalty if scaling else 0.0


def _split(text: str, unit: str) -> list[str]:
    if unit == "words":
        return text.lower().split()
    if unit == "chars":
        return [c for c in text if not c.isspace()]
    return units(text)


class Repetition(Reward):
    """Penalty in ``[max_penalty, 0]`` for repeated n-grams (docs/shaping.md)."""

    name = "repetition"
    Options = RepetitionOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._tokens = TokenSource(self.options.tokenizer)

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        o = self.options
        if o.unit == "tokens":
            seqs: list[Sequence[Any] | str] = list(self._tokens.ids(samples))
        else:
            seqs = [_split(s.completion_text, o.unit) for s in samples]
        out: list[ScoreLike] = []
        for seq in seqs:
            if isinstance(seq, str):
                out.append(Score.unverifiable(seq))
                continue
            try:
                out.append(repetition_penalty(seq, o.ngram_size, o.max_penalty))
            except TypeError as exc:  # unhashable completion_ids elements
                out.append(Score.error(f"completion_ids cannot be compared: {exc}"))
        return out
