"""Pipeline overhead: 3 trivial rewards over 100,000 samples, through a pipeline vs a plain loop.

Both sides get the same list of `assay.Sample` objects and compute the same weighted sum;
the pipeline also dedupes, keeps per-component results and builds lazily-read results. Further
rows: the same pipeline with ``dedupe=False`` (no duplicate check), and dict input (validated
into Samples by the pipeline). Sides are timed in turn within each round. Prints a table and a
JSON line.

    python bench/pipeline_overhead.py [--n 100000] [--repeats 5]
"""

from __future__ import annotations

import os
import sys

# Sibling scripts in this folder are named like standard modules (math.py, code.py); running
# `python bench/NAME.py` puts the folder first on the import path, so drop it before the
# standard library imports `math` and gets a benchmark script instead.
_HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.realpath(os.path.abspath(p or ".")) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import assay  # noqa: E402
from assay.pipeline import Component, Pipeline  # noqa: E402
from assay.rewards import lift  # noqa: E402


def has_think(sample):
    return 1.0 if "<think>" in sample.completion else 0.0


def short(sample):
    return 1.0 if len(sample.completion) < 60 else 0.0


def mentions_answer(sample):
    return 1.0 if sample.answer in sample.completion else 0.0


FUNCS = (has_think, short, mentions_answer)
WEIGHTS = (1.0, 0.5, 0.2)


def plain_loop(samples):
    f1, f2, f3 = FUNCS
    w1, w2, w3 = WEIGHTS
    return [w1 * f1(s) + w2 * f2(s) + w3 * f3(s) for s in samples]


def make_rows(n: int) -> list[dict]:
    return [
        {
            "prompt": f"question {i}",
            "completion": f"<think>step {i}</think> the answer is {i % 97}"
            if i % 3
            else f"answer {i}",
            "answer": str(i % 97),
        }
        for i in range(n)
    ]


def interleaved_medians(fns: dict[str, object], repeats: int) -> dict[str, float]:
    """Median seconds per function, timed in turn within each round so that a noisy
    neighbour slows every side alike instead of one."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=11)
    args = ap.parse_args()
    rows = make_rows(args.n)
    samples = [assay.Sample(**r) for r in rows]
    pipe = Pipeline([Component(lift(f)(), weight=w) for f, w in zip(FUNCS, WEIGHTS)])
    assert pipe.score(samples[:1000]).rewards == plain_loop(samples[:1000])

    fast = Pipeline([Component(lift(f)(), weight=w) for f, w in zip(FUNCS, WEIGHTS)], dedupe=False)
    t = interleaved_medians(
        {
            "loop": lambda: plain_loop(samples),
            "pipe": lambda: pipe.score(samples),
            "nodedupe": lambda: fast.score(samples),
            "dicts": lambda: pipe.score(rows),
        },
        args.repeats,
    )
    t_loop, t_pipe, t_fast, t_dict = t["loop"], t["pipe"], t["nodedupe"], t["dicts"]
    print(f"{'':<34}{'median s':>10}{'per sample':>14}{'ratio':>8}")
    for label, secs in (
        ("plain loop (Samples)", t_loop),
        ("pipeline (Samples)", t_pipe),
        ("pipeline, dedupe off (Samples)", t_fast),
        ("pipeline (dicts)", t_dict),
    ):
        per = secs / args.n * 1e6
        print(f"{label:<34}{secs:>10.4f}{per:>12.2f}us{secs / t_loop:>8.2f}")
    print(
        json.dumps(
            {
                "bench": "pipeline_overhead",
                "n": args.n,
                "repeats": args.repeats,
                "plain_loop_s": round(t_loop, 5),
                "pipeline_s": round(t_pipe, 5),
                "pipeline_nodedupe_s": round(t_fast, 5),
                "pipeline_dicts_s": round(t_dict, 5),
                "ratio": round(t_pipe / t_loop, 3),
                "ratio_nodedupe": round(t_fast / t_loop, 3),
                "ratio_dicts": round(t_dict / t_loop, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
