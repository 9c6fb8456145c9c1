"""`SandboxPool.run_tests`: trusted tests in their own process, the candidate reached by proxy.

What real test suites do has to keep working across the process boundary: several calls per
statement, calls nested in expressions, expected exceptions, argument mutation, classes and
generators the candidate returns, floats, helper classes defined by the task's setup.
"""

from __future__ import annotations

import pytest

from assay_sandbox import Limits, SandboxPool

FAST = Limits(wall_s=10, cpu_s=10)
LISTS = (
    "class ListNode:\n"
    "    def __init__(self, val=0, next=None):\n"
    "        self.val = val\n"
    "        self.next = next\n"
    "def build(xs):\n"
    "    head = None\n"
    "    for x in reversed(xs):\n"
    "        head = ListNode(x, head)\n"
    "    return head\n"
    "def items(node):\n"
    "    out = []\n"
    "    while node is not None:\n"
    "        out.append(node.val)\n"
    "        node = node.next\n"
    "    return out\n"
)


def run(pool: SandboxPool, source: str, statements: list[str], **kw: object) -> list[bool]:
    exports = kw.pop("exports", None)
    if exports is None:
        exports = sorted({n for n in ("f", "g", "Stack", "rev", "gen", "fail") if n in source})
    res = pool.run_tests(source, statements, exports=exports, limits=FAST, **kw)  # type: ignore[arg-type]
    assert res.load_error is None, res
    return [r.ok for r in res.results]


def test_several_and_nested_calls(process_pool: SandboxPool) -> None:
    src = "def f(x):\n    return x * 2\ndef g(a, b=1):\n    return a - b\n"
    stmts = [
        "assert f(1) + f(2) == 6",
        "assert f(g(f(3), b=2)) == 8",
        "assert [f(i) for i in range(4)] == [0, 2, 4, 6]",
        "assert f(g(1)) == 1",
    ]
    assert run(process_pool, src, stmts) == [True, True, True, False]


def test_expected_exceptions(process_pool: SandboxPool) -> None:
    src = (
        "class Bad(ValueError):\n    pass\n"
        "def f(x):\n    if x < 0:\n        raise Bad('negative')\n    return {}[x]\n"
    )
    stmts = [
        "try:\n    f(-1)\nexcept ValueError as e:\n    assert 'negative' in str(e)\nelse:\n    raise AssertionError",
        "try:\n    f(3)\nexcept KeyError:\n    pass\nelse:\n    raise AssertionError",
        "f(-1)",  # an unexpected exception fails the statement
    ]
    assert run(process_pool, src, stmts) == [True, True, False]


def test_the_tasks_own_exception_class_crosses_by_name(process_pool: SandboxPool) -> None:
    shared = "class InvalidInput(Exception):\n    pass\n"
    src = "def f(x):\n    raise InvalidInput('no')\n"
    stmt = "try:\n    f(1)\nexcept InvalidInput:\n    pass\nelse:\n    raise AssertionError"
    assert run(process_pool, src, [stmt], shared=shared) == [True]


def test_argument_mutation_comes_back(process_pool: SandboxPool) -> None:
    src = "def f(xs, d):\n    xs.sort()\n    d['n'] = len(xs)\n"
    stmts = [
        "xs = [3, 1, 2]\nd = {}\nassert f(xs, d) is None\nassert xs == [1, 2, 3] and d == {'n': 3}"
    ]
    assert run(process_pool, src, stmts) == [True]


def test_classes_and_generators_the_candidate_returns(process_pool: SandboxPool) -> None:
    src = (
        "class Stack:\n"
        "    def __init__(self):\n        self.items = []\n"
        "    def push(self, x):\n        self.items.append(x)\n"
        "    def pop(self):\n        return self.items.pop()\n"
        "    def __len__(self):\n        return len(self.items)\n"
        "def gen(n):\n    for i in range(n):\n        yield i * i\n"
    )
    stmts = [
        "s = Stack()\ns.push(1)\ns.push(2)\nassert s.pop() == 2 and len(s) == 1 and s.items == [1]",
        "assert list(gen(4)) == [0, 1, 4, 9]",
        "g = gen(3)\nassert next(g) == 0 and sum(g) == 5",
        "assert gen(2) == [0, 1]",  # a generator is not a list, here as in-process
    ]
    assert run(process_pool, src, stmts) == [True, True, True, False]


