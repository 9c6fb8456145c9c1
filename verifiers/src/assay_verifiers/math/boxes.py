"""Boxed answers: ``\\boxed{...}`` / ``\\fbox{...}`` found with paired braces in linear time,
and grouped by sentence into stated answers (`Stated`).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stated:
    """A stated answer: where it starts, its values, how it was found."""

    start: int
    candidates: tuple[str, ...]
    method: str
    weak: bool = False  # a word-only answer phrase: loses to any other statement
    # a statement of no answer: a rejection ("the answer is not 12") retracts an earlier
    # statement of the values it names; a doubt or supposition ("I don't think the answer is
    # 12") retracts nothing (None: neither)
    rejects: tuple[str, ...] | None = None
    doubt: bool = False


_BOX = re.compile(r"\\(?:boxed|fbox|framebox)\s{0,5}")
_TOKEN_ARG = re.compile(r"[^\s$.,]{1,100}")  # "\\boxed 5"
_WORD = re.compile(r"[^\W_]")
_ALTERNATIVE = re.compile(
    r"[ \t]{0,3}\((?:or|maybe|possibly|perhaps)[ \t]{1,3}(\$?[^()\s,;]{1,40})", re.I
)
_STOP = re.compile(r"[.!?\u3002\uff01\uff1f](?=\s|$)|\n")


def _brace_partners(text: str) -> dict[int, int]:
    """Index of the closing brace of every balanced ``{`` (``\\{`` and ``\\}`` are not braces)."""
    partner: dict[int, int] = {}
    stack: list[int] = []
    for i, c in enumerate(text):
        if c not in "{}" or (i and text[i - 1] == "\\"):
            continue
        if c == "{":
            stack.append(i)
        elif stack:
            partner[stack.pop()] = i
    return partner


def boxed_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every ``\\boxed{...}`` / ``\\fbox{...}``, nested boxes unwrapped.

    The braces are paired in one pass and a nested box is found by bisection, so thousands of
    nested or unclosed boxes cost linear time.
    """
    found = [m.span() for m in _BOX.finditer(text)]
    if not found:
        return []
    starts = [a for a, _ in found]
    boxes = [b for _, b in found]
    partner = _brace_partners(text)

    def argument(k: int, limit: int) -> tuple[int, int] | None:
        i = boxes[k]
        if i < limit and text[i] == "{":
            close = partner.get(i)
            return (i + 1, close) if close is not None and close < limit else None
        tok = _TOKEN_ARG.match(text, i, limit)
        return tok.span() if tok else None

    out: list[tuple[int, int, str]] = []
    covered = -1
    for k in range(len(boxes)):
        if starts[k] < covered:
            continue  # inside a box already taken
        span = argument(k, len(text))
        if span is None:
            continue
        outer_end = span[1] + (1 if span[1] < len(text) and text[span[1]] == "}" else 0)
        while True:  # the last box inside the argument, down to the innermost one
            a, b = span
            for j in range(bisect_left(starts, b) - 1, bisect_left(starts, a) - 1, -1):
                inner = argument(j, b)
                if inner is not None:
                    span = inner
                    break
            else:
                break
        covered = outer_end
        out.append((starts[k], outer_end, text[span[0] : span[1]].strip()))
    return out


def boxed_contents(text: str) -> list[str]:
    """Contents of every box in order (see `boxed_spans`)."""
    return [c for _, _, c in boxed_spans(text)]


def box_groups(text: str) -> list[Stated]:
    """Boxes in one sentence form one statement (``\\boxed{2} and \\boxed{3}``)."""
    groups: list[Stated] = []
    run: list[str] = []
    run_start = prev_end = -1
    for a, b, content in boxed_spans(text):
        gap = text[prev_end:a] if prev_end >= 0 else ""
        apart = len(gap) > 80 or _STOP.search(gap.replace("$", " ")) or "\n\n" in gap
        if run and apart and _WORD.search(gap):  # boxes with nothing between them: one spray
            groups.append(Stated(run_start, distinct(run), "boxed"))
            run = []
        if not run:
            run_start = a
        run.append(content)
        alt = _ALTERNATIVE.match(text, b)
        if alt:  # "\boxed{18} (or 19 if we include the teacher)": a hedge
            run.append(alt.group(1).strip("$"))
        prev_end = b
    if run:
        groups.append(Stated(run_start, distinct(run), "boxed"))
    return groups


def distinct(items: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for it in items:
        it = it.strip()
        if it:
            seen.setdefault(it, None)
    return tuple(seen)
