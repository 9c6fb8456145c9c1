"""Math spans of a completion, with the dollar signs of money told apart from math delimiters.

Real completions use ``$`` both ways: ``$\\frac{1}{2}$`` is math, ``$204 + $160 = $364`` and
GSM8K's ``$<<13*2=26>>26`` are money. Pairing every two dollar signs turns the second kind into
nonsense spans (``204 + ``). The rule here, one pass, linear time:

- a ``$`` directly followed by a digit (``$204``), by ``<<`` or by ``.5`` opens a span only
  when a ``$`` right after a non-space character (and not before a digit) closes it;
- any other ``$`` opens a span that the next ``$`` closes;
- a ``$`` that opens nothing is money.

So ``$36$`` and ``$2 + 3 = 5$`` are math, ``$204 + $160`` is not. ``\\$`` is always money.
GSM8K's calculator notes ``<<13*2=26>>`` are removed first (they repeat the working).

>>> [s.content for s in math_spans(r"pay $5 each, so $x = 5$")]
['x = 5']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CALCULATOR = re.compile(r"<<[^<>\n]{0,200}>>")


@dataclass(frozen=True)
class Span:
    """A math span: its content and where it lies in the text (``start`` at the delimiter)."""

    start: int
    end: int
    content: str


def drop_calculator_notes(text: str) -> str:
    """GSM8K's ``<<48/2=24>>`` notes removed (``$<<3*2=6>>6`` -> ``$6``)."""
    return _CALCULATOR.sub("", text) if "<<" in text else text


# One pass of the regex engine: each alternative's body stops at the next "$", so the scan is
# linear; a failed opener (money) is simply passed over.
_DOLLARS = re.compile(
    r"(?<!\\)\$\$((?:\\.|[^$\\])+?)\$\$"  # $$ display $$
    r"|(?<![\\$])\$(?!\$|\d|<<|\.\d)((?:\\.|[^$\\])+?)\$"  # $x ...$: any closer
    r"|(?<![\\$])\$(?=\d|<<|\.\d)((?:\\.|[^$\\])*?\S)\$(?!\d)"  # $5 ...5$: tight closer only
)


def _dollar_spans(text: str) -> list[Span]:
    out: list[Span] = []
    for m in _DOLLARS.finditer(text):
        content = next(g for g in m.groups() if g is not None).strip()
        if content:
            out.append(Span(m.start(), m.end(), content))
    return out


def math_spans(text: str) -> list[Span]:
    """Every math span (``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]``) in order of position."""
    spans = _dollar_spans(text) if "$" in text else []
    for left, right in (("\\[", "\\]"), ("\\(", "\\)")):
        i = text.find(left)
        while i >= 0:  # each delimiter is found once: linear even when none is closed
            j = text.find(right, i + 2)
            if j < 0:
                break
            body = text[i + 2 : j].strip()
            if body:
                spans.append(Span(i, j + 2, body))
            i = text.find(left, j + 2)
    if len(spans) > 1:
        spans.sort(key=lambda s: s.start)
    return spans


def strip_money(text: str) -> str:
    """The text with money dollar signs removed and math spans replaced by their content."""
    if "$" not in text:
        return text
    text = text.replace("\\$", "")  # escaped: always money
    parts: list[str] = []
    last = 0
    for s in _dollar_spans(text):
        parts.append(text[last : s.start].replace("$", ""))
        parts.append(s.content)
        last = s.end
    parts.append(text[last:].replace("$", ""))
    return "".join(parts)
