"""The judge against a real loopback chat-completions server answering from a script (no GPU
here to serve a model; see conftest): the spec, the cache, limits, self-consistency, cross-checks."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import threading
import time
from typing import Any

import pytest

import assay
from assay_judge import JudgeReward


def _rows(texts: list[str]) -> list[dict[str, Any]]:
    return [{"prompt": "Explain photosynthesis.", "completion": t} for t in texts]


def test_spec_shape_scores_through_a_pipeline(serve, judge_options, monkeypatch) -> None:
    server = serve()
    monkeypatch.setenv("JUDGE_TEST_KEY", "sk-test")
    opts = judge_options(server, api_key_env="JUDGE_TEST_KEY")
    pipe = assay.load_pipeline({"rewards": [{"use": "judge", "with": opts}]})
    res = pipe.score(_rows(["a good answer", "a weak answer"]))
    assert [r.reward for r in res] == [1.0, 0.25]
    judge = res[0].components["judge"]
    assert judge.details["criteria"] == {"score": 5}
    assert judge.details["cached"] is False
    # The request carried the key, the model, and the rubric's JSON schema.
    body = server.bodies[0]
    assert body["model"] == "scripted-judge"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["properties"]["score"]["maximum"] == 5


def test_missing_key_variable_is_a_clear_error(serve, judge_options, monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_JUDGE_KEY", raising=False)
    with pytest.raises(ValueError, match="NO_SUCH_JUDGE_KEY is not set"):
        JudgeReward(**judge_options(serve(), api_key_env="NO_SUCH_JUDGE_KEY"))


def test_bearer_key_is_sent(serve, judge_options, monkeypatch) -> None:
    server = serve()
    monkeypatch.setenv("JUDGE_TEST_KEY", "sk-secret")
    judge = JudgeReward(**judge_options(server, api_key_env="JUDGE_TEST_KEY"))
    judge.score([assay.Sample(**r) for r in _rows(["good"])])
    assert server.authorization == ["Bearer sk-secret"]
    judge.close()


def test_second_run_of_a_batch_makes_zero_requests(serve, judge_options) -> None:
    server = serve()
    texts = [f"answer {i} {'good' if i % 3 else 'poor'}" for i in range(40)]
    first = JudgeReward(**judge_options(server)).score([assay.Sample(**r) for r in _rows(texts)])
    assert server.requests == 40
    # A new judge (a re-run of the job) with the same cache file: nothing is asked again.
    again = JudgeReward(**judge_options(server))
    second = again.score([assay.Sample(**r) for r in _rows(texts)])
    assert server.requests == 40
    assert again.requests_sent == 0
    assert [s.value for s in second] == [s.value for s in first]
    assert all(s.details["cached"] for s in second)


def test_repeated_answers_in_a_batch_are_asked_once(serve, judge_options) -> None:
    server = serve()
    judge = JudgeReward(**judge_options(server, cache=False))
    samples = [assay.Sample(**r) for r in _rows(["same good answer"] * 8 + ["other"])]
    out = judge.score(samples)
    assert server.requests == 2
    assert [s.value for s in out] == [1.0] * 8 + [0.25]


def test_cache_false_asks_every_time(serve, judge_options) -> None:
    server = serve()
    judge = JudgeReward(**judge_options(server, cache=False))
    samples = [assay.Sample(**r) for r in _rows(["good", "bad"])]
    judge.score(samples)
    judge.score(samples)
    assert server.requests == 4


def test_cache_key_changes_with_what_decides_the_verdict(serve, judge_options) -> None:
    server = serve()
    samples = [assay.Sample(**r) for r in _rows(["good"])]
    JudgeReward(**judge_options(server)).score(samples)
    JudgeReward(**judge_options(server, model="other-judge")).score(samples)
    JudgeReward(**judge_options(server, rubric={"likert": 7})).score(samples)
    JudgeReward(
        **judge_options(
            server,
            template="Grade: {completion}\n<response>\n{completion}\n</response>\n{output_format}",
        )
    ).score(samples)
    JudgeReward(**judge_options(server)).score(
        [assay.Sample(prompt="other prompt", completion="good")]
    )
    assert server.requests == 5
    JudgeReward(**judge_options(server, model="other-judge")).score(samples)
    assert server.requests == 5


@pytest.mark.parametrize("limit", [1, 4])
def test_server_never_sees_more_concurrent_requests_than_configured(
    serve, judge_options, limit
) -> None:
    server = serve(latency=0.03)
    judge = JudgeReward(**judge_options(server, concurrency=limit, cache=False))
    samples = [assay.Sample(**r) for r in _rows([f"good {i}" for i in range(24)])]
    # Two threads scoring at once share one judge, so they share its limit.
    threads = [threading.Thread(target=judge.score, args=(samples[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.requests == 24
    assert server.max_in_flight == limit


def test_concurrency_is_used(serve, judge_options) -> None:
    server = serve(latency=0.05)
    judge = JudgeReward(**judge_options(server, concurrency=16, cache=False))
    t = time.perf_counter()
    judge.score([assay.Sample(**r) for r in _rows([f"good {i}" for i in range(32)])])
    elapsed = time.perf_counter() - t
    assert server.max_in_flight > 4
    assert elapsed < 32 * 0.05 / 2  # well under the sequential time


def test_rpm_limit_spaces_requests(serve, judge_options) -> None:
    server = serve()
    judge = JudgeReward(**judge_options(server, rpm=600, cache=False))  # 10/s, burst 10
    t = time.perf_counter()
    judge.score([assay.Sample(**r) for r in _rows([f"good {i}" for i in range(20)])])
    assert time.perf_counter() - t >= 0.9


def test_tpm_limit_spaces_requests(serve, judge_options) -> None:
    server = serve()
    # About 330 estimated tokens a request (prompt / 4 + max_tokens 64), 120 used (the server's
    # usage); 12000 tokens/min = 200/s, a bucket of 200. After the first request the bucket
    # holds at most 200 - 330 + 210 = 80 and must refill to 200 before each next one: >= 0.6 s.
    judge = JudgeReward(**judge_options(server, tpm=12000, max_tokens=64, cache=False))
    t = time.perf_counter()
    judge.score([assay.Sample(**r) for r in _rows([f"good {i}" for i in range(4)])])
    assert time.perf_counter() - t >= 3 * 0.6 - 0.05


def test_self_consistency_aggregates_draws(serve, judge_options) -> None:
    grades = {0: 5, 1: 3, 2: 4}

    def script(body: dict[str, Any]) -> str:
        return json.dumps({"reasoning": "", "score": grades[body["seed"]]})

    server = serve(script)
    judge = JudgeReward(**judge_options(server, n=3, temperature=0.7))
    out = judge.score([assay.Sample(**r) for r in _rows(["x"])])
    assert out[0].value == pytest.approx((1.0 + 0.5 + 0.75) / 3)
    assert sorted(out[0].details["draws"]) == [0.5, 0.75, 1.0]
    assert server.requests == 3
    median = JudgeReward(**judge_options(server, n=3, temperature=0.7, aggregate="median"))
    assert median.score([assay.Sample(**r) for r in _rows(["x"])])[0].value == 0.75
    assert server.requests == 3  # the same draws, cached


def test_self_consistency_needs_temperature() -> None:
    with pytest.raises(ValueError, match="temperature"):
        JudgeReward(
            base_url="http://127.0.0.1:9/v1", model="m", rubric={"likert": 5}, n=3, cache=False
        )


@pytest.mark.parametrize(
    ("mode", "status", "value"),
    [("record", "ok", 1.0), ("unverifiable", "unverifiable", None), ("mean", "ok", 0.5)],
)
def test_cross_check_records_disagreement(serve, judge_options, mode, status, value) -> None:
    def script(body: dict[str, Any]) -> str:
        return json.dumps({"reasoning": "", "score": 5 if body["model"] == "scripted-judge" else 1})

    server = serve(script)
    judge = JudgeReward(
        **judge_options(server, cross_check={"model": "second"}, on_disagreement=mode)
    )
    out = judge.score([assay.Sample(**r) for r in _rows(["x"])])[0]
    assert (out.status, out.value) == (status, value)
    cc = out.details["cross_check"]
    assert (
        cc["judge"] == "second"
        and cc["value"] == 0.0
        and cc["disagreement"] == 1.0
        and cc["agree"] is False
    )
    assert {b["model"] for b in server.bodies} == {"scripted-judge", "second"}


def test_reference_answer_reaches_the_judge(serve, judge_options) -> None:
    server = serve()
    rubric = {
        "criteria": [{"name": "correct", "description": "Matches the reference."}],
        "reference": "fallback ref",
    }
    judge = JudgeReward(**judge_options(server, rubric=rubric, cache=False))
    server_script = server.script
    server.script = lambda body: '{"reasoning": "", "correct": true}'
    out = judge.score(
        [
            assay.Sample(prompt="2+2?", completion="4", answer="4"),
            assay.Sample(prompt="q", completion="c"),
        ]
    )
    server.script = server_script
    assert [s.value for s in out] == [1.0, 1.0]
    users = [b["messages"][-1]["content"] for b in server.bodies]
    assert any("<reference_answer>\n4\n</reference_answer>" in u for u in users)
    assert any("fallback ref" in u for u in users)


def test_the_reward_pickles_and_scores_after(serve, judge_options) -> None:
    server = serve()
    judge = JudgeReward(**judge_options(server))
    clone = pickle.loads(pickle.dumps(judge))
    assert clone.score([assay.Sample(**r) for r in _rows(["good"])])[0].value == 1.0


def test_process_executor_scores_and_shares_the_cache(serve, judge_options) -> None:
    server = serve()
    opts = judge_options(server)
    pipe = assay.load_pipeline({"rewards": [{"use": "judge", "with": opts}]})
    rows = _rows([f"good {i}" for i in range(12)])
    first = pipe.score(rows, executor="process", workers=2)
    assert [r.reward for r in first] == [1.0] * 12
    assert server.requests == 12
    second = pipe.score(rows)  # the parent process reads what the children wrote
    assert [r.reward for r in second] == [1.0] * 12
    assert server.requests == 12


def _write_verdicts(path: str, start: int) -> None:
    from assay_judge.cache import VerdictCache

    cache = VerdictCache(path)
    for i in range(start, start + 200):
        cache.put(f"k{i % 300}", {"value": {"score": i}, "reply": "r"})


def test_cache_is_safe_across_processes_and_threads(tmp_path) -> None:
    from assay_judge.cache import VerdictCache

    path = str(tmp_path / "shared.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_verdicts, args=(path, s)) for s in (0, 100, 200)]
    for p in procs:
        p.start()
    threads = [threading.Thread(target=_write_verdicts, args=(path, s)) for s in (50, 150)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = VerdictCache(path)
    assert len(cache) == 300
    got = cache.get_many([f"k{i}" for i in range(300)])
    assert len(got) == 300 and all(json.dumps(v) for v in got.values())


def test_trl_adapter_and_async_scoring(serve, judge_options) -> None:
    import asyncio

    server = serve()
    pipe = assay.load_pipeline({"rewards": [{"use": "judge", "with": judge_options(server)}]})
    (fn,) = pipe.as_trl(components=False)
    # A GRPO group repeating an answer: asked once.
    assert fn(prompts=["p"] * 4, completions=["good", "good", "meh", "good"]) == [
        1.0,
        1.0,
        0.25,
        1.0,
    ]
    assert server.requests == 2
    judge = JudgeReward(**judge_options(server))

    async def main() -> list[Any]:
        return await judge.ascore([assay.Sample(**r) for r in _rows(["good", "new meh"])])

    out = asyncio.run(main())
    assert [s.value for s in out] == [1.0, 0.25]
    assert server.requests == 4  # "good" with this prompt was not asked before


def test_a_cross_check_on_the_same_server_shares_its_limit(serve, judge_options) -> None:
    server = serve(latency=0.03)
    judge = JudgeReward(
        **judge_options(server, concurrency=3, n=2, temperature=0.5, cross_check={"model": "b"})
    )
    judge.score([assay.Sample(**r) for r in _rows([f"good {i}" for i in range(10)])])
    assert server.requests == 30
    assert server.max_in_flight == 3


def test_draws_without_a_seed_are_cached_apart(serve, judge_options) -> None:
    count = {"n": 0}

    def script(body: dict[str, Any]) -> str:
        count["n"] += 1
        return json.dumps({"reasoning": "", "score": 1 + count["n"] % 5})

    server = serve(script)
    opts = judge_options(server, n=4, temperature=1.0, seed=None, concurrency=1)
    first = JudgeReward(**opts).score([assay.Sample(**r) for r in _rows(["x"])])[0]
    again = JudgeReward(**opts).score([assay.Sample(**r) for r in _rows(["x"])])[0]
    assert server.requests == 4
    assert sorted(again.details["draws"]) == sorted(first.details["draws"])
    assert len(set(first.details["draws"])) == 4


def test_each_judge_sends_its_own_key(serve, judge_options, monkeypatch) -> None:
    server = serve()
    monkeypatch.setenv("FIRST_KEY", "k1")
    monkeypatch.setenv("SECOND_KEY", "k2")
    opts = judge_options(server, api_key_env="FIRST_KEY")
    opts["cross_check"] = {"model": "b", "base_url": server.url, "api_key_env": "SECOND_KEY"}
    JudgeReward(**opts).score([assay.Sample(**r) for r in _rows(["good"])])
    by_model = {b["model"]: a for b, a in zip(server.bodies, server.authorization)}
    assert by_model == {"scripted-judge": "Bearer k1", "b": "Bearer k2"}
