"""``tag_count``: partial credit per well-formed layout tag, which repeating tags cannot raise.

Each of the ``2k`` tags of a ``k``-section layout is worth ``1/(2k)``:

- an opening tag counts when it occurs exactly once (the first one also when the chat template
  prefilled it, see ``tags.py``);
- an opening tag of a later section also has to come after every tag of the earlier sections;
- a closing tag counts when it occurs exactly once, after its own opening tag (counted as above),
  with non-empty text between them and no layout tag nested in that text.

A second copy of a tag takes that tag's credit (and its closing tag's) away, so adding tags never
raises the value: spamming ``<think>`` blocks (open-r1 #359) or emitting empty tag pairs earns
less, not more.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assay.models import Sample, Score, ScoreLike
from assay.rewards import Reward

from .tags import Layout, Prefill, layout, resolve_prefill


class TagCountOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sections: list[str] = Field(default_factory=lambda: ["think", "answer"], min_length=1)
    allow_empty: bool = False
    prefill: Prefill = "auto"

    @field_validator("sections")
    @classmethod
    def _sections(cls, v: list[str]) -> list[str]:
        layout(tuple(v))
        return v


def tag_credit(
    text: str, lay: Layout, *, prefilled: bool | None, allow_empty: bool = False
) -> tuple[float, list[str]]:
    """The fraction of well-formed tags and the tags that earned no credit."""
    tags = lay.find(text)
    counts = Counter((t.name, t.close) for t in tags)
    where = {(t.name, t.close): t for t in tags}
    last_end: dict[str, int] = {}
    for t in tags:
        last_end[t.name] = t.end
    first = lay.sections[0]
    good = 0
    missed: list[str] = []
    earlier_end = 0  # end of the last tag of any earlier section
    for name in lay.sections:
        n_open = counts[(name, False)]
        # "auto": a missing first opener counts as prefilled only when its section is there
        # (its closing tag is), so a completion with no tags at all earns nothing.
        maybe_prefilled = prefilled is None and n_open == 0 and counts[(name, True)] > 0
        if name == first and (prefilled is True or maybe_prefilled):
            open_ok, open_end = n_open == 0, 0
        else:
            opener = where.get((name, False))
            open_ok = n_open == 1 and opener is not None and opener.start >= earlier_end
            open_end = opener.end if opener is not None else 0
        close = where.get((name, True))
        body = text[open_end : close.start] if close is not None else ""
        close_ok = (
            open_ok
            and counts[(name, True)] == 1
            and close is not None
            and close.start >= open_end
            and not lay.pattern.search(body)  # nothing nested inside
            and (allow_empty or bool(body.strip()))
        )
        good += open_ok + close_ok
        if not open_ok:
            missed.append(f"<{name}>")
        if not close_ok:
            missed.append(f"</{name}>")
        earlier_end = max(earlier_end, last_end.get(name, 0))
    return good / (2 * len(lay.sections)), missed


class TagCount(Reward):
    """Fraction of the layout's tags that are well formed (docs/shaping.md)."""

    name = "tag_count"
    Options = TagCountOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._layout = layout(tuple(self.options.sections))

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        first = self._layout.sections[0]
        out: list[ScoreLike] = []
        for s in samples:
            prefilled = resolve_prefill(self.options.prefill, s.prompt_text, first)
            value, missed = tag_credit(
                s.completion_text,
                self._layout,
                prefilled=prefilled,
                allow_empty=self.options.allow_empty,
            )
            reason = "all tags well formed" if not missed else "no credit: " + ", ".join(missed)
            out.append(Score.ok(value, reason))
        return out
