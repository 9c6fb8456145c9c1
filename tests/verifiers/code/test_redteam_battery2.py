"""A third attacker's battery against the ``code`` reward: new programs, every test form.

Every attack is a *wrong* program (it does not compute the task) that tries to be scored above
0, to turn its failure into ``unverifiable``/``error``, to stall the reward, or to leave state on
the host. None repeats ``test_hostile_verdicts.py`` or ``test_redteam_battery.py``. Families:

- failures of the candidate that the test's own ``except Exception`` would swallow: a process
  that dies, hangs past the statement's time, answers something undecodable, or raises
  ``SystemExit``/``KeyboardInterrupt`` exactly where a ``check`` expects an error;
- values that cross as data but cannot cross back (an iterator smuggled inside a container or a
  helper object), or an iterator the test builds over a huge answer: the next call would blame
  the task (``unverifiable``);
- a load-time exception class named like the runner's own prefixes (``setup``);
- ``stdio`` judging: numeric tolerance that lets an approximate float stand for an exact integer
  answer, the special judge's files read by the program, output that crashes or stalls a
  fragile special judge (a failure the judge did not decide is not the task's by default);
- objects that lie about their class, subclasses of builtins, callbacks that recurse without
  end, the runner's memory through ``/proc``, helpers of the prompt redefined;
- names: builtin-named helpers (``sorted``, ``all``, ``abs``) supplied beside a builtin-named
  entry point; the import prelude standing in for a ``call`` entry point; expected values parked
  in a class body of the ``setup`` (which the candidate's process also runs);
- a language the machine lacks, chosen by the completion's fence (``unverifiable``);
- host state: daemons that leave the session, SysV semaphores, POSIX semaphores, unremovable
  and unreachable work-dir entries (mode 000, past ``PATH_MAX``, FIFOs, sockets, symlinks).

Every attack goes through the public API (``assay.get_reward("code", ...)``) and the real
sandbox; only the missing toolchain is simulated (every one is installed here). Honest controls
(odd but correct programs) score 1.0. After the battery no stray process, IPC object or file is
left. The fixes' own properties (integer answers under ``float_tol``, no iterator decoded from
the candidate) are checked on generated input at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assay
from assay import Sample
from assay_sandbox import codec
from assay_verifiers.code.compare import outputs_match

# -- the tasks ---------------------------------------------------------------------------------
# isqrt(n): the integer square root; a negative n must raise
ISQRT_CHECK = {
    "type": "check",
    "entry_point": "isqrt",
    "check": (
        "def check(candidate):\n"
        "    assert candidate(16) == 4\n"
        "    assert candidate(10) == 3\n"
        "    try:\n"
        "        candidate(-1)\n"
        "    except Exception:\n"
        "        pass\n"
        "    else:\n"
        "        raise AssertionError('no error for a negative number')\n"
    ),
}
ISQRT_ASSERTS = {  # one statement: the error case alone
    "type": "asserts",
    "asserts": [
        "try:\n    isqrt(-4)\nexcept Exception:\n    ok = True\nelse:\n    ok = False\nassert ok",
    ],
}
ISQRT_RIGHT = (
    "def isqrt(n):\n"
    "    if n < 0:\n        raise ValueError('negative')\n"
    "    r = int(n ** 0.5)\n"
    "    while r * r > n:\n        r -= 1\n"
    "    while (r + 1) * (r + 1) <= n:\n        r += 1\n"
    "    return r\n"
)


def isqrt_then(on_negative: str, head: str = "") -> str:
    """isqrt right for n >= 0, and ``on_negative`` (indented code) instead of raising."""
    return (
        head + "def isqrt(n):\n"
        "    if n < 0:\n" + "".join(f"        {ln}\n" for ln in on_negative.splitlines()) + ""
        "    r = int(n ** 0.5)\n"
        "    while r * r > n:\n        r -= 1\n"
        "    while (r + 1) * (r + 1) <= n:\n        r += 1\n"
        "    return r\n"
    )


# encode / decode round trip: both functions are the candidate's
ROUNDTRIP_ASSERTS = {
    "type": "asserts",
    "asserts": [
        "assert decode(encode('abc')) == 'abc'",
        "assert decode(encode('hello world')) == 'hello world'",
    ],
}
ROUNDTRIP_CHECK = {
    "type": "check",
    "entry_point": "normalize",
    "check": (
        "def check(candidate):\n"
        "    once = candidate([3, 1, 2])\n"
        "    assert candidate(once) == [1, 2, 3]\n"
    ),
}
BOX_ASSERTS = {  # a task's helper class crosses as a value
    "type": "asserts",
    "setup": "class Box:\n    def __init__(self, v):\n        self.v = v\n",
    "asserts": ["assert unbox(wrap(3)) == 3", "assert unbox(wrap('x')) == 'x'"],
}
SCALE_CALL = {
    "type": "call",
    "fn_name": "scale",
    "cases": [
        {"args": [[1, 2], 3], "expected": [3, 6]},
        {"args": [[5], 2], "expected": [10]},
    ],
}
SCALE_ASSERTS = {
    "type": "asserts",
    "asserts": ["assert scale([1, 2], 3) == [3, 6]", "assert scale([5], 2) == [10]"],
}
SCALE_CHECK = {
    "type": "check",
    "entry_point": "scale",
    "check": (
        "def check(candidate):\n"
        "    assert candidate([1, 2], 3) == [3, 6]\n"
        "    assert candidate([5], 2) == [10]\n"
    ),
}
SCALE_STDIO = {
    "type": "stdio",
    "cases": [
        {"input": "2\n1 2\n3\n", "output": "3 6\n"},
        {"input": "1\n5\n2\n", "output": "10\n"},
    ],
}
# factorial of n (exact integer output): with float_tol a float approximation must not pass
FACT_STDIO = {
    "type": "stdio",
    "cases": [
        {"input": "25\n", "output": "15511210043330985984000000\n"},
        {"input": "22\n", "output": "1124000727777607680000\n"},
    ],
}
FACT_APPROX = (
    "import math\nn = int(input())\n"
    "print(repr(math.exp(math.lgamma(n + 1))))\n"  # a float, off in the last digits
)
FACT_APPROX_ROUNDED = (  # the float's integer digits, wrong in the low places
    "import math\nn = int(input())\nprint(int(math.exp(math.lgamma(n + 1))))\n"
)
# a stdio task with a special judge (Python checker): any two numbers summing to n
SUM_CHECKER = (
    "import sys\n"
    "n = int(open(sys.argv[1]).read())\n"
    "out = open(sys.argv[2]).read().split()\n"
    "if len(out) != 2:\n    sys.exit(1)\n"
    "a, b = (int(x) for x in out)\n"
    "sys.exit(0 if a + b == n and a >= 0 and b >= 0 else 1)\n"
)
SUM_JUDGED = {
    "type": "stdio",
    "cases": [{"input": "7", "output": "3 4"}, {"input": "10", "output": "5 5"}],
    "checker": {"language": "python", "source": SUM_CHECKER},
}
# a checker in C with a fixed token buffer (as old testlib-less checkers are written)
C_CHECKER = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    char want[64], got[64];
    FILE *a = fopen(argv[3], "r"), *o = fopen(argv[2], "r");
    if (!a || !o) return 3;
    if (fscanf(a, "%s", want) != 1) return 3;
    if (fscanf(o, "%s", got) != 1) return 1;
    return strcmp(want, got) == 0 ? 0 : 1;
}
"""
WORD_JUDGED_C = {
    "type": "stdio",
    "cases": [{"input": "abc", "output": "cba"}, {"input": "hello", "output": "olleh"}],
    "checker": {"language": "c", "source": C_CHECKER},
}
# a Python checker quadratic in the number of output tokens
SLOW_CHECKER = (
    "import sys\n"
    "want = open(sys.argv[3]).read().split()\n"
    "got = open(sys.argv[2]).read().split()\n"
    "dups = sum(1 for i in range(len(got)) for j in range(i) if got[i] == got[j])\n"
    "sys.exit(0 if got == want and dups == 0 else 1)\n"
)
WORD_JUDGED_SLOW = {
    "type": "stdio",
    "cases": [{"input": "abc", "output": "cba"}, {"input": "hello", "output": "olleh"}],
    "checker": {"language": "python", "source": SLOW_CHECKER},
}
REVERSE_RIGHT = "print(input().strip()[::-1])\n"
# HumanEval/38 style: the check uses a helper the prompt defines
CYCLIC_PROMPT = (
    "def encode_shift(s: str) -> str:\n"
    '    """shift every letter by 5"""\n'
    "    return ''.join(chr((ord(c) + 5 - ord('a')) % 26 + ord('a')) for c in s)\n\n\n"
    "def decode_shift(s: str) -> str:\n"
    '    """undo encode_shift"""\n'
)
CYCLIC_CHECK = {
    "type": "check",
    "entry_point": "decode_shift",
    "check": (
        "def check(candidate):\n"
        "    for word in ['abc', 'hello', 'xyz']:\n"
        "        assert candidate(encode_shift(word)) == word\n"
    ),
}


