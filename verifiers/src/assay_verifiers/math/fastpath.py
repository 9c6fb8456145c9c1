"""In-process verdicts that need no sympy: identical text, words, plain numbers compared exactly.

Most answers in GSM8K/MATH-style data are integers, decimals or simple fractions; deciding them
here keeps the worker round trip (and sympy) off the common path. Returns None when unsure.

>>> quick("0.5", "\\\\frac{1}{2}")
True
"""

from __future__ import annotations

import re
from fractions import Fraction

from .normalize import word_answer

_DECIMAL = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)$")
_SLASH = re.compile(r"^(-?\d+)\s*/\s*(\d+)$")
_SCI = re.compile(r"^(-?(?:\d+(?:\.\d*)?|\.\d+))[eE]([+-]?\d{1,4})$")  # 2.5e-3
_FRAC = re.compile(r"^(-?)\\frac(?:\{(-?\d+)\}\{(\d+)\}|(\d)(\d))$")


def to_fraction(text: str) -> Fraction | None:
    """The exact value of a plain number (``-12``, ``0.25``, ``2.5e-3``, ``3/4``, ``\\frac{3}{4}``),
    else None."""
    if len(text) > 60:
        return None
    if _DECIMAL.match(text):
        return Fraction(text)
    m = _SCI.match(text)
    if m:
        return Fraction(m.group(1)) * Fraction(10) ** int(m.group(2))
    m = _SLASH.match(text)
    if m:
        den = int(m.group(2))
        return Fraction(int(m.group(1)), den) if den else None
    m = _FRAC.match(text)
    if m:
        num, den = (m.group(2), m.group(3)) if m.group(2) is not None else (m.group(4), m.group(5))
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den))
        return -value if m.group(1) else value
    return None


def decimals(text: str) -> int:
    """Places after the point of a decimal literal (``0.33`` -> 2), else 0."""
    if _DECIMAL.match(text) and "." in text:
        return len(text.split(".", 1)[1])
    return 0


def _terminates(f: Fraction) -> bool:
    q = f.denominator
    for p in (2, 5):
        while q % p == 0:
            q //= p
    return q == 1


def rounds_to(pred: Fraction, gold: Fraction, places: int) -> bool:
    """A gold written as a rounded decimal (two places or more) accepts an exact value that
    rounds to it (1/3 ~ 0.33); a finite-decimal prediction must match exactly (2.46 is not 2.5),
    and a one-place gold is taken as exact (0.3 is not 1/3)."""
    if places < 2 or _terminates(pred):
        return False
    return round(pred * 10**places) == gold * 10**places


def quick(
    gold: str,
    pred: str,
    gold_percent: bool = False,
    pred_percent: bool = False,
    gold_rounding: bool = True,
) -> bool | None:
    """True / False when decided by text or exact numbers, None when sympy must decide."""
    if gold == pred and gold:
        return True
    gw, pw = word_answer(gold), word_answer(pred)
    if gw is not None or pw is not None:  # words compare as words ("Monday", "odd")
        return gw == pw
    g, p = to_fraction(gold), to_fraction(pred)
    if g is None or p is None:
        return None
    # A percent sign on one side only is ambiguous (50% vs 0.5 or 50); on both sides it is not
    # (10% is not 1000%).
    one_sided = gold_percent != pred_percent
    golds = {g, g / 100} if gold_percent and one_sided else {g}
    preds = {p, p / 100} if pred_percent and one_sided else {p}
    if golds & preds:
        return True
    if gold_rounding:
        places = decimals(gold)
        return any(rounds_to(x, g, places) for x in preds)
    return False
