"""``think_format``: 1.0 when the completion follows a tag layout, else 0.0 with the reason.

Default layout ``<think>…</think><answer>…</answer>``. Every section must appear exactly once, in
order, closed, not nested in another and not empty; a repeated section fails (the open-r1 #359
gaming: several ``<think>`` blocks that still start with ``<think>`` and end with ``</answer>``).

- ``strict`` mode: only whitespace before, between and after the sections (``text_after`` allows
  free text after the last one: the DeepSeek-R1 layout ``<think>…</think> answer``).
- ``lenient`` mode: free text is allowed around the sections; the section rules still hold.

The opening tag of the first section may be prefilled by the chat template (see ``tags.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assay.models import Sample, Score, ScoreLike
from assay.rewards import Reward

from .tags import Layout, Prefill, Tag, layout, resolve_prefill


class ThinkFormatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sections: list[str] = Field(default_factory=lambda: ["think", "answer"], min_length=1)
    mode: Literal["strict", "lenient"] = "strict"
    text_after: bool = False
    allow_empty: bool = False
    prefill: Prefill = "auto"

    @field_validator("sections")
    @classmethod
    def _sections(cls, v: list[str]) -> list[str]:
        layout(tuple(v))  # raises ValueError naming the bad name
        return v


def check_layout(
    text: str,
    lay: Layout,
    *,
    prefilled: bool | None,
    strict: bool = True,
    text_after: bool = False,
    allow_empty: bool = False,
) -> str | None:
    """None when ``text`` follows the layout, else a short reason naming the first problem.

    ``prefilled``: True when the template opened the first section, False when the completion
    must open it, None when either is fine.
    """
    tags = lay.find(text)
    first = lay.sections[0]
    counts = Counter((t.name, t.close) for t in tags)
    for t in tags:
        if counts[(t.name, t.close)] > 1:
            return f"repeated {t}"
    opened_first = counts[(first, False)] == 1
    if prefilled is True and opened_first:
        return f"<{first}> opened again: the prompt already opens it"
    if not opened_first and (
        prefilled is False or (prefilled is None and not counts[(first, True)])
    ):
        # "auto" without a prefilling prompt: a completion with neither tag of the first
        # section is missing it (not "unclosed": nothing suggests the template opened it)
        return f"missing <{first}>"
    is_prefilled = not opened_first

    # Walk the tags: one section open at a time, each closed by its own tag, in layout order.
    current: str | None = first if is_prefilled else None
    current_start = 0
    seen: list[str] = [first] if is_prefilled else []
    bodies: list[tuple[str, int, int]] = []
    last_close: Tag | None = None
    for t in tags:
        if not t.close:
            if current is not None:
                return f"{t} nested inside <{current}>"
            if last_close is None and strict and not is_prefilled and text[: t.start].strip():
                return f"text before {t}"
            if last_close is not None and strict and text[last_close.end : t.start].strip():
                return f"text between {last_close} and {t}"
            current, current_start = t.name, t.end
            seen.append(t.name)
        else:
            if current != t.name:
                return f"{t} without <{t.name}>" if current is None else f"{t} inside <{current}>"
            bodies.append((t.name, current_start, t.start))
            current, last_close = None, t
    if current is not None:
        return f"unclosed <{current}>"
    if seen != list(lay.sections):
        missing = [s for s in lay.sections if s not in seen]
        if missing:
            return f"missing <{missing[0]}> section"
        return f"sections out of order: expected {', '.join(lay.sections)}; got {', '.join(seen)}"
    if not allow_empty:
        for name, a, b in bodies:
            if not text[a:b].strip():
                return f"empty <{name}> section"
    if strict and not text_after and last_close is not None and text[last_close.end :].strip():
        return f"text after {last_close}"
    return None


class ThinkFormat(Reward):
    """1.0 when the completion follows the tag layout (``sections``), else 0.0 with the reason."""

    name = "think_format"
    Options = ThinkFormatOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._layout = layout(tuple(self.options.sections))

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        o = self.options
        first = self._layout.sections[0]
        out: list[ScoreLike] = []
        for s in samples:
            prefilled = resolve_prefill(o.prefill, s.prompt_text, first)
            reason = check_layout(
                s.completion_text,
                self._layout,
                prefilled=prefilled,
                strict=o.mode == "strict",
                text_after=o.text_after,
                allow_empty=o.allow_empty,
            )
            out.append(Score.ok(0.0, reason) if reason else Score.ok(1.0, "format ok"))
        return out
