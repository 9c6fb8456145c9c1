"""Rewrites of notation that real answers use and the parser need not know (pure text, no sympy).

Applied by `normalize.normalize_full`; every pattern is bounded or anchored, so each rewrite is
linear in the text:

- ``\\cfrac`` -> ``\\frac``, ``\\dbinom``/``\\tbinom`` -> ``\\binom``, ``{n \\choose k}`` ->
  ``\\binom{n}{k}``, ``\\sin^{-1}`` -> ``\\arcsin`` (also cos, tan);
- thousands written with a thin space after the comma (``11,\\! 111,\\! 100``) -> ``11111100``;
- a repeating decimal ``0.1\\overline{6}`` -> the exact fraction ``\\frac{15}{90}``;
- a modulus tail (``3 \\pmod{7}``, ``3 \\bmod 7``, ``3 (mod 7)``) dropped;
- a set-builder ``\\{x \\mid x > 3\\}`` / ``\\{x : x > 3\\}`` -> its condition ``x > 3``;
- a named tuple ``(p, q) = (3, 2)`` -> ``(3, 2)``;
- a ratio of two numbers ``7:32`` -> ``7/32``;
- a mixed number as the whole answer (``2\\frac12``, ``2 1/2``) -> ``5/2`` (never 2 x 1/2);
- a chain ``x = 5+5+1 = 11`` -> its last side, an ``\\approx`` tail -> the exact side;
- an option label before a value (``(B) 3``, AMC style) -> the value;
- a number followed by unit words (``0.5 bits``, ``50 Hz``, ``12 个``) -> the number.
"""

from __future__ import annotations

import re
from fractions import Fraction

from . import number_words, words

_CFRAC = re.compile(r"\\(?:cfrac|dfrac|tfrac)(?![a-zA-Z])")
_BINOM = re.compile(r"\\(?:dbinom|tbinom)(?![a-zA-Z])")
_CHOOSE = re.compile(
    r"\{\s?([^{}\\]{1,20}?)\s?\\choose\s?([^{}\\]{1,20}?)\s?\}"
    r"|^\s?([\w]{1,20})\s?\\choose\s?([\w]{1,20})\s?$"
)
_INVERSE_TRIG = re.compile(r"\\(sin|cos|tan)\s?\^\s?(?:\{\s?-1\s?\}|-1)")
_THIN_THOUSANDS = re.compile(r"(?<=\d),(?:\\!|\\,|\{\})[ ]?(?=\d{3}(?!\d))")
_OVERLINE = re.compile(r"(?<![\d.])(\d{0,30})\.(\d{0,30})\\overline\s?\{(\d{1,30})\}")
_MODULUS = re.compile(
    r"\s?(?:\\pmod\s?\{[^{}]{1,40}\}|\\pmod\s?\d{1,20}|\(\s?\\?(?:bmod|mod)\s?[^()]{1,40}\)"
    r"|\\bmod\s?\{?[^{}]{1,40}\}?|\\mod\s?\{?\d{1,20}\}?)\s?$"
)
_SET_BUILDER = re.compile(
    r"^\\\{\s?([a-zA-Z])\s?(?:\\in\s?\\mathbb\s?\{?R\}?\s?)?(?:\\mid|\||:)\s?(.{1,500})\\\}$"
)
_NAMED_TUPLE = re.compile(
    r"^\\?\(?\s?[a-zA-Z](?:_\{?\w{1,5}\}?)?(?:\s?,\s?[a-zA-Z](?:_\{?\w{1,5}\}?)?){1,9}\s?\)?\s?=\s?(?=[(\[])"
)
_RATIO = re.compile(r"^(-?\d{1,30}(?:\.\d{1,30})?)\s?:\s?(\d{1,30}(?:\.\d{1,30})?)$")
_MIXED_TEX = re.compile(r"^(-?)(\d{1,30})\s?\\frac\s?(?:\{(\d{1,30})\}\{(\d{1,30})\}|(\d)(\d))$")
_MIXED_PLAIN = re.compile(r"^(-?)(\d{1,30}) (\d{1,30})/(\d{1,30})$")
_OPTION_LABEL = re.compile(r"^\(([A-J])\)\s?(?=[-\d\\(])")  # "(B) 3": AMC's labelled value
_EXPLANATION = re.compile(
    r"(?<=\S)\s?\((?:since|because|as|from|by|using|which|i\.e\.|for|when|where)\b.*$", re.S
)
_NAMED_ANGLE = re.compile(r"^m?\\angle\s?[A-Z]{1,3}\s?=\s?")
_DOT_REPEAT = re.compile(r"\\dot\s?\{?(\d)\}?")  # 0.\dot{3}: one repeating digit
_APPROX = re.compile(r"\\approx|≈")
_UNIT_WORDS = re.compile(
    r"^(-?[\d.,]{1,60}(?:\s?/\s?\d{1,30})?|-?\\frac\{\d{1,30}\}\{\d{1,30}\})"
    r"\s?(?:[A-Za-z]{2,20}(?:\s[A-Za-z]{2,20}){0,2}|[\u3400-\u9fff]{1,6}(?:/[\u3400-\u9fff]{1,4})?)\.?$"
)
_NOT_UNITS = re.compile(
    r"\b(?:or|and|to|plus|minus|times|over|pi|sqrt|i|e|infty|inf|sin|cos|tan|log|ln|mod)\b"
)


