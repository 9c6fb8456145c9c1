"""``language``: the completion is written in the prompt's language, judged by Unicode script.

The expected language is ``expected`` (``zh``, ``ja``, ``ko``, or a script name such as ``Latin``,
``Cyrillic``, ``Arabic``), else the sample's ``metadata["language"]``, else (``auto``) the
language detected from the prompt's letters (kana -> ``ja``; Hangul -> ``ko``; mostly Han ->
``zh``; otherwise the dominant script). Fenced code, inline code and LaTeX math are ignored
before counting, so ``$x^2$`` in a Chinese answer does not count as Latin.

Value: the share of the completion's letters written in the expected scripts (``section``
narrows the text to the last ``<section>…</section>``); with ``threshold`` set, 1.0 when the
share reaches it, else 0.0. ``unverifiable`` when either side has no letters to judge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assay.models import Sample, Score, ScoreLike
from assay.rewards import Reward

from .scripts import allowed_scripts, detect_language, script_counts

_NOT_PROSE = re.compile(
    r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|\\\[.*?\\\]|\\\(.*?\\\)", re.DOTALL
)


class LanguageOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected: str = "auto"
    section: str | None = None
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("expected")
    @classmethod
    def _known(cls, v: str) -> str:
        if v != "auto":
            allowed_scripts(v)
        return v


def prose(text: str) -> str:
    """``text`` without code blocks, inline code and LaTeX math."""
    return _NOT_PROSE.sub(" ", text)


class Language(Reward):
    """Share of the completion's letters in the expected language's scripts."""

    name = "language"
    Options = LanguageOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        sec = self.options.section
        self._section = (
            re.compile(rf"<{re.escape(sec)}>(.*?)</{re.escape(sec)}>", re.DOTALL) if sec else None
        )

    def _expected(self, sample: Sample) -> str | None:
        if self.options.expected != "auto":
            return self.options.expected
        meta = sample.metadata.get("language")
        if isinstance(meta, str) and meta:
            return meta
        return detect_language(script_counts(prose(sample.prompt_text)))

    def _one(self, sample: Sample) -> Score:
        lang = self._expected(sample)
        if lang is None:
            return Score.unverifiable("no letters in the prompt to detect its language")
        try:
            scripts = allowed_scripts(lang)
        except ValueError as exc:
            return Score.error(str(exc))
        text = sample.completion_text
        if self._section is not None:
            found = self._section.findall(text)
            if not found:
                return Score.ok(0.0, f"no <{self.options.section}> section", expected=lang)
            text = found[-1]
        counts = script_counts(prose(text))
        total = sum(counts.values())
        if not total:
            return Score.unverifiable("no letters in the completion", expected=lang)
        share = sum(counts.get(s, 0) for s in scripts) / total
        t = self.options.threshold
        value = share if t is None else float(share >= t)
        return Score.ok(value, f"{share:.0%} of letters in {lang}", expected=lang, share=share)

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        return [self._one(s) for s in samples]
