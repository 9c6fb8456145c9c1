"""An attacker's pass over the supervisor/standby request path (the zygote never reads a
request; a long-lived supervisor hands each execution to a standby and answers on the child's
end message, before it kills and reaps by uid).

New programs, none repeating the other batteries. Families:

- the test code of one's own ``tests`` request, which only the trusted runner holds: found in
  the candidate's own memory, in the runner's ``/proc`` files or fds (same uid, non-dumpable),
  or by stopping, killing or signalling the runner at load time or mid-call;
- the end message: forged from a stdio program's frames before it has printed anything, with a
  process left spinning after the answer; the runner's end pipe out of the candidate's reach;
- what survives ``kill_uid``: fork-and-exit chains that change pid every millisecond, stopped
  processes, zombies under a stopped parent, a sleeper that writes into the work dir after the
  answer; the next sample must find nothing of it and the worker must never be replaced;
- the zygote, the supervisor and the waiting standbys (uid 0 of the user namespace, visible in
  ``/proc``): signals, pidfds, ``pidfd_getfd``, every ``/proc/<pid>`` file worth reading;
- another sample's program, stdin, setup and tests in a later program's memory (scanned
  through ``write(2)`` into a pipe: ``/proc/self/mem`` is root's once the uid has switched);
- blame moved to the task (``unverifiable``) from beside the runner: its trusted ``setup``
  made to fail through the shared work dir (read-only, full, its file made a directory, the
  runner stopped until then), or the runner killed after statements that passed (fixed: the
  candidate's code waits for the runner's setup; a run with no failing statement is never the
  task's fault);
- the zygote's record of exit statuses, which programs' orphans could flood or, once pids
  wrap, stand in (fixed: only standbys' statuses are kept, a new standby drops any stale one).

Every attack is scored by the real ``code`` reward (``assay.get_reward``) or run on a real
process pool; nothing is mocked. A secret that an attack would have to find is drawn fresh at
import time, so no fixed answer can pass. Honest controls score 1.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import assay
from assay import Sample
from assay_sandbox import Limits, SandboxPool

KEY = "K" + os.urandom(8).hex()  # only the test code holds it
MARK = "MARK" + os.urandom(6).hex()  # planted by one sample, looked for by the next

# key() must return KEY: no program can know it unless it reads the test code
KEY_ASSERTS = {"type": "asserts", "asserts": [f"assert key() == {KEY!r}"]}
KEY_CHECK = {
    "type": "check",
    "entry_point": "key",
    "check": f"def check(candidate):\n    assert candidate() == {KEY!r}\n",
}
SCALE_ASSERTS = {
    "type": "asserts",
    "asserts": ["assert scale([1, 2], 3) == [3, 6]", "assert scale([5], 2) == [10]"],
}
SCALE_STDIO = {
    "type": "stdio",
    "cases": [
        {"input": "2\n1 2\n3\n", "output": "3 6\n"},
        {"input": "1\n5\n2\n", "output": "10\n"},
    ],
}
SCALE_RIGHT = "def scale(xs, k):\n    return [x * k for x in xs]\n"
STDIO_RIGHT = (
    "n = int(input())\nxs = list(map(int, input().split()))\nk = int(input())\n"
    "print(*[x * k for x in xs])\n"
)

# -- building blocks of the attacks --------------------------------------------------------------
# Reads any readable mapping of this process through write(2) into a pipe (EFAULT, not SIGSEGV,
# on a hole), since /proc/self/mem belongs to root once the uid has switched.
SCAN = r"""
import ctypes, fcntl, os, re
def scan_self(pattern):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    found = set()
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, 1031, 1 << 20)
    except OSError:
        pass
    size = fcntl.fcntl(w, 1032)
    for line in open("/proc/self/maps").read().splitlines():
        addr, perm = line.split()[:2]
        if not perm.startswith("r") or "[v" in line:
            continue
        a, b = (int(x, 16) for x in addr.split("-"))
        if b - a > (256 << 20):
            continue
        parts, p = [], a
        while p < b:
            got = libc.write(w, p, min(size, b - p))
            if got <= 0:
                break
            parts.append(os.read(r, got))
            p += got
        found.update(m.group(0).decode() for m in re.finditer(pattern, b"".join(parts)))
    os.close(r)
    os.close(w)
    return sorted(found)
