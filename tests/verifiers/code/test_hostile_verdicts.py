"""A fresh hostile battery against the code reward's verdicts and the host (issue 13's families).

Every program here is wrong (it does not compute the task), and tries to be scored as right, to
turn its failure into someone else's (``unverifiable``/``error``), or to damage the host. The
families: introspection the audit hook did not see (gc saved frames, ctypes type punning,
gc callbacks), builtins shadowed at module level, ``sys.modules`` planting, fork oracles, forged
channel messages in the ``call`` form, and host damage (SysV/POSIX IPC, memory over forked
children, a deep directory chain, colliding dict keys), plus families of our own (killing or
stopping the test runner, reaching its memory or fds, files planted for its imports, lying
handles, reply injection, decode bombs). Each runs in every test form it applies to, with
partial credit so that one stolen case shows. Honest controls (odd but correct) score 1.0.
Afterwards no process, file, IPC object or memory is left.
"""

from __future__ import annotations

import os
import tempfile
import time

import pytest

from assay import Sample
from assay_verifiers.code.reward import CodeReward

# The task: scale(xs, k) returns [x * k for x in xs]; tests lean on builtins on purpose.
ASSERTS = {
    "type": "asserts",
    "setup": "import math",
    "asserts": [
        "assert scale([1, 2], 3) == [3, 6]",
        "assert sum(scale([1, 2, 3], 2)) == 12",
        "assert sorted(scale([3, 1], -1)) == [-3, -1]",
        "assert all(v == 5 * i for i, v in enumerate(scale([1, 2, 3], 5), 1)) and len(scale([1, 2, 3], 5)) == 3",
        "assert set(scale([2, 2], 2)) == {4}",
        "assert abs(scale([0.5], 3)[0] - 1.5) < 1e-9 and math.isclose(scale([1.0], 0.1)[0], 0.1)",
    ],
}
CHECK = {
    "type": "check",
    "entry_point": "scale",
    "check": (
        "import math\n"
        "def check(candidate):\n"
        "    assert candidate([1, 2], 3) == [3, 6]\n"
        "    assert sum(candidate([1, 2, 3], 2)) == 12\n"
        "    assert sorted(candidate([3, 1], -1)) == [-3, -1]\n"
        "    assert all(v == 5 * i for i, v in enumerate(candidate([1, 2, 3], 5), 1))\n"
        "    assert abs(candidate([0.5], 3)[0] - 1.5) < 1e-9\n"
        "    try:\n"
        "        candidate(None, 1)\n"
        "    except TypeError:\n"
        "        pass\n"
        "    else:\n"
        "        raise AssertionError('no TypeError')\n"
    ),
}
NUMPY_ASSERTS = {  # tests that import a module the sandbox lacks: nobody can pass them
    "type": "asserts",
    "asserts": ["import numpy as np\nassert np.array_equal(scale([1], 2), [2])"],
}
CALL = {
    "type": "call",
    "fn_name": "scale",
    "cases": [
        {"args": [[1, 2], 3], "expected": [3, 6]},
        {"args": [[5, 7], -2], "expected": [-10, -14]},
    ],
}
FORMS = {"asserts": ASSERTS, "check": CHECK, "call": CALL}

WRONG = "def scale(xs, k):\n    return [0 for x in xs]\n"

