"""``reasoning_steps``: credit for step-by-step reasoning, ``min(1, steps / min_steps)``.

A step is a line that starts with a marker (``Step 2:``, ``2.``, ``2)``, a ``-``/``*``/``•``
bullet, ``第二步``, ``步骤2``), or a transition word (``First,`` … ``Finally,``; ``首先`` …
``最后``). Steps are counted once per distinct text (``distinct``), so pasting the same step
three times is one step, not a full score. ``markers`` replaces the default regexes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assay.models import Sample, Score, ScoreLike
from assay.rewards import Reward

DEFAULT_MARKERS: tuple[str, ...] = (
    r"^[ \t]*(?:step|Step|STEP)\s*\d+\s*[:.)]",
    r"^[ \t]*\d+[.)]\s",
    r"^[ \t]*[-*•]\s",
    r"\b(?:First|Second|Third|Next|Then|Finally)\b,",
    r"^[ \t]*第[一二三四五六七八九十百\d]+步",
    r"^[ \t]*步骤\s*[一二三四五六七八九十\d]+",
    r"(?:首先|其次|然后|接着|最后)[，,：:]?",
)


class ReasoningStepsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_steps: int = Field(default=3, ge=1)
    markers: list[str] | None = None
    distinct: bool = True

    @field_validator("markers")
    @classmethod
    def _compiles(cls, v: list[str] | None) -> list[str] | None:
        for m in v or []:
            try:
                re.compile(m)
            except re.error as exc:
                raise ValueError(f"marker {m!r} is not a valid regex: {exc}") from exc
        return v


class ReasoningSteps(Reward):
    """``min(1, distinct steps / min_steps)`` (see module docstring)."""

    name = "reasoning_steps"
    Options = ReasoningStepsOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        markers = self.options.markers or DEFAULT_MARKERS
        self._rx = re.compile("|".join(f"(?:{m})" for m in markers), re.MULTILINE)

    def count(self, text: str) -> int:
        """Number of (distinct) steps in ``text``."""
        if not self.options.distinct:
            return sum(1 for _ in self._rx.finditer(text))
        steps = set()
        for m in self._rx.finditer(text):
            end = text.find("\n", m.end())
            steps.add(text[m.end() : end if end >= 0 else len(text)].strip() or m.group())
        return len(steps)

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        k = self.options.min_steps
        out: list[ScoreLike] = []
        for s in samples:
            n = self.count(s.completion_text)
            out.append(Score.ok(min(1.0, n / k), f"{n} steps", steps=n))
        return out
