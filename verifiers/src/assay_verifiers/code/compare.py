"""Trusted comparisons, run in the verifier's process on values that came out of the sandbox.

Return values (`call` form) are compared with exact types, recursively: ``True`` is not ``1``,
``"1"`` is not ``1``, a dict with ``int`` keys is not one with ``str`` keys. Values arrive
decoded from the sandbox's tagged JSON, so they are plain builtins by construction; anything
else (a subclass, a custom object) is unequal. Options: ``tuples_as_lists`` (JSON has no
tuples, so tests written in JSON expect lists), ``int_float`` (``3 == 3.0``; an expected int
matches only a float of exactly its value) and ``float_tol``:
two floats match when ``|a - b| <= tol * max(1, |b|)``.

Program output (`stdio` form) is compared as a whole, never as a prefix:

- ``exact``: the same text, byte for byte;
- ``lines`` (default): the same number of lines after dropping trailing blank lines, each line
  equal up to trailing whitespace (and numerically, with ``float_tol``, token by token);
- ``tokens``: the same whitespace-separated tokens, as many of them, in order.

With ``float_tol``, an expected token that is an integer (``42``, ``-7``: no point, no exponent)
is matched by an integer token only when it is the same number (``+042``, not ``41``), and by a
float token (``41.9999999``, ``4.2e1``) when it is within the tolerance *and* rounds to exactly
that integer, as judges that read every token as a double would accept for a small answer. So an
approximation (``1.5511210043330954e+25`` or ``15511210043330953843048448`` for ``25!``) cannot
stand for an exact count, however close it is relatively.
"""

from __future__ import annotations

import math
import re
import reprlib
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

__all__ = ["OutputMode", "outputs_match", "short", "values_equal"]

OutputMode = Literal["exact", "lines", "tokens"]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_MAX_EXACT_CHARS = 400  # a float-looking token compared exactly with an integer (Decimal)
_MAX_DEPTH = 200


def _floats_close(a: float, b: float, tol: float | None) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    if tol is None or math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= tol * max(1.0, abs(b))


def values_equal(
    got: Any,
    expected: Any,
    *,
    float_tol: float | None = None,
    tuples_as_lists: bool = True,
    int_float: bool = False,
) -> bool:
    """Exact-type structural equality of plain values (see the module docstring).

    >>> values_equal(True, 1), values_equal((1, 2), [1, 2]), values_equal(0.1 + 0.2, 0.3, float_tol=1e-9)
    (False, True, True)
    """
    try:
        return _eq(got, expected, float_tol, tuples_as_lists, int_float, 0)
    except RecursionError:
        return False


