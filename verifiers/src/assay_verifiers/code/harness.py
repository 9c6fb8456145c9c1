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
``run_statements`` takes. The setup runs *before* the candidate. It captures, inside a closure
that nothing in the shared namespace points to: a copy of the builtins, pristine copies of the
modules the tests import, and the compiled test statements. Then it installs an audit hook
(PEP 578; a hook cannot be removed) that

- blocks what would reach that closure or the sandbox's verdict channel: frames
  (``sys._getframe``, ``tb_frame``, ``gi_frame``..., ``settrace``/``setprofile``), the garbage
  collector's object walks, ``ctypes``, opening ``/proc/*/mem``, and starting new programs
  (``subprocess``, ``os.exec*``, ``os.system``); a blocked call raises ``ValueError`` (which
  ``namedtuple``, ``TypeVar``, ``logging`` and ``warnings`` already tolerate);
- runs test ``i`` when a statement that carries the run's secret (a fresh 128-bit nonce, in
  `Harness.render`) reads its own frame: each sandbox statement is just that trigger, so a
  candidate that rebinds names in the shared namespace cannot swap the tests out.

Each test runs in a private copy of the candidate's namespace whose builtins and imports come
from the pristine copies, so a candidate that patches ``builtins.abs`` or ``math.isclose`` at
load time or inside a call does not patch the tests.