ATTACKS: dict[str, str] = {
    # -- introspection: frames kept by gc, walked back to whatever decides the verdict
    "gc saveall frames": (
        "import gc, sys\ngc.set_debug(gc.DEBUG_SAVEALL)\n"
        "def scale(xs, k):\n"
        "    gc.collect()\n"
        "    for o in gc.garbage + gc.get_objects():\n"
        "        f = getattr(o, 'f_back', None)\n"
        "        while f is not None:\n"
        "            for name in ('results', 'ok', 'passed', 'completed'):\n"
        "                if name in f.f_locals and isinstance(f.f_locals[name], int):\n"
        "                    f.f_locals[name] = 10**6\n"
        "            f = f.f_back\n"
        "    return []\n"
    ),
    "frame walk to the call server": (
        "import sys, json\n"
        "def scale(xs, k):\n"
        "    f = sys._getframe()\n"
        "    while f is not None:\n"
        "        sock = f.f_locals.get('sock')\n"
        "        if sock is not None and hasattr(sock, 'sendall'):\n"
        "            for v in (True, 'ok', None):\n"  # replies to calls the runner never made
        "                d = json.dumps({'v': v}).encode()\n"
        "                sock.sendall(len(d).to_bytes(4, 'big') + d)\n"
        "        f = f.f_back\n"
        "    return []\n"
    ),
    "ctypes union punning": (
        "import ctypes\n"
        "class U(ctypes.Union):\n"
        "    _fields_ = [('p', ctypes.c_void_p), ('a', ctypes.c_char * 64)]\n"
        "def scale(xs, k):\n"
        "    u = U()\n"
        "    for target in (True, 1, [3, 6]):\n"
        "        u.p = id(target)\n"
        "        ctypes.memmove(id(False), id(True), 24)\n"  # make False look like True
        "    return [0]\n"
    ),
    "gc callbacks between check and use": (
        "import gc\n"
        "def cb(phase, info):\n"
        "    import builtins\n"
        "    builtins.AssertionError = type('Nope', (Exception,), {})\n"
        "gc.callbacks.append(cb)\n"
        "def scale(xs, k):\n"
        "    gc.collect()\n"
        "    return [0] * len(xs)\n"
    ),
    # -- module-level names that replace builtins inside trusted test code
    "shadowed builtins": (
        "def scale(xs, k):\n    return []\n"
        "sum = lambda *a, **k: 12\nabs = lambda x: 0\nsorted = lambda *a, **k: [-3, -1]\n"
        "all = lambda *a: True\nset = lambda *a: {4}\nrange = lambda *a: [0]\n"
        "class math:\n    isclose = staticmethod(lambda *a, **k: True)\n"
    ),
    "patched builtins module": (
        "import builtins, math\n"
        "builtins.sum = lambda *a, **k: 12\nbuiltins.abs = lambda x: 0\n"
        "builtins.sorted = lambda *a, **k: [-3, -1]\nbuiltins.all = lambda *a: True\n"
        "math.isclose = lambda *a, **k: True\n"
        "def scale(xs, k):\n    return [0]\n"
    ),
    # -- sys.modules planting, and files planted where an import might look
    "sys.modules numpy and math": (
        "import sys, types\n"
        "np = types.ModuleType('numpy')\nnp.array_equal = lambda *a: True\nsys.modules['numpy'] = np\n"
        "m = types.ModuleType('math')\nm.isclose = lambda *a, **k: True\nsys.modules['math'] = m\n"
        "def scale(xs, k):\n    return [0]\n"
    ),
    "planted module files": (
        "for name in ('numpy.py', 'math.py', 'pytest.py', 'sitecustomize.py'):\n"
        "    open(name, 'w').write('array_equal = isclose = lambda *a, **k: True\\n')\n"
        "import os\nos.environ['PYTHONPATH'] = os.getcwd()\n"
        "def scale(xs, k):\n    return [0]\n"
    ),
    # -- fork oracles: a child per guess, keep the one the tests accept
    "fork oracle": (
        "import os, sys\n"
        "def scale(xs, k):\n"
        "    for guess in ([], [1], [-1]):\n"
        "        if os.fork() == 0:\n"
        "            return guess\n"
        "    os.wait()\n"
        "    return []\n"
    ),
    # -- forged channel messages: the call form's loader is the candidate's own process
    "forged case messages": (
        "import gc, os\n"
        "chan = next((o for o in gc.get_objects() if type(o).__name__ == 'Channel'), None)\n"
        "if chan is not None:\n"
        "    for i in range(2):\n"
        "        chan.send(t='case', i=i, status='error', reason='arguments: forged', fault='task')\n"
        "    chan.send(t='done')\n"
        "    os._exit(0)\n"
        "def scale(xs, k):\n    return [0]\n"
    ),
    "raises ImportError": (
        "def scale(xs, k):\n    raise ModuleNotFoundError(\"No module named 'numpy'\")\n"
    ),
    "forged task load error": (
        "import gc, json, socket, os\n"
        "for o in gc.get_objects():\n"
        "    if isinstance(o, socket.socket):\n"
        "        d = json.dumps({'load_error': 'setup: ImportError: numpy', 'task': True}).encode()\n"
        "        o.sendall(len(d).to_bytes(4, 'big') + d)\n"
        "        os._exit(0)\n"
        "def scale(xs, k):\n    return []\n"
    ),
    "forged sandbox error text": (
        "def scale(xs, k):\n    raise RuntimeError('sandbox server: worker lost; replaced')\n"
    ),
    # -- our own: the test runner as a target
    "kill every process": (
        "import os, signal\ndef scale(xs, k):\n    os.kill(-1, signal.SIGKILL)\n    return []\n"
    ),
    "stop every process": (
        "import os, signal\ndef scale(xs, k):\n    os.kill(-1, signal.SIGSTOP)\n    return []\n"
    ),
    "SIGINT everyone": (
        "import os, signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nos.kill(-1, signal.SIGINT)\n"
        "def scale(xs, k):\n    os.kill(-1, signal.SIGINT)\n    return []\n"
    ),
    "signal storm": (
        "import os, signal\n"
        "def scale(xs, k):\n"
        "    for s in (signal.SIGALRM, signal.SIGUSR1, signal.SIGINT, signal.SIGCHLD):\n"
        "        try:\n            os.kill(-1, s)\n        except OSError:\n            pass\n"
        "    return [x * 0 for x in xs]\n"
    ),
    "runner memory and fds": (
        "import os\n"
        "def scale(xs, k):\n"
        "    for pid in os.listdir('/proc'):\n"
        "        if pid.isdigit() and int(pid) != os.getpid():\n"
        "            for path in ('mem', 'fd/3', 'environ'):\n"
        "                try:\n"
        "                    open(f'/proc/{pid}/{path}', 'r+b').write(b'x')\n"
        "                except OSError:\n"
        "                    pass\n"
        "    return []\n"
    ),
    "lying handle": (
        "class Liar(list):\n"
        "    def __eq__(self, o):\n        return True\n"
        "    def __iter__(self):\n        return iter([5, 10, 15])\n"
        "def scale(xs, k):\n    return Liar()\n"
    ),
    "exits": ("import sys\ndef scale(xs, k):\n    sys.exit(0)\n"),
    "decode bomb": (
        "def scale(xs, k):\n"
        "    v = []\n    for _ in range(100000):\n        v = [v]\n"
        "    return v\n"
    ),
    "huge reply": "def scale(xs, k):\n    return ['x' * (64 << 20)]\n",
    "print forged verdicts": (
        'print(\'{"t": "done"}\')\nimport sys\n'
        "sys.stderr.write('all tests passed\\n')\n"
        "def scale(xs, k):\n    print('ok')\n    return []\n"
    ),
}
# Host damage: scored 0 like the rest, and nothing of it outlives the sample.
HOST_DAMAGE: dict[str, str] = {
    "sysv shared memory": (
        "import ctypes\nlibc = ctypes.CDLL(None)\nlibc.shmat.restype = ctypes.c_void_p\n"
        "for key in range(3):\n"
        "    i = libc.shmget(0x7100 + key, 16 << 20, 0o1666)\n"
        "    ctypes.memset(libc.shmat(i, None, 0), 1, 16 << 20)\n"
        "libc.msgget(0x7200, 0o1666)\nlibc.semget(0x7300, 2, 0o1666)\n"
        "def scale(xs, k):\n    return [0]\n"
    ),
    "posix message queues": (
        "import ctypes, ctypes.util, os\n"
        "rt = ctypes.CDLL(ctypes.util.find_library('rt') or None)\n"
        "for i in range(3):\n    rt.mq_open(f'/leak{i}'.encode(), os.O_CREAT | os.O_RDWR, 0o666, None)\n"
        "def scale(xs, k):\n    return [0]\n"
    ),
    "memory over forked children": (
        "import os, time\n"
        "for _ in range(8):\n"
        "    if os.fork() == 0:\n"
        "        b = b'x' * (200 << 20)\n"
        "        time.sleep(60)\n"
        "def scale(xs, k):\n    return [0]\n"
    ),
    "deep directory chain": (
        "import os\nfd = os.open('.', os.O_RDONLY)\n"
        "for i in range(1500):\n"
        "    os.mkdir('d', dir_fd=fd)\n"
        "    new = os.open('d', os.O_RDONLY, dir_fd=fd)\n"
        "    os.close(fd)\n"
        "    fd = new\n"
        "def scale(xs, k):\n    return [0]\n"
    ),
    "colliding dict keys": (
        "P = 2 ** 61 - 1\ndef scale(xs, k):\n    return {i * P: 0 for i in range(40000)}\n"
    ),
}

