"""Hostile inputs: every call returns within deadline + 0.5 s, from threads and asyncio tasks,
and a runaway sympy computation is really stopped (its worker killed and replaced)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import assay

DEADLINE = 1.0
SLACK = 0.5

NESTED_FRAC = "\\frac{1}{2+" * 200 + "1" + "}" * 200
NESTED_PARENS = "(" * 500 + "1" + ")" * 500
# sympy's solveset runs for minutes on this equation (measured: > 100 s).
RUNAWAY = (r"\sin(x)^{200}=\cos(x)", r"\boxed{\sin(x)=1}")

HOSTILE = [  # (gold, completion); none of them is correct except where noted in CORRECT
    ("3", r"\boxed{5^{5^{5^5}}}"),
    (r"5^{5^{5^5}}", r"\boxed{3}"),
    ("3", r"\boxed{9999999!}"),
    ("3", "\\boxed{" + NESTED_FRAC + "}"),
    ("1", "\\boxed{" + NESTED_PARENS + "}"),
    ("1", "\\boxed{" + NESTED_PARENS[:-1] + "}"),
    ("7", "word " * 40_000),  # 200,000 characters, no answer
    ("7", "1+" * 100_000 + r"\boxed{7}"),  # 200,000 characters, the right answer at the end
    ("7", "\\boxed{" + "1+" * 100_000 + "}"),  # a 200,000-character answer
    RUNAWAY,
    ("2", r"\boxed{10^{10^{10}}}"),
    ("2", r"\boxed{\frac{1}{0}}"),
]
CORRECT = {"1+" * 100_000 + r"\boxed{7}"}


@pytest.fixture(scope="module")
def reward():
    r = assay.get_reward("math", timeout=DEADLINE, workers=len(HOSTILE), cache_size=0)
    r.score([assay.Sample(completion=r"\boxed{x+1}", answer="1+x")])  # start the workers
    yield r
    r.close()


def _timed(reward, gold: str, completion: str) -> tuple[float, assay.Score]:
    t0 = time.perf_counter()
    (score,) = reward.score([assay.Sample(completion=completion, answer=gold)])
    return time.perf_counter() - t0, score


def test_hostile_inputs_from_a_thread_pool(reward) -> None:
    with ThreadPoolExecutor(len(HOSTILE)) as ex:
        results = list(ex.map(lambda gc: _timed(reward, *gc), HOSTILE))
    for (gold, completion), (seconds, score) in zip(HOSTILE, results, strict=True):
        where = f"{completion[:60]!r} vs {gold!r}: {score.status} {score.reason}"
        assert seconds <= DEADLINE + SLACK, where
        assert (score.value == 1.0) is (completion in CORRECT), where
        assert score.reason, where
    statuses = {c: s.status for (_, c), (_, s) in zip(HOSTILE, results, strict=True)}
    assert statuses[RUNAWAY[1]] == "timeout"


def test_the_runaway_worker_is_killed_and_replaced(reward) -> None:
    kills = reward._pool.kills
    seconds, score = _timed(reward, *RUNAWAY)
    assert score.status == "timeout" and score.value is None, score.reason
    assert seconds <= DEADLINE + SLACK
    assert reward._pool.kills == kills + 1
    seconds, score = _timed(reward, r"\frac{\sqrt2}{2}", r"\boxed{\frac{1}{\sqrt{2}}}")
    assert score.value == 1.0 and seconds < DEADLINE


def test_hostile_inputs_from_asyncio_tasks(reward) -> None:
    async def main() -> list[tuple[float, assay.Score]]:
        async def one(gold: str, completion: str) -> tuple[float, assay.Score]:
            t0 = time.perf_counter()
            (score,) = await reward.ascore([assay.Sample(completion=completion, answer=gold)])
            return time.perf_counter() - t0, score

        return await asyncio.gather(*(one(g, c) for g, c in [*HOSTILE[:6], RUNAWAY]))

    for seconds, score in asyncio.run(main()):
        assert seconds <= DEADLINE + SLACK, score.reason


def test_the_memory_cap_stops_a_huge_allocation() -> None:
    # Expanding (x+1)^100000 into a polynomial needs about a gigabyte of coefficients; with
    # 64 MiB allowed over the parent's image the worker runs out of memory and is replaced.
    r = assay.get_reward("math", memory_mb=64, timeout=8.0, workers=1)
    try:
        t0 = time.perf_counter()
        (score,) = r.score([assay.Sample(completion=r"\boxed{(x+1)^{100000}=0}", answer="x=-1")])
        assert time.perf_counter() - t0 < 8.5
        assert score.status == "error" and "out of memory" in score.reason, score.reason
        (ok,) = r.score([assay.Sample(completion=r"\boxed{(x+1)^{3}=0}", answer="x=-1")])
        assert ok.value == 1.0, ok.reason
    finally:
        r.close()