COUNT_EVENS = {
    "type": "asserts",
    "asserts": [
        "assert count_evens(iter(evens_upto(10))) == 5",
        "assert count_evens(x for x in evens_upto(6)) == 3",
    ],
}
SLICED = {
    "type": "asserts",
    "asserts": ["assert evens(6)[:2] == [0, 2]", "assert evens(10)[1:3] == [2, 4]"],
}
FORGE_CHANNEL = (  # the channel object of the program's own process, found by a frame walk
    "import os, sys\nf, chan = sys._getframe(), None\n"
    "while f is not None:\n    chan = f.f_locals.get('chan') or chan\n    f = f.f_back\n"
    "if chan is not None:\n    chan.send(MESSAGE)\n"
)
GCD_CALL = {
    "type": "call",
    "fn_name": "gcd",
    "cases": [{"args": [12, 8], "expected": 4}, {"args": [9, 6], "expected": 3}],
}
MAX_BY_SORTED = {
    "type": "asserts",
    "asserts": [
        "assert max([3, 1, 2]) == sorted([3, 1, 2])[-1]",
        "assert max([5, 9]) == sorted([5, 9])[-1]",
    ],
}


@dataclass
class Case:
    """One program scored against one test form; ``want`` is the value a sound reward gives."""

    name: str
    program: str
    tests: dict[str, Any]
    want: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)
    prompt: str = ""