def test_a_lying_object_never_reaches_a_comparison(process_pool: SandboxPool) -> None:
    src = (
        "class Any:\n"
        "    def __eq__(self, o):\n        return True\n"
        "    def __bool__(self):\n        return True\n"
        "def f(x):\n    return Any()\n"
    )
    stmts = ["assert f(1) == 2", "assert f(1) != 3", "assert not f(0)", "assert [f(1)] == [2]"]
    assert run(process_pool, src, stmts) == [False, True, False, False]


def test_floats_cross_exactly(process_pool: SandboxPool) -> None:
    src = "def f(x):\n    return x / 3\n"
    stmts = [
        "import math\nassert math.isclose(f(1.0), 1 / 3)",
        "assert f(1.0) == 1 / 3",
        "assert type(f(3)) is float and f(3) == 1.0",
        "assert math.isnan(f(float('nan')))",
    ]
    assert run(process_pool, src, stmts) == [True, True, True, True]


def test_helper_classes_cross_as_values(process_pool: SandboxPool) -> None:
    src = (
        "def rev(head):\n"
        "    prev = None\n"
        "    while head:\n"
        "        head.next, prev, head = prev, head, head.next\n"
        "    return prev\n"
    )
    stmts = [
        "assert items(rev(build([1, 2, 3]))) == [3, 2, 1]",
        "assert rev(None) is None",
        "h = build(list(range(3000)))\nassert items(rev(h))[:2] == [2999, 2998]",  # a long chain
        "h = build([1, 2])\nrev(h)\nassert h.next is None",  # mutated in place
    ]
    assert run(process_pool, src, stmts, shared=LISTS) == [True, True, True, True]


def test_state_and_time_limits(process_pool: SandboxPool) -> None:
    src = "import time\ncalls = []\ndef f(x):\n    calls.append(x)\n    if x < 0:\n        time.sleep(60)\n    return len(calls)\n"
    stmts = ["assert f(1) == 1", "assert f(1) == 2", "f(-1)", "assert f(1) == 4"]
    # state carries over between statements; a call past its time is interrupted
    # (KeyboardInterrupt in the candidate), its statement fails, the next ones still run
    assert run(process_pool, src, stmts, case_wall_s=0.5) == [True, True, False, True]
    stubborn = (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "def f(x):\n    while x < 0:\n        pass\n    return x\n"
    )
    # a candidate that ignores the interrupt is killed; the statements after it fail
    stmts = ["assert f(1) == 1", "f(-1)", "assert f(2) == 2"]
    assert run(process_pool, stubborn, stmts, case_wall_s=0.5) == [True, False, False]


def test_builtins_and_task_helpers_stay_the_tasks(process_pool: SandboxPool) -> None:
    src = (
        "def f(x):\n    return 0\n"
        "sum = lambda *a: 3\nabs = lambda x: 0\nsorted = lambda *a: [1]\n"
        "def helper(x):\n    return 'forged'\n"
    )
    shared = "def helper(x):\n    return x + 1\n"
    stmts = ["assert sum([f(1)]) == 3", "assert abs(f(1) - 5) < 1", "assert helper(1) == 2"]
    res = process_pool.run_tests(
        src, stmts, shared=shared, exports=["f", "sum", "abs", "helper"], limits=FAST
    )
    assert [r.ok for r in res.results] == [False, False, True], res