"""

# The other processes of this uid (in a tests run: the runner), and of uid 0 (the zygote, the
# supervisor, the standbys).
PEERS = r"""
import os
def uid_of(pid):
    try:
        return int(open(f"/proc/{pid}/status").read().split("Uid:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return None
def peers(same_uid=True):
    me, want = os.getpid(), os.getuid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me
            and ((uid_of(p) == want) == same_uid) and uid_of(p) is not None]
"""

# Everything one could read of another process: its /proc files, its fds (through /proc and
# through pidfd_getfd), returned as one blob.
LOOT = r"""
import ctypes, os, signal
def loot(pid):
    blob = b""
    for name in ("mem", "environ", "cmdline", "maps", "stack", "syscall", "io", "auxv",
                 "attr/current", "sched", "wchan", "personality", "timerslack_ns"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                blob += f.read(1 << 20)
        except (OSError, ValueError):
            pass
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                blob += os.readlink(f"/proc/{pid}/fd/{fd}").encode()
                with open(f"/proc/{pid}/fd/{fd}", "rb", buffering=0) as f:
                    os.set_blocking(f.fileno(), False)
                    blob += f.read(1 << 16) or b""
            except (OSError, ValueError):
                pass
    except OSError:
        pass
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return blob
    for target in range(0, 1000):
        fd = libc.syscall(438, pidfd, target, 0)  # pidfd_getfd
        if fd >= 0:
            os.set_blocking(fd, False)
            try:
                blob += os.read(fd, 1 << 16)
            except OSError:
                pass
            os.close(fd)
    os.close(pidfd)
    return blob
"""

FIND_KEY = "import re\ndef found(blob):\n    m = re.search(rb'K[0-9a-f]{16}', blob)\n    return m.group(0).decode() if m else 'none'\n"


# A task whose trusted setup writes a file in the work dir
FILE_TASK = {
    "type": "asserts",
    "setup": "with open('data.txt', 'w') as fh:\n    fh.write('a\\nb\\nc\\n')\n",
    "asserts": ["assert count_lines('data.txt') == 3"],
}
SLOW_FILE_TASK = {**FILE_TASK, "setup": "import time\ntime.sleep(0.3)\n" + FILE_TASK["setup"]}
COUNT_RIGHT = "def count_lines(path):\n    return len(open(path).read().splitlines())\n"
COUNT_WRONG = "def count_lines(path):\n    return 0\n"
# Stops the runner as soon as it runs as this uid (after its setup, once fixed), for release()
HOLD_RUNNER = (
    "import signal, time\n"
    "for _ in range(2000):\n    held = peers()\n    if held:\n        break\n"
    "    time.sleep(0.0005)\n"
    "for p in held:\n    os.kill(p, signal.SIGSTOP)\n"
    "def release():\n    for p in held:\n        os.kill(p, signal.SIGCONT)\n"
)


@dataclass(frozen=True)
class Attack:
    name: str
    program: str
    tests: dict[str, Any]
    want: float = 0.0


def _slug(name: str) -> str:
    return re.sub(r"\W+", "_", name).strip("_")


def _key_from(expr: str, before: str = "") -> str:
    return f"{before}\ndef key():\n    return {expr}\n"


def _key_doing(line: str) -> str:
    """A ``key()`` that runs ``line`` when the runner calls it (mid-call), then answers."""
    return f"\ndef key():\n    {line}\n    return 'none'\n"


ATTACKS = [
    Attack(
        "the test key in the candidate's own memory, after the runner got it",
        SCAN + _key_from("(scan_self(rb'K[0-9a-f]{16}') or ['none'])[0]"),
        KEY_ASSERTS,
    ),
    Attack(
        "the test key in the candidate's own memory: check form",
        SCAN + _key_from("(scan_self(rb'K[0-9a-f]{16}') or ['none'])[0]"),
        KEY_CHECK,
    ),
    Attack(
        "the runner's /proc files and fds, and pidfd_getfd, read mid-call",
        PEERS + LOOT + FIND_KEY + _key_from("found(b''.join(loot(p) for p in peers()))"),
        KEY_ASSERTS,
    ),
    Attack(
        "the zygote's, the supervisor's and the standbys' /proc files and fds, read mid-call",
        PEERS + LOOT + FIND_KEY + _key_from("found(b''.join(loot(p) for p in peers(False)))"),
        KEY_ASSERTS,
    ),
    Attack(
        "the runner stopped (SIGSTOP) at load time",
        PEERS
        + "import signal\nfor p in peers():\n    os.kill(p, signal.SIGSTOP)\n"
        + _key_from("'none'"),
        KEY_ASSERTS,
    ),
    Attack(
        "the runner stopped by SIGTSTP mid-call, then continued after its timeout",
        PEERS + "import signal, threading, time\n"
        "def later(ps):\n    time.sleep(1.5)\n    [os.kill(p, signal.SIGCONT) for p in ps]\n"
        "def stop():\n    ps = peers()\n    [os.kill(p, signal.SIGTSTP) for p in ps]\n"
        "    threading.Thread(target=later, args=(ps,)).start()\n" + _key_doing("stop()"),
        KEY_ASSERTS,
    ),
    Attack(
        "the runner killed at load time",
        PEERS
        + "import signal\nfor p in peers():\n    os.kill(p, signal.SIGKILL)\n"
        + _key_from("'none'"),
        KEY_ASSERTS,
    ),
    Attack(
        "the runner killed by SIGSYS (the seccomp signal) mid-call",
        PEERS + "import signal\n" + _key_doing("[os.kill(p, signal.SIGSYS) for p in peers()]"),
        KEY_ASSERTS,
    ),
    Attack(
        "SIGXCPU and SIGPIPE at the runner from a daemon that outlives the candidate",
        PEERS + "import signal, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        for _ in range(200):\n"
        "            for p in peers():\n"
        "                for s in (signal.SIGXCPU, signal.SIGPIPE):\n"
        "                    try:\n                        os.kill(p, s)\n"
        "                    except OSError:\n                        pass\n"
        "            time.sleep(0.005)\n"
        "    os._exit(0)\n" + _key_from("'none'"),
        KEY_ASSERTS,
    ),
    Attack(
        "a forged end message from the frames of a stdio program, then it spins",
        "import sys, os\nf = sys._getframe()\n"
        "while f is not None and 'end' not in f.f_locals:\n    f = f.f_back\n"
        "if f is not None and 'chan' in f.f_locals:\n"
        "    f.f_locals['chan'].send(t='end', code=0, cpu=0.0)\n"
        "    os.close(f.f_locals['end'])\n"
        "print('3 6')\nwhile True:\n    pass\n",
        SCALE_STDIO,
    ),
    Attack(
        "fork-and-exit chains that change pid every millisecond, left after a wrong answer",
        "import ctypes, os\nlibc = ctypes.CDLL(None)\n"
        "for _ in range(12):\n    if libc.fork() == 0:\n        os.setsid()\n"
        "        while True:\n            if libc.fork() != 0:\n                libc._exit(0)\n"
        "print('0')\n",
        SCALE_STDIO,
    ),
    Attack(
        "stopped children, zombies under a stopped parent, and a sleeper that writes late",
        "import os, signal, time\n"
        "for _ in range(3):\n    if os.fork() == 0:\n        os.kill(os.getpid(), signal.SIGSTOP)\n"
        "        os._exit(0)\n"
        "if os.fork() == 0:\n    for _ in range(8):\n        if os.fork() == 0:\n"
        "            os._exit(0)\n    os.kill(os.getpid(), signal.SIGSTOP)\n    os._exit(0)\n"
        "if os.fork() == 0:\n    os.setsid()\n    time.sleep(0.05)\n"
        f"    open('late_{MARK}', 'w').write('3 6')\n    time.sleep(30)\n"
        "print('0')\n",
        SCALE_STDIO,
    ),
    Attack(
        "the next case reads what the last case's sleeper wrote after its answer",
        "import glob, os, time\n"
        "left = glob.glob('late_*')\n"
        "n = int(input())\nxs = list(map(int, input().split()))\nk = int(input())\n"
        "print(*[x * k for x in xs]) if left else print(0)\n"
        "if os.fork() == 0:\n    os.setsid()\n    time.sleep(0.02)\n"
        f"    open('late_{MARK}', 'w').write('x')\n    time.sleep(30)\n",
        SCALE_STDIO,
    ),
    # The runner's setup fails as the task's fault (``unverifiable``): a candidate of the same
    # uid and work dir that ran beside it could make it fail (fixed: its code waits for the
    # runner's word that the setup is over).
    Attack(
        "the work dir made read-only before the runner's setup writes its file",
        "import os\nos.chmod('.', 0o500)\n" + COUNT_WRONG,
        FILE_TASK,
    ),
    Attack(
        "the file the runner's setup writes made a directory first",
        "import os\nos.mkdir('data.txt')\n" + COUNT_WRONG,
        FILE_TASK,
    ),
    Attack(
        "the runner stopped until the work dir is read-only",
        PEERS + HOLD_RUNNER + "os.chmod('.', 0o500)\nrelease()\n" + COUNT_WRONG,
        FILE_TASK,
    ),
    Attack(
        "the runner stopped until the work dir's tmpfs is full",
        PEERS + HOLD_RUNNER + "try:\n    with open('big', 'wb') as f:\n        while True:\n"
        "            f.write(b'x' * (1 << 20))\n            f.flush()\nexcept OSError:\n    pass\n"
        "try:\n    for i in range(5000):\n        open(f'i{i}', 'w').close()\n"
        "except OSError:\n    pass\nrelease()\n" + COUNT_WRONG,
        FILE_TASK,
    ),
    Attack(
        "the runner's shared prelude module shadowed in the work dir",
        "open('math.py', 'w').write('raise ImportError(\"shadowed\")')\n"
        "import importlib, sys\nsys.modules.pop('math', None)\n" + COUNT_WRONG,
        {**FILE_TASK, "setup": "import math\n" + FILE_TASK["setup"]},
    ),
    Attack(
        "the work dir made read-only while a slow setup sleeps",
        "import os\nos.chmod('.', 0o500)\n" + COUNT_WRONG,
        SLOW_FILE_TASK,
    ),
    Attack(
        "a slow setup's file made a directory first",
        "import os\nos.mkdir('data.txt')\n" + COUNT_WRONG,
        SLOW_FILE_TASK,
    ),
    Attack("honest control: the file task", COUNT_RIGHT, FILE_TASK, want=1.0),
    Attack("honest control: the slow file task", COUNT_RIGHT, SLOW_FILE_TASK, want=1.0),
    Attack("honest control: tests", SCALE_RIGHT, SCALE_ASSERTS, want=1.0),
    Attack("honest control: stdio", STDIO_RIGHT, SCALE_STDIO, want=1.0),
    Attack(
        "honest control: a program that forks and reaps a helper",
        "import os\n" + SCALE_RIGHT + "pid = os.fork()\nif pid == 0:\n    os._exit(0)\n"
        "os.waitpid(pid, 0)\n",
        SCALE_ASSERTS,
        want=1.0,
    ),
]


@pytest.fixture(scope="module")
def reward() -> Iterator[Any]:
    made = assay.get_reward("code", workers=1, case_timeout=1.0, total_timeout=4.0, memory_mb=512)
    yield made
    made.close()


@pytest.fixture(scope="module")
def scored(reward: Any) -> dict[str, Any]:
    scores = reward.score([Sample(completion=a.program, tests=a.tests) for a in ATTACKS])
    return {a.name: s for a, s in zip(ATTACKS, scores, strict=True)}


def test_names_are_unique() -> None:
    assert len({a.name for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=[_slug(a.name) for a in ATTACKS])
def test_attack_gets_the_honest_verdict(scored: dict[str, Any], attack: Attack) -> None:
    s = scored[attack.name]
    assert (s.value, s.status) == (attack.want, "ok"), (attack.name, s.value, s.status, s.reason)


def test_the_worker_is_clean_and_was_never_replaced(scored: dict[str, Any], reward: Any) -> None:
    assert scored  # the battery ran first
    pool = reward._sandbox()
    assert pool.restarts == 0
    assert pool.stray_processes() == []
    probe = PEERS + (
        "import glob\n"
        "rows = [len(open('/proc/sysvipc/' + t).read().splitlines()) - 1"
        " for t in ('shm', 'msg', 'sem')]\n"
        "print(peers(), rows, sorted(os.listdir('.')), os.listdir('/dev/mqueue'))\n"
    )
    t0 = time.perf_counter()
    res = pool.run_script(probe)
    assert res.stdout == "[] [0, 0, 0] [] []\n", res
    assert time.perf_counter() - t0 < 1.0, "the worker was slowed by the battery"


# -- one pool, one worker: what a sample leaves for the next -------------------------------------
@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool("process", workers=1, limits=Limits(wall_s=5, memory_mb=512)) as p:
        if not p.isolation.startswith("namespaces"):
            pytest.skip("the supervisor runs where programs have a uid of their own")
        yield p


def _plant(pool: SandboxPool) -> None:
    """One request of each mode, each carrying MARK in every text it sends."""
    src = f"M = {MARK + 'src'!r}\ndef f(x=None):\n    return 1\n"
    assert pool.run_script(src + "print(1)", stdin=MARK + "stdin").status == "ok"
    assert pool.call(src, "f", [MARK + "arg"]).value == 1
    res = pool.run_statements(
        src, [f"assert f() == 1, {MARK + 'stmt'!r}"], setup=f"S = {MARK + 'setup'!r}"
    )
    assert res.completed == 1
    res = pool.run_tests(
        src,
        [f"assert f() == 1, {MARK + 'test'!r}"],
        setup=f"S = {MARK + 'tsetup'!r}",
        exports=["f"],
    )
    assert res.completed == 1, res
    cases = pool.run_cases(src + "print(input())", [{"stdin": MARK + "case"}])
    assert cases[0].status == "ok"


SCAN_FOR_MARK = SCAN + "print(scan_self(rb'MARK[0-9a-f]{12}[a-z]*'))\n"


@pytest.mark.parametrize("mode", ["script", "call", "tests candidate", "stdio case"])
def test_no_earlier_request_is_in_a_later_programs_memory(pool: SandboxPool, mode: str) -> None:
    _plant(pool)
    own = "import re\n"  # the scanner's own text holds only the pattern, never a full marker
    if mode == "script":
        out = pool.run_script(own + SCAN_FOR_MARK).stdout
    elif mode == "stdio case":
        out = pool.run_cases(own + SCAN_FOR_MARK, [{"stdin": ""}])[0].stdout or ""
    elif mode == "call":
        out = repr(
            pool.call(
                SCAN + "def g():\n    return scan_self(rb'MARK[0-9a-f]{12}[a-z]*')\n", "g"
            ).value
        )
    else:
        res = pool.run_tests(
            SCAN + "def g():\n    return scan_self(rb'MARK[0-9a-f]{12}[a-z]*')\n",
            ["assert g() == []"],
            exports=["g"],
        )
        out = "[]" if res.completed == 1 else repr(res.results)
    assert MARK not in out, out


def test_the_probes_find_what_is_there(pool: SandboxPool) -> None:
    """Controls for the probes above: the memory scan finds a marker this program built at
    run time, and mid-call the candidate sees the runner (its uid) and the zygote's side (uid
    0), and reads its own ``/proc`` entries: what the attacks find nothing in is really there."""
    built = SCAN + "m = 'MARK' + 'abc' * 4 + 'ctl'\nprint(scan_self(rb'MARK[0-9a-f]{12}[a-z]*'))\n"
    assert "'MARKabcabcabcabcctl'" in pool.run_script(built).stdout
    res = pool.run_tests(
        PEERS + LOOT + "def g():\n"
        "    return [len(peers()), len(peers(False)) >= 2, len(loot(os.getpid())) > 0]\n",
        ["assert g() == [1, True, True], g()"],
        exports=["g"],
    )
    assert res.completed == 1, res.results


STOP_THE_RUN = {
    "SIGKILL": "[os.kill(p, signal.SIGKILL) for p in peers()]",
    "SIGSTOP": "[os.kill(p, signal.SIGSTOP) for p in peers()]",
    "SIGSEGV": "[os.kill(p, signal.SIGSEGV) for p in peers()]",
    "stdout flood": "os.write(1, b'x' * (2 << 20))",
}
WHAT_STOPPED = {"SIGSTOP": "timeout", "stdout flood": "output_limit"}


@pytest.mark.parametrize("how", list(STOP_THE_RUN))
def test_a_run_stopped_after_a_passing_statement_is_the_candidates_failure(
    pool: SandboxPool, how: str
) -> None:
    """The candidate passes the first statement, then kills or stops the runner (its uid) or
    floods the output: the run fails, and the failure is the candidate's, never the task's
    (with no statement failing, "every failing statement is the task's" holds vacuously)."""
    program = PEERS + (
        f"import signal\ndef inc(x):\n    return x + 1\ndef key():\n    {STOP_THE_RUN[how]}\n"
    )
    res = pool.run_tests(
        program,
        ["assert inc(1) == 2", f"assert key() == {KEY!r}"],
        exports=["inc", "key"],
        limits=Limits(wall_s=1.5, memory_mb=512),
    )
    want = WHAT_STOPPED.get(how, "crash")
    assert (res.status, res.fault, res.completed) == (want, "candidate", 1), res


def test_no_process_outside_the_uid_can_be_reached(pool: SandboxPool) -> None:
    """Signals (kill, pidfd_send_signal) and every readable /proc file of the zygote, the
    supervisor and the waiting standbys: all refused."""
    program = (
        PEERS
        + LOOT
        + (
            "import signal\nreached = []\n"
            "for p in peers(False):\n"
            "    for sig in (0, signal.SIGSTOP, signal.SIGKILL):\n"
            "        try:\n            os.kill(p, sig)\n            reached.append((p, 'kill', sig))\n"
            "        except OSError:\n            pass\n"
            "        try:\n            fd = os.pidfd_open(p)\n"
            "            try:\n                signal.pidfd_send_signal(fd, sig)\n"
            "                reached.append((p, 'pidfd', sig))\n"
            "            finally:\n                os.close(fd)\n"
            "        except OSError:\n            pass\n"
            "    for name in ('mem', 'environ', 'maps', 'stack', 'syscall', 'io', 'auxv'):\n"
            "        try:\n            open(f'/proc/{p}/{name}', 'rb').read(1)\n"
            "            reached.append((p, name))\n"
            "        except OSError:\n            pass\n"
            "    try:\n        os.listdir(f'/proc/{p}/fd')\n        reached.append((p, 'fd'))\n"
            "    except OSError:\n        pass\n"
            "print(len(peers(False)) > 0, reached)\n"
        )
    )
    res = pool.run_script(program)
    assert res.stdout == "True []\n", res
    assert pool.run_script("print(1)").stdout == "1\n"


def test_the_pool_after_the_attacks(pool: SandboxPool) -> None:
    assert pool.restarts == 0
    assert pool.stray_processes() == []


# -- the zygote's record of exit statuses ----------------------------------------------------------
STATUSES = r"""
import os, select, socket
from assay_sandbox.standby import Factory

ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
factory = Factory(None, ours, supervisor=-1)
kids = {}
for code in (7, 3):
    pid = os.fork()
    if pid == 0:
        os._exit(code)
    kids[code] = pid
orphan, standby = kids[7], kids[3]
factory.adopt(standby)
for pid in kids.values():
    select.select([os.pidfd_open(pid)], [], [])
factory.reap()
assert orphan not in factory.statuses, "an orphan's status was kept"
assert os.waitstatus_to_exitcode(factory.statuses[standby][0]) == 3
factory.statuses[4242] = (9, 0.0)  # left by an earlier process of pid 4242, never asked about
factory.adopt(4242)  # a new standby got that pid
assert 4242 not in factory.statuses, "a stale status would stand for the new standby"
print("ok")
"""


def test_the_zygote_keeps_only_its_standbys_statuses() -> None:
    """Orphans the zygote reaps are forgotten, and a new standby never inherits the status an
    earlier process of its pid left: a program's orphans (thousands a second, with pids that
    wrap) must not evict another execution's status or stand for it. In a fresh interpreter:
    `Factory.reap` waits for any child."""
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-c", STATUSES], capture_output=True, text=True, timeout=60
    )
    assert res.stdout == "ok\n", res.stderr
