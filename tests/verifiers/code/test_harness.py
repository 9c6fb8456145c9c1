"""The hardened harness, run in real subprocesses (a stand-in for the sandbox's run_statements,
so these tests check the AST rewrite and the trusted runtime alone)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assay_verifiers.code.harness import build_harness, harden
from assay_verifiers.code.specs import AssertsTests, CheckTests

_RUNNER = """
import json, sys
setup, source, statements, out = json.load(open(sys.argv[1]))
ns = {"__name__": "__main__"}
results = []
exec(setup, ns)
exec(source, ns)
for s in statements:
    try:
        exec(s, ns)
        results.append(None)
    except Exception as e:
        results.append(f"{type(e).__name__}: {e}")
open(out, "w").write(json.dumps(results))
"""


def run_harness(
    tmp_path: Path, spec: AssertsTests | CheckTests, source: str, hardened: bool = True
) -> list:
    h = build_harness(spec, hardened=hardened)
    out = tmp_path / "out.json"
    args = tmp_path / "args.json"
    setup, statements = h.render()
    args.write_text(json.dumps([setup, textwrap.dedent(source), statements, str(out)]))
    subprocess.run([sys.executable, "-c", _RUNNER, str(args)], check=True, timeout=30)
    return json.loads(out.read_text())[h.first_case :]


ALWAYS_EQ = """
class A:
    def __eq__(self, o): return True
    def __ne__(self, o): return False
    def __lt__(self, o): return True
    __le__ = __gt__ = __ge__ = __lt__
    def __bool__(self): return True
    def __sub__(self, o): return 0
    __rsub__ = __add__ = __radd__ = __sub__
    def __abs__(self): return 0
    def __float__(self): return 2.5
    def __contains__(self, o): return True
    def __len__(self): return 3
    def __hash__(self): return 0
    @property
    def __class__(self): return int
def f(*a): return A()
"""

HOSTILE = [
    ("always-equal object", ALWAYS_EQ, "assert f(1) == 2"),
    ("always-equal, flipped operands", ALWAYS_EQ, "assert 2 == f(1)"),
    ("always-equal, !=", ALWAYS_EQ, "assert not (f(1) != 2)"),
    ("lying __bool__", ALWAYS_EQ, "assert f(1)"),
    ("lying __lt__ in a chain", ALWAYS_EQ, "assert 0 < f(1) < 1"),
    ("lying __sub__ and __abs__", ALWAYS_EQ, "assert abs(f(1) - 2.5) < 1e-9"),
    ("lying __float__", ALWAYS_EQ, "assert math.isclose(f(1), 2.5)"),
    ("lying __contains__", ALWAYS_EQ, "assert 7 in f(1)"),
    ("lying __len__", ALWAYS_EQ, "assert len(f(1)) == 3"),
    ("fake __class__", ALWAYS_EQ, "assert isinstance(f(1), int)"),
    ("always-equal inside a list", ALWAYS_EQ, "assert [f(1)] == [2]"),
    ("always-equal in a generator", ALWAYS_EQ, "assert all(f(i) == i for i in range(3))"),
    ("always-equal via sorted", ALWAYS_EQ, "assert sorted([f(1), f(2)]) == [1, 2]"),
    (
        "str subclass",
        "class S(str):\n    def __eq__(self, o): return True\n    __hash__ = str.__hash__\ndef f(x): return S('no')",
        "assert f(1) == 'yes'",
    ),
    (
        "patched builtins.abs at load",
        "import builtins\nbuiltins.abs = lambda x: 0\ndef f(x): return 9.0",
        "assert abs(f(1) - 2.5) < 1e-9",
    ),
    (
        "patched math.isclose at load",
        "import math\nmath.isclose = lambda *a, **k: True\ndef f(x): return 9.0",
        "assert math.isclose(f(1), 2.5)",
    ),
    (
        "patched math.isclose inside the call",
        "def f(x):\n    import math\n    math.isclose = lambda *a, **k: True\n    return 9.0",
        "assert f(0) == 0 or math.isclose(f(1), 2.5)",
    ),
    (
        "rebinding the test's module name",
        "class M:\n    isclose = staticmethod(lambda *a, **k: True)\nmath = M()\ndef f(x): return 9.0",
        "assert math.isclose(f(1), 2.5)",
    ),
]


@pytest.mark.parametrize("name,source,test", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_values_fail_the_hardened_tests(
    tmp_path: Path, name: str, source: str, test: str
) -> None:
    spec = AssertsTests(asserts=[test], setup="import math")
    [error] = run_harness(tmp_path, spec, source)
    assert error is not None, f"{name} passed"


def test_the_battery_is_not_vacuous(tmp_path: Path) -> None:
    """Without hardening the same tricks pass: the hardened harness is what stops them."""
    tricks = [t for n, s, t in HOSTILE if s == ALWAYS_EQ and "isinstance" not in t]
    spec = AssertsTests(asserts=tricks, setup="import math")
    passed = [e is None for e in run_harness(tmp_path, spec, ALWAYS_EQ, hardened=False)]
    assert sum(passed) >= len(tricks) - 2, passed


LEGIT = """
import math
def f(x): return [(x, 'a'), (x + 1, 'b')]
def g(x): return {x: {1.5, 2.5}, 'k': None}
def h(x): return x > 0
def fl(x): return x / 3
def gen(n): return (i * i for i in range(n))
def node(vals):
    head = None
    for v in reversed(vals):
        head = ListNode(v, head)
    return head