def test_faults_say_whose_failure_it_is(process_pool: SandboxPool) -> None:
    ok = "def f(x):\n    return x\n"
    res = process_pool.run_tests(ok, ["import numpy_not_here\nassert f(1) == 1"], exports=["f"])
    assert res.results[0].fault == "task" and res.fault == "task", res
    res = process_pool.run_tests(ok, ["assert f(object()) == 1"], exports=["f"])
    assert res.results[0].fault == "task", res  # the test passes something that cannot cross
    res = process_pool.run_tests(ok, ["assert f(1) == 2"], exports=["f"])
    assert (res.status, res.fault, res.results[0].fault) == ("failed", "candidate", "candidate")
    # what the candidate raises or returns can never make a failure the task's
    raising = "def f(x):\n    raise ModuleNotFoundError('numpy')\n"
    res = process_pool.run_tests(raising, ["f(1)"], exports=["f"])
    assert res.results[0].fault == "candidate", res
    gen = "def f(x):\n    return (i for i in range(3))\n"
    res = process_pool.run_tests(gen, ["assert f([f(1)]) == 1"], exports=["f"])
    assert res.results[0].fault == "candidate", res
    res = process_pool.run_tests(ok, ["assert f(1) == 1"], setup="raise RuntimeError('broken')")
    assert (res.fault, res.load_error) == ("task", "setup: RuntimeError: broken"), res
    res = process_pool.run_tests("raise ValueError('x')", ["assert 1"], exports=["f"])
    assert (res.fault, res.load_error) == ("candidate", "source: ValueError: x"), res
    res = process_pool.run_tests(ok, ["assert f(1) == 1"], exports=["f"])
    assert (res.status, res.fault, res.completed) == ("ok", None, 1), res


@pytest.mark.parametrize("size", [1, 3])
def test_keep_lets_the_candidate_replace_a_stub(process_pool: SandboxPool, size: int) -> None:
    setup = "def f(x):\n    '''the task's stub'''\n\ndef check(c):\n    assert c(2) == 4\n"
    res = process_pool.run_tests(
        "def f(x):\n    return x * 2\n", ["check(f)"] * size, setup=setup, exports=["f"], keep=["f"]
    )
    assert (res.status, res.completed) == ("ok", size), res


def test_files_the_candidate_plants_are_never_imported_by_the_runner(
    process_pool: SandboxPool,
) -> None:
    src = (
        "for name in ('textwrap.py', 'sitecustomize.py', 'usercustomize.py'):\n"
        "    open(name, 'w').write('dedent = lambda s: \"forged\"\\n')\n"
        "import os\nos.makedirs('__pycache__', exist_ok=True)\n"
        "def f(x):\n    return x\n"
    )
    stmts = ["import textwrap\nassert textwrap.dedent('  x') == 'x' and f(1) == 1"]
    assert run(process_pool, src, stmts) == [True]


def test_functions_ranges_and_iterators_the_tests_pass_cross(process_pool: SandboxPool) -> None:
    src = (
        "from fractions import Fraction\n"
        "def apply(fn, xs):\n    return [fn(x) for x in xs]\n"
        "def total(xs):\n    return sum(xs)\n"
    )
    stmts = [
        "assert apply(lambda x: x + 1, [1, 2]) == [2, 3]",
        "assert apply(len, ['ab', '']) == [2, 0]",
        "assert total(range(5)) == 10 and total(x * x for x in range(3)) == 5",
        "from fractions import Fraction\nassert total([Fraction(1, 2), Fraction(1, 3)]) == Fraction(5, 6)",
        "from decimal import Decimal\nassert total([Decimal('0.1')] * 3) == Decimal('0.3')",
        "assert total(map(abs, [-1, -2])) == 3",
        "assert apply(lambda x: 1 / x, [0])",  # the test's function raises: the candidate sees it
    ]
    names = ["apply", "total", "len", "range", "x", "map", "abs", "Fraction", "Decimal"]
    assert run(process_pool, src, stmts, exports=names) == [True] * 6 + [False]


