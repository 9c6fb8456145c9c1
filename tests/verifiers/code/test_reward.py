"""The `code` reward end to end, through the real sandbox."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import assay
from assay import Sample
from assay_verifiers.code.reward import CodeReward

ADD_ASSERTS = {
    "type": "asserts",
    "asserts": ["assert add(1, 2) == 3", "assert add(2, 2) == 4", "assert add(-1, 1) == 0"],
}
ADD_CHECK = {
    "type": "check",
    "check": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(0, 0) == 0\n",
    "entry_point": "add",
}
ADD_STDIO = {
    "type": "stdio",
    "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 6\n", "output": "11\n"}],
}
ADD_CALL = {
    "type": "call",
    "fn_name": "add",
    "cases": [{"args": [1, 2], "expected": 3}, {"args": [2, 2], "kwargs": {}, "expected": 4}],
}
ADD = "def add(a, b):\n    return a + b\n"
STDIO_ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


def sample(completion: str, tests: object, prompt: str = "") -> Sample:
    return Sample(prompt=prompt, completion=completion, tests=tests)


FORMS = [
    ("asserts", ADD, ADD_ASSERTS),
    ("check", ADD, ADD_CHECK),
    ("stdio", STDIO_ADD, ADD_STDIO),
    ("call", ADD, ADD_CALL),
    ("fenced", "Here:\n```python\n" + ADD + "```\n", ADD_CALL),
    ("chat completion", [{"role": "assistant", "content": ADD}], ADD_ASSERTS),
    (
        "LeetCode class",
        "class Solution:\n    def add(self, a, b):\n        return a + b\n",
        {**ADD_CALL, "fn_name": "Solution.add"},
    ),
]


@pytest.mark.parametrize(("name", "completion", "tests"), FORMS, ids=[f[0] for f in FORMS])
def test_correct_programs_score_one(
    code_reward: CodeReward, name: str, completion: object, tests: dict
) -> None:
    [s] = code_reward.score([sample(completion, tests)])  # type: ignore[arg-type]
    assert (s.value, s.status) == (1.0, "ok"), s
    assert s.details["passed"] == s.details["total"] > 0
    assert s.details["isolation"]


WRONG = [
    ("asserts", "def add(a, b):\n    return a - b\n", ADD_ASSERTS, "assert add(1, 2) == 3"),
    ("check", "def add(a, b):\n    return a * b\n", ADD_CHECK, "AssertionError"),
    ("stdio", "print(3)\n", ADD_STDIO, "case 1: wrong output"),
    ("call", "def add(a, b):\n    return float(a + b)\n", ADD_CALL, "(float), expected 3 (int)"),
    (
        "call bool",
        "def add(a, b):\n    return True\n",
        {**ADD_CALL, "cases": [{"args": [1, 0], "expected": 1}]},
        "(bool)",
    ),
    ("syntax", "def add(a, b)\n    return a + b\n", ADD_ASSERTS, "not valid Python"),
    ("no code", "", ADD_ASSERTS, "no code"),
    ("raises on load", "raise ValueError('boom')\n", ADD_ASSERTS, "ValueError: boom"),
    ("missing function", "def plus(a, b):\n    return a + b\n", ADD_CALL, "case 0"),
]


@pytest.mark.parametrize(("name", "completion", "tests", "why"), WRONG, ids=[w[0] for w in WRONG])
def test_wrong_programs_score_zero_with_a_reason(
    code_reward: CodeReward, name: str, completion: str, tests: dict, why: str
) -> None:
    [s] = code_reward.score([sample(completion, tests)])
    assert (s.value, s.status) == (0.0, "ok"), s
    assert why in s.reason, s.reason


def test_partial_credit_is_the_fraction_of_cases(
    partial_reward: CodeReward, code_reward: CodeReward
) -> None:
    half = "def add(a, b):\n    return 3 if (a, b) == (1, 2) else 0\n"
    [p] = partial_reward.score([sample(half, ADD_ASSERTS)])
    assert p.value == pytest.approx(2 / 3)  # add(-1, 1) == 0 passes too
    assert (p.details["passed"], p.details["failed"]) == (2, 1)
    assert p.details["first_failure"].startswith("asserts[1]")
    [a] = code_reward.score([sample(half, ADD_ASSERTS)])
    assert a.value == 0.0


def test_a_slow_assert_times_out_alone(partial_reward: CodeReward) -> None:
    """Per-case limit in the asserts form: the looping case fails, the others still count."""
    program = ADD + "def spin():\n    while True:\n        pass\n"
    tests = {
        "type": "asserts",
        "asserts": ["assert add(1, 2) == 3", "assert spin()", "assert add(2, 2) == 4"],
    }
    [s] = partial_reward.score([sample(program, tests)])
    assert s.value == pytest.approx(2 / 3), s
    assert "TimeoutError" in s.details["first_failure"]


BAD_TESTS = [
    None,
    {"type": "asserts"},
    {"type": "stdio", "cases": [{"input": "1"}]},
    "not json",
    {"type": "x"},
]


def test_malformed_tests_are_unverifiable_and_the_rest_is_scored(code_reward: CodeReward) -> None:
    batch = [sample(ADD, t) for t in BAD_TESTS] + [sample(ADD, ADD_CALL)]
    scores = code_reward.score(batch)
    assert [s.status for s in scores] == ["unverifiable"] * len(BAD_TESTS) + ["ok"]
    assert all(s.value is None and s.reason for s in scores[:-1])
    assert scores[-1].value == 1.0


def test_humaneval_style_continuation_of_the_prompt(code_reward: CodeReward) -> None:
    prompt = 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum."""\n'
    tests = {
        "type": "check",
        "check": "def check(candidate):\n    assert candidate([1, 2]) == 3\n",
        "entry_point": "total",
    }
    body = "    return sum(xs)\n"
    full = "```python\ndef total(xs: List[int]) -> int:\n    return sum(xs)\n```"
    scores = code_reward.score([sample(body, tests, prompt), sample(full, tests, prompt)])
    assert [s.value for s in scores] == [1.0, 1.0]
    assert [s.details["extraction"] for s in scores] == ["continuation", "prefixed"]


