"""``reasoning_steps``: credit for step-by-step reasoning, ``min(1, steps / min_steps)``.

A step is a line that starts with a marker (``Step 2:``, ``2.``, ``2)``, a ``-``/``*``/``•``
bullet, ``第二步``, ``步骤2``), or a transition word anywhere (``First,`` ``Second,`` ``Third,``
``Next,`` ``Then,`` ``Finally,``; ``首先`` ``其次`` ``然后`` ``接着`` ``最后``). Steps are counted
once per distinct text (``distinct``): the text after the marker up to the end of its line or
the next marker, whichever comes first, so pasting the same step three times, on three lines or
on one, is one step, not a full score. A marker directly followed by another (``1. First, …``)
is one step with it. ``markers`` replaces the defaults with your own regexes
(``re.MULTILINE``; ``^`` is a line start).
"""

from __future__ import annotations

import re
from bisect import bisect_left
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


def default_steps(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every default marker in ``text``."""
    pos = 0
    for line in text.split("\n"):
        m = _LINE_MARKER.match(line)
        if m:
            yield pos, pos + m.end()
        pos += len(line) + 1
    for m in _EN_WORDS.finditer(text):
        if m.start() and text[m.start() - 1].isalpha():  # "IfFirst," is no transition word
            continue
        yield m.span()
    for m in _ZH_WORDS.finditer(text):
        yield m.span()


def step_texts(text: str, spans: dict[int, int]) -> set[str]:
    """The distinct step texts of the markers ``spans`` (start -> end): from a marker's end to
    the end of its line or the next marker, else the marker itself. Linear in ``len(text)``:
    each piece of text belongs to one step (the rest-of-line text of each of 30,000 markers on
    one line was quadratic, and counted one pasted step 30,000 times)."""
    starts = sorted(spans)
    steps: set[str] = set()
    nl_from, nl = -1, -1  # text.find("\n", nl_from) == nl, reused while markers stay before nl
    for k, start in enumerate(starts):
        end = spans[start]
        if not (nl_from <= end <= nl):
            nl_from, nl = end, text.find("\n", end)
            if nl < 0:
                nl = len(text)
        n = bisect_left(starts, end, k + 1)
        nxt = starts[n] if n < len(starts) else len(text)
        body = text[end : min(nl, nxt)].strip()
        if body:
            steps.add(body)
        elif nxt >= nl:  # nothing but the marker on the rest of its line
            steps.add(text[start:end].strip())
        # else: another marker follows at once on the same line; that one carries the step
    return steps


class ReasoningSteps(Reward):
    """``min(1, distinct steps / min_steps)`` (docs/shaping.md)."""

    name = "reasoning_steps"
    Options = ReasoningStepsOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        # One regex per marker: Python's engine is several times slower on one big alternation.
        self._rxs = [re.compile(m, re.MULTILINE) for m in self.options.markers or ()]

    def _steps(self, text: str) -> Iterator[tuple[int, int]]:
        if not self._rxs:
            yield from default_steps(text)
            return
        for rx in self._rxs:
            for m in rx.finditer(text):
                yield m.span()

    def count(self, text: str) -> int:
        """Number of (distinct) steps in ``text``."""
        spans: dict[int, int] = {}
        for start, end in self._steps(text):
            spans.setdefault(start, end)  # two markers on the same spot are one step
        if not self.options.distinct:
            return len(spans)
        return len(step_texts(text, spans))

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        k = self.options.min_steps
        out: list[ScoreLike] = []
        for s in samples:
            n = self.count(s.completion_text)
            out.append(Score.ok(min(1.0, n / k), f"{n} steps", steps=n))
        return out
