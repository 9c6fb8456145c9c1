"""The sympy part of a verdict, run inside a guarded worker process.

`check` parses the gold answer (cached per worker, so a GRPO group's gold is parsed once) and
each predicted candidate, and compares them with `equivalence.same`. It returns plain data
(verdict, reason) so nothing sympy crosses the pipe.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from functools import lru_cache
from typing import Any

import sympy as sp

from .equivalence import Tolerance, same
from .latex_parse import Answer, ParseError, parse_answer

_RECURSION = 6000


@lru_cache(maxsize=4096)
def _parse(text: str) -> Answer | ParseError:
    try:
        return parse_answer(text)
    except ParseError as exc:
        return exc
    except RecursionError:
        return ParseError("answer nested too deeply")


def _alternatives(v: Answer, percent: bool, as_number: bool) -> list[Any]:
    """The values a percent may stand for: p/100, and p itself when ``as_number``."""
    if percent and isinstance(v, sp.Expr):
        return [v / 100, v] if as_number else [v / 100]
    return [v]


def check(
    gold: str,
    gold_percent: bool,
    preds: tuple[tuple[str, bool, int], ...],
    tol: Tolerance,
    percent_question: bool = False,
) -> tuple[bool | None, str]:
    """(True, why) when every candidate equals the gold answer, (False, why) when one does not,
    (None, why) when the gold answer does not parse. Each candidate is (text, had a percent
    sign, decimal places written)."""
    if sys.getrecursionlimit() < _RECURSION:
        sys.setrecursionlimit(_RECURSION)
    g = _parse(gold)
    if isinstance(g, ParseError):
        return None, f"gold answer does not parse: {g}"
    for text, percent, places in preds:
        p = _parse(text)
        if isinstance(p, ParseError):
            return False, f"answer does not parse: {p}"
        try:
            one_sided = gold_percent != percent  # 10% is not 1000%
            golds = _alternatives(g, gold_percent and one_sided, True)
            mine = _alternatives(p, percent and one_sided, percent_question)
            t = replace(tol, pred_decimals=places)
            ok = any(same(x, y, t) for x in golds for y in mine)
        except RecursionError:
            return False, "answer nested too deeply to compare"
        except (TypeError, ValueError, AttributeError, NotImplementedError) as exc:
            return False, f"cannot compare: {type(exc).__name__}: {str(exc)[:120]}"
        if not ok:
            return False, f"{text[:80]!r} is not equivalent to the gold answer"
    return True, "equivalent"


def warm() -> None:
    """Parse and compare once so the first real call does not pay for sympy's lazy setup."""
    for gold, pred in (("x^2+1", "1+x^2"), ("x > 3", "3 < x"), ("x^2 = 4", "x = 2")):
        check(gold, False, ((pred, False, 0),), Tolerance())
