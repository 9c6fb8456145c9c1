"""A learnable toy task for tests and the CPU demo: make the completion consist of one character.

``char_fraction`` scores the fraction of completion characters that are in ``chars``; a tiny
randomly initialised model starts near ``1 / len(alphabet)`` and any working RL algorithm pushes
it up within tens of steps.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from assay.models import Sample, ScoreLike
from assay.rewards import Reward


class CharFractionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    chars: str = Field(default="a", min_length=1)


class CharFraction(Reward):
    """Fraction of the completion's characters that are in ``chars`` (0.0 for an empty one)."""

    name = "char_fraction"
    Options = CharFractionOptions

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        wanted = set(self.options.chars)
        out: list[ScoreLike] = []
        for s in samples:
            text = s.completion_text
            out.append(sum(ch in wanted for ch in text) / len(text) if text else 0.0)
        return out


def toy_prompts(n: int = 64, alphabet: str = "abcdefgh", length: int = 3) -> list[str]:
    """``n`` short prompts over ``alphabet`` (deterministic)."""
    return [
        "".join(alphabet[(i * 7 + j * 3) % len(alphabet)] for j in range(length)) for i in range(n)
    ]