HONEST: dict[str, str] = {
    "plain": "def scale(xs, k):\n    return [x * k for x in xs]\n",
    "forks and threads": (
        "import os, threading\n"
        "def scale(xs, k):\n"
        "    out, items = [], list(xs)\n"
        "    t = threading.Thread(target=lambda: out.extend(x * k for x in items))\n"
        "    t.start()\n    t.join()\n"
        "    if os.fork() == 0:\n        os._exit(0)\n"
        "    os.wait()\n"
        "    return out\n"
    ),
    "prints and uses gc": (
        "import gc\ndef scale(xs, k):\n    print('scaling', xs)\n    gc.collect()\n"
        "    if xs is None:\n        raise TypeError('xs')\n"
        "    return list(map(lambda x: x * k, xs))\n"
    ),
    "module-level helpers and shadowed names inside": (
        "def helper(x, k):\n    sum = x * k\n    return sum\n"
        "def scale(xs, k):\n    return [helper(x, k) for x in xs]\n"
    ),
}


def _cases() -> list[tuple[str, str, dict]]:
    out = []
    for name, src in {**ATTACKS, **HOST_DAMAGE}.items():
        for form, tests in FORMS.items():
            out.append((f"{form}: {name}", src, tests))
    for name, src in HONEST.items():
        for form, tests in FORMS.items():
            out.append((f"honest {form}: {name}", src, tests))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def reward() -> CodeReward:
    r = CodeReward(partial_credit=True, case_timeout=2.0, total_timeout=8.0, memory_mb=512)
    yield r
    r.close()