def test_stdio_float_tolerance_and_output_modes() -> None:
    tests = {"type": "stdio", "cases": [{"input": "", "output": "0.3333333333   2\n"}]}
    prog = "print(round(1 / 3, 6), 2)\n"
    strict, tolerant = CodeReward(workers=1), CodeReward(workers=1, float_tol=1e-5)
    exact = CodeReward(workers=1, output_mode="exact")
    try:
        assert strict.score([sample(prog, tests)])[0].value == 0.0
        assert tolerant.score([sample(prog, tests)])[0].value == 1.0
        spaced = {"type": "stdio", "cases": [{"input": "", "output": "1 2\n"}]}
        assert strict.score([sample("print('1  2  ')", spaced)])[0].value == 1.0
        assert exact.score([sample("print('1  2  ')", spaced)])[0].value == 0.0
    finally:
        for r in (strict, tolerant, exact):
            r.close()


def test_options_are_validated() -> None:
    with pytest.raises(Exception, match="partial_credits"):
        CodeReward(partial_credits=True)
    with pytest.raises(Exception, match="output_mode"):
        CodeReward(output_mode="prefix")


def test_registered_through_the_entry_point() -> None:
    assert "code" in assay.get_registry().names("reward")
    reward = assay.get_reward("code", partial_credit=True)
    try:
        assert isinstance(reward, CodeReward) and reward.opts.partial_credit
    finally:
        reward.close()


def test_duplicates_in_a_group_run_once_and_keep_order(code_reward: CodeReward) -> None:
    good, bad = sample(ADD, ADD_CALL), sample("def add(a, b):\n    return 0\n", ADD_CALL)
    scores = code_reward.score([good, bad, good, good, bad])
    assert [s.value for s in scores] == [1.0, 0.0, 1.0, 1.0, 0.0]
    scores[0].details["passed"] = -1  # each sample gets its own Score object
    assert scores[2].details["passed"] == 2