Residual risk: this is Python guarding Python inside one process. The audit hook closes the
introspection routes CPython audits; a route it does not audit (a C extension with raw memory
access, a PathLike that changes its path between the check and the open) is not covered, nor
is state the tests share with the candidate below module level (``random.Random.randint = ...``,
``copy._deepcopy_dispatch`` or a stdlib function's ``__code__`` patched: CPython does not audit
class attributes or dict writes, and the standard library itself sets ``__code__`` and
``__defaults__`` while importing; rebinding a module attribute is covered by the pristine
copies). The ``call`` and
``stdio`` forms compute their verdicts outside the sandbox and do not depend on any of this.
"""

from __future__ import annotations

import ast
import base64
import functools
import marshal
import secrets
import sys
from dataclasses import dataclass, field
from typing import TypeVar

from .specs import AssertsTests, CheckTests

__all__ = ["Harness", "build_harness", "harden", "harden_tree"]

_N = TypeVar("_N", bound=ast.AST)

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


def _located(new: _N, old: ast.AST) -> _N:
    new.lineno = old.lineno  # type: ignore[attr-defined]
    new.col_offset = old.col_offset  # type: ignore[attr-defined]
    new.end_lineno = old.end_lineno  # type: ignore[attr-defined]
    new.end_col_offset = old.end_col_offset  # type: ignore[attr-defined]
    return new


class _Harden(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]) -> None:
        self.n = names

    def _call(self, helper: str, *args: ast.expr) -> ast.Call:
        at = args[0]  # new nodes take the wrapped node's location (compile needs one)
        func = _located(ast.Name(self.n[helper], ast.Load()), at)
        return _located(ast.Call(func=func, args=list(args), keywords=[]), at)

    def _p1(self, node: ast.expr) -> ast.expr:
        return self._call("p1", node)

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        if all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            return node
        names = [_located(ast.Constant(_CMP_NAMES[type(op)]), node) for op in node.ops]
        ops = _located(ast.Tuple(names, ast.Load()), node)
        return _located(self._call("cmp", ops, node.left, *node.comparators), node)

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
    return ast.unparse(harden_tree(ast.parse(source), names))


def harden_tree(tree: ast.Module, names: dict[str, str]) -> ast.Module:
    """`harden` on a parsed module, in place; the result compiles as is."""
    return _Harden(names).visit(tree)


def _imported_modules(trees: list[ast.Module]) -> list[str]:
    mods: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                mods.add(node.module)
    return sorted(mods)


# The trusted runtime that the setup runs before the candidate loads, in a private globals dict.
# Every name the inner functions use is bound here, at boot, before the candidate can patch
# builtins; nothing of it stays reachable from the shared namespace.
_RUNTIME = r"""
def _assay_boot(_ns, _nonce, _sources, _compiled, _modules, _harden, _case_s, _keep):
    import builtins as _b
    import os as _os
    import sys as _sys
    import types as _types
    _type, _id, _len, _iter, _dict, _set = type, id, len, iter, dict, set
    _str, _int, _range, _frozenset = str, int, range, frozenset
    _TypeError, _ValueError, _Exception = TypeError, ValueError, Exception
    _TimeoutError, _getattr = TimeoutError, getattr
    from signal import setitimer as _setitimer
    _compile, _exec, _import_fn = compile, exec, __import__
    _basename, _realpath, _fspath = _os.path.basename, _os.path.realpath, _os.fspath
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
    _trusted = _set()

    def p1(x):
        t = _type(x)
        if t in _atoms or t in _containers or t in _trusted or t is type:
            return x
        raise _TypeError("test saw a " + _str(t.__name__) + ", which is not a plain value")

    def deep(x):
        stack, seen = [x], _set()
        while stack:
            v = stack.pop()
            t = _type(v)
            if t in _atoms or t in _trusted or t is type:
                continue
            if t not in _containers:
                raise _TypeError("test saw a " + _str(t.__name__) + ", which is not a plain value")
            if t is range or t is slice or t is bytearray or _id(v) in seen:
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
            _import_fn(_m)
        except _Exception:
            continue
        _top = _m.split(".")[0]
        _copy = _types.ModuleType(_top)
        _copy.__dict__.update(_sys.modules[_top].__dict__)
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

    class _Module:  # dataclasses and pickle look the candidate's module up in sys.modules
        pass

    if _ns.get("__name__") not in _sys.modules:
        _mod = _Module()
        _mod.__dict__ = _ns
        _sys.modules[_ns["__name__"]] = _mod
    _helpers = {
        _harden["cmp"]: cmp, _harden["p1"]: p1, _harden["deep"]: deep, _harden["iter"]: it,
    }
    if _compiled is not None:  # compiled by the verifier for this very interpreter
        _codes = _compiled
    else:
        _codes = tuple(_compile(s, "<assay-test-%d>" % i, "exec") for i, s in enumerate(_sources))
    _state = []

    def _run(i):
        if i < 0:  # the task's setup just ran in the shared namespace: trust its classes
            _trusted.update(v for v in _ns.values() if _type(v) is type)
            return
        if not _state:  # a private namespace: the candidate's names, pristine builtins
            t = _dict(_ns)
            t["__builtins__"] = _tb
            t["__name__"] = "__main__"
            t.update(_helpers)
            _state.append(t)
        t = _state[0]
        before = _dict(t)
        if _case_s:  # a soft per-case limit; the sandbox's wall clock is the hard one
            _orig_signal(14, _on_alarm)  # SIGALRM
            _setitimer(0, _case_s)  # ITIMER_REAL
        try:
            _exec(_codes[i], t)
        finally:
            if _case_s:
                _setitimer(0, 0)
        for k in _keep:  # the task's prefix defines a stub of the entry point: not that one
            if k in _ns:
                t[k] = _ns[k]
        for k, v in _dict.items(t):
            if _type(v) is type and before.get(k) is not v:
                _trusted.add(v)  # a class the trusted test code defined

    # The guard: an audit hook (it cannot be removed) that blocks what would reach this runtime
    # or the sandbox's channel (frames, the garbage collector, raw memory, new programs), and
    # that runs test i when a statement carrying the run's secret reads its own frame.
    _prefix = _nonce + ":"
    _blocked = frozenset({
        "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile",
        "sys._getframemodulename", "sys.addaudithook", "gc.get_objects", "gc.get_referrers",
        "gc.get_referents", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
        "subprocess.Popen", "pty.spawn", "_posixsubprocess.fork_exec",
    })
    _frame_attrs = frozenset({"gi_frame", "cr_frame", "ag_frame", "f_back", "f_code"})
    _memory_files = frozenset({"mem", "pagemap", "kcore", "kmem"})
    _busy = [False]
    _started = _set()  # each trigger runs once: sys.exc_info() inside a test cannot re-enter

    def _blocked_error(what):
        return _ValueError("blocked by the test harness: " + what)

    def _guard(event, args):
        if _busy[0]:
            return
        if event == "object.__getattr__":
            name = args[1]
            if name == "tb_frame":
                _busy[0] = True
                try:
                    consts = args[0].tb_frame.f_code.co_consts
                finally:
                    _busy[0] = False
                for c in consts:
                    if _type(c) is _str and c.startswith(_prefix) and c not in _started:
                        _started.add(c)
                        _run(_int(c[_len(_prefix):]))
                        return
                raise _blocked_error("frame access")
            if name in _frame_attrs:
                raise _blocked_error("frame access")
            return
        if event in _blocked or event.startswith("ctypes."):
            raise _blocked_error(event)
        if event == "import" and args and _type(args[0]) is _str and args[0].startswith("_test"):
            raise _blocked_error("import " + args[0])
        if event == "open" and args and _type(args[0]) is not _int:
            path = _fspath(args[0])
            if _type(path) is bytes:
                path = path.decode("utf-8", "replace")
            if _basename(path) in _memory_files or _basename(_realpath(path)) in _memory_files:
                raise _blocked_error("opening " + path)

    try:  # other processes of this uid may not read this one's memory either
        import ctypes as _ctypes
        _ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0
    except _Exception:
        pass

    # Signal handlers receive the interrupted frame, and installing one raises no audit event:
    # handlers now get None for it. The original installer stays in this closure only, and
    # `_imp.create_builtin` may no longer build a fresh `_signal` module with a new one.
    import _imp
    import _signal
    import signal as _signal_py
    _orig_signal, _orig_create, _callable = _signal.signal, _imp.create_builtin, callable

    def _safe_signal(signalnum, handler):
        if _callable(handler):
            user = handler

            def handler(signum, frame):
                return user(signum, None)

        return _orig_signal(signalnum, handler)

    def _safe_create_builtin(spec):
        if _getattr(spec, "name", None) in ("_signal", "_imp"):
            raise ImportError("blocked by the test harness: a second " + _str(spec.name))
        return _orig_create(spec)

    _signal.signal = _safe_signal
    _signal_py.signal = _safe_signal
    _imp.create_builtin = _safe_create_builtin

    def _on_alarm(signum, frame):
        raise _TimeoutError("the test case ran past its time limit")

    _sys.addaudithook(_guard)
