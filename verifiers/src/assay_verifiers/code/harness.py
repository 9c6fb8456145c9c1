"""Harden trusted test code (``asserts`` and ``check`` forms) against values that lie.

The test code is trusted, the values it inspects come from the candidate. A candidate can
return an object whose ``__eq__`` is always True, whose ``__bool__`` lies, whose ``__sub__``
returns 0 so that ``abs(f(x) - y) < 1e-9`` holds, or a ``str`` subclass that equals anything.
`harden` rewrites the test code's AST so that every value reaching an operator is checked first:

- comparisons (``== != < <= > >= in not in``) -> ``cmp(ops, a, b, ...)``: every operand must be a
  *plain value* (exact builtin type, recursively through containers), then Python compares them;
  ``is`` / ``is not`` are identity checks and are left alone;
- truth tests (``assert x``, ``if``, ``while``, ``not``, ``and`` / ``or``, ``x if c else y``,
  comprehension filters) and arithmetic operands -> ``p1(x)``: the value's own type must be an
  exact builtin type (then its truth value and operators are Python's own);
- arguments of builtins that call the value's dunders (``abs len round int float str sum min
  max sorted isinstance ...``) and of ``math.*`` / ``cmath.*`` functions -> ``deep(x)``; a
  builtin iterator (a generator the candidate returned) given to ``sum all any min max sorted``
  is checked item by item as it is consumed.

A value failing a check raises ``TypeError("... is not a plain value")`` inside the sandbox, so the
statement fails. Classes defined by the test code itself (a ``ListNode`` helper) count as plain.

`build_harness` turns the hardened statements into the ``setup`` and ``statements`` the sandbox's
``run_statements`` takes. The setup runs *before* the candidate and captures, in a closure under
a per-run random name: a copy of the builtins, pristine copies of the modules the tests import,
and the compiled test statements. Each statement then runs in a private copy of the candidate's
namespace whose builtins and imports come from those copies, so a candidate that patches
``builtins.abs`` or ``math.isclose`` at load time or in a call does not patch the tests.

Limits (by construction of any in-process harness): a candidate that deliberately walks the
interpreter's frames or the garbage collector to find and rewrite this harness is not stopped
here; use the ``call`` or ``stdio`` forms, whose verdicts are computed outside the sandbox,
where a task allows it.
"""

from __future__ import annotations

import ast
import secrets
from dataclasses import dataclass, field

from .specs import AssertsTests, CheckTests

__all__ = ["Harness", "build_harness", "harden"]

_DEEP_BUILTINS = frozenset(
    {
        "abs", "all", "any", "ascii", "bin", "bool", "chr", "complex", "divmod", "float",
        "format", "hash", "hex", "int", "len", "max", "min", "oct", "ord", "pow", "repr",
        "round", "sorted", "str", "sum",
    }
)  # fmt: skip
_ITERATING_BUILTINS = frozenset({"all", "any", "max", "min", "sorted", "sum"})
_SHALLOW_BUILTINS = frozenset({"isinstance", "issubclass", "callable"})
_DEEP_MODULES = frozenset({"math", "cmath"})
_CMP_NAMES = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}  # fmt: skip


