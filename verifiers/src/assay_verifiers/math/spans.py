"""Math spans of a completion, with the dollar signs of money told apart from math delimiters.

Real completions use ``$`` both ways: ``$\\frac{1}{2}$`` is math, ``$204 + $160 = $364`` and
GSM8K's ``$<<13*2=26>>26`` are money. Pairing every two dollar signs turns the second kind into
nonsense spans (``204 + ``). The rule here, one pass, linear time:

- a ``$`` directly followed by a digit (``$204``), by ``<<`` or by ``.5`` can open a span;
- a ``$`` that follows a non-space character and is not followed by a digit can close one;
- an opener that meets another opener before any closer was money, and is dropped.

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


def _dollar_spans(text: str) -> list[Span]:
    out: list[Span] = []
    i = 0
    pending = -1  # where an unclosed "$" or "$$" opened, or -1
    pending_width = 1
    pending_money = False  # it opened before a number ("$204"): money unless closed tightly
    while True:
        i = text.find("$", i)
        if i < 0:
            break
        if i and text[i - 1] == "\\":  # \$ is money
            i += 1
            continue
        width = 2 if text.startswith("$$", i) else 1
        money = _money_start(text, i + width)
        if pending >= 0 and width == pending_width:
            before = text[i - 1]
            after = text[i + width : i + width + 1]
            tight = not before.isspace() and not after.isdigit()
            if tight or not pending_money:
                content = text[pending + width : i].strip()
                if content:
                    out.append(Span(pending, i + width, content))
                pending = -1
                i += width
                continue
        if pending < 0 or width == pending_width or width == 2:
            pending, pending_width, pending_money = i, width, money
        i += width
    return out


def _money_start(text: str, j: int) -> bool:
    c = text[j : j + 2]
    return bool(c) and (c[0].isdigit() or c == "<<" or (c[:1] == "." and c[1:].isdigit()))


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
