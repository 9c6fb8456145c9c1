"""Red-team set: the `math` reward and Math-Verify on the same hand-labelled cases, in one run.

The cases (tests/verifiers/math/data/redteam_cases.jsonl) imitate how current models end their
answers (R1-style `<think>`, Minerva, GSM8K, Chinese, multiple choice, multi-part, revisions,
hedges, notation, numeric policy, echo, prose golds, reward hacks, long outputs). Each case is
scored one at a time so the slowest case can be named. Math-Verify runs in a child process (gold
inside `$...$`, as its README asks; a case past ``--mv-limit`` seconds counts as a timeout).

    .venv/bin/python bench/math_redteam.py [--mv-limit 20] [--skip-mv] [--data CASES.jsonl]

``--data tests/verifiers/math/data/exam_cases.jsonl`` runs the examiner's set (same format).

Prints accuracy, false positives and false negatives per tool, every miss, and a final JSON line.
A Math-Verify verdict on a case labelled ``unverifiable`` counts as a miss (it cannot abstain);
cases with reward ``options`` (answer_after, numeric exact...) run through Math-Verify's defaults.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.realpath(os.path.abspath(p or ".")) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import assay  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests/verifiers/math/data/redteam_cases.jsonl"
EXPECTED = {"correct": 1.0, "incorrect": 0.0, "unverifiable": None}


def _load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _mv_one(gold: Any, completion: str) -> bool | None:
    """Math-Verify's verdict, as TRL's accuracy_reward calls it (None: the gold did not parse)."""
    from math_verify import parse, verify

    golds = gold if isinstance(gold, list) else [gold]
    for g in golds:
        if not g:
            continue
        text = g if "$" in g or "\\boxed" in g else f"${g}$"
        parsed = parse(text)
        if parsed and verify(parsed, parse(completion)):
            return True
    return False if any(golds) else None


def _tally(rows: list[tuple[dict[str, Any], Any]]) -> dict[str, Any]:
    right, fp, fn, miss = 0, [], [], []
    for case, got in rows:
        want = EXPECTED[case["label"]]
        if got == want:
            right += 1
            continue
        miss.append(case["id"])
        if got == 1.0 and want != 1.0:
            fp.append(case["id"])
        elif want == 1.0:
            fn.append(case["id"])
    return {
        "n": len(rows),
        "right": right,
        "accuracy": round(right / len(rows), 4),
        "fp": fp,
        "fn": fn,
        "misses": miss,
    }


def run_assay(
    cases: list[dict[str, Any]],
) -> tuple[list[tuple[dict, Any]], list[tuple[float, str]]]:
    rewards: dict[str, Any] = {}  # one reward per distinct set of options
    try:
        rows, times = [], []
        for case in cases:
            key = json.dumps(case["options"], sort_keys=True)
            if key not in rewards:
                rewards[key] = assay.get_reward("math", **case["options"])
                warm = assay.Sample(completion="\\boxed{x+1}", answer="1+x")
                rewards[key].score([warm])  # start the workers outside the timing
            reward = rewards[key]
            sample = assay.Sample(
                prompt=case["prompt"], completion=case["completion"], answer=case["gold"]
            )
            start = time.perf_counter()
            score = reward.score([sample])[0]
            times.append((time.perf_counter() - start, case["id"]))
            got = score.value if score.status in ("ok", "unverifiable") else f"<{score.status}>"
            rows.append((case, got))
            if got != EXPECTED[case["label"]]:
                print(
                    f"  assay miss {case['id']}: want {case['label']}, got {got}: {score.reason}"
                    f" | extracted={score.details.get('extracted')}"
                )
    finally:
        for reward in rewards.values():
            reward.close()
    return rows, times


def run_math_verify(cases: list[dict[str, Any]], limit: float) -> list[tuple[dict, Any]]:
    ctx = mp.get_context("spawn")
    pool = ctx.Pool(1)
    rows = []
    try:
        for case in cases:
            job = pool.apply_async(_mv_one, (case["gold"], case["completion"]))
            try:
                verdict = job.get(timeout=limit)
                got = None if verdict is None else float(verdict)
            except mp.TimeoutError:
                got = "<timeout>"
                pool.terminate()
                pool = ctx.Pool(1)
            except Exception as exc:  # noqa: BLE001 - any Math-Verify failure is a miss, recorded
                got = f"<error {type(exc).__name__}>"
            rows.append((case, got))
    finally:
        pool.terminate()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mv-limit", type=float, default=20.0)
    parser.add_argument("--skip-mv", action="store_true")
    parser.add_argument(
        "--data", type=Path, default=DATA, help="a case file (default: the red-team set)"
    )
    args = parser.parse_args()
    cases = _load(args.data)
    print(f"{len(cases)} cases from {args.data.name}")
    rows, times = run_assay(cases)
    ours = _tally(rows)
    times.sort(reverse=True)
    result: dict[str, Any] = {
        "n": len(cases),
        "assay": ours,
        "slowest": [(round(t, 4), i) for t, i in times[:5]],
    }
    if not args.skip_mv:
        mv_rows = run_math_verify(cases, args.mv_limit)
        result["math_verify"] = _tally(mv_rows)
    for name in ("assay", "math_verify"):
        if name in result:
            t = result[name]
            print(
                f"{name:12s} accuracy {t['accuracy']:.4f} ({t['right']}/{t['n']}) "
                f"FP {len(t['fp'])} FN {len(t['fn'])} other {len(t['misses']) - len(t['fp']) - len(t['fn'])}"
            )
    print(f"{'category':14s} {'n':>4s} {'assay':>6s} {'mv':>6s}")
    by_cat: dict[str, list[int]] = {}
    mv_miss = set(result["math_verify"]["misses"]) if "math_verify" in result else set()
    for case in cases:
        row = by_cat.setdefault(case["category"], [0, 0, 0])
        row[0] += 1
        row[1] += case["id"] not in ours["misses"]
        row[2] += case["id"] not in mv_miss
    for cat, (n, a, m) in by_cat.items():
        print(f"{cat:14s} {n:4d} {a / n:6.2f} {m / n:6.2f}")
    result["by_category"] = {
        k: {"n": v[0], "assay": v[1], "math_verify": v[2]} for k, v in by_cat.items()
    }
    print("slowest assay cases (s):", result["slowest"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