SMUGGLE = "from assay_sandbox.codec import Materialized\n"
COLLIDING = "def _bomb():\n    return {k * (2**61 - 1): 0 for k in range(1, 60)}\n"
CLASS_LIE = (
    "class Liar:\n    __class__ = list\n"
    "    def __eq__(self, other):\n        return True\n"
    "    def __len__(self):\n        return 2\n"
)
RUNNER_MEMORY = r"""
import os, re
def _steal():
    found = {}
    for p in os.listdir('/proc'):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            maps = open(f'/proc/{p}/maps').read().splitlines()
            mem = open(f'/proc/{p}/mem', 'rb')
        except OSError:
            continue
        for line in maps:
            span, perms = line.split()[:2]
            if 'r' not in perms:
                continue
            lo, hi = (int(x, 16) for x in span.split('-'))
            try:
                mem.seek(lo)
                blob = mem.read(min(hi - lo, 1 << 24))
            except (OSError, ValueError, OverflowError):
                continue
            for m in re.finditer(rb'scale\((\[[\d, ]*\]), (\d+)\) == (\[[\d, ]*\])', blob):
                found[m.group(1).decode() + m.group(2).decode()] = eval(m.group(3))
    return found
_T = None
def scale(xs, k):
    global _T
    if _T is None:
        _T = _steal()
    return _T.get(str(xs) + str(k), [])
"""
DAEMON = r"""
import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.chdir('/')
        end = time.time() + 60
        while time.time() < end:
            try:
                open('/tmp/daemon-note', 'w').write('[3, 6]')
            except OSError:
                pass
            time.sleep(0.2)
    os._exit(0)
time.sleep(0.3)
"""
SYSV_SEM = r"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
for key in range(1, 9):
    libc.semget(0x5EED00 + key, 4, 0o1666)  # IPC_CREAT | 0666
"""
POSIX_SEM = r"""
try:
    import _multiprocessing
    _sems = [_multiprocessing.SemLock(1, 1, 1, f'/assay-note-{i}', False) for i in range(4)]
except Exception:
    _sems = []
"""
WORKDIR_TRAPS = r"""
import os, socket
try:
    os.makedirs('locked/inner', exist_ok=True)
    open('locked/inner/f', 'w').write('x')
    os.chmod('locked/inner', 0)
    os.chmod('locked', 0o100)
except OSError:
    pass
try:
    os.mkfifo('pipe')
except OSError:
    pass
try:
    s = socket.socket(socket.AF_UNIX)
    s.bind('sock')
except OSError:
    pass
for target, name in (('/', 'root'), ('.', 'loop'), ('/proc/self/cwd', 'cwd')):
    try:
        os.symlink(target, name)
    except OSError:
        pass
try:
    open(b'bad\xff\xfename', 'w').close()
except OSError:
    pass
try:
    fd = os.open('.', os.O_RDONLY)
    for _ in range(40):
        name = 'd' * 250
        os.mkdir(name, dir_fd=fd)
        new = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = new
    os.close(fd)
except OSError:
    pass
"""

FORGED_REPLIES = r"""
import assay_sandbox.proxy as proxy
_real = proxy._perform
def _forged(table, req):
    if req.get("op") == "call":
        return {"exc": ["ModuleNotFoundError", "ImportError", "No module named 'numpy'"],
                "fault": "task", "gone": False, "ok": True}
    return _real(table, req)
proxy._perform = _forged
"""
STRAY_CALLBACK = r"""
import gc
from assay_sandbox.proxy import _Table, send_msg
def scale(xs, k):
    table = next(o for o in gc.get_objects() if isinstance(o, _Table))
    send_msg(table.sock, {"cb": 3, "args": [], "kwargs": {}})
    return [x * k for x in xs]
