"""The gold answer of a sample: alternatives, text, and whether it can be checked at all.

- ``None``, NaN (a pandas gap) or an empty string: no gold (``unverifiable``);
- a list or tuple: **alternatives**, any one of which counts (DeepScaleR-style list golds);
- a worked solution: its last ``\\boxed{}`` or GSM8K ``#### x``;
- prose ("The proof is complete."): not an answer a verifier can check (``unverifiable``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from .extract import extract_answer

_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{2,}(?![a-zA-Z])")
_MATH_NAMES = frozenset(
    re.findall(
        r"\w+",
        "sqrt frac sin cos tan cot sec csc log ln exp pi infty or and in to text mathrm cdot "
        "times le ge leq geq neq pm mp cup cap dfrac tfrac boxed left right circ mod pmod",
    )
)


def number_text(x: Any) -> str:
    """A number as plain digits: ``1e-05`` -> ``0.00001`` (no exponent for the parser to misread)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, float) and x == x and abs(x) != float("inf"):
        return format(Decimal(repr(x)), "f")
    return str(x)


def missing(answer: Any) -> bool:
    """A gold answer that is not there: None, NaN, blank text, or a list holding only such."""
    if isinstance(answer, (list, tuple)):
        return not answer or all(missing(a) for a in answer)
    if isinstance(answer, Decimal):
        return answer.is_nan()
    if isinstance(answer, float):
        return answer != answer
    if isinstance(answer, str):
        return not answer.strip()
    return answer is None


def alternatives(answer: Any) -> list[Any]:
    """The golds any one of which counts: the items of a list, else the answer itself."""
    if isinstance(answer, (list, tuple)):
        return [a for a in answer if not missing(a)]
    return [answer]


def gold_text(answer: Any) -> str:
    """One gold as text: a solution's last ``\\boxed{}`` or ``#### x``, else the text itself."""
    text = number_text(answer).strip()
    if "\\boxed" in text or "\\fbox" in text or "####" in text:
        got = extract_answer(text, ("boxed", "hash"))
        if got.answer:
            return got.answer
    return text


def is_prose(normalized: str, raw: str = "") -> bool:
    """A gold that is a sentence, not an answer: four words or more that are not math names, or
    three ending with a period (``The proof is complete.``); ``Monday``, ``\\text{Navin}``,
    ``odd``, ``no real solutions`` are answers."""
    if re.search(r"\d", normalized):
        return False
    words = [w for w in _PROSE_WORD.findall(normalized) if w.lower() not in _MATH_NAMES]
    return len(words) >= 4 or (len(words) >= 3 and raw.rstrip().endswith("."))


_SET = re.compile(r"^\\\{(.*)\\\}$", re.S)


def gold_parts(normalized: str) -> int:
    """How many parts a gold has: the items of a top-level list or of a set (``2, 3``,
    ``\\{1, 2\\}``, ``1 and 2``); 1 for anything else (a tuple or an interval is one answer)."""
    m = _SET.match(normalized)
    text = m.group(1) if m else normalized
    depth, parts = 0, 1
    for c in text:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c in ",;" and depth == 0:
            parts += 1
    if parts == 1 and depth == 0:
        parts += len(re.findall(r"\s(?:and|or)\s", text))
    return parts