SLOW = "import time\ndef add(a, b):\n    time.sleep(0.5)\n    return a + b\n"


def test_a_batch_runs_in_parallel_across_the_pool() -> None:
    reward = CodeReward(workers=2, total_timeout=10)
    try:
        reward.score([sample(ADD, ADD_CHECK)])  # warm the pool
        batch = [sample(SLOW + f"# {i}\n", ADD_CHECK) for i in range(4)]
        t0 = time.perf_counter()
        scores = reward.score(batch)
        elapsed = time.perf_counter() - t0
    finally:
        reward.close()
    assert [s.value for s in scores] == [1.0] * 4
    assert elapsed < 3.0, elapsed  # 4 programs x 2 calls x 0.5 s: 4 s if serial, 2 s on 2 workers


def test_ascore_does_not_block_the_event_loop(code_reward: CodeReward) -> None:
    async def main() -> tuple[list, int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        t = asyncio.create_task(ticker())
        scores = await code_reward.ascore([sample(SLOW, ADD_CHECK), sample(ADD, ADD_STDIO)])
        stop.set()
        await t
        return scores, ticks

    scores, ticks = asyncio.run(main())
    assert [s.value for s in scores] == [1.0, 0.0]
    assert ticks >= 20  # the loop kept ticking through a 0.5 s program


def test_usable_from_trainer_threads(code_reward: CodeReward) -> None:
    out: dict[int, list] = {}

    def work(i: int) -> None:
        out[i] = code_reward.score([sample(ADD, ADD_CALL), sample(ADD, ADD_ASSERTS)])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all([s.value for s in out[i]] == [1.0, 1.0] for i in range(4))


def test_pipeline_and_trl_adapter(code_reward: CodeReward) -> None:
    pipe = assay.load_pipeline({"rewards": [{"use": "code", "with": {"partial_credit": True}}]})
    try:
        [r] = pipe.score([{"completion": ADD, "tests": ADD_ASSERTS}])
        assert r.reward == 1.0
        [fn] = pipe.as_trl()
        assert fn(
            prompts=["p"], completions=["def add(a, b):\n    return 3\n"], tests=[ADD_ASSERTS]
        ) == [pytest.approx(1 / 3)]
    finally:
        close = getattr(pipe, "close", None)
        if close:
            close()


_FORKED: list[CodeReward] = []


def _score_in_child(q: object) -> None:
    reward = _FORKED[0]
    try:
        q.put([s.value for s in reward.score([sample(ADD, ADD_CALL)])])  # type: ignore[attr-defined]
    finally:
        reward.close()  # the child's own pool; the parent's is untouched


def test_pickles_and_survives_a_fork(code_reward: CodeReward) -> None:
    import multiprocessing as mp
    import pickle

    clone = pickle.loads(pickle.dumps(code_reward))
    try:
        assert clone.score([sample(ADD, ADD_CALL)])[0].value == 1.0
    finally:
        clone.close()
    assert code_reward.score([sample(ADD, ADD_CALL)])[0].value == 1.0  # the parent's pool is up
    _FORKED[:] = [code_reward]
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=_score_in_child, args=(q,))
    child.start()
    assert q.get(timeout=60) == [1.0]
    child.join(30)
    assert child.exitcode == 0
    assert code_reward.score([sample(ADD, ADD_ASSERTS)])[0].value == 1.0  # still works here


def test_a_malformed_sample_is_an_error_and_the_rest_is_scored(code_reward: CodeReward) -> None:
    bad = {"completion": 42, "tests": ADD_CALL}  # not text: the sample itself is malformed
    scores = code_reward.score([bad, sample(ADD, ADD_CALL)])  # type: ignore[list-item]
    assert (scores[0].status, scores[0].value) == ("error", None)
    assert "completion" in scores[0].reason
    assert scores[1].value == 1.0
