"""Latency of one ``run_tests`` request: the working tree's sandbox next to a git revision's.

Since the candidate's process waits for the test runner's setup before it runs anything (see
``assay_sandbox.testrun``), the two no longer load side by side: this measures what that costs.
Each sandbox is a fresh 1-worker process pool in its own interpreter (a revision's sources are
shipped to the workers in place of the working tree's, as ``bench/sandbox_cost.py`` does); the
two alternate round by round so that on a shared machine both see the same load. Two setups:
HumanEval's (a ``check`` function) and one that sleeps 20 ms (a slow setup is where waiting for
it can cost). Prints a table and one JSON line: median and p90 per request, and the ratios.

    .venv/bin/python bench/sandbox_tests_latency.py [--ref HEAD~1] [--n 200] [--rounds 3]
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

SETUPS = {
    "check": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
    "slow setup": "import time\ntime.sleep(0.02)\ndef check(candidate):\n    assert candidate(1, 2) == 3\n",
}

CHILD = r"""
import json, subprocess, sys, time
import assay_sandbox.protocol as proto
from assay_sandbox import SandboxPool
ref, setup, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if ref:
    sources = []
    for m in proto.MODULES:
        r = subprocess.run(["git", "show", f"{ref}:sandbox/src/assay_sandbox/{m}.py"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            sources.append((m, r.stdout))
    proto._SOURCES = sources
out = []
with SandboxPool("process", workers=1) as pool:
    for i in range(10 + n):
        t0 = time.perf_counter()
        res = pool.run_tests("def add(a, b):\n    return a + b\n", ["check(add)"], setup=setup,
                             exports=["add"])
        if i >= 10:
            out.append(time.perf_counter() - t0)
        assert res.status == "ok", res
print(json.dumps(out))
"""


def run(ref: str, setup: str, n: int) -> list[float]:
    res = subprocess.run(
        [sys.executable, "-c", CHILD, ref, setup, str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", default="HEAD~1", help="the git revision to compare with")
    ap.add_argument("--n", type=int, default=200, help="requests per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for name, setup in SETUPS.items():
        got: dict[str, list[float]] = {"worktree": [], args.ref: []}
        for _ in range(args.rounds):
            got["worktree"] += run("", setup, args.n)
            got[args.ref] += run(args.ref, setup, args.n)
        for who, times in got.items():
            times.sort()
            rows.append(
                {
                    "setup": name,
                    "sandbox": who,
                    "median_ms": 1000 * statistics.median(times),
                    "p90_ms": 1000 * times[int(0.9 * (len(times) - 1))],
                }
            )
    print(f"{'setup':<12} {'sandbox':<12} {'median ms':>10} {'p90 ms':>8}")
    for r in rows:
        print(f"{r['setup']:<12} {r['sandbox']:<12} {r['median_ms']:>10.2f} {r['p90_ms']:>8.2f}")
    ratios = {
        name: next(
            r["median_ms"] for r in rows if r["setup"] == name and r["sandbox"] == "worktree"
        )
        / next(r["median_ms"] for r in rows if r["setup"] == name and r["sandbox"] == args.ref)
        for name in SETUPS
    }
    for name, ratio in ratios.items():
        print(f"worktree / {args.ref} median, {name}: {ratio:.2f}")
    load = os.getloadavg()[0]
    print(f"(1-minute load average at the end: {load:.1f})")
    print(
        json.dumps(
            {
                "bench": "sandbox_tests_latency",
                "ref": args.ref,
                "n": args.n,
                "rows": rows,
                "ratios": ratios,
                "load": load,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
