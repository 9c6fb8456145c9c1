"""Answers written in words (pure text, linear): whole-answer rewrites applied by `normalize`.

- a solution set in words: "all real numbers" -> ``(-\\infty, \\infty)``, "no solution" ->
  ``\\emptyset``;
- a scale word after a number: "2.5 million" -> 2500000, "$5 billion" -> 5000000000;
- a number in words as the whole answer: "five" -> 5, "negative twelve" -> -12, "forty-two"
  -> 42, "three hundred" -> 300; "5 degrees below zero" -> -5.
"""

from __future__ import annotations

import re
from fractions import Fraction

_ALL_REALS = re.compile(
    r"^(?:the set of )?(?:all|any|every) real(?:s| numbers?| values?(?: of [a-z])?| [a-z])?$", re.I
)
_NO_SOLUTION = re.compile(
    r"^(?:there (?:is|are) )?(?:no (?:real )?(?:solutions?|roots?|values?)|the empty set|empty set)$",
    re.I,
)
_SCALE = re.compile(r"^(-?\d{1,15}(?:\.\d{1,15})?)\s?(thousand|million|billion|trillion)$", re.I)
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_UNITS = [
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
]
_TENS = {
    w: 10 * k
    for k, w in enumerate(
        ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
    )
    if k >= 2
}
_WORD_NUMBER = re.compile(
    r"^(negative |minus )?([a-z]{3,9})(?:[- ]([a-z]{3,5}))?(?: (hundred|thousand|million))?$", re.I
)
_BELOW_ZERO = re.compile(r"^(\d{1,15}(?:\.\d{1,15})?)\s?(?:degrees?\s)?below zero$", re.I)


def sets_and_scales(s: str) -> str:
    """Rewrites to make before trailing unit words are dropped ("numbers", "solutions",
    "million" would go with them)."""
    if _ALL_REALS.match(s):
        return r"(-\infty, \infty)"
    if _NO_SOLUTION.match(s):
        return r"\emptyset"
    m = _SCALE.match(s)
    if m:
        value = Fraction(m.group(1)) * _SCALES[m.group(2).lower()]
        return str(value.numerator) if value.denominator == 1 else str(float(value))
    m = _BELOW_ZERO.match(s)
    return f"-{m.group(1)}" if m else s


def number_in_words(s: str) -> str:
    """A whole answer that is a number in words, as digits; anything else unchanged."""
    m = _WORD_NUMBER.match(s.strip())
    if not m:
        return s
    sign, first, second, scale = m.groups()
    first = first.lower()
    if first in _UNITS and not second:
        value = _UNITS.index(first)
    elif first in _TENS and (not second or second.lower() in _UNITS[1:10]):
        value = _TENS[first] + (_UNITS.index(second.lower()) if second else 0)
    else:
        return s
    if scale:
        value *= {"hundred": 100, "thousand": 10**3, "million": 10**6}[scale.lower()]
    return f"{'-' if sign else ''}{value}"
