"""The numeric policy in sympy (docs/math.md): a decimal against an exact value that is not a
terminating decimal. The gold sets the precision: a decimal gold (two places or more) accepts
the exact value that rounds to it; a decimal answer precise enough (`fastpath.precise_enough`:
six places and six significant digits) stands for the exact gold it rounds or cuts.
"""

from __future__ import annotations

from typing import Any

import mpmath
import sympy as sp

from .fastpath import precise_enough


def approximates(value: float | mpmath.mpf, decimal: sp.Rational, places: int, gold: bool) -> bool:
    """The numeric policy for a decimal written with ``places`` places against an exact value
    that is not a terminating decimal: a gold decimal (two places or more) accepts the value
    that rounds to it; an answer decimal precise enough (`fastpath.precise_enough`) is accepted
    when it is the value rounded or cut at its last place."""
    x = mpmath.mpf(decimal.p) / decimal.q
    if gold:
        return places >= 2 and abs(value - x) <= mpmath.mpf(10) ** (-places) / 2 * (1 + 1e-12)
    if not precise_enough(int(decimal.p), int(decimal.q), places):
        return False
    return abs(value - x) < mpmath.mpf(10) ** (-places)


def approximate_match(a: mpmath.mpc, b: mpmath.mpc, g: sp.Expr, p: sp.Expr, tol: Any) -> bool:
    """Gold ``g`` (value ``a``) and answer ``p`` (value ``b``) under the policy; ``tol`` says how
    many places the gold and the answer were written with (0: not a decimal)."""
    if a.imag or b.imag:
        return False
    if tol.gold_decimals and isinstance(g, sp.Rational) and not _terminates(p):
        return approximates(b.real, g, tol.gold_decimals, gold=True)
    if tol.pred_decimals and isinstance(p, sp.Rational) and not _terminates(g):
        return approximates(a.real, p, tol.pred_decimals, gold=False)
    return False


def _terminates(x: sp.Expr) -> bool:
    """A rational whose decimal expansion ends (an approximation never stands in for it)."""
    if not isinstance(x, sp.Rational):
        return False
    q = int(x.q)
    for f in (2, 5):
        while q % f == 0:
            q //= f
    return q == 1