"""

CASES: list[Case] = [
    # -- a candidate failure the test's own `except Exception` would swallow
    Case(
        "check: the process exits where an error is expected",
        isqrt_then("import os\nos._exit(0)"),
        ISQRT_CHECK,
    ),
    Case(
        "check: hangs past the statement time where an error is expected",
        isqrt_then("while True:\n    pass"),
        ISQRT_CHECK,
    ),
    Case(
        "check: sleeps where an error is expected",
        isqrt_then("import time\ntime.sleep(60)"),
        ISQRT_CHECK,
    ),
    Case(
        "check: raises SystemExit where an error is expected",
        isqrt_then("raise SystemExit(0)"),
        ISQRT_CHECK,
    ),
    Case(
        "check: raises KeyboardInterrupt where an error is expected",
        isqrt_then("raise KeyboardInterrupt"),
        ISQRT_CHECK,
    ),
    Case(
        "check: raises GeneratorExit where an error is expected",
        isqrt_then("raise GeneratorExit"),
        ISQRT_CHECK,
    ),
    Case(
        "check: an undecodable answer where an error is expected",
        isqrt_then("return _bomb()", head=COLLIDING),
        ISQRT_CHECK,
    ),
    Case(
        "check: a reply over the size cap where an error is expected",
        isqrt_then("return 'x' * (80 << 20)"),
        ISQRT_CHECK,
    ),
    Case(
        "check: kills its own process group where an error is expected",
        isqrt_then("import os, signal\nos.kill(0, signal.SIGKILL)"),
        ISQRT_CHECK,
    ),
    Case(
        "asserts: the process exits where an error is expected",
        isqrt_then("import os\nos._exit(3)"),
        ISQRT_ASSERTS,
    ),
    Case(
        "asserts: hangs where an error is expected",
        isqrt_then("while True:\n    pass"),
        ISQRT_ASSERTS,
    ),
    Case(
        "asserts: raises SystemExit where an error is expected",
        isqrt_then("raise SystemExit('bye')"),
        ISQRT_ASSERTS,
    ),
    Case(
        "asserts: closes the control socket where an error is expected",
        isqrt_then("import os\nos.closerange(3, 1024)\nreturn 0"),
        ISQRT_ASSERTS,
    ),
    # -- values that cross in but not back out: blame shifted to the task
    Case(
        "an iterator smuggled in a tuple, passed back: asserts",
        SMUGGLE + "def encode(s):\n    return (Materialized([]),)\ndef decode(t):\n    return ''\n",
        ROUNDTRIP_ASSERTS,
    ),
    Case(
        "an iterator smuggled in a list, passed back: check",
        SMUGGLE + "def normalize(xs):\n    return [Materialized(xs)]\n",
        ROUNDTRIP_CHECK,
    ),
    Case(
        "an iterator smuggled in a dict value, passed back: asserts",
        SMUGGLE + "def encode(s):\n    return {'it': Materialized([1])}\n"
        "def decode(t):\n    return ''\n",
        ROUNDTRIP_ASSERTS,
    ),
    Case(
        "an iterator smuggled in a helper object's attribute",
        SMUGGLE + "def wrap(v):\n    b = Box(0)\n    b.v = Materialized([v])\n    return b\n"
        "def unbox(b):\n    return None\n",
        BOX_ASSERTS,
    ),
    Case(
        "a helper object whose attribute is itself (a cycle), passed back",
        "def wrap(v):\n    b = Box(0)\n    b.v = b\n    return b\ndef unbox(b):\n    return None\n",
        BOX_ASSERTS,
    ),
    Case(
        "a value 199 deep, passed back",
        "def encode(s):\n    v = s\n    for _ in range(199):\n        v = [v]\n    return v\n"
        "def decode(t):\n    return None\n",
        ROUNDTRIP_ASSERTS,
    ),
    Case(
        "asserts: 200,001 items behind the iterator the test builds over its answer",
        "def evens_upto(n):\n    return list(range(200001))\n"
        "def count_evens(it):\n    return sum(1 for _ in it)\n",
        COUNT_EVENS,
    ),
    Case(
        "asserts: an object of its own class where the test slices the answer",
        "class S:\n    def __getitem__(self, k):\n        return [7]\ndef evens(n):\n    return S()\n",
        SLICED,
    ),
    # -- messages forged on the program's own channel with fields of the wrong type
    Case(
        "stdio: a forged exception message whose error is a number",
        FORGE_CHANNEL.replace("MESSAGE", "t='exc', error=5, memory=1") + "print(0)\n",
        SCALE_STDIO,
    ),
    Case(
        "call: a forged load error whose error is a number, then an exit",
        FORGE_CHANNEL.replace("MESSAGE", "t='load_error', error=5")
        + "os._exit(0)\ndef scale(xs, k):\n    return []\n",
        SCALE_CALL,
    ),
    # -- names the runner prefixes errors with
    Case(
        "call: a load-time exception class named setup",
        "class setup(Exception):\n    pass\nraise setup('the task setup failed')\n"
        "def scale(xs, k):\n    return []\n",
        SCALE_CALL,
    ),
    Case(
        "call: an exception class named setup raised per call",
        "class setup(Exception):\n    pass\ndef scale(xs, k):\n    raise setup('x')\n",
        SCALE_CALL,
    ),
    Case(
        "asserts: a load-time exception class named setup",
        "class setup(Exception):\n    pass\nraise setup('boom')\n",
        SCALE_ASSERTS,
    ),
    Case(
        "call: a load-time ModuleNotFoundError of its own import",
        "import numpy_that_does_not_exist\ndef scale(xs, k):\n    return []\n",
        SCALE_CALL,
    ),
    Case(
        "check: a ModuleNotFoundError raised by the call",
        "def scale(xs, k):\n    raise ModuleNotFoundError(\"No module named 'numpy'\")\n",
        SCALE_CHECK,
    ),
    # -- objects that lie
    Case(
        "call: an object whose __class__ says list",
        CLASS_LIE + "def scale(xs, k):\n    return Liar()\n",
        SCALE_CALL,
    ),
    Case(
        "call: an int subclass equal to everything",
        "class I(int):\n    def __eq__(self, o):\n        return True\n    __hash__ = int.__hash__\n"
        "def scale(xs, k):\n    return [I(0), I(0)]\n",
        SCALE_CALL,
    ),
    Case(
        "call: a dict that looks like a tagged tuple",
        "def scale(xs, k):\n    return {'$tuple': [x * k for x in xs]}\n",
        SCALE_CALL,
    ),
    Case(
        "asserts: an object whose __class__ says list",
        CLASS_LIE + "def scale(xs, k):\n    return Liar()\n",
        SCALE_ASSERTS,
    ),
    Case(
        "check: a list subclass with a lying __eq__ and __iter__",
        "class L(list):\n    def __eq__(self, o):\n        return True\n"
        "def scale(xs, k):\n    return L([0])\n",
        SCALE_CHECK,
    ),
    Case(
        "asserts: a callback the candidate calls back into itself without end",
        "def apply(fn, xs):\n    class Again:\n        def __iter__(self):\n"
        "            return iter([fn(self)])\n    return fn(Again())\n",
        {"type": "asserts", "asserts": ["assert apply(len, [1, 2]) == 2"]},
    ),
    Case("asserts: the runner's memory through /proc", RUNNER_MEMORY, SCALE_ASSERTS),
    Case(
        "check: the prompt's helper the check uses, redefined",
        "def encode_shift(s):\n    return s\n\ndef decode_shift(s):\n    return s\n",
        CYCLIC_CHECK,
        prompt=CYCLIC_PROMPT,
    ),
    Case(
        "check: its own check function",
        "def check(candidate):\n    pass\ndef scale(xs, k):\n    return []\n",
        SCALE_CHECK,
    ),
    # -- stdio judging
    Case(
        "stdio with float_tol: a float approximation of an exact integer",
        FACT_APPROX,
        FACT_STDIO,
        options={"float_tol": 1e-6},
    ),
    Case(
        "stdio with float_tol: the approximation's digits as an integer",
        FACT_APPROX_ROUNDED,
        FACT_STDIO,
        options={"float_tol": 1e-6},
    ),
    Case(
        "stdio tokens mode with float_tol: an approximate integer",
        FACT_APPROX_ROUNDED,
        FACT_STDIO,
        options={"float_tol": 1e-9, "output_mode": "tokens"},
    ),
    Case(
        "stdio with a checker: reads the checker's answer file",
        "import os, glob\nn = int(input())\n"
        "spots = ['answer.txt', '../answer.txt', '/tmp/answer.txt'] + glob.glob('/proc/*/cwd/answer.txt')\n"
        "for p in spots + glob.glob('/*/answer.txt') + glob.glob('/*/*/answer.txt'):\n"
        "    try:\n        print(open(p).read())\n        break\n    except OSError:\n        pass\n"
        "else:\n    print(n, 0, 0)\n",
        SUM_JUDGED,
    ),
    Case(
        "stdio with a C checker: a token that overflows its buffer",
        "input()\nprint('A' * 100000)\n",
        WORD_JUDGED_C,
        options={"checker_timeout": 3.0},
    ),
    Case(
        "stdio with a quadratic checker: many tokens",
        "input()\nprint(' '.join(['x'] * 200000))\n",
        WORD_JUDGED_SLOW,
        options={"checker_timeout": 1.5},
    ),
    Case(
        "stdio: an output flood",
        "import sys\nwhile True:\n    sys.stdout.write('3 6\\n' * 4096)\n",
        SCALE_STDIO,
    ),
    Case(
        "stdio: every plausible answer, one per line",
        "for a in range(1, 11):\n    print(a * 3, a * 6)\n",
        SCALE_STDIO,
    ),
    Case(
        "stdio: the answer then SIGKILL of itself",
        "import os, signal\ninput()\nxs = input().split()\nk = int(input())\n"
        "print(*(int(x) * k for x in xs), flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n",
        SCALE_STDIO,
    ),
    # -- host state
    Case(
        "a double-forked daemon that leaves the session",
        DAEMON + "def scale(xs, k):\n    return []\n",
        SCALE_ASSERTS,
    ),
    Case("a double-forked daemon: stdio", DAEMON + "print(0)\n", SCALE_STDIO),
    Case(
        "SysV semaphores for the next sample",
        SYSV_SEM + "def scale(xs, k):\n    return []\n",
        SCALE_ASSERTS,
    ),
    Case(
        "POSIX named semaphores for the next sample",
        POSIX_SEM + "def scale(xs, k):\n    return []\n",
        SCALE_CALL,
    ),
    Case(
        "work-dir traps: mode 000, FIFO, socket, symlinks, PATH_MAX",
        WORKDIR_TRAPS + "def scale(xs, k):\n    return []\n",
        SCALE_ASSERTS,
    ),
    Case("work-dir traps: stdio", WORKDIR_TRAPS + "print(0)\n", SCALE_STDIO),
    # -- more: replies forged by the candidate's own copy of the proxy, stops, late answers
    Case(
        "check: its proxy patched to answer ModuleNotFoundError marked as the task's",
        FORGED_REPLIES + ISQRT_RIGHT.replace("raise ValueError('negative')", "return 0"),
        ISQRT_CHECK,
    ),
    Case("asserts: a call back to a function the test never passed", STRAY_CALLBACK, SCALE_ASSERTS),
    Case(
        "check: stops itself (SIGSTOP) where an error is expected",
        isqrt_then("import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)"),
        ISQRT_CHECK,
    ),
    Case(
        "check: swallows the interrupt and raises the expected error late",
        isqrt_then(
            "import time\ntry:\n    time.sleep(3)\nexcept KeyboardInterrupt:\n    pass\n"
            "raise ValueError('negative')"
        ),
        ISQRT_CHECK,
    ),
    Case(
        "asserts: its own class named like the task's helper, equal to everything",
        "class Box:\n    def __init__(self, v):\n        self.v = v\n"
        "    def __eq__(self, o):\n        return True\n"
        "def wrap(v):\n    return Box(None)\ndef unbox(b):\n    return b\n",
        {**BOX_ASSERTS, "asserts": ["assert unbox(wrap(3)) == Box(3)"]},
    ),
    Case(
        "call: an iterator of the right items instead of a list",
        SMUGGLE + "def scale(xs, k):\n    return Materialized([x * k for x in xs])\n",
        SCALE_CALL,
    ),
    Case(
        "call: a reply near the size cap in every case",
        "def scale(xs, k):\n    return ['x' * 1000] * 7000\n",
        SCALE_CALL,
    ),
    Case(
        "call: the LeetCode class exits in __init__",
        "class Solution:\n    def __init__(self):\n        raise SystemExit(0)\n"
        "    def scale(self, xs, k):\n        return [x * k for x in xs]\n",
        {**SCALE_CALL, "fn_name": "Solution.scale"},
    ),
    Case(
        "stdio: answered in a language no toolchain covers",
        "```kotlin\nfun main() { println(readLine()) }\n```\n",
        SCALE_STDIO,
    ),
    Case(
        "asserts: an atexit hook that hangs after a wrong answer",
        "import atexit, time\natexit.register(time.sleep, 60)\ndef scale(xs, k):\n    return []\n",
        SCALE_ASSERTS,
    ),
    Case(
        "asserts: a returned object whose __del__ hangs",
        "import time\nclass R:\n    def __del__(self):\n        time.sleep(60)\n"
        "def scale(xs, k):\n    return R()\n",
        SCALE_ASSERTS,
    ),
    # -- test data a task parks in a helper class of its setup
    Case(
        "asserts: expected values read from a class body in the setup",
        "def add(a, b):\n    return Cases.table[(a, b)]\n",
        {
            "type": "asserts",
            "setup": "class Cases:\n    table = {(1, 2): 3, (5, 5): 10}\n",
            "asserts": [
                "assert add(1, 2) == Cases.table[(1, 2)]",
                "assert add(5, 5) == Cases.table[(5, 5)]",
            ],
        },
    ),
    Case(
        "asserts: expected values from a dataclass default in the setup",
        "def add(a, b):\n    return Spec().answers[(a, b)]\n",
        {
            "type": "asserts",
            "setup": (
                "from dataclasses import dataclass, field\n"
                "@dataclass\nclass Spec:\n"
                "    answers: dict = field(default_factory=lambda: {(1, 2): 3, (5, 5): 10})\n"
            ),
            "asserts": ["assert add(1, 2) == 3", "assert add(5, 5) == 10"],
        },
    ),
    # -- the import prelude standing in for the entry point
    Case(
        "call with the prelude: no program, a task named like a prelude import (gcd)",
        "x = 1\n",
        GCD_CALL,
        options={"prelude": True},
    ),
    Case(
        "call with the prelude: no program, a task named bisect_left",
        "pass\n",
        {
            "type": "call",
            "fn_name": "bisect_left",
            "cases": [{"args": [[1, 2, 4], 3], "expected": 2}],
        },
        options={"prelude": True},
    ),
    # -- several builtin-named functions: the test's helpers supplied by the candidate
    Case(
        "asserts: max under test, sorted (the test's reference) redefined to agree",
        "def max(xs):\n    return 0\ndef sorted(xs):\n    return [0]\n",
        MAX_BY_SORTED,
    ),
    Case(
        "asserts: sum under test, the all() around it redefined",
        "def sum(xs):\n    return 0\ndef all(it):\n    return True\n",
        {
            "type": "asserts",
            "asserts": ["assert all(sum(xs) == s for xs, s in [([1, 2], 3), ([4], 4)])"],
        },
    ),
    Case(
        "asserts: sum under test, the abs() around it redefined",
        "def sum(xs):\n    return -1\ndef abs(x):\n    return 3\n",
        {
            "type": "asserts",
            "asserts": ["assert abs(sum([-1, -2])) == 3", "assert abs(sum([3])) == 3"],
        },
    ),
    # -- honest controls
    Case("honest: isqrt raising ValueError, check", ISQRT_RIGHT, ISQRT_CHECK, want=1.0),
    Case("honest: isqrt raising ValueError, asserts", ISQRT_RIGHT, ISQRT_ASSERTS, want=1.0),
    Case(
        "honest: isqrt raising its own exception class",
        "class NegativeError(ArithmeticError):\n    pass\n"
        + ISQRT_RIGHT.replace("ValueError", "NegativeError"),
        ISQRT_CHECK,
        want=1.0,
    ),
    Case(
        "honest: round trip",
        "def encode(s):\n    return s[::-1]\ndef decode(t):\n    return t[::-1]\n",
        ROUNDTRIP_ASSERTS,
        want=1.0,
    ),
    Case(
        "honest: round trip through a generator",
        "def encode(s):\n    return (c for c in s)\ndef decode(t):\n    return ''.join(t)\n",
        ROUNDTRIP_ASSERTS,
        want=1.0,
    ),
    Case(
        "honest: normalize",
        "def normalize(xs):\n    return sorted(xs)\n",
        ROUNDTRIP_CHECK,
        want=1.0,
    ),
    Case(
        "honest: a helper object passed back",
        "def wrap(v):\n    return Box(v)\ndef unbox(b):\n    return b.v\n",
        BOX_ASSERTS,
        want=1.0,
    ),
    Case(
        "honest: the exact factorial",
        "import math\nprint(math.factorial(int(input())))\n",
        FACT_STDIO,
        want=1.0,
        options={"float_tol": 1e-6},
    ),
    Case(
        "honest: the exact factorial printed as a float literal",
        "import math\nfrom decimal import Decimal\nprint(str(Decimal(math.factorial(int(input())))) + '.0')\n",
        FACT_STDIO,
        want=1.0,
        options={"float_tol": 1e-6},
    ),
    Case(
        "honest: a float answer printed for an integer reference, within the tolerance",
        "print('3.0000001 2.9999999 0.9999998')\nprint('1.0000000 0')\n",
        {"type": "stdio", "cases": [{"input": "", "output": "3 3 1\n1 0\n"}]},
        want=1.0,
        options={"float_tol": 1e-6},
    ),
    Case("honest: a checker task", "n = int(input())\nprint(n - 1, 1)\n", SUM_JUDGED, want=1.0),
    Case(
        "honest: a C checker task",
        REVERSE_RIGHT,
        WORD_JUDGED_C,
        want=1.0,
        options={"checker_timeout": 3.0},
    ),
    Case(
        "honest: a quadratic checker task",
        REVERSE_RIGHT,
        WORD_JUDGED_SLOW,
        want=1.0,
        options={"checker_timeout": 1.5},
    ),
    Case(
        "honest: decode_shift",
        "def decode_shift(s):\n"
        "    return ''.join(chr((ord(c) - 5 - ord('a')) % 26 + ord('a')) for c in s)\n",
        CYCLIC_CHECK,
        want=1.0,
        prompt=CYCLIC_PROMPT,
    ),
    Case(
        "honest: a CLI entry point that exits on a bad argument, as the test expects",
        "import sys\ndef main(argv):\n    if not argv:\n        sys.exit(2)\n    return len(argv)\n",
        {
            "type": "asserts",
            "asserts": [
                "assert main(['a', 'b']) == 2",
                "try:\n    main([])\nexcept SystemExit as e:\n    assert e.code == 2\n"
                "else:\n    raise AssertionError('no exit')",
            ],
        },
        want=1.0,
    ),
    Case(
        "honest: a helper class with methods and scalar constants crosses both ways",
        "def grow(p):\n    return Point(p.x * Point.SCALE, p.y * Point.SCALE)\n",
        {
            "type": "asserts",
            "setup": (
                'class Point:\n    """a point"""\n    SCALE = 2\n'
                "    def __init__(self, x, y):\n        self.x, self.y = x, y\n"
                "    def __eq__(self, o):\n        return (self.x, self.y) == (o.x, o.y)\n"
            ),
            "asserts": ["assert grow(Point(1, 2)) == Point(2, 4)"],
        },
        want=1.0,
    ),
    Case(
        "honest: gcd written out, with the prelude",
        "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n",
        GCD_CALL,
        want=1.0,
        options={"prelude": True},
    ),
    Case(
        "honest: an iterator the test builds over the answer",
        "def evens_upto(n):\n    return list(range(0, n, 2))\n"
        "def count_evens(it):\n    return sum(1 for _ in it)\n",
        COUNT_EVENS,
        want=1.0,
    ),
    Case(
        "honest: an endless iterator of the test's, consumed in part",
        "def first(it, n):\n    out = []\n    for x in it:\n        if len(out) == n:\n"
        "            break\n        out.append(x)\n    return out\n",
        {"type": "asserts", "asserts": ["assert first(itertools.count(5), 3) == [5, 6, 7]"]},
        want=1.0,
    ),
    Case(
        "honest: a sequence class of its own, sliced by the test",
        "class S:\n    def __init__(self, n):\n        self.v = list(range(0, n, 2))\n"
        "    def __getitem__(self, k):\n        return self.v[k]\ndef evens(n):\n    return S(n)\n",
        SLICED,
        want=1.0,
    ),
    Case(
        "honest: max checked against the builtin sorted",
        "def max(xs):\n    m = xs[0]\n    for x in xs[1:]:\n        m = x if x > m else m\n    return m\n",
        MAX_BY_SORTED,
        want=1.0,
    ),
    Case(
        "honest: min and max, both builtin-named, both under test",
        "def min(xs):\n    return sorted(xs)[0]\ndef max(xs):\n    return sorted(xs)[-1]\n",
        {
            "type": "asserts",
            "asserts": ["assert min([3, 1, 2]) == 1", "assert max([3, 1, 2]) == 3"],
        },
        want=1.0,
    ),
    Case(
        "honest: call", "def scale(xs, k):\n    return [x * k for x in xs]\n", SCALE_CALL, want=1.0
    ),
    Case(
        "honest: stdio with a fork",
        "import os\ninput()\nxs = input().split()\nk = int(input())\n"
        "pid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\n"
        "print(*(int(x) * k for x in xs))\n",
        SCALE_STDIO,
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
                "code", case_timeout=1.0, total_timeout=6.0, memory_mb=512, **options
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
        t0 = time.perf_counter()
        scores = reward.score(
            [Sample(completion=c.program, tests=c.tests, prompt=c.prompt) for c in cases]
        )
        out.update({c.name: s for c, s in zip(cases, scores, strict=True)})
        out[f"__wall {len(out)}"] = time.perf_counter() - t0
    return out


def test_names_are_unique_and_the_battery_is_broad() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert sum(c.want == 0.0 for c in CASES) >= 40
    assert sum(c.want == 1.0 for c in CASES) >= 10


@pytest.mark.parametrize("name", [c.name for c in CASES if c.want == 0.0])
def test_attack_scores_zero(scored: dict[str, Any], name: str) -> None:
    s = scored[name]
    assert (s.value, s.status) == (0.0, "ok"), (name, s.value, s.status, s.reason)


@pytest.mark.parametrize("name", [c.name for c in CASES if c.want == 1.0])
def test_honest_control_scores_one(scored: dict[str, Any], name: str) -> None:
    s = scored[name]
    assert (s.value, s.status) == (1.0, "ok"), (name, s.value, s.status, s.reason)


PROBE = (
    "import os\n"
    "def rows(n):\n    return len(open('/proc/sysvipc/' + n).read().splitlines()) - 1\n"
    "def ls(d):\n    return sorted(os.listdir(d)) if os.path.isdir(d) else []\n"
    "def uid(p):\n    return int(open(f'/proc/{p}/status').read().split('Uid:')[1].split()[0])\n"
    # Processes of the sandbox uid besides this one (the zygote, the supervisor and the
    # standbys waiting for a request run as another uid).
    "procs = [p for p in os.listdir('/proc')\n"
    "         if p.isdigit() and int(p) != os.getpid() and uid(p) == os.getuid()]\n"
    "print(rows('shm'), rows('msg'), rows('sem'), ls('/dev/mqueue'), ls('/dev/shm'), ls('/tmp'),\n"
    "      ls('.'), procs)\n"
)


def test_the_next_sample_and_the_host_are_clean(
    scored: dict[str, Any], rewards: dict[str, Any]
) -> None:
    """After the battery (daemons, semaphores, work-dir traps): every pool still scores an honest
    program, no process of a sandbox uid is left, and each worker's next execution sees no IPC
    object, no file in the work dir, ``/tmp`` or ``/dev/shm``, and no other process."""
    assert scored  # the battery ran first
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
            res = pool.run_script(PROBE)
            assert res.stdout == "0 0 0 [] [] [] [] []\n", res


def test_one_program_under_two_prompts_gets_two_verdicts() -> None:
    """A body-only completion continues the prompt: the same completion and tests under two
    prompts are two programs, never one shared verdict (the dedup key holds the prefix)."""
    tests = {
        "type": "check",
        "entry_point": "inc",
        "check": "def check(c):\n    assert c(1) == 2\n",
    }
    body = "    return helper(x)\n"
    right = 'def helper(x):\n    return x + 1\n\n\ndef inc(x):\n    """x plus one"""\n'
    wrong = 'def helper(x):\n    return x\n\n\ndef inc(x):\n    """x plus one"""\n'
    reward = assay.get_reward("code", workers=1)
    try:
        good, bad = reward.score(
            [
                Sample(prompt=right, completion=body, tests=tests),
                Sample(prompt=wrong, completion=body, tests=tests),
            ]
        )
    finally:
        reward.close()
    assert (good.value, bad.value) == (1.0, 0.0), (good, bad)


# -- the fixes' own properties, on generated input -----------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=-(10**40), max_value=10**40), st.integers(min_value=1, max_value=10**6)
)
def test_an_integer_answer_never_matches_a_near_miss(n: int, off: int) -> None:
    """With a tolerance, an expected integer is never ``n ± off`` nor the float nearest to it
    (when that is not exact); any spelling of the same value, or a float a hair off it that
    rounds to it, matches."""
    for got in (str(n + off), str(n - off)):
        assert not outputs_match(got, str(n), "tokens", 1e-3)[0]
    approx = repr(float(n))  # the float nearest to n, written shortest
    if Decimal(approx) != n:  # (a float text may denote n exactly: 1.1920928955078125e+33)
        assert not outputs_match(approx, str(n), "lines", 1e-6)[0]
    for same in (f"+{n}" if n >= 0 else str(n), f"{n}.0", f"{n}e0", f"{n}.000"):
        assert outputs_match(same, str(n), "lines", 1e-6)[0], same
    if abs(n) < 10**6:  # a float a hair off a small integer answer is within any judge's reading
        assert outputs_match(f"{n}.0000001", str(n), "tokens", 1e-6)[0]


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=10_000, max_value=400_000), st.sampled_from("0123456789+-.e"))
def test_integer_tokens_are_compared_in_linear_time(n: int, pad: str) -> None:
    """Hostile tokens (hundreds of thousands of digits, signs, points) never reach a superlinear
    conversion: no int() of a huge text (digit limit, quadratic), no Decimal of one."""
    exp = "7" * n
    for got in ("0" * n + exp, exp + pad, "1" + exp[1:], exp[:-1] + ".5e1", pad * n):
        t0 = time.perf_counter()
        outputs_match(got + "\n" + got, exp + "\n" + exp, "lines", 1e-6)
        assert time.perf_counter() - t0 < 0.5


_ITER = {"$iter": [1, 2]}


def _tuple_of(items: list[Any]) -> Any:
    return {"$tuple": items}


def _keyed(value: Any) -> Any:
    return {"k": value}


def _dict_of(value: Any) -> Any:
    return {"$dict": [[1, value]]}


def _around(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Containers of every kind around ``inner``."""
    some = st.lists(inner, min_size=1, max_size=3)
    return st.one_of(
        some, st.builds(_tuple_of, some), st.builds(_keyed, inner), st.builds(_dict_of, inner)
    )


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.just(_ITER), _around, max_leaves=8))
def test_the_runner_never_decodes_an_iterator_from_the_candidate(tree: Any) -> None:
    """An iterator in a reply, at any depth, is rejected (it could not be passed back, and the
    test would be blamed); the runner's own messages to the candidate may still carry one."""
    with pytest.raises(codec.Undecodable):
        codec.decode_tree(tree, iterators=False)
    codec.decode_tree(tree)


