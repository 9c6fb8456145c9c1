"""The request path's speed work keeps every guarantee (see ``assay_sandbox.zygote``).

- Every program runs in a *standby* the zygote forked ahead; the supervisor answers as soon as
  the child's end message comes, and only then kills every process of the sandbox uid and empties
  the work dir: back-to-back requests must still each find an empty work dir, no process of an
  earlier program, no IPC object, and the worker must never be replaced for it.
- The answer holds all the output the child wrote before its end message, its exit code and
  signal; a child that breaks its end pipe is waited for as before.
- A worker found unclean after it answered refuses the next request with ``retry``, and the pool
  sends that request to another worker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from assay_sandbox import Limits, SandboxPool
from assay_sandbox.supervise import execution_pipes

FAST = Limits(wall_s=3, cpu_s=3)

LITTER = """\
import os, subprocess, sys
open("left_behind.txt", "w").write("x" * 1000)
os.makedirs("a/b/c", exist_ok=True)
if os.fork() == 0:  # a daemon in its own session, asleep
    os.setsid()
    if os.fork() == 0:
        import time
        time.sleep(60)
    os._exit(0)
try:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget(0, 1 << 20, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
except OSError:
    pass
print("littered")
"""

LOOK = """\
import os
mine = []
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) == os.getpid():
        continue
    try:
        with open(f"/proc/{pid}/status") as f:
            uid = next(line for line in f if line.startswith("Uid:")).split()[1]
    except (OSError, StopIteration):
        continue
    if int(uid) == os.getuid():
        mine.append(pid)
shm = open("/proc/sysvipc/shm").read().splitlines()[1:] if os.path.exists("/proc/sysvipc/shm") else []
print(sorted(os.listdir(".")), mine, len(shm))
"""


@pytest.fixture(scope="module")
def one_worker() -> Iterator[SandboxPool]:
    with SandboxPool("process", workers=1, limits=FAST) as pool:
        yield pool


def test_back_to_back_requests_each_find_a_clean_worker(one_worker: SandboxPool) -> None:
    pool = one_worker
    if not pool.isolation.startswith("namespaces"):
        pytest.skip("standbys need programs under another uid (the namespaces layer)")
    for i in range(6):
        first = pool.run_script(LITTER)
        assert first.status == "ok" and first.stdout == "littered\n", first
        # every mode, right after: the supervisor answered the litter before it cleaned up
        if i % 3 == 0:
            look = pool.run_script(LOOK)
            assert look.stdout == "[] [] 0\n", look
        elif i % 3 == 1:
            res = pool.run_statements("import os", ["assert os.listdir('.') == []"])
            assert res.status == "ok" and res.completed == 1, res
        else:
            res = pool.run_tests(
                "import os\ndef f():\n    return os.listdir('.')\n",
                ["assert f() == []"],
                exports=["f"],
            )
            assert res.status == "ok" and res.completed == 1, res
    assert pool.restarts == 0
    assert pool.stray_processes() == []


def test_waiting_standbys_never_count_as_left_over(one_worker: SandboxPool) -> None:
    """Many quick requests: the standbys waiting for the next ones (the zygote's uid) are never
    a process the health check reports, so the worker is never replaced."""
    pool = one_worker
    before = pool.restarts
    for _ in range(40):
        res = pool.run_statements("def f(a):\n    return a\n", ["assert f(2) == 2"])
        assert res.status == "ok", res
    assert pool.restarts == before


def test_execution_pipes_are_fresh() -> None:
    fds = execution_pipes()
    assert len(fds) == 4 and len({fd for pair in fds for fd in pair}) == 8
    for pair in fds:
        for fd in pair:
            os.close(fd)


def test_the_answer_holds_everything_written_before_the_end(one_worker: SandboxPool) -> None:
    big = one_worker.run_script(
        "import sys\nsys.stdout.write('x' * 300_000)\nprint('!', file=sys.stderr)"
    )
    assert big.status == "ok" and len(big.stdout) == 300_000 and big.stderr == "!\n", big.reason
    code = one_worker.run_script("import sys\nprint('bye')\nsys.exit(3)")
    assert (code.status, code.exit_code, code.stdout) == ("ok", 3, "bye\n"), code
    killed = one_worker.run_script("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert (killed.status, killed.signal) == ("crash", 9), killed


BREAK_END = """\
import os, stat
for name in os.listdir('/proc/self/fd'):
    fd = int(name)
    if fd > 2:
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.close(fd)  # the end pipe (the channel is a socket)
        except OSError:
            pass
"""


def test_a_child_that_breaks_its_end_pipe_is_waited_for(one_worker: SandboxPool) -> None:
    res = one_worker.run_statements(BREAK_END, ["assert 1 + 1 == 2", "x = 3"])
    assert (res.status, res.completed) == ("ok", 2), res
    late = one_worker.run_statements(BREAK_END, ["import time; time.sleep(0.3)", "assert 0"])
    assert (late.status, late.completed) == ("failed", 1), late


def test_what_runs_on_after_the_answer_is_killed_before_the_next(one_worker: SandboxPool) -> None:
    """A daemon that keeps writing after its program has answered: the answer is not held up,
    and the daemon is gone before anything else runs."""
    daemon = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    while True:\n"
        "        print('still here', flush=True)\n"
        "        open('late.txt', 'a').write('x')\n"
        "        time.sleep(0.001)\n"
        "print('answered')\n"
    )
    res = one_worker.run_script(daemon, limits=FAST)
    assert res.status == "ok" and "answered" in res.stdout, res
    look = one_worker.run_script(LOOK)
    assert look.stdout == "[] [] 0\n", look
    assert one_worker.stray_processes() == []


def test_a_candidate_that_dies_while_loading_is_its_own_failure(one_worker: SandboxPool) -> None:
    res = one_worker.run_tests(
        "import os\nos._exit(0)\ndef f():\n    return 1\n", ["assert f() == 1"], exports=["f"]
    )
    assert res.status != "ok" and res.fault == "candidate" and res.completed == 0, res


class _Answers:
    """A transport whose worker answers from a list (no process: only the pool's retry logic is
    under test here; the real worker's ``retry`` answer needs a cleanup that fails)."""

    isolation = "fake"

    def __init__(self, answers: list[dict]) -> None:
        self.answers, self.sent, self.killed = answers, 0, False

    def send(self, obj: dict) -> None:
        self.sent += 1
        self.last = obj

    def recv(self, deadline: float | None) -> dict:
        return {**self.answers.pop(0), "id": self.last["id"]}

    def kill(self) -> None:
        self.killed = True


def test_a_retry_answer_goes_to_another_worker() -> None:
    from assay_sandbox.pool import _Worker

    pool = SandboxPool("process", workers=1, limits=FAST)
    try:
        (real,) = list(pool._all)
        real.t.kill()
        pool._all.clear()
        pool._idle.get()
        unclean = _Answers([{"status": "error", "fault": "sandbox", "retry": True, "health": "x"}])
        healthy = _Answers([{"status": "ok", "reason": "fine", "stdout": "1\n"}])
        for t in (unclean, healthy):
            w = _Worker(t)  # type: ignore[arg-type]
            pool._all.add(w)
            pool._idle.put(w)
        resp = pool._run({"mode": "script", "source": "print(1)"}, pool.limits)
        assert resp["status"] == "ok" and "retry" not in resp, resp
        assert unclean.killed and not healthy.killed and pool.restarts == 1
    finally:
        pool._closed = True
        pool._idle.queue.clear()
