"""Parse a normalised answer (LaTeX or plain notation) into sympy objects and answer structures.

A small tokenizer and a Pratt parser that build sympy objects directly: no ``eval``, no ANTLR,
about ten times faster than a general LaTeX grammar, and every construct it accepts is listed
here. Expressions become sympy expressions; the shapes around them become `Answer` structures:

- `Items` for a bare list (``1, 2``), a hedge (``-4 or 7``) or a ``\\pm`` answer;
- `Group` for a bracketed sequence (``(1, 2]``, ``[0, 1]``, ``(3, 4)``): a tuple or an interval,
  decided when compared with the other side;
- `SetOf` for ``\\{1, 2\\}``; sympy ``Matrix``; sympy relationals for ``=``, ``<``, ``\\leq``...;
  sympy sets for ``\\cup``, ``\\cap``, ``\\mathbb{R}``, ``\\emptyset``.

Numbers too large to hold (``5^{5^{5^5}}``, ``9999999!``) stay unevaluated instead of filling
memory; the worker's deadline stops anything else that runs away.

Imports sympy: import this module only where sympy is wanted (the guarded worker).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Union

import sympy as sp

from assay import AssayError


class ParseError(AssayError, ValueError):
    """The text is not an answer this parser understands."""


@dataclass(frozen=True)
class Group:
    """A bracketed sequence: a tuple or, with two items, an interval (``open``/``close``)."""

    open: str
    close: str
    items: tuple[Any, ...]


@dataclass(frozen=True)
class SetOf:
    """A set literal ``\\{a, b\\}``: order and repetition do not matter."""

    items: tuple[Any, ...]


@dataclass(frozen=True)
class Items:
    """Several answers side by side: ``1, 2``, ``-4 or 7``, ``1 \\pm \\sqrt{2}``."""

    items: tuple[Any, ...]


Answer = Union[sp.Basic, Group, SetOf, Items]

MAX_POW_BITS = 1_000_000  # a power past this many bits stays unevaluated
MAX_FACTORIAL = 5_000  # n! past this stays unevaluated

_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon",
    "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi",
    "Sigma", "Phi", "Psi", "Omega",
}  # fmt: skip
_FUNCS: dict[str, Any] = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot, "sec": sp.sec, "csc": sp.csc,
    "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh,
    "tanh": sp.tanh, "ln": sp.log, "log": sp.log, "exp": sp.exp, "lg": None,
}  # fmt: skip
_WORDS = {
    "sqrt": "sqrt", "pi": "pi", "infinity": "infty", "infty": "infty", "inf": "infty",
    "oo": "infty", **{f: f for f in _FUNCS}, **{g: g for g in _GREEK if g.islower()},
}  # fmt: skip
_RELATIONS = {
    "=": sp.Eq, "<": sp.Lt, ">": sp.Gt, "<=": sp.Le, ">=": sp.Ge, "!=": sp.Ne,
    r"\leq": sp.Le, r"\geq": sp.Ge, r"\neq": sp.Ne, r"\lt": sp.Lt, r"\gt": sp.Gt,
    r"\approx": sp.Eq, r"\equiv": sp.Eq, r"\in": None,
}  # fmt: skip
_BINARY = {
    "+": 10, "-": 10, "*": 20, "/": 20, r"\cdot": 20, r"\times": 20, r"\div": 20,
    r"\cup": 4, r"\cap": 5, r"\setminus": 4, "^": 30, "**": 30,
}  # fmt: skip
_IMPLICIT = 20
_UNARY = 25

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<begin>\\begin\s*\{\s*(?P<bname>[a-zA-Z]+\*?)\s*\}(?:\s*\{[lcr|]*\})?)"
    r"|(?P<end>\\end\s*\{\s*[a-zA-Z]+\*?\s*\})"
    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+(?![.\d]))?)"  # 2.5e-3: scientific notation
    r"|(?P<cmd>\\[a-zA-Z]+|\\[{}|])"
    r"|(?P<rowsep>\\\\)"
    r"|(?P<op>\*\*|<=|>=|!=|[-+*/^_!=<>()\[\]{},|&;:'])"
    r"|(?P<word>[a-zA-Z]+)"
    r")"
)


Token = tuple[str, str]


def tokenize(text: str) -> list[Token]:
    """Tokens of a normalised answer: (kind, value) with kind num/cmd/op/id/begin/end/rowsep."""
    out: list[Token] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ParseError(f"unexpected character {text[pos]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "bname":
            kind = "begin"
        if kind == "begin":
            out.append(("begin", m.group("bname")))
        elif kind == "word":
            out.extend(_split_word(m.group("word")))
        elif kind is not None:
            out.append((kind, m.group(kind)))
    return out


def _split_word(word: str) -> list[Token]:
    """``sin`` -> one function token; ``xy`` -> ``x``, ``y`` (implicit product); ``2pi``."""
    if word in _WORDS:
        return [("cmd", "\\" + _WORDS[word])]
    out: list[Token] = []
    i = 0
    while i < len(word):
        for size in (8, 7, 6, 5, 4, 3, 2):
            piece = word[i : i + size]
            if len(piece) == size and piece in _WORDS:
                out.append(("cmd", "\\" + _WORDS[piece]))
                i += size
                break
        else:
            out.append(("id", word[i]))
            i += 1
    return out


def _check_pow(base: sp.Expr, exp: sp.Expr) -> sp.Expr:
    """``base**exp``, left unevaluated when the integer result would be astronomically large."""
    if isinstance(exp, sp.Integer) and isinstance(base, sp.Rational) and abs(base) != 1:
        num = max(abs(base.p), abs(base.q))
        e = abs(int(exp))
        if e > MAX_POW_BITS or e * math.log2(num) > MAX_POW_BITS:
            return sp.Pow(base, exp, evaluate=False)
    return sp.Pow(base, exp)


def _factorial(x: sp.Basic) -> sp.Basic:
    if isinstance(x, sp.Integer) and int(x) > MAX_FACTORIAL:
        return sp.factorial(x, evaluate=False)
    return sp.factorial(x)


def _scalar(v: Any, what: str) -> sp.Expr:
    if isinstance(v, Group) and len(v.items) == 1:
        v = v.items[0]
    if isinstance(v, sp.Expr):
        return v
    raise ParseError(f"{what} needs a number or expression, got {type(v).__name__}")


def _as_set(v: Any) -> sp.Set:
    if isinstance(v, sp.Set):
        return v
    if isinstance(v, Group) and len(v.items) == 2:
        a, b = (_scalar(x, "interval end") for x in v.items)
        return sp.Interval(a, b, v.open == "(", v.close == ")")
    if isinstance(v, SetOf):
        return sp.FiniteSet(*(_scalar(x, "set element") for x in v.items))
    raise ParseError(f"{type(v).__name__} is not a set")


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.i = 0
        self.abs_depth = 0
        self.bound: set[str] = set()  # index variables of an enclosing sum (i is then no constant)

    # -- token helpers -------------------------------------------------------------------------
    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise ParseError("unexpected end of answer")
        self.i += 1
        return tok

    def at(self, *values: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] in values and tok[0] in ("op", "cmd", "rowsep")

    def expect(self, value: str) -> None:
        tok = self.next()
        if tok[1] != value:
            raise ParseError(f"expected {value!r}, got {tok[1]!r}")

    # -- grammar -------------------------------------------------------------------------------
    def parse_items(self, closers: tuple[str, ...]) -> list[Any]:
        """relation (',' relation)* up to (not including) one of ``closers``."""
        items = [self.parse_relation(closers)]
        while self.at(",", ";"):
            self.next()
            items.append(self.parse_relation(closers))
        return items

    def parse_relation(self, closers: tuple[str, ...] = ()) -> Any:
        left = self.parse_expr(0)
        rels: list[Any] = []
        while self.peek() is not None and self.peek()[1] in _RELATIONS and not self.at(*closers):
            op = self.next()[1]
            right = self.parse_expr(0)
            rel = _RELATIONS[op]
            if rel is None:  # x \in S: the answer is S
                if not isinstance(left, sp.Symbol):
                    raise ParseError(r"\in needs a variable on its left")
                return right
            try:
                lhs = left if isinstance(left, sp.Basic) else _scalar(left, "relation")
                rhs = right if isinstance(right, sp.Basic) else _scalar(right, "relation")
                rels.append(rel(lhs, rhs, evaluate=False))
            except (TypeError, ValueError) as exc:
                raise ParseError(f"bad relation: {exc}") from None
            left = right
        if not rels:
            return left
        return rels[0] if len(rels) == 1 else sp.And(*rels, evaluate=False)

    def parse_expr(self, min_prec: int) -> Any:
        left = self.parse_prefix()
        while True:
            tok = self.peek()
            if tok is None:
                return left
            kind, val = tok
            if kind in ("op", "cmd") and val in _BINARY:
                prec = _BINARY[val]
                if prec < min_prec:
                    return left
                self.next()
                if val in ("^", "**"):
                    right = self.parse_script()
                    left = _check_pow(_scalar(left, "power"), _scalar(right, "exponent"))
                else:
                    right = self.parse_expr(prec + 1)
                    left = self.binary(val, left, right)
            elif kind == "op" and val == "!":
                self.next()
                left = _factorial(_scalar(left, "factorial"))
            elif self.starts_primary():
                if min_prec > _IMPLICIT:
                    return left
                right = self.parse_expr(_IMPLICIT + 1)
                left = self.binary("*", left, right)
            else:
                return left

    def parse_script(self) -> Any:
        """The operand of ``^`` or ``_``: a brace group, or a single token (``x^2``, ``x^-1``)."""
        if self.at("{"):
            self.next()
            v = self.parse_relation(("}",))
            self.expect("}")
            return v
        if self.at("-"):
            self.next()
            return -_scalar(self.parse_script(), "exponent")
        tok = self.peek()
        if tok is not None and tok[0] == "num" and len(tok[1]) > 1 and tok[1].isdigit():
            self.next()  # x^23 in LaTeX is x^2 * 3; plain x^23 means 23: keep it plain
            return sp.Integer(tok[1])
        return self.parse_expr(_BINARY["^"])  # right-associative: 2^3^2 = 2^9

    def starts_primary(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        kind, val = tok
        if kind in ("num", "id", "begin"):
            return True
        if kind == "op":
            return val == "(" or (val == "|" and self.abs_depth == 0)
        if kind == "cmd":
            return val not in _BINARY and val not in _RELATIONS and val not in (
                r"\}", r"\rfloor", r"\rceil", r"\rvert", r"\right", r"\|",
            )  # fmt: skip
        return False

    def binary(self, op: str, a: Any, b: Any) -> Any:
        if op in (r"\cup", r"\cap", r"\setminus"):
            sa, sb = _as_set(a), _as_set(b)
            if op == r"\cup":
                return sp.Union(sa, sb)
            if op == r"\cap":
                return sp.Intersection(sa, sb)
            return sp.Complement(sa, sb)
        x, y = _scalar(a, op), _scalar(b, op)
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op in ("*", r"\cdot", r"\times"):
            return x * y
        if y == 0:
            raise ParseError("division by zero")
        return x / y

    def parse_prefix(self) -> Any:
        tok = self.next()
        kind, val = tok
        if kind == "op" and val in ("-", "+"):
            operand = self.parse_expr(_UNARY)
            return -_scalar(operand, "minus") if val == "-" else operand
        if kind == "num":
            if self.at("_") and val.isdigit():  # 1010_2: a number in another base
                from . import bigops

                self.next()
                base = _scalar(self.parse_script(), "base")
                if not isinstance(base, sp.Integer):
                    raise ParseError("a base must be an integer")
                return bigops.in_base(val, int(base))
            return _number(val)
        if kind == "id":
            return self.parse_symbol(val)
        if kind == "begin":
            return self.parse_matrix(val)
        if kind == "op":
            if val in ("(", "["):
                return self.parse_group(val)
            if val == "{":
                items = self.parse_items(("}",))
                self.expect("}")
                return items[0] if len(items) == 1 else SetOf(tuple(items))
            if val == "|":
                self.abs_depth += 1
                inner = self.parse_expr(0)
                self.abs_depth -= 1
                self.expect("|")
                return sp.Abs(_scalar(inner, "absolute value"))
        if kind == "cmd":
            return self.parse_command(val)
        raise ParseError(f"unexpected {val!r}")

    def parse_group(self, opener: str) -> Any:
        items = self.parse_items((")", "]"))
        close = self.next()[1]
        if close not in (")", "]"):
            raise ParseError(f"unclosed {opener!r}")
        if len(items) == 1 and (opener + close) in ("()", "[]"):
            return items[0]
        return Group(opener, close, tuple(items))

    def parse_symbol(self, name: str) -> Any:
        if self.at("_"):
            self.next()
            sub = self.parse_script()
            return sp.Symbol(f"{name}_{sub}")
        if name in self.bound:
            return sp.Symbol(name)
        if name == "e":
            return sp.E
        if name == "i":
            return sp.I
        return sp.Symbol(name)

    def parse_arg(self) -> Any:
        """A command argument: ``{...}`` or a single token (``\\frac12``)."""
        if self.at("{"):
            self.next()
            v = self.parse_relation(("}",))
            self.expect("}")
            return v
        tok = self.next()
        if tok[0] == "num":
            if len(tok[1]) > 1 and tok[1].isdigit():  # \frac12: one digit per argument
                self.i -= 1
                self.toks[self.i] = ("num", tok[1][1:])
                return sp.Integer(tok[1][0])
            return _number(tok[1])
        if tok[0] == "id":
            return self.parse_symbol(tok[1])
        if tok[0] == "cmd":
            return self.parse_command(tok[1])
        raise ParseError(f"bad argument {tok[1]!r}")

    def parse_command(self, cmd: str) -> Any:
        name = cmd[1:]
        if name == "frac":
            num, den = (
                _scalar(self.parse_arg(), "numerator"),
                _scalar(self.parse_arg(), "denominator"),
            )
            if den == 0:
                raise ParseError("division by zero")
            return num / den
        if name == "binom":
            n, k = _scalar(self.parse_arg(), "binom"), _scalar(self.parse_arg(), "binom")
            return sp.binomial(n, k)
        if name == "sqrt":
            index = None
            if self.at("["):
                self.next()
                index = _scalar(self.parse_expr(0), "root index")
                self.expect("]")
            arg = _scalar(self.parse_arg() if self.at("{") else self.parse_expr(_UNARY), "sqrt")
            return sp.sqrt(arg) if index is None else sp.root(arg, index)
        if name == "pi":
            return sp.pi
        if name == "infty":
            return sp.oo
        if name in ("emptyset", "varnothing"):
            return sp.EmptySet
        if name == "mathbb":
            letter = self.parse_arg()
            sets = {"R": sp.Reals, "Z": sp.Integers, "N": sp.Naturals, "C": sp.Complexes}
            key = str(letter)
            if key not in sets:
                raise ParseError(f"unknown set \\mathbb{{{key}}}")
            return sets[key]
        if name in ("lfloor", "lceil"):
            inner = _scalar(self.parse_expr(0), name)
            self.expect("\\r" + name[1:])
            return sp.floor(inner) if name == "lfloor" else sp.ceiling(inner)
        if name in ("lvert", "vert"):
            inner = _scalar(self.parse_expr(0), "absolute value")
            self.next()
            return sp.Abs(inner)
        if name == "{":
            if self.at(r"\}"):  # \{\} is the empty set
                self.next()
                return sp.EmptySet
            items = self.parse_items((r"\}",))
            self.expect(r"\}")
            return SetOf(tuple(items))
        if name in _GREEK:
            return self.parse_symbol(name)
        if name in _FUNCS:
            return self.parse_function(name)
        if name in ("sum", "prod", "int", "lim"):
            from . import bigops  # here, not at the top: bigops reads this module's names

            if name == "int":
                return bigops.integral(self)
            if name == "lim":
                return bigops.limit(self)
            return bigops.sum_or_product(self, name)
        raise ParseError(f"unsupported command {cmd}")

    def parse_function(self, name: str) -> Any:
        power = None
        base = None
        if name == "log" and self.at("_"):
            self.next()
            base = _scalar(self.parse_script(), "log base")
        if self.at("^"):
            self.next()
            power = _scalar(self.parse_script(), "function power")
        if self.at("(", "{"):
            opener = self.next()[1]
            arg = _scalar(self.parse_relation((")", "}")), name)
            self.expect(")" if opener == "(" else "}")
        else:  # \sin 2x is sin(2x); \sin x \cos x is sin(x) cos(x)
            arg = _scalar(self.parse_expr(_IMPLICIT + 1), name)
            while self.starts_primary() and not self._at_function():
                arg = arg * _scalar(self.parse_expr(_IMPLICIT + 1), name)
        if name in ("log", "lg") and base is None and name == "lg":
            base = sp.Integer(10)
        fn = _FUNCS[name] or sp.log
        val = sp.log(arg, base) if base is not None else fn(arg)
        return val**power if power is not None else val

    def _at_function(self) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "cmd" and tok[1][1:] in _FUNCS

    def parse_matrix(self, env: str) -> Any:
        if env.rstrip("*") not in ("pmatrix", "bmatrix", "matrix", "vmatrix", "Bmatrix", "array"):
            raise ParseError(f"unsupported environment {env}")
        rows: list[list[sp.Expr]] = [[]]
        while True:
            tok = self.peek()
            if tok is None:
                raise ParseError("unterminated matrix")
            if tok[0] == "end":
                self.next()
                break
            if tok[0] == "rowsep":
                self.next()
                rows.append([])
                continue
            if tok == ("op", "&"):
                self.next()
                continue
            rows[-1].append(_scalar(self.parse_expr(0), "matrix entry"))
        rows = [r for r in rows if r]
        if not rows or len({len(r) for r in rows}) != 1:
            raise ParseError("ragged matrix")
        m = sp.Matrix(rows)
        return m.det() if env == "vmatrix" else sp.ImmutableMatrix(m)


def _number(text: str) -> sp.Expr:
    """Decimals are exact rationals (0.1 is 1/10): no rounding noise, no float false positives.
    ``2.5e-3`` (digits, ``e``, digits, no spaces) is scientific notation, not ``2.5 e - 3``."""
    mantissa, _, exp = text.lower().partition("e")
    if exp:
        return _number(mantissa) * _check_pow(sp.Integer(10), sp.Integer(exp))
    return sp.Rational(text) if "." in text else sp.Integer(text)


_PM = re.compile(r"\\(?:pm|mp)|±")


def parse_answer(text: str) -> Answer:
    """Parse a normalised answer; raises `ParseError` when it is not one."""
    if not text.strip():
        raise ParseError("empty answer")
    if len(_PM.findall(text)) == 1:
        plus, minus = _PM.sub("+", text), _PM.sub("-", text)
        return Items((parse_answer(plus), parse_answer(minus)))
    text = re.sub(r"(?:\s*,)?\s+(?:or|and)\s+", ", ", text)
    p = _Parser(tokenize(text))
    try:
        items = p.parse_items(())
    except RecursionError:
        raise ParseError("answer nested too deeply") from None
    except ParseError:
        raise
    except (TypeError, AttributeError, ZeroDivisionError, OverflowError, ValueError) as exc:
        raise ParseError(f"cannot build expression: {exc}") from None
    if p.peek() is not None:
        raise ParseError(f"unexpected {p.peek()[1]!r}")
    return items[0] if len(items) == 1 else Items(tuple(items))