def _eq(a: Any, b: Any, tol: float | None, tl: bool, int_float: bool, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    ta, tb = type(a), type(b)
    if tl:
        ta = list if ta is tuple else ta
        tb = list if tb is tuple else tb
    if ta is not tb:
        if int_float and {ta, tb} == {int, float}:
            if tb is int:  # an int expected: only the same number, exactly (Python's int == float
                return bool(a == b)  # is exact; float(a) would round a big int into range)
            try:
                return _floats_close(float(a), b, tol)
            except OverflowError:  # an int past float range
                return False
        return False
    if ta is float:
        return _floats_close(a, b, tol)
    if ta is complex:
        return _floats_close(a.real, b.real, tol) and _floats_close(a.imag, b.imag, tol)
    if ta in (int, bool, str, bytes, bytearray, type(None)):
        return bool(a == b)
    if ta in (list, tuple):
        return len(a) == len(b) and all(
            _eq(x, y, tol, tl, int_float, depth + 1) for x, y in zip(a, b, strict=False)
        )
    if ta is dict:
        if len(a) != len(b):
            return False
        typed_b = {_typed_key(k): v for k, v in b.items()}  # 1 and True are different keys,
        for k, v in a.items():  # also inside tuple and frozenset keys
            key = _typed_key(k)
            if key not in typed_b or not _eq(v, typed_b[key], tol, tl, int_float, depth + 1):
                return False
        return True
    if ta in (set, frozenset):
        # Builtin set equality, then the element types: {1} must not equal {True}.
        if len(a) != len(b):
            return False
        return {_typed_key(x) for x in a} == {_typed_key(x) for x in b}
    return False  # not a plain value: never equal


def _typed_key(x: Any, depth: int = 0) -> Any:
    """A hashable stand-in for ``x`` that carries every type, nested: ``(True, 2)`` and
    ``(1, 2)`` differ, as do ``frozenset({True})`` and ``frozenset({1})``. Iterative for the
    common flat case, bounded in depth (a deeper key raises RecursionError: unequal)."""
    if depth > _MAX_DEPTH:
        raise RecursionError("key nested too deep")
    t = type(x)
    if t is tuple:
        return (t, tuple(_typed_key(v, depth + 1) for v in x))
    if t is frozenset:
        return (t, frozenset(_typed_key(v, depth + 1) for v in x))
    if t is float and x != x:
        return (t, "nan")
    return (t, x)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 160
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 12
_REPR.maxlevel = 4


def short(text: Any, limit: int = 200) -> str:
    """Text (or a bounded ``repr`` of a value: a huge return value is not rendered whole) cut to
    ``limit`` characters, for `Score.details`."""
    try:
        s = text if isinstance(text, str) else _REPR.repr(text)
    except ValueError:  # an int past the interpreter's int-to-str digit limit
        s = f"<{type(text).__name__} too large to show>"
    return s if len(s) <= limit else s[: limit - 15] + f"... [{len(s)} chars]"


def _canonical_integer(token: str) -> str:
    """``+007`` -> ``7``, ``-0`` -> ``0``: equal integers, equal text (no int(): no digit limit)."""
    sign = "-" if token.startswith("-") else ""
    digits = token.lstrip("+-").lstrip("0") or "0"
    return digits if digits == "0" else sign + digits


def _matches_integer(got: str, exp: str, tol: float) -> bool:
    """Whether token ``got`` answers the integer ``exp`` (an `_INTEGER` token): the same integer,
    or a float within ``tol`` that rounds to exactly ``exp`` (see the module docstring)."""
    if _INTEGER.match(got):
        return _canonical_integer(got) == _canonical_integer(exp)
    if len(got) > _MAX_EXACT_CHARS or len(exp) > _MAX_EXACT_CHARS or not _NUMBER.match(got):
        return False
    g, e = float(got), float(exp)
    if math.isinf(g) or math.isinf(e) or not _floats_close(g, e, tol):
        return False
    try:
        return Decimal(got).to_integral_value() == Decimal(exp)
    except (InvalidOperation, ValueError):
        return False


def _tokens_match(got: str, exp: str, tol: float | None) -> bool:
    if got == exp:
        return True
    if tol is None or not (_NUMBER.match(got) and _NUMBER.match(exp)):
        return False
    if _INTEGER.match(exp):  # an integer answer (see the module docstring)
        return _matches_integer(got, exp, tol)
    g, e = float(got), float(exp)
    if math.isinf(g) or math.isinf(e):  # past float range (1e400, 400 digits): all become inf
        return False
    return _floats_close(g, e, tol)


def _lines(text: str) -> list[str]:
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def outputs_match(
    got: str, expected: str, mode: OutputMode = "lines", float_tol: float | None = None
) -> tuple[bool, str]:
    """Whether a program's whole output matches the expected one, and where it first differs.

    >>> outputs_match("3\\n", "3\\n4\\n")
    (False, 'got 1 lines, expected 2')
    """
    if mode == "exact":
        if got == expected:
            return True, ""
        i = next((i for i, (x, y) in enumerate(zip(got, expected, strict=False)) if x != y), None)
        i = min(len(got), len(expected)) if i is None else i
        return False, f"differs at character {i} (got {len(got)}, expected {len(expected)} chars)"
    if mode == "tokens":
        g, e = got.split(), expected.split()
        for i, (x, y) in enumerate(zip(g, e, strict=False)):
            if not _tokens_match(x, y, float_tol):
                return False, f"token {i + 1}: got {short(x, 60)!r}, expected {short(y, 60)!r}"
        if len(g) != len(e):
            return False, f"got {len(g)} tokens, expected {len(e)}"
        return True, ""
    g_lines, e_lines = _lines(got), _lines(expected)
    for i, (x, y) in enumerate(zip(g_lines, e_lines, strict=False)):
        if x == y:
            continue
        gt, et = x.split(), y.split()
        if len(gt) != len(et) or not all(
            _tokens_match(a, b, float_tol) for a, b in zip(gt, et, strict=False)
        ):
            return False, f"line {i + 1}: got {short(x, 80)!r}, expected {short(y, 80)!r}"
    if len(g_lines) != len(e_lines):
        return False, f"got {len(g_lines)} lines, expected {len(e_lines)}"
    return True, ""
