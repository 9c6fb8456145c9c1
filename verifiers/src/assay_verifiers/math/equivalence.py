"""Decide whether a predicted answer equals the gold one, cheapest check first.

Order, for two expressions ``g`` (gold) and ``p`` (prediction):

1. structural: ``g == p`` after sympy's automatic canonicalisation;
2. exact: two rationals are equal only when identical (``1/2004!`` is not ``1/2006!``);
3. numeric: constants (radicals, pi, e) evaluated to 30 digits and compared with a *relative*
   tolerance, ``|g - p| <= rel_tol * max(|g|, |p|)`` (so ``1e-10`` is not ``2e-10``); a gold
   written as a rounded decimal (``0.33``) accepts an exact prediction that rounds to it
   (``1/3``), never another decimal;
4. expressions with variables: evaluated at fixed pseudo-random points of both signs; one point
   that differs decides "not equal"; agreement at every point is "equal" (``strict=True``
   also asks ``sympy.simplify(g - p) == 0``).

Structures: equations are equal when ``lhs - rhs`` of one is a non-zero constant multiple of
the other's, or (one variable) when their solution sets agree; inequalities and intervals
compare as sets (open vs closed ends matter); ``\\{..\\}`` sets and bare lists ignore order;
tuples and matrices compare element by element. A single-valued gold answer against several
predicted values is not equal unless every one of them is.

Imports sympy (run it in the guarded worker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import sympy as sp

from .latex_parse import MAX_POW_BITS, Group, Items, SetOf, _as_set
from .numeric import approximate_match

_PROBES = (
    0.5772156649015329,
    -1.3247179572447461,
    2.2360679774997897,
    -0.6180339887498949,
    1.4142135623730951,
)
_PREC = 30
_BITS = 110  # about 33 digits


@dataclass(frozen=True)
class Tolerance:
    """How numbers compare (from the reward's ``numeric`` option; docs/math.md, numeric policy)."""

    rel_tol: float = 1e-9  # expressions with variables, compared at probe points
    strict: bool = False
    numeric: str = "rounded"  # or "exact"
    gold_decimals: int = 0  # > 0: gold was a decimal with this many places
    pred_decimals: int = 0  # > 0: the answer was a decimal with this many places


EXACT_TOL = 1e-25  # two exact values evaluated to 30 digits: equal only when they are equal


class NotComparable(Exception):
    """The two answers are of shapes that cannot be compared."""


def _huge(x: sp.Expr) -> bool:
    """Holds a power left unevaluated because it is astronomically large (``5^{5^{5^5}}``)."""
    return any(
        isinstance(a, sp.Pow) and a.exp.is_Integer and abs(a.exp) > MAX_POW_BITS
        for a in sp.preorder_traversal(x)
    )


def _num(x: sp.Expr, subs: dict[sp.Symbol, float] | None = None) -> mpmath.mpc | None:
    """The value of ``x`` (at ``subs``) to 30 digits, as an mpmath number: its exponent range is
    unbounded, so ``e^{-1000}`` is not 0 and ``1/5001!`` is not ``1/5002!`` (Python floats
    underflow to 0 there and overflow to inf)."""
    if _huge(x):
        return None  # compared structurally only; evaluating it would not finish
    try:
        v = x.evalf(_PREC, subs=subs) if subs else x.evalf(_PREC)
        c = mpmath.mpc(v._to_mpmath(_BITS))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
        return None
    if not mpmath.isfinite(c):
        return None
    return c


def _close(a: mpmath.mpc, b: mpmath.mpc, rel_tol: float) -> bool:
    scale = max(abs(a), abs(b))
    return abs(a - b) <= rel_tol * scale if scale else True


def expr_equal(g: sp.Expr, p: sp.Expr, tol: Tolerance) -> bool:
    """Two scalar expressions (see module docstring for the order of checks)."""
    if g == p:
        return True
    if g.has(sp.oo, -sp.oo, sp.zoo) or p.has(sp.oo, -sp.oo, sp.zoo):
        return False
    gfree, pfree = g.free_symbols, p.free_symbols
    if not gfree and not pfree:
        if isinstance(g, sp.Rational) and isinstance(p, sp.Rational):
            if tol.numeric != "rounded":
                return False
            a, b = mpmath.mpf(g.p) / g.q, mpmath.mpf(p.p) / p.q
            return approximate_match(mpmath.mpc(a), mpmath.mpc(b), g, p, tol)
        a, b = _num(g), _num(p)
        if a is None or b is None:
            return False
        if _close(a, b, EXACT_TOL):
            return True
        return tol.numeric == "rounded" and approximate_match(a, b, g, p, tol)
    return _probe_equal(g, p, tol)


def _probe_points(symbols: Sequence[sp.Symbol]) -> list[dict[sp.Symbol, float]]:
    ordered = sorted(symbols, key=lambda s: s.name)
    n = len(_PROBES)
    return [
        {s: _PROBES[(k + 2 * j) % n] * (1 + 0.1 * j) for j, s in enumerate(ordered)}
        for k in range(n)
    ]


def _probe_equal(g: sp.Expr, p: sp.Expr, tol: Tolerance) -> bool:
    """Agreement at the probe points. A point where both sides leave the reals (and neither
    has ``i`` in it) is outside their real domain and says nothing: ``\\sqrt{1/n}`` and
    ``1/\\sqrt{n}`` agree for n > 0 and differ only as complex branches for n < 0."""
    real = not (g.has(sp.I) or p.has(sp.I))
    agree = 0
    for point in _probe_points(list(g.free_symbols | p.free_symbols)):
        a, b = _num(g, point), _num(p, point)
        if a is None or b is None:
            continue
        if real and abs(a.imag) > 1e-20 * (1 + abs(a)) and abs(b.imag) > 1e-20 * (1 + abs(b)):
            continue
        if not _close(a, b, max(tol.rel_tol, 1e-12) * 1e3):
            return False
        agree += 1
    if agree < 2 or tol.strict:
        return sp.simplify(g - p) == 0
    return True


def _proportional(f1: sp.Expr, f2: sp.Expr, positive: bool = False) -> bool:
    """f1 = c * f2 for a constant c != 0 (c > 0 when ``positive``), checked at probe points."""
    if f1.free_symbols != f2.free_symbols:
        return False
    ratios: list[mpmath.mpc] = []
    for point in _probe_points(list(f1.free_symbols)):
        a, b = _num(f1, point), _num(f2, point)
        if a is None or b is None or b == 0 or a == 0:
            continue
        ratios.append(a / b)
    if len(ratios) < 2 or not all(_close(r, ratios[0], 1e-8) for r in ratios):
        return False
    r = ratios[0]
    return abs(r.imag) < 1e-12 and (r.real > 0 if positive else True)


def equation_equal(g: sp.Eq, p: sp.Eq, tol: Tolerance) -> bool:
    f1, f2 = g.lhs - g.rhs, p.lhs - p.rhs
    if _proportional(f1, f2):
        return True
    syms = f1.free_symbols | f2.free_symbols
    if len(syms) != 1:
        return False
    (x,) = syms
    q1, q2 = _root_poly(f1, x), _root_poly(f2, x)
    if q1 is not None and q2 is not None:
        c1, c2 = q1.all_coeffs(), q2.all_coeffs()
        return len(c1) == len(c2) and all(
            expr_equal(a, b, tol) for a, b in zip(c1, c2, strict=True)
        )
    return set_equal(sp.solveset(f1, x), sp.solveset(f2, x), tol)


def _root_poly(f: sp.Expr, x: sp.Symbol) -> sp.Poly | None:
    """The monic square-free polynomial whose roots are the distinct roots of ``f = 0``: two
    polynomial equations have the same solutions exactly when these are equal (exact, and
    milliseconds at degree 31 where ``solveset`` runs for minutes). None if not a polynomial."""
    try:
        poly = sp.Poly(sp.together(f).as_numer_denom()[0], x)
    except (sp.PolynomialError, sp.GeneratorsNeeded):
        return None
    if poly.degree() < 1 or not all(c.is_number for c in poly.all_coeffs()):
        return None
    return poly.sqf_part().monic()


def _rel_parts(r: sp.Basic) -> list[sp.Basic]:
    return list(r.args) if isinstance(r, sp.And) else [r]


def _rel_to_set(r: sp.Basic) -> sp.Set | None:
    syms = r.free_symbols
    if len(syms) != 1:
        return None
    (x,) = syms
    out: sp.Set = sp.Reals
    for part in _rel_parts(r):
        out = sp.Intersection(out, sp.solve_univariate_inequality(part, x, relational=False))
    return out


def _canonical_ineq(r: sp.Basic) -> tuple[sp.Expr, bool]:
    """``f > 0`` (strict) or ``f >= 0`` form of an inequality."""
    if isinstance(r, (sp.StrictGreaterThan, sp.GreaterThan)):
        return r.lhs - r.rhs, isinstance(r, sp.StrictGreaterThan)
    if isinstance(r, (sp.StrictLessThan, sp.LessThan)):
        return r.rhs - r.lhs, isinstance(r, sp.StrictLessThan)
    raise NotComparable(type(r).__name__)


def inequality_equal(g: sp.Basic, p: sp.Basic, tol: Tolerance) -> bool:
    sg, sp_ = _rel_to_set(g), _rel_to_set(p)
    if sg is not None and sp_ is not None and g.free_symbols == p.free_symbols:
        return set_equal(sg, sp_, tol)
    gs, ps = _rel_parts(g), _rel_parts(p)
    if len(gs) != len(ps):
        return False
    pc = [_canonical_ineq(x) for x in ps]
    for x in gs:
        f, strict = _canonical_ineq(x)
        if not any(s == strict and _proportional(f, h, positive=True) for h, s in pc):
            return False
    return True


def set_equal(a: sp.Set, b: sp.Set, tol: Tolerance) -> bool:
    if a == b:
        return True
    if isinstance(a, sp.Interval) and isinstance(b, sp.Interval):
        return (
            a.left_open == b.left_open
            and a.right_open == b.right_open
            and expr_equal(a.start, b.start, tol)
            and expr_equal(a.end, b.end, tol)
        )
    if isinstance(a, sp.FiniteSet) and isinstance(b, sp.FiniteSet):
        return unordered_equal(list(a.args), list(b.args), tol)
    if (
        isinstance(a, sp.Union)
        and isinstance(b, sp.Union)
        and len(a.args) == len(b.args)
        and all(any(set_equal(x, y, tol) for y in b.args) for x in a.args)
    ):
        return True
    diff = sp.Union(sp.Complement(a, b), sp.Complement(b, a))
    return diff == sp.EmptySet


def unordered_equal(gs: Sequence[Any], ps: Sequence[Any], tol: Tolerance) -> bool:
    """Same elements, order and repetition ignored."""
    gu, pu = _dedupe(gs, tol), _dedupe(ps, tol)
    if len(gu) != len(pu):
        return False
    left = list(pu)
    for g in gu:
        for i, p in enumerate(left):
            if same(g, p, tol):
                del left[i]
                break
        else:
            return False
    return True


def _dedupe(xs: Sequence[Any], tol: Tolerance) -> list[Any]:
    out: list[Any] = []
    for x in xs:
        if not any(same(x, y, tol) for y in out):
            out.append(x)
    return out


def _elements(v: Any) -> tuple[Any, ...] | None:
    if isinstance(v, (Items, SetOf)):
        return v.items
    if isinstance(v, sp.FiniteSet):
        return tuple(v.args)
    return None


def _is_relation(v: Any) -> bool:
    return isinstance(v, (sp.Rel, sp.And))


def same(g: Any, p: Any, tol: Tolerance) -> bool:
    """The verdict for a parsed gold answer and a parsed prediction. Every mpmath number is
    built and compared at ``_BITS`` of precision (at mpmath's default 53 bits, ``\\pi + 10^{-20}``
    would round to ``\\pi`` and pass)."""
    try:
        with mpmath.workprec(_BITS):
            return _same(g, p, tol)
    except NotComparable:
        return False


def _var_order(eq: sp.Eq) -> tuple[int, str]:
    """Coordinates in their usual order: x, y, z, w, then the other names alphabetically."""
    name = eq.lhs.name
    return ("xyzw".index(name), "") if name in ("x", "y", "z", "w") else (4, name)


def _regroup(v: Any) -> Any:
    """Items that are really one answer: ``x = 2, y = 3`` (or ``y = 3, x = 2``) is the tuple
    (2, 3); ``x < 0 or x > 1`` is the union of two intervals."""
    if not isinstance(v, Items):
        return v
    if all(isinstance(x, sp.Eq) and isinstance(x.lhs, sp.Symbol) for x in v.items):
        names = [x.lhs for x in v.items]
        if len(set(names)) == len(names):
            return Group("(", ")", tuple(x.rhs for x in sorted(v.items, key=_var_order)))
        return v
    if all(_is_relation(x) and not isinstance(x, sp.Eq) for x in v.items):
        sets = [_rel_to_set(x) for x in v.items]
        if (
            all(s is not None for s in sets)
            and len({s.name for x in v.items for s in x.free_symbols}) == 1
        ):
            return sp.Union(*sets)
    return v


def _roots_equation(v: Any, symbols: set[sp.Basic]) -> Any:
    """``x = 2, x = -2`` (or ``x = \\pm 2``) against an equation in x: the equation whose roots
    they are, ``(x - 2)(x + 2) = 0``; anything else as it is."""
    if (
        isinstance(v, Items)
        and len(symbols) == 1
        and all(
            isinstance(x, sp.Eq) and x.lhs in symbols and not x.rhs.free_symbols for x in v.items
        )
    ):
        return sp.Eq(sp.Mul(*(x.lhs - x.rhs for x in v.items)), 0)
    return v


def _same(g: Any, p: Any, tol: Tolerance) -> bool:
    g, p = _regroup(g), _regroup(p)
    if isinstance(g, sp.Eq):
        p = _roots_equation(p, g.free_symbols)
    if isinstance(p, sp.Eq):
        g = _roots_equation(g, p.free_symbols)
    # 2 + 3 = 5 against 5: a true numeric equation stands for its right side
    if isinstance(p, sp.Eq) and not p.free_symbols:
        return expr_equal(p.lhs, p.rhs, tol) and _same(g, p.rhs, tol)
    # x = 3 against 3 (either side)
    if isinstance(p, sp.Eq) and isinstance(p.lhs, sp.Symbol) and not isinstance(g, sp.Eq):
        return _same(g, p.rhs, tol)
    if isinstance(g, sp.Eq) and isinstance(g.lhs, sp.Symbol) and not _is_relation(p):
        return _same(g.rhs, p, tol)
    ge, pe = _elements(g), _elements(p)
    if ge is not None:
        if pe is not None:
            return unordered_equal(ge, pe, tol)
        if isinstance(p, Group) and p.open == "(":
            return unordered_equal(ge, p.items, tol)
        return len(_dedupe(ge, tol)) == 1 and _same(ge[0], p, tol)
    if pe is not None:  # several predicted values for one gold value: all must be it
        return all(_same(g, x, tol) for x in pe)
    if isinstance(g, sp.MatrixBase) or isinstance(p, sp.MatrixBase):
        return _matrix_equal(g, p, tol)
    if isinstance(g, Group):
        if isinstance(p, Group):
            return (
                g.open == p.open
                and g.close == p.close
                and len(g.items) == len(p.items)
                and all(_same(a, b, tol) for a, b in zip(g.items, p.items, strict=True))
            )
        if len(g.items) == 2 and (isinstance(p, sp.Set) or _is_relation(p)):
            return _same(_as_set(g), p, tol)
        return False
    if isinstance(g, sp.Set):
        if isinstance(p, sp.Set):
            return set_equal(g, p, tol)
        if isinstance(p, Group) and len(p.items) == 2:
            return set_equal(g, _as_set(p), tol)
        if _is_relation(p):
            ps = _rel_to_set(p)
            return ps is not None and set_equal(g, ps, tol)
        return False
    if isinstance(g, sp.Eq):
        return isinstance(p, sp.Eq) and equation_equal(g, p, tol)
    if _is_relation(g):
        if _is_relation(p) and not isinstance(p, sp.Eq):
            return inequality_equal(g, p, tol)
        if isinstance(p, (sp.Set, Group)):
            gs = _rel_to_set(g)
            return gs is not None and _same(gs, p, tol)
        return False
    if isinstance(g, sp.Expr) and isinstance(p, sp.Expr):
        return expr_equal(g, p, tol)
    return False


def _matrix_equal(g: Any, p: Any, tol: Tolerance) -> bool:
    def entries(v: Any) -> tuple[tuple[int, int], list[Any]] | None:
        if isinstance(v, sp.MatrixBase):
            return v.shape, list(v)
        if isinstance(v, Group) and v.open == "(":  # (1, 2) against a column vector
            return (len(v.items), 1), list(v.items)
        return None

    a, b = entries(g), entries(p)
    if a is None or b is None:
        return False
    (sa, ea), (sb, eb) = a, b
    if sa != sb and not (1 in sa and 1 in sb and len(ea) == len(eb)):
        return False
    return all(_same(x, y, tol) for x, y in zip(ea, eb, strict=False))