def test_a_language_this_machine_lacks_is_the_choosers_fault(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stdio task that names no language, answered in one whose toolchain is missing, scores
    0 (the completion chose it; ``unverifiable`` would excuse any wrong answer written in it);
    the same program is ``unverifiable`` when the task names that language. Every toolchain is
    installed on this machine, so the missing one is simulated: the toolchain lookup (only) is
    patched to raise as it does on a machine without ``go``."""
    import assay_sandbox.programs as programs

    real = programs.find_toolchain

    def lookup(language: str) -> Any:
        if language == "go":
            raise programs.ToolchainMissing("go: 'go' is not installed (simulated)")
        return real(language)

    monkeypatch.setattr(programs, "find_toolchain", lookup)
    program = "```go\npackage main\nfunc main() {}\n```\n"
    reward = assay.get_reward("code", workers=1)
    try:
        chosen, named = reward.score(
            [
                Sample(completion=program, tests=SCALE_STDIO),
                Sample(completion=program, tests=SCALE_STDIO, metadata={"language": "go"}),
            ]
        )
    finally:
        reward.close()
    assert (chosen.value, chosen.status) == (0.0, "ok"), chosen
    assert "not installed" in (chosen.reason or "")
    assert (named.value, named.status) == (None, "unverifiable"), named
