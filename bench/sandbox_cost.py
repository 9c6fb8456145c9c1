"""What one sandbox request costs the machine: CPU time and page faults, per request.

Wall-clock latency on a shared machine swings with the load (`bench/sandbox.py` reports it, with
the ratios its aims are stated in); the CPU time and page faults a request costs the whole worker
process tree (zygote, supervisor or sessions, programs, test runners) barely do. Each measurement runs in a
fresh interpreter: a 1-worker pool serves ``--n`` requests, and the zygote's own and reaped
children's CPU time and minor faults, with those of every process still alive under it (the
supervisor and the waiting standbys; from ``/proc/<pid>/stat``, CPU in clock ticks), are
compared with a run of no requests, which removes the start-up. With ``--ref`` the
same is measured for the sandbox sources of a git revision (shipped to the workers in place of the
working tree's), alternated with the working tree's. Prints a table and one JSON line.

    .venv/bin/python bench/sandbox_cost.py [--n 300] [--repeats 2] [--ref main]
"""

from __future__ import annotations

import os
import sys

# bench/ holds scripts named after what they measure (bench/math.py): keep it off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402

COMPLETION = "def add(a, b):\n    return a + b\n"
CHECK = (
    "def check(candidate):\n    assert candidate(1, 2) == 3\n"
    "    assert candidate(-1, 1) == 0\n    assert candidate(10, 5) == 15\n"
)

CHILD = r"""
import json, subprocess, sys
import assay_sandbox.protocol as proto
from assay_sandbox import SandboxPool
ref, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
completion, check = sys.argv[4], sys.argv[5]
if ref:
    sources = []
    for m in proto.MODULES:
        r = subprocess.run(["git", "show", f"{ref}:sandbox/src/assay_sandbox/{m}.py"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            sources.append((m, r.stdout))
    proto._SOURCES = sources
import os
with SandboxPool("process", workers=1) as pool:
    for _ in range(5 + n):
        if kind == "statements":
            res = pool.run_statements(completion, [check, "check(add)"])
        else:
            res = pool.run_tests(completion, ["check(add)"], setup=check, exports=["add"])
        assert res.status == "ok", res
    worker = next(iter(pool._all)).t.proc.pid
    with open(f"/proc/{worker}/task/{worker}/children") as f:
        zygote = f.read().split()[0]
    # The zygote and every process still alive under it (the supervisor, waiting standbys):
    # each one's own and its reaped children's CPU time and faults.
    ticks = faults = 0
    todo = [zygote]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo += f.read().split()
        except OSError:
            continue
        ticks += sum(int(x) for x in fields[11:15])
        faults += int(fields[7]) + int(fields[8])
tick = os.sysconf("SC_CLK_TCK")
print(json.dumps({"cpu_s": ticks / tick, "faults": faults}))
"""


def measure(ref: str, kind: str, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, ref, kind, str(n), COMPLETION, CHECK],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout)


def per_request(ref: str, kind: str, n: int) -> tuple[float, float]:
    """(CPU ms, page faults) per request: a run of ``n`` requests less a run of none."""
    base, run = measure(ref, kind, 0), measure(ref, kind, n)
    return (run["cpu_s"] - base["cpu_s"]) / n * 1e3, (run["faults"] - base["faults"]) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300, help="requests per measurement")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--ref", default="", help="also measure this git revision's sandbox")
    args = ap.parse_args()
    variants = {"worktree": ""} | ({f"ref {args.ref}": args.ref} if args.ref else {})
    got: dict[str, dict[str, list[tuple[float, float]]]] = {
        v: {"statements": [], "tests": []} for v in variants
    }
    for _ in range(args.repeats):  # alternated, so that the load from elsewhere hits all
        for name, ref in variants.items():
            for kind in ("statements", "tests"):
                got[name][kind].append(per_request(ref, kind, args.n))
    load = os.getloadavg()[0]
    rows = []
    print(f"{'sandbox':<22}{'request':<12}{'CPU ms/request':>16}{'faults/request':>16}")
    for name in variants:
        for kind in ("statements", "tests"):
            cpu = statistics.median(c for c, _ in got[name][kind])
            faults = statistics.median(f for _, f in got[name][kind])
            rows.append({"sandbox": name, "request": kind, "cpu_ms": cpu, "faults": faults})
            print(f"{name:<22}{kind:<12}{cpu:>16.2f}{faults:>16.0f}")
    print(f"(medians of {args.repeats}; 1-minute load average at the end: {load:.1f})")
    print(json.dumps({"bench": "sandbox_cost", "n": args.n, "rows": rows, "load": load}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
