"""The speed work on the request path keeps every cleanliness guarantee.

- The next session is forked when the current one has killed its processes (the baton), and
  the current one empties the work dir and IPC namespace after that: back-to-back requests
  must still each find an empty work dir, no process of an earlier program, no IPC object,
  and the worker must never be replaced for it.
- `share_library_pages` changes no mapping's protection for good, and forks of a process
  that called it fault less (real forks, real page-fault counters).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from assay_sandbox import Limits, SandboxPool
from assay_sandbox.warm import share_library_pages

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
        pytest.skip("sessions need programs under another uid (the namespaces layer)")
    for i in range(6):
        first = pool.run_script(LITTER)
        assert first.status == "ok" and first.stdout == "littered\n", first
        # every mode, right after: the session that serves it was forked at the hand-over
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


def test_a_session_never_counts_another_session_as_left_over(one_worker: SandboxPool) -> None:
    """Many quick requests: the previous session (exiting) and the next (waiting) are ours,
    never a process the health check reports, so the worker is never replaced."""
    pool = one_worker
    before = pool.restarts
    for _ in range(40):
        res = pool.run_statements("def f(a):\n    return a\n", ["assert f(2) == 2"])
        assert res.status == "ok", res
    assert pool.restarts == before


_PROBE = textwrap.dedent(
    """
    import importlib.util, json, os, re, resource, statistics
    spec = importlib.util.spec_from_file_location("warm", {path!r})
    warm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(warm)  # stdlib-only: no package (and no site-packages) needed
    share_library_pages = warm.share_library_pages

    def maps():  # bytes mapped per (file, protection); adjacent mappings may merge
        out = {{}}
        for line in open("/proc/self/maps"):
            f = line.split()
            if len(f) >= 6 and f[5].startswith("/"):
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                out[f[5] + " " + f[1]] = out.get(f[5] + " " + f[1], 0) + hi - lo
        return out

    WORK = compile("import json, re\\njson.loads(json.dumps({{'a': [1, 2]}}))\\nre.compile('x+y')", "w", "exec")

    def child_faults():
        counts = []
        for _ in range(5):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                exec(WORK, {{}})
                os.write(w, resource.getrusage(resource.RUSAGE_SELF).ru_minflt.to_bytes(8, "little"))
                os._exit(0)
            counts.append(int.from_bytes(os.read(r, 8), "little"))
            os.waitpid(pid, 0)
            os.close(r)
            os.close(w)
        return statistics.median(counts)

    before_maps, before = maps(), child_faults()
    n = share_library_pages()
    after_maps, after = maps(), child_faults()
    print(json.dumps({{"n": n, "same_maps": before_maps == after_maps, "before": before, "after": after,
                      "works": json.loads("[1]") == [1] and bool(re.match("a+", "aa"))}}))
    """
)


def test_share_library_pages_keeps_protections_and_saves_faults() -> None:
    import json

    from assay_sandbox import warm

    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _PROBE.format(path=warm.__file__)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(out.stdout)
    assert got["works"]
    assert got["same_maps"], "a mapping's protection changed for good"
    if got["n"] == 0:
        pytest.skip("this kernel or policy does not let text mappings be made writable")
    assert got["after"] < got["before"], got


def test_share_library_pages_without_maps_does_nothing() -> None:
    assert share_library_pages("/nonexistent/maps") == 0