class _Harden(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]) -> None:
        self.n = names

    def _call(self, helper: str, *args: ast.expr) -> ast.Call:
        return ast.Call(func=ast.Name(self.n[helper], ast.Load()), args=list(args), keywords=[])

    def _p1(self, node: ast.expr) -> ast.expr:
        return self._call("p1", node)

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        if all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            return node
        ops = ast.Tuple([ast.Constant(_CMP_NAMES[type(op)]) for op in node.ops], ast.Load())
        return self._call("cmp", ops, node.left, *node.comparators)

    def visit_Assert(self, node: ast.Assert) -> ast.stmt:
        self.generic_visit(node)
        node.test = self._p1(node.test)
        return node

    def visit_If(self, node: ast.If) -> ast.stmt:
        self.generic_visit(node)
        node.test = self._p1(node.test)
        return node

    def visit_While(self, node: ast.While) -> ast.stmt:
        self.generic_visit(node)
        node.test = self._p1(node.test)
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        node.test = self._p1(node.test)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        self.generic_visit(node)
        node.values = [self._p1(v) for v in node.values]
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        node.operand = self._p1(node.operand)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        node.left, node.right = self._p1(node.left), self._p1(node.right)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        node.value = self._p1(node.value)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        self.generic_visit(node)
        node.ifs = [self._p1(c) for c in node.ifs]
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        f = node.func
        helper = None
        if isinstance(f, ast.Name) and f.id in _DEEP_BUILTINS:
            helper = "deep"
        elif isinstance(f, ast.Name) and f.id in _SHALLOW_BUILTINS:
            if node.args:
                node.args[0] = self._p1(node.args[0])
            return node
        elif (
            isinstance(f, ast.Attribute)
            and isinstance(f.value, ast.Name)
            and f.value.id in _DEEP_MODULES
        ):
            helper = "deep"
        if helper is None:
            return node
        iterating = isinstance(f, ast.Name) and f.id in _ITERATING_BUILTINS
        node.args = [self._wrap_arg(a, iterating) for a in node.args]
        for kw in node.keywords:
            kw.value = self._wrap_arg(kw.value, False)
        return node

    def _wrap_arg(self, a: ast.expr, iterating: bool) -> ast.expr:
        if isinstance(a, ast.Starred):
            return a
        if isinstance(a, ast.GeneratorExp):  # check each produced item instead
            a.elt = self._call("deep", a.elt)
            return a
        return self._call("iter" if iterating else "deep", a)


def harden(source: str, names: dict[str, str]) -> str:
    """Rewrite trusted test ``source`` so candidate values are checked before use (see module doc).

    ``names`` maps the helper roles ``cmp``, ``p1``, ``deep``, ``iter`` to the names they have at run time.
    """
    tree = ast.parse(source)
    tree = _Harden(names).visit(tree)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def _imported_modules(sources: list[str]) -> list[str]:
    mods: set[str] = set()
    for src in sources:
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Import):
                mods.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                mods.add(node.module)
    return sorted(mods)


# The trusted runtime that the setup defines before the candidate loads. `{N}` names are
# replaced by per-run random identifiers. Kept free of f-strings so braces stay literal.
_RUNTIME = r"""
def {boot}(_ns, _sources, _modules, _harden):
    import builtins as _b
    import sys as _sys
    import types as _types
    _type, _id, _len, _iter, _dict, _isinstance = type, id, len, iter, dict, isinstance
    _TypeError, _Exception, _compile, _exec = TypeError, Exception, compile, exec
    _getattr, _setattr, _sorted, _range = getattr, setattr, sorted, range
    _ops = {
        "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
        "is": lambda a, b: a is b, "is not": lambda a, b: a is not b,
    }
    _atoms = frozenset({
        type(None), bool, int, float, complex, str, bytes, type(...), type(NotImplemented),
    })
    _containers = frozenset({list, tuple, set, frozenset, dict, bytearray, range, slice})
    _trusted = set()

    def _is_class(x):
        return _type(x) is type  # a class with the plain metaclass: == is identity

    def p1(x):
        t = _type(x)
        if t in _atoms or t in _containers or t in _trusted or _is_class(x):
            return x
        raise _TypeError("test saw a " + t.__name__ + ", which is not a plain value")

    def deep(x):
        stack, seen = [x], set()
        while stack:
            v = stack.pop()
            t = _type(v)
            if t in _atoms or t in _trusted or _is_class(v):
                continue
            if t not in _containers:
                raise _TypeError("test saw a " + t.__name__ + ", which is not a plain value")
            if t in (range, slice, bytearray) or _id(v) in seen:
                continue
            seen.add(_id(v))
            if _len(seen) > 1000000:
                raise _TypeError("value too large to check")
            if t is dict:
                stack.extend(_dict.keys(v))
                stack.extend(_dict.values(v))
            else:
                stack.extend(_iter(v))
        return x

    _iterators = frozenset({
        _types.GeneratorType, map, filter, zip, enumerate, reversed,
        type(iter([])), type(iter(())), type(iter(range(0))), type(iter("")),
        type(iter(set())), type(iter({})), type(iter({}.values())), type(iter({}.items())),
    })

    def it(x):
        if _type(x) in _iterators:
            return (deep(v) for v in x)
        return deep(x)

    def cmp(ops, *vals):
        for v in vals:
            deep(v)
        for i in _range(_len(ops)):
            if not _ops[ops[i]](vals[i], vals[i + 1]):
                return False
        return True

    _pristine = {}
    for _m in _modules:
        try:
            __import__(_m)
        except _Exception:
            continue
        _top = _m.split(".")[0]
        _real = _sys.modules[_top]
        _copy = _types.ModuleType(_top)
        _copy.__dict__.update(_real.__dict__)
        _pristine[_top] = _copy
    _real_import = _b.__import__

    def _import(name, globals=None, locals=None, fromlist=(), level=0):
        mod = _real_import(name, globals, locals, fromlist, level)
        if level == 0 and fromlist:
            return _pristine.get(name, mod) if "." not in name else mod
        if level == 0:
            return _pristine.get(name.split(".")[0], mod)
        return mod

    _tb = _dict(_b.__dict__)
    _tb["__import__"] = _import
    _helpers = {
        _harden["cmp"]: cmp, _harden["p1"]: p1, _harden["deep"]: deep, _harden["iter"]: it,
    }
    _codes = [_compile(s, "<assay-test-%d>" % i, "exec") for i, s in enumerate(_sources)]
    _state = []

    def run(i):
        if i < 0:  # the task's setup just ran in the shared namespace: trust its classes
            _trusted.update(v for v in _ns.values() if _type(v) is type)
            return
        if not _state:
            t = _dict(_ns)
            t["__builtins__"] = _tb
            t["__name__"] = "__main__"
            t.update(_helpers)
            _state.append(t)
        t = _state[0]
        before = _dict(t)
        _exec(_codes[i], t)
        for k, v in t.items():
            if _type(v) is type and before.get(k) is not v:
                _trusted.add(v)  # a class the trusted test code defined

    return run
"""


