"""The echo check: an answer that copies an expression of the question is not an answer.

Compared by tokens, at expression boundaries, never by substrings: ``\\sqrt{36}`` for "Evaluate
$\\sqrt{36}$" is an echo (the gold 6 does not occur in the question as a token: 36 is another
number), while ``x+1`` is not an echo of ``x^2+2x+1`` (there ``x+1`` is the tail of ``2x+1``,
not a whole expression). A match must stand between boundaries: the start or end of the text,
a prose word, ``=``, a bracket, a comma or a relation.
"""

from __future__ import annotations

import re
from math import gcd

_TOKEN = re.compile(r"\\[a-zA-Z]+|\d+(?:\.\d+)?|[a-zA-Z]{2,}|[a-zA-Z]|\S")
_BOUNDARY = frozenset(
    (*"=()[],;:?!<>.", "\\leq", "\\geq", "\\neq", "\\le", "\\ge", "\\lt", "\\gt", "\\approx")
)
_OPERATOR = re.compile(r"[-+*/^=<>]|\\[a-zA-Z]")


_FRACTION = re.compile(r"-?(?:\\frac\{?(\d{1,30})\}?\{?(\d{1,30})\}?|(\d{1,30})\s?/\s?(\d{1,30}))")


def _lowest_fraction(text: str) -> bool:
    """``\\frac{5}{8}``, ``7/4``: a fraction of two integers in lowest terms (``\\frac{6}{8}``
    is not: simplifying it is the question's work)."""
    m = _FRACTION.fullmatch(text.strip())
    if not m:
        return False
    a, b = (int(x) for x in (m.group(1, 2) if m.group(1) else m.group(3, 4)))
    return b > 1 and gcd(a, b) == 1


def tokens(text: str) -> list[str]:
    """Tokens of a normalised text (braces dropped: ``\\frac{1}{2}`` and ``\\frac12`` differ
    in braces only)."""
    return [t for t in _TOKEN.findall(text) if t not in "{}"]


def _bounded(tok: str | None) -> bool:
    return tok is None or tok in _BOUNDARY or (len(tok) >= 2 and tok.isalpha())


def occurs(needle: list[str], hay: list[str]) -> bool:
    """``needle`` appears in ``hay`` as a whole expression (between boundaries)."""
    n = len(needle)
    if not n or n > min(len(hay), 200):  # a long answer is no echo; keeps this O(200 n)
        return False
    first = needle[0]
    for i in range(len(hay) - n + 1):
        if hay[i] != first or hay[i : i + n] != needle:
            continue
        before = hay[i - 1] if i else None
        after = hay[i + n] if i + n < len(hay) else None
        if _bounded(before) and _bounded(after):
            return True
    return False


def echoes(pred: str, prompt: str, gold: str) -> bool:
    """An expression (not a plain number) copied from the question, which is not the gold answer.

    Not applied when the gold answer itself appears in the question (options listed in it).
    """
    if not prompt or len(pred) < 3 or not _OPERATOR.search(pred.lstrip("-")):
        return False
    if _lowest_fraction(pred):
        return False  # a fraction in lowest terms is a plain number, however the gold writes it
    p, g, q = tokens(pred), tokens(gold), tokens(prompt)
    return p != g and occurs(p, q) and not occurs(g, q)