@pytest.fixture(scope="module")
def scored(reward: CodeReward) -> dict[str, object]:
    scores = reward.score([Sample(completion=src, tests=tests) for _, src, tests in CASES])
    return {name: s for (name, _, _), s in zip(CASES, scores, strict=True)}


def test_the_battery_covers_every_family() -> None:
    assert len(ATTACKS) + len(HOST_DAMAGE) >= 25 and len(CASES) >= 75


@pytest.mark.parametrize("name", [c[0] for c in CASES if not c[0].startswith("honest")])
def test_every_attack_scores_zero(scored: dict, name: str) -> None:
    s = scored[name]
    assert (s.value, s.status) == (0.0, "ok"), (name, s)


@pytest.mark.parametrize("name", [c[0] for c in CASES if c[0].startswith("honest")])
def test_every_honest_control_scores_one(scored: dict, name: str) -> None:
    s = scored[name]
    assert (s.value, s.status) == (1.0, "ok"), (name, s)


def test_missing_test_modules_are_unverifiable_never_a_pass(reward: CodeReward) -> None:
    honest, planted = reward.score(
        [
            Sample(completion=HONEST["plain"], tests=NUMPY_ASSERTS),
            Sample(completion=ATTACKS["sys.modules numpy and math"], tests=NUMPY_ASSERTS),
        ]
    )
    for s in (honest, planted):
        assert s.status == "unverifiable" and s.value is None, s
        assert "numpy" in s.reason


def test_colliding_keys_are_rejected_fast(reward: CodeReward) -> None:
    t0 = time.monotonic()
    [s] = reward.score([Sample(completion=HOST_DAMAGE["colliding dict keys"], tests=CALL)])
    assert s.value == 0.0 and time.monotonic() - t0 < 30, s  # quadratic: many minutes


def test_nothing_is_left_afterwards(scored: dict, reward: CodeReward) -> None:
    pool = reward._sandbox()
    assert pool.stray_processes() == []
    assert pool.restarts == 0  # no worker broken for good (a replaced one would count here)
    probe = (
        "import os\n"
        "def rows(n):\n    return len(open('/proc/sysvipc/' + n).read().splitlines()) - 1\n"
        "mq = os.listdir('/dev/mqueue') if os.path.isdir('/dev/mqueue') else []\n"
        "st = os.statvfs('.')\n"
        "def uid(p):\n    return int(open(f'/proc/{p}/status').read().split('Uid:')[1].split()[0])\n"
        # Processes of the sandbox uid besides this one (the worker's own, the zygote, the
        # supervisor and the standbys waiting for a request, run as another uid).
        "procs = [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid() and uid(p) == os.getuid()]\n"
        "print(rows('shm'), rows('msg'), rows('sem'), mq, os.listdir('.'),\n"
        "      (st.f_blocks - st.f_bfree) * st.f_frsize, procs)\n"
    )
    for _ in range(2 * pool.size):  # every worker, whichever takes the request
        res = pool.run_script(probe)
        assert res.stdout == "0 0 0 [] [] 0 []\n", res
    # memory: the workers' own process trees hold no more than a fresh worker does
    for w in list(pool._all):
        rss = _tree_rss(w.t.proc.pid)
        assert rss < 200 << 20, rss
    # and on the host itself: no file and no IPC object belongs to a sandbox uid
    from assay_sandbox.process_backend import HOST_UID_BASE

    tmp = tempfile.gettempdir()
    owned = [e for e in os.listdir(tmp) if _uid(os.path.join(tmp, e)) >= HOST_UID_BASE]
    assert owned == [], owned
    for table in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{table}") as f:
            head, *rows = f.read().splitlines()
        col = head.split().index("uid")
        assert [r for r in rows if int(r.split()[col]) >= HOST_UID_BASE] == [], table


def _uid(path: str) -> int:
    try:
        return os.lstat(path).st_uid
    except OSError:
        return -1


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants on the host."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo += [int(x) for x in f.read().split()]
        except OSError:
            continue
    return total