"""

# The setup's first lines: load the runtime from marshalled code when the sandbox runs this very
# interpreter (a fraction of the cost of compiling its source each run), else from source.
_LOADER = """\
def {boot}(_ns, _nonce, _sources, _compiled, _modules, _names, _case_s, _keep):
    import binascii, marshal, sys
    _g = {{"__builtins__": __builtins__, "__name__": "assay_harness"}}
    if sys.implementation.cache_tag == {cache_tag!r}:
        exec(marshal.loads(binascii.a2b_base64({runtime!r})), _g)
        _compiled = marshal.loads(binascii.a2b_base64(_compiled))
    else:
        exec(compile({source!r}, "<assay-harness>", "exec"), _g)
        _compiled = None
    _g["_assay_boot"](_ns, _nonce, _sources, _compiled, _modules, _names, _case_s, _keep)
{boot}({args})
del {boot}
"""


@functools.lru_cache(maxsize=1)
def _runtime_blob() -> str:
    code = compile(_RUNTIME, "<assay-harness>", "exec")
    return base64.b64encode(marshal.dumps(code)).decode("ascii")


# The exception's name lives in the shared namespace between the store and the load below. A
# candidate that knew it could plant an object there whose ``__del__`` (run by the store) swaps
# in a fake exception with a plain ``tb_frame``, so that the statement completes without running
# its test. The name is seen only while its own statement runs (``globals()`` inside the test);
# `Harness.render` gives every statement a fresh random one, so the next is never known.
_TRIGGER = (
    "try:\n    1 / 0\nexcept BaseException as _e_{slot}:\n"
    "    ({key!r}, _e_{slot}.__traceback__.tb_frame)\n"
)
NONCE = "__assay_nonce__"  # the placeholder `Harness.render` replaces with a fresh secret
SLOT = "__assay_slot__"  # the placeholder `Harness.render` replaces with a fresh name per statement


def _parses(src: str) -> bool:
    try:
        ast.parse(src)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _short_src(src: str, limit: int = 80) -> str:
    one = " ".join(src.split())
    return f"({one})" if len(one) <= limit else f"({one[: limit - 3]}...)"


@dataclass(frozen=True)
class Harness:
    """What to give ``run_statements``: ``setup`` (runs before the candidate) and
    ``statements`` (after it), as templates that `render` fills with a fresh secret per run.

    ``labels`` names each statement; ``cases`` is the number of statements that are test cases
    (the last ones; those before are the task's setup and module-level test code).
    """

    setup: str
    statements: list[str]
    labels: list[str]
    cases: int
    first_case: int = field(default=0)

    def render(self, nonce: str | None = None) -> tuple[str, list[str]]:
        """``(setup, statements)`` with the run's secret in place (fresh random by default)."""
        secret = nonce or secrets.token_hex(16)
        return (
            self.setup.replace(NONCE, secret).replace(SLOT, secrets.token_hex(8)),
            [s.replace(NONCE, secret).replace(SLOT, secrets.token_hex(8)) for s in self.statements],
        )


def build_harness(
    spec: AssertsTests | CheckTests,
    *,
    hardened: bool = True,
    tag: str | None = None,
    case_timeout: float | None = None,
    prefix: str | None = None,
) -> Harness:
    """The setup and statements that run ``spec``'s tests against a loaded candidate.

    ``prefix`` (``check`` form) is the task's start of the program, HumanEval's prompt: it also
    runs as trusted code before the tests. ``case_timeout`` (seconds) bounds each test statement
    softly (``TimeoutError`` in the
    statement, later statements still run); the sandbox's wall clock bounds the whole run.

    ``tag`` makes the runtime's names (default: random per call); a caller may reuse one to
    cache harnesses. The per-run secret goes in at `Harness.render`.
    """
    tag = tag or secrets.token_hex(8)
    names = {role: f"_{role}_{tag}" for role in ("cmp", "p1", "deep", "iter")}
    boot = f"_boot_{tag}"
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
        keep: tuple[str, ...] = ()
    else:
        # The task's prefix (HumanEval's prompt) runs trusted, so helpers the tests call
        # (``poly``, ``encode_cyclic``) are the task's even if the completion redefines them;
        # only the entry point is taken from the candidate.
        if prefix and prefix.strip() and _parses(prefix):
            prep.append(prefix)
        prep.append(spec.check)
        cases = [f"{spec.check_name}({spec.entry_point})"]
        task_setup = ""
        labels = ["task prefix"] * (len(prep) - 1) + [
            "check code",
            f"{spec.check_name}({spec.entry_point})",
        ]
        keep = (spec.entry_point,)
    sources = prep + cases
    trees = [ast.parse(src) for src in sources]
    modules = _imported_modules(trees)
    if hardened:
        trees = [harden_tree(t, names) for t in trees]
        sources = [ast.unparse(t) for t in trees]  # for an interpreter that needs the source
    codes = tuple(compile(t, f"<assay-test-{i}>", "exec") for i, t in enumerate(trees))
    compiled = base64.b64encode(marshal.dumps(codes)).decode("ascii")
    setup = _LOADER.format(
        boot=boot,
        cache_tag=sys.implementation.cache_tag,
        runtime=_runtime_blob(),
        source=_RUNTIME,
        args=(
            f"globals(), {NONCE!r}, {sources!r}, {compiled!r}, {modules!r}, {names!r}, "
            f"{case_timeout!r}, {keep!r}"
        ),
    )
    if task_setup.strip():  # the candidate may rely on the task's imports
        setup += task_setup + "\n" + _TRIGGER.format(slot=SLOT, key=f"{NONCE}:-1")
    statements = [_TRIGGER.format(slot=SLOT, key=f"{NONCE}:{i}") for i in range(len(sources))]
    return Harness(
        setup=setup, statements=statements, labels=labels, cases=len(cases), first_case=len(prep)
    )