def _short_src(src: str, limit: int = 80) -> str:
    one = " ".join(src.split())
    return f"({one})" if len(one) <= limit else f"({one[: limit - 3]}...)"


@dataclass(frozen=True)
class Harness:
    """What to give ``run_statements``: ``setup`` (before the candidate), ``statements`` (after),
    and a label per statement; ``cases`` is the number of statements that are test cases (the
    last ones; those before are the task's setup and module-level test code)."""

    setup: str
    statements: list[str]
    labels: list[str]
    cases: int
    first_case: int = field(default=0)


def build_harness(
    spec: AssertsTests | CheckTests, *, hardened: bool = True, tag: str | None = None
) -> Harness:
    """The setup and statements that run ``spec``'s tests against a loaded candidate.

    ``tag`` makes the runtime's names (default: fresh random hex per call). A caller may reuse
    one random tag for many runs, to cache harnesses: the names only need to be unknown to the
    candidate's author, and each run is a separate process.
    """
    tag = tag or secrets.token_hex(8)
    names = {role: f"_{role}_{tag}" for role in ("cmp", "p1", "deep", "iter")}
    boot, run = f"_boot_{tag}", f"_run_{tag}"
    prep: list[str] = []
    cases: list[str] = []
    if isinstance(spec, AssertsTests):
        if spec.setup.strip():
            prep.append(spec.setup)
        cases = list(spec.asserts)
        task_setup = spec.setup
        labels = ["setup"] * len(prep) + [
            f"asserts[{i}] {_short_src(src)}" for i, src in enumerate(cases)
        ]
    else:
        prep.append(spec.check)
        cases = [f"{spec.check_name}({spec.entry_point})"]
        task_setup = ""
        labels = ["check code", f"{spec.check_name}({spec.entry_point})"]
    sources = prep + cases
    modules = _imported_modules(sources)
    if hardened:
        sources = [harden(s, names) for s in sources]
    runtime = _RUNTIME.replace("{boot}", boot)
    setup = (
        f"{runtime}\n{run} = {boot}(globals(), {sources!r}, {modules!r}, {names!r})\ndel {boot}\n"
    )
    if task_setup.strip():
        setup += task_setup + f"\n{run}(-1)\n"  # the candidate may rely on the task's imports
    statements = [f"{run}({i})" for i in range(len(sources))]
    return Harness(
        setup=setup, statements=statements, labels=labels, cases=len(cases), first_case=len(prep)
    )
