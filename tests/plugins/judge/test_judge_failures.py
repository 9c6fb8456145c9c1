"""Failures against a real loopback chat-completions server answering from a script (no GPU
here to serve a model; see conftest): 5xx, garbage, 429 and Retry-After, other 4xx, unreachable
servers, deadlines, servers without structured output, a broken cache. Each failure is that
sample's `error` or `timeout` with a reason; the rest of the batch is scored."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import assay
from assay_judge import JudgeReward
from assay_judge.testing import Reply, graded_text


def _rows(texts: list[str]) -> list[dict[str, Any]]:
    return [{"prompt": "Explain photosynthesis.", "completion": t} for t in texts]


def test_500_and_garbage_are_errors_and_the_rest_is_scored(serve, judge_options) -> None:
    server = serve()
    judge = JudgeReward(**judge_options(server, max_retries=2))
    out = judge.score([assay.Sample(**r) for r in _rows(["good", "crash", "junk", "meh"])])
    assert [s.status for s in out] == ["ok", "error", "error", "ok"]
    assert [s.value for s in out] == [1.0, None, None, 0.25]
    assert "HTTP 500 after 3 attempts" in out[1].reason
    assert out[2].reason.startswith("unparsable verdict")
    assert out[2].details["reply"] == "Sure! I would rate this response highly."
    assert server.requests == 1 + 3 + 1 + 1
    # Failures are not cached: a re-run asks for them again, and only them.
    judge.score([assay.Sample(**r) for r in _rows(["good", "crash", "junk", "meh"])])
    assert server.requests == 6 + 3 + 1


def test_a_body_that_is_not_a_chat_completion_is_an_error(serve, judge_options) -> None:
    def script(body: dict[str, Any]) -> Reply | str:
        t = graded_text(body)
        if "html" in t:
            return Reply(body="<html>bad gateway</html>")
        if "empty" in t:
            return Reply(body='{"choices": []}')
        return '{"reasoning": "", "score": 3}'

    judge = JudgeReward(**judge_options(serve(script)))
    out = judge.score([assay.Sample(**r) for r in _rows(["html", "empty", "fine"])])
    assert [s.status for s in out] == ["error", "error", "ok"]
    assert "not JSON" in out[0].reason
    assert "not a chat completion" in out[1].reason


def test_429_with_retry_after_is_retried_after_the_wait(serve, judge_options) -> None:
    calls: dict[str, int] = {}
    stamps: list[float] = []

    def script(body: dict[str, Any]) -> Reply | str:
        t = graded_text(body)
        calls[t] = calls.get(t, 0) + 1
        stamps.append(time.monotonic())
        if calls[t] == 1:
            return Reply(status=429, body='{"error": "slow down"}', headers={"Retry-After": "0.4"})
        return '{"reasoning": "", "score": 4}'

    server = serve(script)
    judge = JudgeReward(**judge_options(server, backoff=0.0))
    out = judge.score([assay.Sample(**r) for r in _rows(["x"])])
    assert out[0].status == "ok" and out[0].value == 0.75
    assert server.requests == 2
    assert stamps[1] - stamps[0] >= 0.39  # the server's Retry-After, not the zero backoff


def test_retry_after_past_the_deadline_ends_the_sample_with_the_reason(
    serve, judge_options
) -> None:
    server = serve(lambda body: Reply(status=429, body="{}", headers={"Retry-After": "120"}))
    judge = JudgeReward(**judge_options(server, deadline=2.0))
    t = time.perf_counter()
    out = judge.score([assay.Sample(**r) for r in _rows(["x"])])
    assert time.perf_counter() - t < 1.5
    assert out[0].status == "error"
    assert "HTTP 429" in out[0].reason and "deadline" in out[0].reason


def test_per_sample_deadline_gives_timeout_and_others_finish(serve, judge_options) -> None:
    def script(body: dict[str, Any]) -> Reply | str:
        slow = "slow" in graded_text(body)
        return Reply(content='{"reasoning": "", "score": 5}', delay=3.0 if slow else 0.0)

    server = serve(script)
    judge = JudgeReward(**judge_options(server, deadline=0.5, cache=False))
    t = time.perf_counter()
    out = judge.score([assay.Sample(**r) for r in _rows(["slow", "fast"])])
    assert time.perf_counter() - t < 2.5
    assert [s.status for s in out] == ["timeout", "ok"]
    assert "deadline of 0.5 s" in out[0].reason


def test_queueing_does_not_count_against_the_deadline(serve, judge_options) -> None:
    server = serve(latency=0.1)
    judge = JudgeReward(**judge_options(server, concurrency=1, deadline=0.5, cache=False))
    out = judge.score([assay.Sample(**r) for r in _rows([f"good {i}" for i in range(8)])])
    assert [s.status for s in out] == ["ok"] * 8  # 0.8 s in all, each sample 0.1 s


def test_server_without_structured_output_is_asked_plainly(serve, judge_options) -> None:
    def script(body: dict[str, Any]) -> Reply | str:
        if "response_format" in body:
            return Reply(
                status=400, body='{"error": {"message": "response_format is not supported"}}'
            )
        return 'Let me think. {"reasoning": "fine", "score": 4} That is my grade.'

    server = serve(script)
    judge = JudgeReward(**judge_options(server, cache=False))
    out = judge.score([assay.Sample(**r) for r in _rows(["a", "b", "c"])])
    assert [s.value for s in out] == [0.75] * 3
    plain = [b for b in server.bodies if "response_format" not in b]
    assert len(plain) == 3 and server.requests <= 3 + 3


def test_other_4xx_is_not_retried(serve, judge_options) -> None:
    server = serve(lambda body: Reply(status=401, body='{"error": "bad key"}'))
    out = JudgeReward(**judge_options(server)).score([assay.Sample(**r) for r in _rows(["x"])])
    assert out[0].status == "error" and "HTTP 401" in out[0].reason
    assert out[0].details["body"] == '{"error": "bad key"}'
    assert server.requests == 1


def test_unreachable_server_is_an_error_per_sample(judge_options, serve) -> None:
    server = serve()
    server.stop()
    judge = JudgeReward(**judge_options(server, max_retries=1, request_timeout=1.0))
    out = judge.score([assay.Sample(**r) for r in _rows(["a", "b"])])
    assert [s.status for s in out] == ["error", "error"]
    assert "transport error" in out[0].reason


def test_bad_base_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not an http"):
        JudgeReward(base_url="127.0.0.1:8000/v1", model="m", rubric={"likert": 5}, cache=False)


def test_a_file_that_is_not_a_database_is_refused(tmp_path) -> None:
    bad = tmp_path / "not.sqlite"
    bad.write_bytes(b"this is not a database, just text " * 100)
    with pytest.raises(ValueError, match=r"cannot use .* verdict cache"):
        JudgeReward(
            base_url="http://127.0.0.1:9/v1", model="m", rubric={"likert": 5}, cache_path=str(bad)
        )


def test_a_cache_failing_mid_run_loses_entries_not_verdicts(
    serve, judge_options, monkeypatch
) -> None:
    import sqlite3

    from assay_judge.cache import VerdictCache

    def broken(self, *args):
        raise sqlite3.OperationalError("database is locked")

    server = serve()
    judge = JudgeReward(**judge_options(server))
    monkeypatch.setattr(VerdictCache, "put", broken)
    monkeypatch.setattr(VerdictCache, "get_many", broken)
    out = judge.score([assay.Sample(**r) for r in _rows(["good", "bad"])])
    assert [s.value for s in out] == [1.0, 0.25]


def test_reply_cut_at_max_tokens_says_so(serve, judge_options) -> None:
    body = {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None},
                "finish_reason": "length",
            }
        ]
    }
    server = serve(lambda b: Reply(body=json.dumps(body)))
    out = JudgeReward(**judge_options(server)).score([assay.Sample(**r) for r in _rows(["x"])])
    assert out[0].status == "error" and "max_tokens" in out[0].reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
        (
            '{"choices": [{"message": {"content": "' + "x" * (5 * 1024 * 1024) + '"}}]}',
            "over 4 MiB",
        ),
        ('{"choices": "nope"}', "not a chat completion"),
        ('{"choices": [{"message": {"content": 7}}]}', "no text content"),
    ],
)
def test_hostile_bodies_are_errors(serve, judge_options, body, reason) -> None:
    server = serve(lambda b: Reply(body=body) if "bad" in graded_text(b) else '{"score": 3}')
    out = JudgeReward(**judge_options(server)).score(
        [assay.Sample(**r) for r in _rows(["bad", "fine"])]
    )
    assert out[0].status == "error" and reason in out[0].reason
    assert out[1].value == 0.5
