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
from .tags import last_section

# Where a code or math span may start; `prose` tries the spans in this order at each candidate
# (```…```, `…`, $$…$$, $…$, \[…\], \(…\)), as one regex alternation would, in linear time.
_SPAN_START = re.compile(r"[`$\\]")
# (opener, closer, may span lines)
_SPANS = (
    ("```", "```", True),
    ("`", "`", False),
    ("$$", "$$", True),
    ("$", "$", False),
    ("\\[", "\\]", True),
    ("\\(", "\\)", True),
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
    """``text`` without code blocks, inline code and LaTeX math (each span becomes a space).

    Same result as ``re.sub`` with the lazy pattern ``…|\\[.*?\\]|\\(.*?\\)`` (DOTALL), but
    linear: that regex rescans the rest of the text from every opener that has no closer
    (100k ``\\(`` took a minute); here an opener whose closer is missing is not tried again.
    """
    if "`" not in text and "$" not in text and "\\" not in text:
        return text
    out: list[str] = []
    dead: set[str] = set()  # multi-line openers with no closer left in the text
    kept = 0  # text[kept:] is not yet copied to `out`
    pos = 0
    while True:
        m = _SPAN_START.search(text, pos)
        if m is None:
            break
        i = end = m.start()
        for opener, closer, multiline in _SPANS:
            if opener in dead or not text.startswith(opener, i):
                continue
            j = text.find(closer, i + len(opener))
            if j < 0:
                if multiline:
                    dead.add(opener)
                continue
            if not multiline and text.find("\n", i + len(opener), j) >= 0:
                continue
            end = j + len(closer)
            break
        if end > i:
            out += (text[kept:i], " ")
            kept = pos = end
        else:
            pos = i + 1
    out.append(text[kept:])
    return "".join(out)


class Language(Reward):
    """Share of the completion's letters in the expected language's scripts."""

    name = "language"
    Options = LanguageOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)

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
            return Score.unverifiable(
                "no letters in the prompt to detect its language (or only of unlisted scripts)"
            )
        try:
            scripts = allowed_scripts(lang)
        except ValueError as exc:
            return Score.error(str(exc))
        text = sample.completion_text
        if self.options.section:
            found = last_section(text, self.options.section)
            if found is None:
                return Score.ok(0.0, f"no <{self.options.section}> section", expected=lang)
            text = found
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
