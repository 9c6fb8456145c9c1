"""Benchmark: the ``judge`` reward's throughput against a loopback chat-completions server with a
fixed latency per request, in one run. Rows:

- ``plain loop`` (the anchor): one POST per sample over one keep-alive ``http.client``
  connection, sequentially, as a hand-written judge reward does (reply read with ``json.loads``);
- ``judge c=1``: the ``judge`` reward with ``concurrency: 1`` (cache off);
- ``judge c=32``: the same with ``concurrency: 32`` (cache off);
- ``warm cache``: the c=32 batch scored again by a fresh judge on the cache the c=32 run
  filled (the cached run uses ``cache: true``; its cold run is the ``cold c=32`` row).

The server (`assay_judge.testing.ScriptedChatServer`, a real HTTP server on 127.0.0.1) sleeps
``--latency`` seconds per request and answers a fixed Likert verdict; it counts requests, so
``second_run_requests`` is what the warm run sent. No model is served (no GPU here).

    .venv/bin/python bench/judge.py [--latency 0.05] [--samples 320] [--sequential 40]
        [--real ../shared/eval/math_real_dev.jsonl]

``--real`` adds a plumbing check on real completions: ``assay judge calibrate`` over a labelled
JSONL (``completion``, ``answer``, ``label``) with a one-criterion rubric, twice (cold, then
warm cache), at zero server latency. The scripted judge passes a response when the reference
answer appears in its last 200 characters: the figures measure the machinery on real texts
(throughput, no lost lines, the warm run's requests), not a judge's quality.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Sibling bench scripts are named like stdlib modules (math.py, code.py): keep them off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

VERDICT = json.dumps({"reasoning": "scripted", "score": 4})


def script(body: dict[str, Any]) -> str:
    return VERDICT


def rows(n: int, tag: str) -> list[Any]:
    import assay

    return [
        assay.Sample(prompt=f"Question {i}: explain it.", completion=f"{tag} answer number {i}")
        for i in range(n)
    ]


def plain_loop(url: str, samples: list[Any]) -> list[float]:
    import http.client
    from urllib.parse import urlparse

    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    out = []
    for s in samples:
        msg = f"Grade 1-5 as JSON.\n{s.prompt_text}\n{s.completion_text}"
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": msg}]})
        conn.request(
            "POST", u.path + "/chat/completions", body, {"Content-Type": "application/json"}
        )
        reply = json.loads(conn.getresponse().read())
        grade = json.loads(reply["choices"][0]["message"]["content"])["score"]
        out.append((grade - 1) / 4)
    conn.close()
    return out


def substring_judge(body: dict[str, Any]) -> str:
    user = body["messages"][-1]["content"]
    ref_at = user.find("<reference_answer>\n")
    ref = (
        user[ref_at + 19 : user.index("\n</reference_answer>", ref_at)].strip()
        if ref_at >= 0
        else ""
    )
    resp = user[user.index("<response>\n") + 11 : user.rindex("\n</response>")]
    return json.dumps({"reasoning": "", "correct": bool(ref) and ref in resp[-200:]})


def real_data(path: str) -> dict[str, Any]:
    """Two `assay judge calibrate` passes over real completions (see the module docstring)."""
    import contextlib
    import io

    from assay.cli import main as assay_main
    from assay_judge.testing import ScriptedChatServer

    tmp = tempfile.mkdtemp(prefix="assay-judge-real-")
    rubric = f"{tmp}/rubric.yaml"
    with open(rubric, "w") as fh:
        fh.write(
            "criteria:\n  - name: correct\n    description: The final answer is the reference.\n"
        )
    out: dict[str, Any] = {}
    with ScriptedChatServer(substring_judge) as server:
        for run in ("cold", "warm"):
            before, buf = server.requests, io.StringIO()
            argv = ["judge", "calibrate", "--rubric", rubric, "--data", path, "--base-url",
                    server.url, "--model", "m", "--set", f"cache_path={tmp}/c.sqlite",
                    "--set", "concurrency=32"]  # fmt: skip
            t = time.perf_counter()
            with contextlib.redirect_stdout(buf):
                code = assay_main(argv)
            elapsed = time.perf_counter() - t
            result = json.loads(buf.getvalue().strip().splitlines()[-1])
            out[run] = {"exit": code, "seconds": round(elapsed, 2), "rows": result["n"],
                        "requests": server.requests - before,
                        "without_verdict": result["judged_errors"],
                        "rows_per_s": round((result["n"] + result["judged_errors"]) / elapsed, 1)}  # fmt: skip
        out["kappa_of_substring_judge"] = round(result["cohen_kappa"], 3)
    return out


def timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.05, help="server seconds per request")
    ap.add_argument("--samples", type=int, default=320, help="batch for c=32 and the warm run")
    ap.add_argument("--sequential", type=int, default=40, help="batch for the sequential rows")
    ap.add_argument("--real", help="labelled JSONL of real completions for the plumbing check")
    args = ap.parse_args()

    from assay_judge import JudgeReward
    from assay_judge.testing import ScriptedChatServer

    tmp = tempfile.mkdtemp(prefix="assay-judge-bench-")
    with ScriptedChatServer(script, latency=args.latency) as server:

        def judge(concurrency: int, cache: bool) -> Any:
            return JudgeReward(
                base_url=server.url,
                model="scripted",
                rubric={"likert": 5},
                concurrency=concurrency,
                cache=cache,
                cache_path=f"{tmp}/verdicts.sqlite",
            )

        # Warm-up: imports, the loop thread, the first connection.
        judge(4, False).score(rows(8, "warmup"))
        plain_loop(server.url, rows(2, "warmup"))

        seq, big = rows(args.sequential, "seq"), rows(args.samples, "big")
        results: dict[str, tuple[int, float]] = {}
        t, vals = timed(lambda: plain_loop(server.url, seq))
        results["plain loop (anchor)"] = (len(seq), t)
        j1 = judge(1, False)
        t, s1 = timed(lambda: j1.score(seq))
        assert [s.value for s in s1] == vals, "the judge and the plain loop disagree"
        results["judge c=1"] = (len(seq), t)
        j32 = judge(32, False)
        t, _ = timed(lambda: j32.score(big))
        results["judge c=32"] = (len(big), t)
        cold = judge(32, True)
        t, first = timed(lambda: cold.score(big))
        results["judge c=32, cold cache"] = (len(big), t)
        before = server.requests
        warm = judge(32, True)
        t, second = timed(lambda: warm.score(big))
        results["judge c=32, warm cache"] = (len(big), t)
        second_run_requests = server.requests - before
        max_in_flight = server.max_in_flight
        assert [s.value for s in first] == [s.value for s in second]
        errors = sum(s.status != "ok" for s in (*s1, *first, *second))

    rate = {k: n / t for k, (n, t) in results.items()}
    print(f"judge bench: server latency {args.latency * 1000:.0f} ms per request, loopback")
    print(f"{'row':28} {'samples':>8} {'seconds':>8} {'samples/s':>10}")
    for k, (n, t) in results.items():
        print(f"{k:28} {n:8d} {t:8.3f} {rate[k]:10.1f}")
    out = {
        "latency_s": args.latency,
        "samples_per_s": {k: round(v, 2) for k, v in rate.items()},
        "speedup_32_vs_1": round(rate["judge c=32"] / rate["judge c=1"], 2),
        "speedup_32_vs_plain_loop": round(rate["judge c=32"] / rate["plain loop (anchor)"], 2),
        "c1_vs_plain_loop": round(rate["judge c=1"] / rate["plain loop (anchor)"], 3),
        "warm_vs_cold": round(rate["judge c=32, warm cache"] / rate["judge c=32, cold cache"], 2),
        "second_run_requests": second_run_requests,
        "max_in_flight": max_in_flight,
        "errors": errors,
    }
    if args.real:
        real = real_data(args.real)
        for run in ("cold", "warm"):
            r = real[run]
            print(f"real data, {run}: {r['rows']} rows in {r['seconds']} s ({r['rows_per_s']} rows/s), "
                  f"{r['requests']} requests, {r['without_verdict']} without a verdict")  # fmt: skip
        out["real"] = real
    print(json.dumps(out))


if __name__ == "__main__":
    main()
