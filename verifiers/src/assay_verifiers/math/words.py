"""Answers written in words (pure text, linear): whole-answer rewrites applied by `normalize`.

- a solution set in words: "all real numbers" -> ``(-\\infty, \\infty)``, "no solution" ->
  ``\\emptyset``; "infinity", "negative infinity" -> ``\\infty``, ``-\\infty``;
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
_INFINITY = re.compile(r"^(negative |minus )?(?:positive )?infinity$", re.I)
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
    m = _INFINITY.match(s)
    if m:  # "infinity", "negative infinity"
        return ("-" if m.group(1) else "") + r"\infty"
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


# A count in words inside prose ("There are twelve eggs left.", "小红有三个苹果。"): "one" is left
# out (mostly a pronoun), a Chinese numeral counts only before a measure word.
_COUNT_WORD = re.compile(
    r"\b(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-(?:one|two|three|four|five|"
    r"six|seven|eight|nine))?|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)\b",
    re.I,
)
_CN_DIGITS = "\u96f6\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d"  # 零一二...九
_CN_COUNT = re.compile(
    "([" + _CN_DIGITS + "\u4e24\u5341]{1,3})"  # 两, 十
    "(?=[\u4e2a\u53ea\u672c\u652f\u6761\u5f20\u5757\u5143\u4eba\u6b21\u8f86\u68f5\u676f\u7bb1\u76d2\u888b])"
)


def _chinese_value(word: str) -> int | None:
    digits = {c: k for k, c in enumerate(_CN_DIGITS)} | {"\u4e24": 2}
    if "\u5341" not in word:
        return digits.get(word) if len(word) == 1 else None
    tens, _, ones = word.partition("\u5341")
    t = digits.get(tens, None) if tens else 1
    o = digits.get(ones, None) if ones else 0
    return None if t is None or o is None else 10 * t + o


def last_count_word(text: str) -> str | None:
    """The last count written in words in ``text``, as digits (None when there is none)."""
    english = [(m.start(), number_in_words(m.group(0))) for m in _COUNT_WORD.finditer(text)]
    chinese = [(m.start(), _chinese_value(m.group(1))) for m in _CN_COUNT.finditer(text)]
    found = [(at, str(v)) for at, v in english + chinese if v is not None and str(v).isdigit()]
    return max(found)[1] if found else None
