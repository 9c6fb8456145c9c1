"""Dependency-free rewards the core ships, registered through the `assay` entry point group
like any third-party plugin (see ``[project.entry-points.assay]`` in ``core/pyproject.toml``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from .hookspecs import hookimpl
from .models import Sample, ScoreLike
from .rewards import Reward

if TYPE_CHECKING:
    from .registry import Register


def _normalise(text: str, case: bool, strip: bool) -> str:
    if strip:
        text = " ".join(text.split())
    return text if case else text.casefold()


class ExactMatchOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_sensitive: bool = False
    normalize_whitespace: bool = True


class ExactMatch(Reward[ExactMatchOptions]):
    """1.0 when the completion equals ``answer`` as text (after optional case/space folding).

    Not applicable (None) when the sample has no answer.
    """

    name = "exact_match"
    Options = ExactMatchOptions

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        o = self.options
        out: list[ScoreLike] = []
        for s in samples:
            if s.answer is None:
                out.append(None)
                continue
            a = _normalise(str(s.answer), o.case_sensitive, o.normalize_whitespace)
            c = _normalise(s.completion_text, o.case_sensitive, o.normalize_whitespace)
            out.append(1.0 if a == c else 0.0)
        return out


class RegexOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pattern: str
    full: bool = False
    flags: str = ""


@lru_cache(maxsize=256)
def _compile(pattern: str, flags: str) -> re.Pattern[str]:
    f = 0
    for ch in flags:
        f |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}[ch]
    return re.compile(pattern, f)


class RegexMatch(Reward[RegexOptions]):
    """1.0 when the completion matches ``pattern`` (``full`` for the whole text), else 0.0."""

    name = "regex"
    Options = RegexOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        try:
            self._rx = _compile(self.options.pattern, self.options.flags)
        except (re.error, KeyError) as exc:
            raise ValueError(f"regex: bad pattern or flags: {exc}") from exc

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        match = self._rx.fullmatch if self.options.full else self._rx.search
        return [1.0 if match(s.completion_text) else 0.0 for s in samples]


class ConstantOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float = 0.0


class Constant(Reward[ConstantOptions]):
    """Always ``value``: a baseline, or a fixed bonus/penalty term in a pipeline."""

    name = "constant"
    Options = ConstantOptions

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        v = self.options.value
        return [v] * len(samples)


@hookimpl
def assay_register_rewards(register: Register) -> None:
    for cls in (ExactMatch, RegexMatch, Constant):
        register(cls)
