"""Statements made under a condition ("if the box had 8 marbles, the answer would be 8"): a
counterfactual changes the question and is not an answer to it; "if the question means per
week, then the answer is 20" offers a second reading, so it joins the answer stated before it
as a hedge (docs/math.md, the final-answer rule).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .boxes import Stated, distinct

_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f](?=\s)|\n")
_IF = re.compile(
    r"\b(?:if|suppose|supposing|assuming|had)\b|\u5982\u679c|\u82e5|\u5047\u8bbe", re.I
)
_ALTERNATIVELY = re.compile(r"\b(?:alternatively|alternately)\b", re.I)
_WOULD = re.compile(r"\b(?:would|could|might)\b", re.I)


def condition(text: str, start: int) -> str | None:
    """The kind of condition ("counterfactual", "alternative") or None for the statement at ``start``: read from the
    start of its sentence (at most 160 characters back) up to it."""
    head = text[max(0, start - 160) : start]
    ends = list(_SENTENCE_END.finditer(head))
    if ends:
        head = head[ends[-1].end() :]
    if _ALTERNATIVELY.search(head):
        return "alternative"  # "Alternatively, it could be 6": a second answer, a hedge
    if not _IF.search(head):
        return None
    return "counterfactual" if _WOULD.search(head) else "alternative"


def resolve(text: str, stated: Sequence[Stated]) -> list[Stated]:
    """Drop a counterfactual that follows an answer; join an alternative to the answer before
    it. A conditional statement with no answer before it stays as it is."""
    out: list[Stated] = []
    base: Stated | None = None  # the last plain answer so far
    for s in sorted(stated, key=lambda x: x.start):
        kind = condition(text, s.start)
        if kind is None or base is None:
            out.append(s)
        elif kind == "alternative" and s.candidates:
            s = Stated(s.start, distinct([*base.candidates, *s.candidates]), s.method)
            out.append(s)
        if not s.weak and s.candidates and (kind is None or base is None):
            base = s
    return out