def _repeating(m: re.Match[str]) -> str:
    whole, fixed, period = m.group(1) or "0", m.group(2), m.group(3)
    value = Fraction(int(whole)) + (Fraction(int(fixed), 10 ** len(fixed)) if fixed else 0)
    value += Fraction(int(period), (10 ** len(period) - 1) * 10 ** len(fixed))
    return rf"\frac{{{value.numerator}}}{{{value.denominator}}}"


def rewrite(s: str) -> str:
    """The rewrites that apply anywhere in the text (before spacing commands are removed)."""
    if "frac" in s:
        s = _CFRAC.sub(r"\\frac", s)
    if "binom" in s:
        s = _BINOM.sub(r"\\binom", s)
    if "choose" in s:  # {7 \choose 3}
        s = _CHOOSE.sub(lambda m: rf"\binom{{{m[1] or m[3]}}}{{{m[2] or m[4]}}}", s)
    if "^" in s and "-1" in s:  # \sin^{-1}(1) is arcsin, not 1/sin
        s = _INVERSE_TRIG.sub(r"\\arc\1", s)
    if "," in s:
        s = _THIN_THOUSANDS.sub("", s)
    if "\\dot" in s:
        s = _DOT_REPEAT.sub(r"\\overline{\1}", s)
    if "overline" in s:
        s = _OVERLINE.sub(_repeating, s)
    if "angle" in s:  # \langle 1, 2 \rangle: a vector written with angle brackets
        s = s.replace("\\langle", "(").replace("\\rangle", ")")
    return s


def _mixed(s: str) -> str:
    m = _MIXED_TEX.match(s)
    if m:
        num, den = (m.group(3), m.group(4)) if m.group(3) else (m.group(5), m.group(6))
    else:
        m = _MIXED_PLAIN.match(s)
        if not m:
            return s
        num, den = m.group(3), m.group(4)
    sign, whole = m.group(1), m.group(2)
    if int(den) == 0 or int(num) >= int(den):
        return s
    return f"{sign}{int(whole) * int(den) + int(num)}/{den}"


def _last_side(s: str) -> str:
    if _APPROX.search(s):
        left, right = _APPROX.split(s, maxsplit=1)
        side = left.rsplit("=", 1)[-1].strip()
        s = side if re.search(r"\d", side) and side else right.strip()
    if s.count("=") >= 2 and not re.search(r"[<>,;]|\\[lg]eq|\b(?:or|and)\b", s):
        s = s.rsplit("=", 1)[-1].strip()
    return s


def whole_answer(s: str) -> str:
    """The rewrites that read the answer as a whole (after spacing and units are cleaned)."""
    s = number_words.whole_answer_in_words(words.number_in_words(s))
    if "(" in s:
        s = _EXPLANATION.sub("", s).strip()  # 18 (since 3 \times 6 = 18)
    if s.startswith("\\angle") or s.startswith("m\\angle"):
        s = _NAMED_ANGLE.sub("", s, count=1)  # \angle ABC = 72
    if s.startswith("("):
        s = _OPTION_LABEL.sub("", s, count=1)
    if "mod" in s:
        s = _MODULUS.sub("", s).strip()
    if s.startswith("\\{"):
        m = _SET_BUILDER.match(s)
        if m:
            s = m.group(2).strip()
    if "=" in s:
        s = _NAMED_TUPLE.sub("", s, count=1)
        s = _last_side(s)
    elif "\\approx" in s or "≈" in s:
        s = _last_side(s)
    if ":" in s:
        m = _RATIO.match(s)
        if m:
            s = f"{m.group(1)}/{m.group(2)}"
    m = _UNIT_WORDS.match(s)
    if m and not _NOT_UNITS.search(s[m.end(1) :]):
        s = m.group(1)
    return _mixed(s)
