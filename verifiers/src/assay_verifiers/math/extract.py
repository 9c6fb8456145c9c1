"""Find the final answer in a model's completion (pure regex and brace matching, no sympy).

Methods, tried in the configured order (default `DEFAULT_METHODS`); the first that finds
something wins:

- ``answer_tag``: the last ``<answer>...</answer>`` block (its content is searched again, and
  taken whole when nothing inside matches);
- ``boxed``: every ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces; nested boxes unwrapped);
  all distinct ones are kept, so that several different boxed answers can be judged together;
- ``hash``: GSM8K's ``#### 42``;
- ``answer_is``: "the (final) answer is ...", "Answer: ...";
- ``bold``: the last markdown ``**...**`` that holds a number or math;
- ``bare``: a short completion that is itself an answer (``\\frac{1}{2}``, ``x = 5``);
- ``last_math``: the last ``$...$`` / ``\\(...\\)`` / ``\\[...\\]`` span;
- ``last_number``: the last number in the text (can be switched off).

>>> extract_answer(r"so the area is \\boxed{\\frac{1}{2}}.").candidates
('\\\\frac{1}{2}',)
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_METHODS: tuple[str, ...] = (
    "answer_tag",
    "boxed",
    "hash",
    "answer_is",
    "bold",
    "bare",
    "last_math",
    "last_number",
)
METHODS = frozenset(DEFAULT_METHODS)


@dataclass(frozen=True)
class Extraction:
    """What the completion answers: the distinct candidates found, and by which method."""

    candidates: tuple[str, ...] = ()
    method: str = ""

    @property
    def answer(self) -> str | None:
        return self.candidates[-1] if self.candidates else None


_BOX = re.compile(r"\\(?:boxed|fbox|framebox)\s*")
_TOKEN_ARG = re.compile(r"[^\s$.,]+")  # "\\boxed 5"
_ANSWER_TAG = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S | re.I)
_HASH = re.compile(r"####\s*([^\n]+)")
_ANSWER_IS = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|:|=)?\s*:?\s*"
    r"(?:\*\*)?\s*([^\n]{1,300}?)\s*(?:\*\*)?\s*(?:\.\s|\.?\s*$|\n)",
    re.I,
)
_BOLD = re.compile(r"\*\*([^*\n]{1,200}?)\*\*")
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][+-]?\d+\b)?(?:\s*/\s*\d+)?%?|-?\.\d+")
_WORDY = re.compile(r"[a-zA-Z]{4,}|(?:^|(?<=[\s,.;:!?]))[a-zA-Z]{2,}(?=$|[\s,.;:!?])")
_MATH_WORDS = re.compile(r"\\[a-zA-Z]+|\b(?:sqrt|sin|cos|tan|log|ln|exp|pi|or|and)\b")


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


def boxed_contents(text: str) -> list[str]:
    """Contents of every ``\\boxed{...}`` / ``\\fbox{...}`` in order, nested boxes unwrapped.

    The braces are paired in one pass and a nested box is found by bisection, so thousands of
    nested or unclosed boxes cost linear time (rescanning each one was quadratic, and recursing
    into each ran out of stack).
    """
    found = [m.span() for m in _BOX.finditer(text)]
    if not found:
        return []
    starts = [a for a, _ in found]
    boxes = [b for _, b in found]
    partner = _brace_partners(text)

    def argument(k: int, limit: int) -> tuple[int, int] | None:
        """The span of box ``k``'s argument inside ``text[:limit]``: ``{...}`` or one token."""
        i = boxes[k]
        if i < limit and text[i] == "{":
            close = partner.get(i)
            return (i + 1, close) if close is not None and close < limit else None
        tok = _TOKEN_ARG.match(text, i, limit)
        return tok.span() if tok else None

    out: list[str] = []
    for k in range(len(boxes)):
        span = argument(k, len(text))
        if span is None:
            continue
        while True:  # the last box inside the argument, down to the innermost one
            a, b = span
            for j in range(bisect_left(starts, b) - 1, bisect_left(starts, a) - 1, -1):
                inner = argument(j, b)
                if inner is not None:
                    span = inner
                    break
            else:
                break
        out.append(text[span[0] : span[1]].strip())
    return out


def _distinct(items: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for it in items:
        it = it.strip()
        if it:
            seen.setdefault(it, None)
    return tuple(seen)


def _answer_is(text: str) -> str | None:
    last = None
    for m in _ANSWER_IS.finditer(text):
        last = m.group(1)
    if last is None:
        return None
    last = last.strip().rstrip(".").strip()
    return last or None


def _bold(text: str) -> str | None:
    last = None
    for m in _BOLD.finditer(text):
        inner = m.group(1).strip()
        if re.search(r"[\d\\=]", inner) or re.fullmatch(r"\(?[A-J]\)?", inner):
            last = inner
    if last is None:
        return None
    got = _answer_is(last + ".")
    return got or last


def _bare(text: str) -> str | None:
    s = text.strip()
    if not s or len(s) > 120 or "\n" in s or "\\boxed" in s:
        return None
    if _WORDY.search(_MATH_WORDS.sub(" ", s)):
        return None
    return s.rstrip(".")


def _last_math(text: str) -> str | None:
    last = None
    for m in _MATH_SPAN.finditer(text):
        last = next(g for g in m.groups() if g is not None)
    return last.strip() if last and last.strip() else None


def _last_number(text: str) -> str | None:
    last = None
    for m in _NUMBER.finditer(text):
        last = m.group(0)
    return last


def extract_answer(
    completion: str,
    methods: Sequence[str] = DEFAULT_METHODS,
    max_chars: int = 20_000,
) -> Extraction:
    """The answer candidates of a completion (see module docstring).

    Only the last ``max_chars`` characters are searched: answers come at the end, and this keeps
    a 200,000-character completion cheap.
    """
    text = completion[-max_chars:] if len(completion) > max_chars else completion
    for method in methods:
        if method == "answer_tag":
            tags = [m.group(1) for m in _ANSWER_TAG.finditer(text)]
            if tags:
                inner = tags[-1].strip()
                sub = extract_answer(inner, [m for m in methods if m != "answer_tag"], max_chars)
                if sub.candidates and sub.method in ("boxed", "hash", "answer_is", "bold"):
                    return Extraction(sub.candidates, f"answer_tag+{sub.method}")
                if inner:
                    return Extraction((inner,), "answer_tag")
        elif method == "boxed":
            found = _distinct(boxed_contents(text))
            if found:
                return Extraction(found, "boxed")
        elif method == "hash":
            hashes = [m.group(1) for m in _HASH.finditer(text)]
            if hashes:
                return Extraction(_distinct([hashes[-1]]), "hash")
        else:
            finder = {
                "answer_is": _answer_is,
                "bold": _bold,
                "bare": _bare,
                "last_math": _last_math,
                "last_number": _last_number,
            }.get(method)
            if finder is None:
                raise ValueError(f"unknown extraction method {method!r}; known: {sorted(METHODS)}")
            got = finder(text)
            if got:
                return Extraction((got,), method)
    return Extraction((), "")


_CHOICE_IN_TEXT = re.compile(r"\(([A-J])\)|\b([A-J])\b(?=[.):]?\s*$)|(?:option|choice)\s+([A-J])\b")


def extract_choice(completion: str, max_chars: int = 20_000) -> str | None:
    """A multiple-choice letter named near the end of a completion when no answer form matched."""
    text = completion[-max_chars:]
    last = None
    for m in _CHOICE_IN_TEXT.finditer(text):
        last = next(g for g in m.groups() if g)
    return last
