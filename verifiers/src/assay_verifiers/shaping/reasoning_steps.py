"""``reasoning_steps``: credit for step-by-step reasoning, ``min(1, steps / min_steps)``.

A step is a line that starts with a marker (``Step 2:``, ``2.``, ``2)``, a ``-``/``*``/``•``
bullet, ``第二步``, ``步骤2``), or a transition word anywhere (``First,`` ``Second,`` ``Third,``
``Next,`` ``Then,`` ``Finally,``; ``首先`` ``其次`` ``然后`` ``接着`` ``最后``). Steps are counted
once per distinct text (``distinct``): the text after the marker up to the end of its line, so
pasting the same step three times is one step, not a full score. ``markers`` replaces the
defaults with your own regexes (``re.MULTILINE``; ``^`` is a line start).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assay.models import Sample, Score, ScoreLike
from assay.rewards import Reward

# Tried with `match` at each line start only: far cheaper than `^...` scanned with MULTILINE.
_LINE_MARKER = re.compile(
    r"[ \t]*(?:(?:step|Step|STEP)\s*\d+\s*[:.)]|\d+[.)](?:\s|$)|[-*•](?:\s|$)"
    r"|第[一二三四五六七八九十百\d]+步|步骤\s*[一二三四五六七八九十\d]+)"
)
# No leading \b: a literal alternation lets the engine skip ahead; the word start is checked
# by hand (`_EN_WORDS` only).
_EN_WORDS = re.compile(r"(?:First|Second|Third|Next|Then|Finally),")
_ZH_WORDS = re.compile(r"(?:首先|其次|然后|接着|最后)[，,：:]?")


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


def _rest_of_line(text: str, start: int, end: int) -> str:
    stop = text.find("\n", end)
    return text[end : stop if stop >= 0 else len(text)].strip() or text[start:end].strip()


def default_steps(text: str) -> Iterator[tuple[int, str]]:
    """(position, step text) of every default marker in ``text``."""
    pos = 0
    for line in text.split("\n"):
        m = _LINE_MARKER.match(line)
        if m:
            yield pos, line[m.end() :].strip() or m.group().strip()
        pos += len(line) + 1
    for m in _EN_WORDS.finditer(text):
        if m.start() and text[m.start() - 1].isalpha():  # "IfFirst," is no transition word
            continue
        yield m.start(), _rest_of_line(text, m.start(), m.end())
    for m in _ZH_WORDS.finditer(text):
        yield m.start(), _rest_of_line(text, m.start(), m.end())


class ReasoningSteps(Reward):
    """``min(1, distinct steps / min_steps)`` (see module docstring)."""

    name = "reasoning_steps"
    Options = ReasoningStepsOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        # One regex per marker: Python's engine is several times slower on one big alternation.
        self._rxs = [re.compile(m, re.MULTILINE) for m in self.options.markers or ()]

    def _steps(self, text: str) -> Iterator[tuple[int, str]]:
        if not self._rxs:
            yield from default_steps(text)
            return
        for rx in self._rxs:
            for m in rx.finditer(text):
                yield m.start(), _rest_of_line(text, m.start(), m.end())

    def count(self, text: str) -> int:
        """Number of (distinct) steps in ``text``."""
        starts: set[int] = set()
        steps: set[str] = set()
        for start, step in self._steps(text):
            if start not in starts:  # two markers on the same spot are one step
                starts.add(start)
                steps.add(step)
        return len(steps) if self.options.distinct else len(starts)

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        k = self.options.min_steps
        out: list[ScoreLike] = []
        for s in samples:
            n = self.count(s.completion_text)
            out.append(Score.ok(min(1.0, n / k), f"{n} steps", steps=n))
        return out
