"""Adapter overhead: OpenRLHF and verl payloads through Assay's adapters vs the reward function a
user writes by hand for the same trainer, on the same cheap reward.

Workload: N samples shaped as the trainers send them (ChatML prompt, left padding, the
response with ``<|im_end|>`` and right padding; OpenRLHF labels and verl ground truths as JSON
strings ``{"answer": ..., "metadata": {"task": "qa"}}``). The reward is exact match of the
response against the answer. Anchor, per trainer: the hand-written function of each trainer's
docs (slice the query by the prompt's length or take the solution string, ``replace`` the end
tokens, ``json.loads`` the label, compare), which handles none of the other cases. Assay's side
also validates samples, decodes labels generally, keeps every component's score and counts
non-ok samples per component. Sides alternate within each round; medians of the rounds.

    python bench/adapters.py [--n 20000] [--repeats 5]
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.realpath(os.path.abspath(p or ".")) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from assay.pipeline import load_pipeline  # noqa: E402

END = ("<|im_end|>", "<|endoftext|>")


def make(n: int) -> tuple[list[str], list[str], list[str], list[str]]:
    prompts, queries, labels, solutions = [], [], [], []
    for i in range(n):
        prompt = f"<|im_start|>user\nWhat is {i} + 1?<|im_end|>\n<|im_start|>assistant\n"
        answer = str(i + 1) if i % 4 else str(i)
        response = f"{answer}<|im_end|>" + "<|endoftext|>" * (i % 3)
        prompts.append(prompt)
        queries.append("<|endoftext|>" * (i % 2) + prompt + response)
        labels.append(json.dumps({"answer": str(i + 1), "metadata": {"task": "qa"}}))
        solutions.append(response)
    return prompts, queries, labels, solutions


def anchor_openrlhf(queries: list[str], prompts: list[str], labels: list[str]) -> list[float]:
    out = []
    for q, p, lab in zip(queries, prompts, labels):
        q = q.replace("<|endoftext|>", "")
        response = q[len(p) :].replace("<|im_end|>", "").strip()
        out.append(1.0 if response == json.loads(lab)["answer"] else 0.0)
    return out


def anchor_verl(solutions: list[str], truths: list[str]) -> list[dict[str, float]]:
    out = []
    for s, gt in zip(solutions, truths):
        for tok in END:
            s = s.replace(tok, "")
        out.append({"score": 1.0 if s.strip() == json.loads(gt)["answer"] else 0.0})
    return out


def median_time(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    prompts, queries, labels, solutions = make(args.n)
    pipe = load_pipeline({"rewards": [{"use": "exact_match"}]})
    orl = pipe.as_openrlhf()
    verl = pipe.as_verl()
    sources = ["qa"] * args.n
    # Same verdicts on both sides first.
    ours, _ = orl.scores(queries, prompts, labels)
    assert ours == anchor_openrlhf(queries, prompts, labels)
    assert [r["score"] for r in verl(sources, solutions, labels, None)] == [
        r["score"] for r in anchor_verl(solutions, labels)
    ]
    rows = {}
    timings: dict[str, list[float]] = {k: [] for k in ("orl", "orl_anchor", "verl", "verl_anchor")}
    for _ in range(args.repeats):
        timings["orl"].append(median_time(lambda: orl.scores(queries, prompts, labels), 1))
        timings["orl_anchor"].append(
            median_time(lambda: anchor_openrlhf(queries, prompts, labels), 1)
        )
        timings["verl"].append(median_time(lambda: verl(sources, solutions, labels, None), 1))
        timings["verl_anchor"].append(median_time(lambda: anchor_verl(solutions, labels), 1))
    med = {k: statistics.median(v) for k, v in timings.items()}
    rows["openrlhf"] = (med["orl"], med["orl_anchor"])
    rows["verl_batch"] = (med["verl"], med["verl_anchor"])
    print(f"{'adapter':<12} {'assay us/sample':>16} {'anchor us/sample':>17} {'ratio':>7}")
    result: dict[str, float] = {"n": args.n}
    for name, (a, b) in rows.items():
        ratio = a / b
        print(f"{name:<12} {a / args.n * 1e6:>16.2f} {b / args.n * 1e6:>17.2f} {ratio:>6.2f}x")
        result[f"{name}_us_per_sample"] = round(a / args.n * 1e6, 3)
        result[f"{name}_anchor_us_per_sample"] = round(b / args.n * 1e6, 3)
        result[f"{name}_ratio"] = round(ratio, 3)
    print(json.dumps({"bench": "adapters", **result}))


if __name__ == "__main__":
    main()
