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


# An approximate answer to an exact gold shows at least this many decimal places and this many
# significant digits (the places: the ecosystem's usual 6, as Math-Verify rounds; the digits:
# so that 0.000001 is not an answer for 1.2e-6).
MIN_DIGITS = 6


def precise_enough(numerator: int, denominator: int, places: int) -> bool:
    """A decimal (numerator/denominator, written with ``places`` places) precise enough to
    stand for an exact value: `MIN_DIGITS` places and `MIN_DIGITS` significant digits."""
    scaled = abs(numerator * 10**places // denominator)
    return places >= MIN_DIGITS and len(str(scaled).lstrip("0")) >= MIN_DIGITS


def approximates(decimal: Fraction, places: int, exact: Fraction) -> bool:
    """An answer decimal stands for a non-terminating exact gold when it is precise enough and
    is that value rounded or cut at its last place (``0.333333`` and ``0.3333333333333333``
    for 1/3; ``0.333`` is not)."""
    if _terminates(exact) or not precise_enough(decimal.numerator, decimal.denominator, places):
        return False
    return abs(decimal - exact) < Fraction(1, 10**places)


def quick(
    gold: str,
    pred: str,
    gold_percent: bool = False,
    pred_percent: bool = False,
    numeric: str = "rounded",
    percent_question: bool = False,
) -> bool | None:
    """True / False when decided by text or exact numbers, None when sympy must decide.

    Percent: ``p%`` is the value p/100; it is also the number p when the question asks for a
    percentage (or the gold carries the sign). Both signs: the values must be equal.
    """
    if gold == pred and gold and (gold_percent or not pred_percent or percent_question):
        return True  # the same text (a percent sign only on the answer: see below)
    gw, pw = word_answer(gold), word_answer(pred)
    if gw is not None or pw is not None:  # words compare as words ("Monday", "odd")
        return gw == pw
    g, p = to_fraction(gold), to_fraction(pred)
    if g is None or p is None:
        return None
    golds = {g}
    preds = {p}
    if gold_percent and not pred_percent:  # gold 25%: 0.25 or 25 (the sign left out)
        golds.add(g / 100)
    if pred_percent and not gold_percent:
        preds = {p / 100, p} if percent_question else {p / 100}
    if golds & preds:
        return True
    if numeric != "rounded":
        return False
    places = decimals(gold)
    if any(rounds_to(x, y, places) for x in preds for y in golds if y == g):
        return True
    pred_places = decimals(pred)
    return (
        bool(pred_places)
        and not pred_percent
        and any(approximates(p, pred_places, y) for y in golds)
    )
