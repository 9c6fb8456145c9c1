"""Throughput of the shaping rewards over 10,000 completions of ~4,000 characters, next to TRL's
built-ins (``trl.rewards``) where they define the same thing, measured in one run.

    .venv/bin/python bench/shaping.py [--n 10000] [--chars 4000] [--repeats 3] [--cosine-n 300]

Prints a table (median seconds over ``--repeats`` runs, completions per second, ratio of our
throughput to TRL's: > 1 means faster) and one final JSON line with every figure.
Rows with TRL:
- think_format (the TRL layout: one <think> section, free text after) vs think_format_reward;
- overlong vs get_soft_overlong_punishment; repetition (unit=tokens) vs get_repetition_penalty_reward
  (both on the trainer's completion_ids);
- length cosine vs get_cosine_scaled_reward, end to end with correctness from math verification
  (Assay's registered ``math`` reward vs TRL's accuracy_reward), on a ``--cosine-n`` subset:
  verification dominates that row, so it measures the math verifiers more than ``length``.
Rows without TRL: ``repetition[words]`` is open-r1's whitespace-word definition, the price of
``repetition[auto]`` (script-aware units) is read against it.
"""

from __future__ import annotations

import os
import sys

# Sibling scripts in this folder are named like standard modules (math.py, code.py); running
# `python bench/shaping.py` puts the folder first on the import path, so drop it before the
# standard library imports `math` and gets a benchmark script instead.
_HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.realpath(os.path.abspath(p or ".")) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

EN = [
    "we",
    "first",
    "compute",
    "the",
    "area",
    "of",
    "the",
    "triangle",
    "then",
    "we",
    "check",
    "the",
    "result",
    "against",
    "the",
    "constraint",
    "so",
    "the",
    "answer",
    "follows",
    "because",
    "each",
    "step",
    "uses",
    "the",
    "previous",
    "value",
    "and",
    "the",
    "sum",
    "of",
    "both",
    "sides",
    "is",
    "larger",
    "than",
    "the",
    "third",
    "side",
    "which",
    "means",
    "the",
    "triangle",
    "exists",
]
ZH = "我们首先计算三角形的面积然后检查结果是否满足约束条件因此答案成立每一步都使用前一步的值"


