"""Pipeline overhead: 3 trivial rewards over 100,000 samples, through a pipeline vs a plain loop.

Both sides get the same list of `assay.Sample` objects and compute the same weighted sum;
the pipeline also dedupes, keeps per-component results and builds lazily-read results. A second
row measures dict input (validated into Samples by the pipeline). Prints a table and a JSON line.

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


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rows = make_rows(args.n)
    samples = [assay.Sample(**r) for r in rows]
    pipe = Pipeline([Component(lift(f)(), weight=w) for f, w in zip(FUNCS, WEIGHTS)])
    assert pipe.score(samples[:1000]).rewards == plain_loop(samples[:1000])

    t_loop = median_time(lambda: plain_loop(samples), args.repeats)
    t_pipe = median_time(lambda: pipe.score(samples), args.repeats)
    t_dict = median_time(lambda: pipe.score(rows), args.repeats)
    print(f"{'':<28}{'median s':>10}{'per sample':>14}{'ratio':>8}")
    print(f"{'plain loop (Samples)':<28}{t_loop:>10.4f}{t_loop / args.n * 1e6:>12.2f}us{1.0:>8.2f}")
    print(
        f"{'pipeline (Samples)':<28}{t_pipe:>10.4f}{t_pipe / args.n * 1e6:>12.2f}us{t_pipe / t_loop:>8.2f}"
    )
    print(
        f"{'pipeline (dicts)':<28}{t_dict:>10.4f}{t_dict / args.n * 1e6:>12.2f}us{t_dict / t_loop:>8.2f}"
    )
    print(
        json.dumps(
            {
                "bench": "pipeline_overhead",
                "n": args.n,
                "repeats": args.repeats,
                "plain_loop_s": round(t_loop, 5),
                "pipeline_s": round(t_pipe, 5),
                "pipeline_dicts_s": round(t_dict, 5),
                "ratio": round(t_pipe / t_loop, 3),
                "ratio_dicts": round(t_dict / t_loop, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
