"""Every first-party reward scores the same inline, on threads and in forked processes.

An executor may split a batch only along what each reward allows (`Reward.split_by`); a reward
that compares the samples of a group (``length`` in ``kimi`` mode) must see whole groups. The
batch below has GRPO-style groups (four completions per prompt, lengths and correctness mixed),
scored with the smallest chunks the executors allow (``chunk_size=1``), so any split that cuts a
group shows up. The first test fails when a first-party reward has no case here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import assay

FIRST_PARTY = {
    "assay",
    "assay-verifiers",
    "assay-rm",
    "assay-trl",
    "assay-judge",
    "assay-example-plugin",
}

PROMPTS = ["What is 2+3?", "What is 10-4?", "Name a colour.", "What is 7*6?"]
ANSWERS = ["5", "6", "red", "42"]
COMPLETIONS = [
    "<think>easy</think> \\boxed{{{a}}}",
    "<think>let me think about this for a while, step by step</think> The answer is \\boxed{{{a}}}",
    "<think>hmm</think> \\boxed{{0}}",
    'I am not sure. First, maybe 1. Second, maybe 2. \\boxed{{{a}}} {{"answer": "{a}"}}',
]


def batch() -> list[dict[str, Any]]:
    rows = []
    for p, a in zip(PROMPTS, ANSWERS):
        for c in COMPLETIONS:
            text = c.format(a=a)
            rows.append(
                {
                    "prompt": p,
                    "completion": text,
                    "completion_ids": [ord(ch) % 97 for ch in text],  # one token per character
                    "answer": a,
                    "other": f"The answer is {a}.",  # the second completion pairwise_judge reads
                    "metadata": {"json_schema": {"required": ["answer"]}},
                }
            )
    rows.append(  # a code sample, for the code reward (other rewards score it too)
        {
            "prompt": "Write add(a, b).",
            "completion": "```python\ndef add(a, b):\n    return a + b\n```",
            "tests": {"type": "call", "fn_name": "add", "cases": [{"args": [1, 2], "expected": 3}]},
        }
    )
    return rows


def _tiny(kind: str) -> dict[str, Any]:
    pytest.importorskip("transformers")
    import torch

    # A forked worker hangs in torch's thread pool when the parent has started one; one thread
    # in the parent keeps the process executor usable (docs/pipelines.md, "Executors").
    torch.set_num_threads(1)
    from assay_rm.tiny import char_tokenizer, tiny_process_model, tiny_reward_model

    tok = char_tokenizer()
    model = tiny_reward_model(tok) if kind == "rm" else tiny_process_model(tok)
    return {"model": model, "tokenizer": tok}


#: reward name -> list of (case id, options, extra components it reads)
CASES: dict[str, list[tuple[str, Any, list[dict[str, Any]]]]] = {
    "constant": [("", {"value": 0.5}, [])],
    "exact_match": [("", {}, [])],
    "regex": [("", {"pattern": r"\\boxed"}, [])],
    "math": [("", {}, [])],
    "code": [("", {"workers": 1}, [])],
    "json_schema": [("", {}, [])],
    "language": [("", {"expected": "Latin"}, [])],
    "length-range": [("range", {"unit": "chars", "min_len": 10, "max_len": 60, "falloff": 40}, [])],
    "length": [
        ("kimi", {"mode": "kimi", "unit": "chars"}, [{"use": "math"}]),
        ("cosine", {"mode": "cosine", "unit": "chars", "max_len": 80}, [{"use": "math"}]),
    ],
    "overlong": [("", {"max_completion_len": 60, "soft_punish_cache": 20}, [])],
    "reasoning_steps": [("", {}, [])],
    "repetition": [("", {"ngram_size": 2, "unit": "words"}, [])],
    "tag_count": [("", {}, [])],
    "think_format": [("", {}, [])],
    "char_fraction": [("", {"chars": "0123456789"}, [])],
    "reward_model": [("", "rm", [])],
    "process_reward": [("", "prm", [])],
    "online_reward_model": [("", "online", [])],
    "judge": [("", "judge", [])],
    "pairwise_judge": [("", "pairwise", [])],
}


def _judge_script(body: dict[str, Any]) -> str:
    """A scripted judge (no model can be served here): the verdict is a function of the text."""
    text = body["messages"][-1]["content"]
    if "<response_1>" in text:  # pairwise: the shorter response wins
        one = text.split("<response_1>")[1].split("</response_1>")[0]
        two = text.split("<response_2>")[1].split("</response_2>")[0]
        return json.dumps({"reasoning": "scripted", "winner": "1" if len(one) <= len(two) else "2"})
    return json.dumps({"reasoning": "scripted", "score": 1 + len(text) % 5})


@pytest.fixture(scope="module")
def judge_server() -> Iterator[str]:
    judge_testing = pytest.importorskip("assay_judge.testing")
    with judge_testing.ScriptedChatServer(_judge_script) as server:
        yield server.url


def _options(options: Any, judge_url: str | None = None) -> dict[str, Any]:
    if options in ("judge", "pairwise"):
        assert judge_url, "the judge cases need a scripted server (the judge_server fixture)"
        common = {"base_url": judge_url, "model": "scripted", "cache": False, "deadline": 30.0}
        if options == "judge":
            return {**common, "rubric": {"likert": 5}}
        return dict(common)
    if options == "rm":
        return _tiny("rm")
    if options == "prm":
        return _tiny("prm")
    if options == "online":
        return {**_tiny("rm"), "verifier": "exact_match", "update_every": 2}
    return dict(options)


def test_every_first_party_reward_has_a_case() -> None:
    reg = assay.get_registry()
    first_party = {e.name for e in reg.entries("reward") if e.distribution in FIRST_PARTY}
    covered = {name.split("-")[0] for name in CASES}
    assert first_party - covered == set(), "add an executor-equivalence case for these rewards"


PARAMS = [
    pytest.param(name.split("-")[0], opts, extra, id=f"{name}-{cid}" if cid else name)
    for name, cases in CASES.items()
    for cid, opts, extra in cases
]


def _table(results: Any) -> list[Any]:
    return [
        (r.reward, r.status, {k: (s.value, s.status) for k, s in r.components.items()})
        for r in results
    ]


@pytest.mark.parametrize(("name", "options", "extra"), PARAMS)
def test_same_results_inline_thread_process(
    name: str,
    options: Any,
    extra: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a tokenizer name must never reach the network
    try:
        assay.get_registry().get("reward", name)
    except assay.UnknownNameError:
        pytest.skip(f"{name}: its package is not installed here")
    if options in ("rm", "prm", "online") and not os.environ.get("ASSAY_EQUIVALENCE_CHILD"):
        # torch is not fork-safe once it has run on other threads: a forked worker can spin
        # forever in OpenMP or in MKL's allocator (docs/pipelines.md, "Executors"). The torch
        # cases therefore run in a fresh interpreter with OMP_NUM_THREADS=1, and the process
        # executor runs before the thread executor (below).
        env = {**os.environ, "ASSAY_EQUIVALENCE_CHILD": "1", "OMP_NUM_THREADS": "1"}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid]
        done = subprocess.run(
            cmd, cwd=request.config.rootpath, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        return
    judge = options in ("judge", "pairwise")
    opts = _options(options, request.getfixturevalue("judge_server") if judge else None)
    spec_rows = [*extra, {"use": name, "name": "under_test", "with": {}}]
    rows = batch()
    tables = {}
    # The process executor forks before the thread executor has run anything on other threads:
    # a fork after torch ran sgemm on the thread executor's threads once spun forever in MKL's
    # allocator (`mkl_serv_allocate`), OMP_NUM_THREADS=1 or not.
    for executor in ("inline", "process", "thread"):
        comps = [assay.Component(assay.get_reward(r["use"]), name=r["use"]) for r in spec_rows[:-1]]
        comps.append(assay.Component(assay.get_reward(name, **opts), name="under_test"))
        with assay.Pipeline(comps) as pipe:
            tables[executor] = _table(pipe.score(rows, executor=executor, workers=2, chunk_size=1))
    if options in ("rm", "prm", "online"):
        # A learned model's float32 output depends on the batch it ran in (padding length and
        # batch shape change the order of reductions) by ~1e-7: equal within float32 rounding.
        for ex in ("thread", "process"):
            assert _rounded(tables[ex]) == _rounded(tables["inline"])
        return
    assert tables["thread"] == tables["inline"]
    assert tables["process"] == tables["inline"]


def _rounded(table: list[Any]) -> list[Any]:
    def r(x: Any) -> Any:
        return round(x, 5) if isinstance(x, float) else x

    return [(r(a), st, {k: (r(v), s) for k, (v, s) in c.items()}) for a, st, c in table]


def test_kimi_length_keeps_its_groups_on_threads() -> None:
    """The reported case: ``length`` kimi + correctness was all 0.0 with two threads."""
    pytest.importorskip("assay_verifiers")
    spec = {
        "rewards": [
            {"use": "math", "weight": 0.0},
            {"use": "length", "with": {"mode": "kimi", "unit": "chars"}},
        ]
    }
    rows = batch()[:8]
    with assay.load_pipeline(spec) as pipe:
        inline = pipe.score(rows).rewards
        threaded = pipe.score(rows, executor="thread", workers=2).rewards
    assert inline == threaded
    assert any(r not in (0.0, None) for r in inline), inline