def make_completion(rng: random.Random, chars: int) -> str:
    """A ~``chars``-character completion: think/answer tags, English or Chinese, some repetitive."""
    kind = rng.random()
    if kind < 0.15:  # degenerate repetition
        unit = " ".join(rng.choices(EN, k=6)) + ". "
        body = unit * (chars // len(unit) + 1)
    elif kind < 0.35:  # Chinese reasoning
        body = "".join(rng.choice(ZH) for _ in range(chars // 3))
    else:
        words: list[str] = []
        n = 0
        while n < chars:
            w = rng.choice(EN)
            words.append(w)
            n += len(w) + 1
            if rng.random() < 0.02:
                words.append(f"\nStep {rng.randint(1, 9)}:")
        body = " ".join(words)
    body = body[: chars - 60]
    answer = json.dumps({"answer": rng.randint(1, 99), "unit": "cm"})
    layout = rng.random()
    if layout < 0.6:
        return f"<think>\n{body}\n</think>\n<answer>\n{answer}\n</answer>"
    if layout < 0.8:
        return f"{body}\n</think>\n<answer>\n{answer}\n</answer>"  # template prefilled <think>
    return f"<think>\n{body}\n</think>\n" * 2 + f"<answer>{answer}</answer>"  # gamed


def token_ids(rng: random.Random, text: str) -> list[int]:
    """Synthetic ids, ~1 per 4 characters; repetitive text repeats its ids."""
    n = max(1, len(text) // 4)
    if text.count(text[20:60]) > 3:  # repetitive: a short cycle
        cycle = [rng.randrange(32000) for _ in range(12)]
        return (cycle * (n // 12 + 1))[:n]
    return [rng.randrange(32000) for _ in range(n)]


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--chars", type=int, default=4_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cosine-n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")

    from trl import rewards as trl_rewards

    import assay
    from assay.models import Sample, Score

    rng = random.Random(args.seed)
    texts = [make_completion(rng, args.chars) for _ in range(args.n)]
    ids = [token_ids(rng, t) for t in texts]
    prompts = [
        "Compute the area of the triangle." if i % 5 else "求三角形的面积。" for i in range(args.n)
    ]
    trl_completions = [[{"role": "assistant", "content": t}] for t in texts]

    t0 = time.perf_counter()
    samples = [
        Sample(prompt=p, completion=t, completion_ids=i)
        for p, t, i in zip(prompts, texts, ids, strict=True)
    ]
    build_s = time.perf_counter() - t0

    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}, "unit": {"type": "string"}},
        "required": ["answer", "unit"],
    }
    ours: dict[str, tuple[Any, dict[str, Any]]] = {
        "think_format": (assay.get_reward("think_format"), {}),
        "think_format[trl layout]": (
            assay.get_reward("think_format", sections=["think"], text_after=True, prefill="never"),
            {"trl": lambda: trl_rewards.think_format_reward(trl_completions)},
        ),
        "tag_count": (assay.get_reward("tag_count"), {}),
        "json_schema": (assay.get_reward("json_schema", schema=schema, tag="answer"), {}),
        "length[range,tokens]": (assay.get_reward("length", min_len=100, max_len=2000), {}),
        "overlong": (
            assay.get_reward("overlong", max_completion_len=1000, soft_punish_cache=200),
            {"trl": lambda: trl_rewards.get_soft_overlong_punishment(1000, 200)(ids)},
        ),
        "repetition[tokens]": (
            assay.get_reward("repetition", unit="tokens"),
            {"trl": lambda: trl_rewards.get_repetition_penalty_reward(3, -1.0)(ids)},
        ),
        "repetition[auto]": (assay.get_reward("repetition"), {}),
        "repetition[words]": (assay.get_reward("repetition", unit="words"), {}),
        "reasoning_steps": (assay.get_reward("reasoning_steps"), {}),
        "language": (assay.get_reward("language"), {}),
    }

    rows: list[dict[str, Any]] = []
    for name, (reward, anchors) in ours.items():
        out = reward.score(samples)
        assert len(out) == args.n
        ours_s = median_time(lambda r=reward: r.score(samples), args.repeats)
        row: dict[str, Any] = {"reward": name, "n": args.n, "ours_s": ours_s}
        if "trl" in anchors:
            trl_out = anchors["trl"]()
            mine = [o.value if isinstance(o, Score) else o for o in out]
            row["same_values_as_trl"] = mine == list(trl_out)
            row["trl_s"] = median_time(anchors["trl"], args.repeats)
            row["speed_ratio"] = row["trl_s"] / ours_s
        rows.append(row)

    # length, cosine: in a pipeline (correctness already scored) and end to end vs TRL.
    cos = assay.get_reward("length", mode="cosine", max_len=1000)
    verdicts = [Score.ok(float(i % 2)) for i in range(args.n)]
    cos_s = median_time(lambda: cos.score_with(samples, {"math": verdicts}), args.repeats)
    rows.append({"reward": "length[cosine, upstream given]", "n": args.n, "ours_s": cos_s})
    k = min(args.cosine_n, args.n)
    sub_solution = ["$42$"] * k
    sub_samples = [
        Sample(prompt=p, completion=c, completion_ids=i, answer="$42$")
        for p, c, i in zip(prompts[:k], trl_completions[:k], ids[:k], strict=True)
    ]
    trl_cos = trl_rewards.get_cosine_scaled_reward(max_len=1000)
    row = {"reward": "length[cosine, with correctness]", "n": k}
    if "math" in assay.get_registry().names("reward"):
        cos_e2e = assay.get_reward("length", mode="cosine", max_len=1000)
        # warm the verifier's workers on another gold answer (its cache must not help the timing)
        cos_e2e.score([Sample(completion=r"\boxed{1}", answer="$1$", completion_ids=[1])])
        t0 = time.perf_counter()
        mine = cos_e2e.score(sub_samples)
        row["ours_s"] = time.perf_counter() - t0
        row["ours_not_ok"] = sum(m.status != "ok" for m in mine)
        theirs = trl_cos(trl_completions[:k], sub_solution, ids[:k])
        # differs only where the `math` verifier and TRL's accuracy_reward disagree
        row["same_values_as_trl"] = [m.value for m in mine] == theirs
        row["differences"] = [
            f"{m.value} ({m.status}: {m.reason}) vs {t}"
            for m, t in zip(mine, theirs, strict=True)
            if m.value != t
        ][:3]
    row["trl_s"] = median_time(lambda: trl_cos(trl_completions[:k], sub_solution, ids[:k]), 1)
    if "ours_s" in row and not row["ours_not_ok"]:  # a failing verifier is no speed-up
        row["speed_ratio"] = row["trl_s"] / row["ours_s"]
    rows.append(row)

    print(f"{args.n} completions, median of {args.repeats} runs; built Samples in {build_s:.3f}s")
    print(
        f"{'reward':34} {'n':>6} {'ours s':>8} {'ours/s':>9} {'TRL s':>8} {'TRL/s':>9} "
        f"{'speed x':>8} same"
    )
    for r in rows:
        ours_s, trl_s = r.get("ours_s"), r.get("trl_s")
        print(
            f"{r['reward']:34} {r['n']:>6} "
            + (f"{ours_s:8.3f} {r['n'] / ours_s:9.0f} " if ours_s else f"{'-':>8} {'-':>9} ")
            + (f"{trl_s:8.3f} {r['n'] / trl_s:9.0f} " if trl_s else f"{'-':>8} {'-':>9} ")
            + (f"{r['speed_ratio']:8.2f} " if "speed_ratio" in r else f"{'-':>8} ")
            + str(r.get("same_values_as_trl", "-"))
        )
    summary = {
        "bench": "shaping",
        "n": args.n,
        "chars": args.chars,
        "repeats": args.repeats,
        "sample_build_s": build_s,
        "rows": rows,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
