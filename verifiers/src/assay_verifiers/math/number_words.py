"""English numbers written in words, read to exact values (pure text, one pass over the words).

"twenty-four" -> 24, "one hundred and five" -> 105, "two thousand three hundred" -> 2300,
"one and a half" -> 3/2, "three and two thirds" -> 11/3, "two-thirds" -> 2/3, "three quarters" -> 3/4, "a dozen" -> 12,
"half a dozen" -> 6, "negative three" -> -3. Used for a whole answer in words and for the last
number phrase of a completion that writes no digits.

>>> words_value("one hundred and five")
Fraction(105, 1)
>>> last_number_phrase("She needs one and a half cups.")
'3/2'
"""

from __future__ import annotations

import re
from fractions import Fraction

_SMALL = {
    w: k
    for k, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS = {
    w: 10 * k
    for k, w in enumerate(
        ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    )
    if k >= 2
}
_SCALE = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9}
# denominators of fractions in words: "two thirds", "three-quarters", "five eighths"
_DENOMINATOR = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
    "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "seventh": 7, "sevenths": 7,
    "eighth": 8, "eighths": 8, "ninth": 9, "ninths": 9, "tenth": 10, "tenths": 10,
}  # fmt: skip
_SIGN = {"negative", "minus"}
_GLUE = {"and", "a", "an"}
_NUMBER_WORDS = {*_SMALL, *_TENS, *_SCALE, *_DENOMINATOR, *_SIGN, *_GLUE, "dozen"}
_AFTER_A = {*_DENOMINATOR, "dozen"}  # "a half", "a dozen": the article is part of the number
_WORD = re.compile(r"[A-Za-z]+")


def words_value(phrase: str) -> Fraction | None:
    """The value of a phrase made only of number words, or None when it is not one."""
    tokens = [t.lower() for t in re.split(r"[\s-]+", phrase.strip()) if t]
    if not tokens or any(t not in _NUMBER_WORDS for t in tokens):
        return None
    sign = -1 if tokens[0] in _SIGN else 1
    tokens = tokens[1:] if sign < 0 else tokens
    whole, frac = _split_fraction(tokens)
    if whole is None:
        return None
    value = _integer(whole) if whole else (Fraction(0) if frac is not None else None)
    if value is None:
        return None
    return sign * (value + (frac or 0))


def _split_fraction(tokens: list[str]) -> tuple[list[str] | None, Fraction | None]:
    """("one and a half") -> (["one"], 1/2); ("two thirds") -> ([], 2/3); no fraction -> (tokens, None)."""
    if not tokens or tokens[-1] not in _DENOMINATOR:
        return tokens, None
    den = _DENOMINATOR[tokens[-1]]
    head = tokens[:-1]
    # "... and a half", "a quarter", "half" alone
    if not head or head[-1] in ("a", "an"):
        k = len(head) - 1 if head else 0
        rest = head[:k]
        if rest and rest[-1] == "and":
            rest = rest[:-1]
        return rest, Fraction(1, den)
    numerator = _SMALL.get(head[-1])
    if numerator is not None and len(head) >= 3 and head[-2] == "and" and tokens[-1] != "half":
        return head[:-2], Fraction(numerator, den)  # "three and two thirds"
    if numerator is None or len(head) > 1 or (tokens[-1] == "half" and numerator != 1):
        return None, None
    return [], Fraction(numerator, den)


def _integer(tokens: list[str]) -> Fraction | None:
    if tokens in (["dozen"], ["a", "dozen"], ["an", "dozen"]):
        return Fraction(12)
    if tokens == ["half", "a", "dozen"]:
        return Fraction(6)
    if tokens and tokens[-1] == "dozen":
        inner = _integer(tokens[:-1])
        return None if inner is None else 12 * inner
    total, current, seen = 0, 0, False
    for t in tokens:
        if t in _SMALL:
            current += _SMALL[t]
        elif t in _TENS:
            current += _TENS[t]
        elif t in _SCALE:
            if t == "hundred":
                current = (current or 1) * 100
            else:
                total += (current or 1) * _SCALE[t]
                current = 0
        elif t == "and" and seen:
            continue
        else:
            return None
        seen = True
    return Fraction(total + current) if seen else None


def _text(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def whole_answer_in_words(s: str) -> str:
    """A whole answer that is a number in words, as digits; anything else unchanged."""
    if len(s) > 80 or not _WORD.fullmatch(s.replace(" ", "").replace("-", "") or "-"):
        return s
    v = words_value(s)
    return _text(v) if v is not None else s


def last_number_phrase(text: str) -> str | None:
    """The last run of number words in ``text`` that reads as a number, as digits ("one" alone
    is left out: mostly a pronoun; "a" or "and" alone are no number)."""
    runs: list[list[str]] = []
    current: list[str] = []
    for m in _WORD.finditer(text[-2000:]):
        w = m.group().lower()
        if w in _NUMBER_WORDS:
            current.append(w)
            continue
        if current:
            runs.append(current)
        current = []
    if current:
        runs.append(current)
    for run in reversed(runs):
        while run and run[0] in _GLUE and not (len(run) > 1 and run[1] in _AFTER_A):
            run = run[1:]  # "and three" -> "three"; "a half", "a dozen" stay whole
        while run and run[-1] in _GLUE:
            run = run[:-1]
        if not run or run == ["one"] or all(t in _GLUE | _SIGN for t in run):
            continue
        if len(run) == 1 and run[0] in _DENOMINATOR:
            continue  # "cut in half", "the third day": no number

        v = words_value(" ".join(run))
        if v is not None:
            return _text(v)
    return None