def test_handles_answer_len_and_in_from_their_items(process_pool: SandboxPool) -> None:
    src = (
        "class Everything:\n"
        "    def __contains__(self, x):\n        return True\n"
        "    def __len__(self):\n        return 3\n"
        "class Liar:\n"
        "    def __iter__(self):\n        return iter([1, 2])\n"
        "    def __len__(self):\n        return 5\n"
        "class Bag:\n"
        "    def __iter__(self):\n        return iter([1, 2])\n"
        "    def __len__(self):\n        return 2\n"
        "def every():\n    return Everything()\n"
        "def liar():\n    return Liar()\n"
        "def bag():\n    return Bag()\n"
        "def stop(x):\n    raise StopIteration\n"
    )
    stmts = [
        "assert 7 in every()",
        "assert len(every()) == 3",  # no items to contradict it: as a plain value could
        "assert len(liar()) == 5",
        "assert 2 in bag() and 3 not in bag() and len(bag()) == 2 and bag()",
        "assert not list(map(stop, [1, 2]))",  # a StopIteration from a call is a failure
    ]
    names = ["every", "liar", "bag", "stop", "len", "list", "map"]
    assert run(process_pool, src, stmts, exports=names) == [False, True, False, True, False]


def test_test_code_never_reaches_the_candidate_and_the_stream_stays_in_step(
    process_pool: SandboxPool,
) -> None:
    """The statements travel in a frame only the runner reads: a program that scans its own
    heap finds none of them, and a program that fails to compile (no runner forked: the frame
    is skipped unread) leaves the worker in step for the next request."""
    secret = "assert f(1) == 'needle-7f3a'"
    scan = (
        "import ctypes, re\n"
        "PAT = re.compile(rb'asser[t] f[(]1[)] == .neEdle-7f3a'.replace(b'E', b'e'))\n"
        "def f(x):\n"
        "    for line in open('/proc/self/maps'):\n"
        "        addr, perms = line.split()[:2]\n"
        "        lo, hi = (int(a, 16) for a in addr.split('-'))\n"
        "        if perms.startswith('rw') and hi - lo < (256 << 20) and ('[heap]' in line or not line[73:].strip()):\n"
        "            if PAT.search(ctypes.string_at(lo, hi - lo)):\n"
        "                return 'need' + 'le-7f3a'\n"
        "    return 'clean'\n"
    )
    for _ in range(2 * process_pool.size):
        bad = process_pool.run_tests("def f(:\n", [secret], exports=["f"], limits=FAST)
        assert bad.load_error and bad.fault == "candidate", bad
        assert run(process_pool, scan, [secret]) == [False]


def test_no_program_finds_an_earlier_program_in_its_memory(process_pool: SandboxPool) -> None:
    """Every request is served by a fresh session forked from a zygote that never reads one:
    a program's memory holds no earlier sample's program (a sibling's right answer) or tests."""
    if not process_pool.isolation.startswith("namespaces"):
        pytest.skip("sessions need programs under another uid (the namespaces layer)")
    scan = (
        "import ctypes, re\n"
        "PAT = re.compile(rb'SIBLING[_]ANSWER_[0-9]+')\n"
        "found = set()\n"
        "for line in open('/proc/self/maps'):\n"
        "    addr, perms = line.split()[:2]\n"
        "    lo, hi = (int(a, 16) for a in addr.split('-'))\n"
        "    if perms.startswith('rw') and hi - lo < (256 << 20) and ('[heap]' in line or not line[73:].strip()):\n"
        "        found.update(PAT.findall(ctypes.string_at(lo, hi - lo)))\n"
        "print(sorted(found))\n"
    )
    for i in range(process_pool.size):
        process_pool.run_script(f"def f():\n    return 'SIBLING_ANSWER_{i}'\n")
        process_pool.run_tests(
            "def g():\n    return 1\n", [f"assert g() != 'SIBLING_ANSWER_{i}7'"], exports=["g"]
        )
    for _ in range(2 * process_pool.size):
        assert process_pool.run_script(scan).stdout == "[]\n"
