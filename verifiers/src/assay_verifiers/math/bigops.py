"""Sums, products, integrals and limits in an answer, and numbers written in another base.

Called by the parser in `latex_parse` (the guarded worker, under its deadline):

- ``\\sum_{i=1}^{n} f`` / ``\\prod_{i=1}^{n} f``: the operand is the next product-level term
  (``\\sum_{i=1}^{4} i^2 + 1`` is (1 + 4 + 9 + 16) + 1), evaluated by sympy when it can;
- ``\\int_a^b f \\, dx`` (or ``\\int f dx``): the operand runs up to ``d`` + the variable;
- ``\\lim_{x \\to a} f``: the next product-level term;
- ``1010_2``, ``12_{8}``: digits in base 2 to 10.

>>> from assay_verifiers.math.latex_parse import parse_answer
>>> parse_answer(r"\\sum_{k=1}^{4} k")
10
"""

from __future__ import annotations

from typing import Any

import sympy as sp

_PRODUCT_LEVEL = 20  # the precedence of "*" and of implicit products in the parser
_INDEX_NAMES = {sp.I: sp.Symbol("i"), sp.E: sp.Symbol("e")}


class _Bounds:
    def __init__(self) -> None:
        self.lower: Any = None
        self.upper: Any = None


def _script(p: Any) -> Any:
    """A limit: ``{...}``, or one token (``_0^2``: 0 and 2, not 0^2; ``^\\infty``; ``^n``)."""
    if p.at("{", "-"):
        return p.parse_script()
    kind, val = p.next()
    if kind == "num":
        from .latex_parse import _number

        return _number(val)
    if kind == "id":
        return p.parse_symbol(val)
    if kind == "cmd":
        return p.parse_command(val)
    from .latex_parse import ParseError

    raise ParseError(f"bad limit {val!r}")


def _limits(p: Any) -> _Bounds:
    """``_{...}`` and ``^{...}`` after the operator, in either order."""
    b = _Bounds()
    for _ in range(2):
        if p.at("_"):
            p.next()
            b.lower = _script(p)
        elif p.at("^"):
            p.next()
            b.upper = _script(p)
    return b


def sum_or_product(p: Any, name: str) -> Any:
    from .latex_parse import ParseError, _scalar

    b = _limits(p)
    index = b.lower.lhs if isinstance(b.lower, sp.Eq) else None
    index = _INDEX_NAMES.get(index, index)  # i and e were read as constants
    if not isinstance(index, sp.Symbol):
        raise ParseError(f"\\{name} needs a lower limit i = a")
    var, start = index, _scalar(b.lower.rhs, "lower limit")
    end = _scalar(b.upper, "upper limit") if b.upper is not None else None
    if end is None:
        raise ParseError(f"\\{name} needs an upper limit")
    p.bound.add(var.name)  # "i" in the operand is the index, not the imaginary unit
    try:
        body = _scalar(p.parse_expr(_PRODUCT_LEVEL), f"\\{name} operand")
    finally:
        p.bound.discard(var.name)
    op = sp.Sum if name == "sum" else sp.Product
    return op(body, (var, start, end)).doit()


def integral(p: Any) -> Any:
    from .latex_parse import ParseError, _Parser, _scalar

    b = _limits(p)
    depth, j = 0, p.i
    while j + 1 < len(p.toks):  # the operand ends at "d" + variable, outside brackets
        kind, val = p.toks[j]
        if val in ("(", "{", "["):
            depth += 1
        elif val in (")", "}", "]"):
            depth -= 1
        elif depth == 0 and (kind, val) == ("id", "d") and p.toks[j + 1][0] == "id":
            break
        j += 1
    else:
        raise ParseError("\\int needs d<variable>")
    inner = _Parser(p.toks[p.i : j])
    body = _scalar(inner.parse_expr(0), "integrand")
    if inner.peek() is not None:
        raise ParseError("cannot read the integrand")
    var = sp.Symbol(p.toks[j + 1][1])
    p.i = j + 2
    if b.lower is None and b.upper is None:
        return sp.integrate(body, var)
    lower = _scalar(b.lower, "lower limit")
    upper = _scalar(b.upper, "upper limit")
    return sp.integrate(body, (var, lower, upper))


def limit(p: Any) -> Any:
    from .latex_parse import ParseError, _scalar

    if not p.at("_"):
        raise ParseError("\\lim needs _{x \\to a}")
    p.next()
    p.expect("{")
    tok = p.next()
    if tok[0] != "id":
        raise ParseError("\\lim needs a variable")
    var = sp.Symbol(tok[1])
    if not p.at("\\to", "\\rightarrow", "\\longrightarrow"):
        raise ParseError("\\lim needs \\to")
    p.next()
    point = _scalar(p.parse_expr(_PRODUCT_LEVEL + 11), "limit point")  # stops before ^+
    direction = "+-"
    if p.at("^"):  # x \to 0^+
        p.next()
        direction = p.next()[1] if p.peek() and p.peek()[1] in "+-" else "+-"
    p.expect("}")
    body = _scalar(p.parse_expr(_PRODUCT_LEVEL), "\\lim operand")
    return sp.limit(body, var, point, direction)


def in_base(digits: str, base: int) -> sp.Integer:
    """``1010`` in base 2 -> 10; digits must be below the base."""
    from .latex_parse import ParseError

    if not 2 <= base <= 10 or any(int(d) >= base for d in digits):
        raise ParseError(f"{digits} is not a number in base {base}")
    return sp.Integer(int(digits, base))