"""
LEGIT_TESTS = [
    "assert f(1) == [(1, 'a'), (2, 'b')]",
    "assert g(2) == {2: {1.5, 2.5}, 'k': None}",
    "assert h(1) and not h(-1)",
    "assert h(1) is True",
    "assert abs(fl(1) - 0.3333333) < 1e-6",
    "assert math.isclose(fl(1), 1 / 3)",
    "assert list(gen(3)) == [0, 1, 4]",
    "assert sum(gen(3)) == 5",
    "assert isinstance(f(1), list) and len(f(1)) == 2",
    "assert type(fl(1)) == float",
    "assert 1 < len(f(0)) <= 2",
    "assert 'k' in g(0)",
    "assert sorted(g(0)[0]) == [1.5, 2.5]",
    "assert to_list(node([1, 2, 3])) == [1, 2, 3]",
]


def test_legitimate_values_pass_the_hardened_tests(tmp_path: Path) -> None:
    setup = textwrap.dedent(
        """
        class ListNode:
            def __init__(self, val, nxt=None):
                self.val, self.next = val, nxt
        def to_list(n):
            out = []
            while n:
                out.append(n.val)
                n = n.next
            return out
        """
    )
    spec = AssertsTests(asserts=LEGIT_TESTS, setup=setup)
    assert run_harness(tmp_path, spec, LEGIT) == [None] * len(LEGIT_TESTS)


def test_check_form_runs_the_check_function(tmp_path: Path) -> None:
    check = "METADATA = {}\n\ndef check(candidate):\n    assert candidate(2) == 4\n"
    spec = CheckTests(check=check, entry_point="sq")
    assert run_harness(tmp_path, spec, "def sq(x): return x * x") == [None]
    [err] = run_harness(tmp_path, spec, "def sq(x): return x + 1")
    assert err.startswith("AssertionError")


def test_harden_leaves_identity_checks_alone() -> None:
    names = {"cmp": "C", "p1": "P", "deep": "D", "iter": "I"}
    assert harden("x is None", names) == "x is None"
    assert harden("a == b", names) == "C(('==',), a, b)"
    assert harden("assert x", names) == "assert P(x)"


def test_helper_names_are_fresh_per_harness() -> None:
    spec = AssertsTests(asserts=["assert f() == 1"])
    assert build_harness(spec).setup != build_harness(spec).setup


def test_trigger_names_are_fresh_per_render() -> None:
    """A name seen during one run (or one statement) never predicts the next one's."""
    h = build_harness(AssertsTests(asserts=["assert f() == 1", "assert f() == 2"]))
    _, first = h.render("secret")
    _, again = h.render("secret")
    assert first[0] != again[0] and first[1] != again[1]
    names = [s.split(" as ")[1].split(":")[0] for s in first]
    assert len(set(names)) == len(names)


def test_runtime_falls_back_to_source_on_another_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marshalled runtime is used only by the same interpreter; another one compiles the
    source (a Docker sandbox may run a different Python)."""
    import assay_verifiers.code.harness as harness_mod

    monkeypatch.setattr(harness_mod.sys.implementation, "cache_tag", "other-python-99")
    spec = AssertsTests(asserts=["assert f(1) == 2", "assert f(1) == 3"], setup="import math")
    assert "other-python-99" in build_harness(spec).setup
    assert [e is None for e in run_harness(tmp_path, spec, "def f(x): return x + 1")] == [
        True,
        False,
    ]
    [err, _] = run_harness(tmp_path, spec, ALWAYS_EQ)
    assert err is not None
