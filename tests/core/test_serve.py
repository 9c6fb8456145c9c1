"""`assay serve`: a real uvicorn server on loopback, real worker processes, real HTTP clients."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from assay.pipeline import Pipeline, load_pipeline  # noqa: E402
from assay.serve import ProcessScorer, ThreadScorer, create_app  # noqa: E402
from assay.serve.runner import DrainingServer  # noqa: E402


def right(sample):
    if sample.answer is None:
        return None
    return 1.0 if sample.completion_text.strip() == str(sample.answer) else 0.0


def brief(sample):
    return 1.0 if len(sample.completion_text) <= 3 else 0.0


def slow(prompts, completions, **kw):
    """A batch reward that costs 20 ms per call, whatever the batch size."""
    time.sleep(0.02)
    return [0.0] * len(completions)


@pytest.fixture
def pipe(assay_registry) -> Pipeline:
    assay_registry.add("reward", "right", right)
    assay_registry.add("reward", "brief", brief)
    assay_registry.add("reward", "slow", slow)
    return load_pipeline(
        {
            "name": "toy",
            "rewards": [{"use": "right"}, {"use": "brief", "weight": 0.5}, {"use": "slow"}],
        }
    )


@contextlib.contextmanager
def running(app, drain_timeout: float = 10.0) -> Iterator[tuple[str, DrainingServer]]:
    """Serve ``app`` on a free loopback port in a thread; drain and stop on exit."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="on")
    server = DrainingServer(config, app.state.assay, drain_timeout)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < end:
        time.sleep(0.01)
    assert server.started, "server did not start"
    try:
        yield f"http://127.0.0.1:{server.port}", server
    finally:
        server.begin_shutdown()
        thread.join(30)
        app.state.assay.scorer.close()
        assert not thread.is_alive(), "server did not stop"


def test_every_protocol_shape(pipe):
    app = create_app(ThreadScorer(pipe), name="toy", components=pipe.component_names)
    with running(app) as (url, _), httpx.Client(base_url=url, timeout=30) as c:
        r = c.post(
            "/get_reward",
            json={"query": ["p42", "p7"], "prompts": ["p", "p"], "labels": ["42", "8"]},
        )
        data = r.json()
        assert r.status_code == 200 and data["rewards"] == [1.5, 0.5] == data["scores"]
        assert data["extra_logs"]["right"] == [1.0, 0.0] and data["statuses"] == ["ok", "ok"]

        r = c.post("/score", json={"samples": [{"completion": "42", "answer": "42"}, {"x": 1}]})
        res = r.json()["results"]
        assert res[0]["reward"] == 1.5 and res[0]["components"]["right"]["value"] == 1.0
        assert res[1]["status"] == "error" and "completion" in res[1]["reason"]  # per-row error

        one = {"prompt": "q", "response": "42", "label": "42"}
        assert c.post("/reward", json=one).json() == {
            "reward": 1.5,
            "rewards": {"right": 1.0, "brief": 1.0, "slow": 0.0},
            "status": "ok",
        }
        many = c.post("/reward", json=[one, {**one, "label": None}]).json()
        assert [m["reward"] for m in many] == [1.5, 0.5]

        nemo = {
            "responses_create_params": {"input": [{"role": "user", "content": "2+2?"}]},
            "response": {
                "output": [
                    {"type": "reasoning", "summary": []},
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": "4", "annotations": []}],
                    },
                ]
            },
            "expected_answer": "4",
            "task_id": 7,
        }
        v = c.post("/verify", json=nemo).json()
        assert v["reward"] == 1.5 and v["mask_sample"] is False and v["task_id"] == 7
        assert v["response"] == nemo["response"] and v["reward_components"]["right"] == 1.0
        unscored = c.post("/verify", json={**nemo, "expected_answer": None}).json()
        assert unscored["reward"] == 0.5 and unscored["reward_components"] == {
            "brief": 1.0,
            "slow": 0.0,
        }

        # `/` tells the shapes apart by their keys
        assert c.post("/", json=one).json()["reward"] == 1.5
        assert c.post("/", json=nemo).json()["reward"] == 1.5
        assert c.post("/", json={"query": ["42"], "labels": ["42"]}).json()["rewards"] == [1.5]


def _raw_post(url: str, path: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    host, port = url.removeprefix("http://").split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        c.request("POST", path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


def test_hostile_bodies_get_400_and_the_server_keeps_serving(pipe):
    app = create_app(ThreadScorer(pipe), max_queue=64)
    with running(app) as (url, _):
        cases = [
            ("/get_reward", b"[" * 100_000),  # nesting past the recursion limit
            ("/get_reward", b"\xff\xfe not json"),
            ("/get_reward", json.dumps({"query": "p42", "labels": ["42"]}).encode()),
            ("/get_reward", json.dumps({"query": ["a", "b"], "prompts": [""]}).encode()),
            ("/get_reward", b"[1, 2]"),
            ("/score", json.dumps({"samples": "abc"}).encode()),
            ("/score", json.dumps({"nothing": 1}).encode()),
            ("/reward", json.dumps({"prompt": "q"}).encode()),  # no response
            ("/reward", b"7"),
            ("/verify", json.dumps({"response": {"output": "x"}}).encode()),
            (
                "/verify",
                json.dumps({"responses_create_params": 3, "response": {"output": []}}).encode(),
            ),
        ]
        for path, body in cases:
            status, data = _raw_post(url, path, body)
            assert status == 400 and data["error"], (path, body[:40], status, data)
        with pytest.raises(json.JSONDecodeError):  # uvicorn itself answers 400, in plain text
            _raw_post(url, "/get_reward", b"{}", {"Content-Length": "-1"})
        status, data = _raw_post(
            url, "/score", json.dumps({"samples": [{"completion": "a"}] * 65}).encode()
        )
        assert status == 413 and "queue limit" in data["error"]
        status, data = _raw_post(
            url,
            "/get_reward",
            json.dumps({"query": ["42", None, 7], "labels": ["42"] * 3}).encode(),
        )
        assert status == 200 and data["rewards"][:2] == [1.5, 0.5]
        assert data["statuses"][2] == "error" and data["errors"][2]  # a wrong type: its row only


def test_bearer_auth(pipe):
    app = create_app(ThreadScorer(pipe), api_key="s3cret")
    body = {"query": ["42"], "labels": ["42"]}
    with running(app) as (url, _), httpx.Client(base_url=url, timeout=30) as c:
        assert c.get("/health").status_code == 200  # probes stay open
        assert c.get("/ready").status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            r = c.post("/get_reward", json=body, headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get("/metrics").status_code == 401
        ok = {"Authorization": "Bearer s3cret"}
        assert c.post("/get_reward", json=body, headers=ok).json()["rewards"] == [1.5]
        assert c.get("/metrics", headers=ok).status_code == 200


def test_full_queue_answers_503_with_retry_after(pipe):
    app = create_app(ThreadScorer(pipe), max_queue=8, max_batch=8, max_wait=0.0)
    with running(app) as (url, _):

        async def burst() -> list[httpx.Response]:
            import asyncio

            async with httpx.AsyncClient(base_url=url, timeout=30) as c:
                body = {"query": ["42"] * 4, "labels": ["42"] * 4}
                return await asyncio.gather(*(c.post("/get_reward", json=body) for _ in range(24)))

        import asyncio

        responses = asyncio.run(burst())
        codes = sorted(r.status_code for r in responses)
        assert set(codes) == {200, 503}, codes
        for r in responses:
            if r.status_code == 503:
                assert int(r.headers["retry-after"]) >= 1 and "queue full" in r.json()["error"]
            else:
                assert r.json()["rewards"] == [1.5] * 4


def test_micro_batching_merges_concurrent_requests_and_metrics_show_it(pipe):
    from prometheus_client.parser import text_string_to_metric_families

    app = create_app(ThreadScorer(pipe), max_batch=64, max_wait=0.05)
    with running(app) as (url, _):
        import asyncio

        async def group() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as c:
                # a GRPO group of 16 posted as 16 one-sample requests (slime's shape)
                return await asyncio.gather(
                    *(
                        c.post("/reward", json={"prompt": "q", "response": "42", "label": "42"})
                        for _ in range(16)
                    )
                )

        assert all(r.json()["reward"] == 1.5 for r in asyncio.run(group()))
        with httpx.Client(base_url=url) as c:
            text = c.get("/metrics").text
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    batch = {s.name: s.value for s in fams["assay_batch_samples"].samples if not s.labels.get("le")}
    assert batch["assay_batch_samples_sum"] == 16
    assert batch["assay_batch_samples_count"] < 16  # merged into fewer score calls
    requests = [s for s in fams["assay_requests"].samples if s.name == "assay_requests_total"]
    assert sum(s.value for s in requests if s.labels == {"endpoint": "slime", "code": "200"}) == 16
    comps = {
        (s.labels["component"], s.labels["status"]): s.value
        for s in fams["assay_component_status"].samples
        if s.name.endswith("_total")
    }
    assert comps[("right", "ok")] == 16
    assert "assay_queue_samples" in fams and "assay_request_seconds" in fams


def test_graceful_shutdown_finishes_in_flight_and_refuses_new(assay_registry):
    def sleepy(prompts, completions, **kw):
        time.sleep(1.0)
        return [1.0] * len(completions)

    assay_registry.add("reward", "sleepy", sleepy)
    pipe = load_pipeline({"rewards": [{"use": "sleepy"}]})
    app = create_app(ThreadScorer(pipe), max_wait=0.0)
    with running(app) as (url, server):
        result: dict = {}

        def in_flight() -> None:
            with httpx.Client(base_url=url, timeout=30) as c:
                result["r"] = c.post("/get_reward", json={"query": ["a"]})

        t = threading.Thread(target=in_flight)
        t.start()
        while app.state.assay.batcher.inflight == 0:
            time.sleep(0.01)
        server.begin_shutdown()
        with httpx.Client(base_url=url, timeout=30) as c:
            late = c.post("/get_reward", json={"query": ["b"]})
            assert late.status_code == 503 and late.headers["retry-after"]
            assert c.get("/ready").status_code == 503
        t.join(30)
        assert result["r"].status_code == 200 and result["r"].json()["rewards"] == [1.0]


def test_cli_serve_drains_on_sigterm(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    spec = tmp_path / "p.yaml"
    spec.write_text("name: em\nrewards:\n  - use: exact_match\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assay.cli",
            "serve",
            "-p",
            str(spec),
            "--port",
            "0",
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ASSAY_API_KEY": "k"},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("assay: serving em on http://127.0.0.1:"), line
        url = line.split()[-1]
        with httpx.Client(base_url=url, timeout=30, headers={"Authorization": "Bearer k"}) as c:
            r = c.post("/score", json={"samples": [{"completion": "a", "answer": "a"}]})
            assert r.json()["results"][0]["reward"] == 1.0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_load_64_clients_grpo_batches_none_lost_when_a_worker_is_killed(pipe):
    """64 concurrent clients post GRPO groups (16 completions of one prompt); a scoring worker
    is SIGKILLed mid-run; every request is answered with its 16 scores (the killed worker's
    batch is retried once on a replacement). Bounded: a fixed number of requests, timeouts."""
    import asyncio
    import os
    import signal

    scorer = ProcessScorer(pipe, workers=2, batch_timeout=60)
    app = create_app(scorer, max_batch=256, max_wait=0.005, max_queue=100_000)
    clients, per_client, group = 64, 4, 16
    killed: list[int] = []
    with running(app) as (url, _):

        async def client(c: httpx.AsyncClient, k: int) -> list[httpx.Response]:
            out = []
            for j in range(per_client):
                answer = str(1000 + k * 10 + j)  # 4 characters: `brief` gives 0
                body = {
                    "query": [f"q{k}:{answer if i % 2 == 0 else 'wrong'}" for i in range(group)],
                    "prompts": [f"q{k}:"] * group,
                    "labels": [answer] * group,
                }
                out.append(await c.post("/get_reward", json=body))
            return out

        async def killer() -> None:
            while scorer.retries == 0 and not killed:
                await asyncio.sleep(0.05)
                busy = scorer.worker_pids(busy=True)
                if busy:  # a worker in the middle of a batch
                    os.kill(busy[0], signal.SIGKILL)
                    killed.append(busy[0])

        async def main() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=clients)
            async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as c:
                kill = asyncio.create_task(killer())
                done = await asyncio.gather(*(client(c, k) for k in range(clients)))
                await asyncio.wait_for(kill, 30)
            return [r for rs in done for r in rs]

        responses = asyncio.run(asyncio.wait_for(main(), 120))
    assert killed and len(responses) == clients * per_client
    for r in responses:
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["rewards"] == [1.0 if i % 2 == 0 else 0.0 for i in range(group)], data
    assert scorer.retries >= 1 and killed[0] not in scorer.worker_pids()


def test_brief_rows_are_the_full_results_less_details(pipe, assay_registry):
    def odd(sample):
        if sample.completion_text == "boom":
            raise ValueError("boom")
        return "text" if sample.completion_text == "str" else None

    assay_registry.add("reward", "odd", odd)
    routed = load_pipeline(
        {
            "route": {
                "by": "metadata.task",
                "routes": {"a": {"rewards": [{"use": "right"}, {"use": "odd"}]}},
                "default": {"use": "brief"},
            }
        }
    )
    rows = [
        {"completion": "42", "answer": "42", "metadata": {"task": "a"}},
        {"completion": "boom", "metadata": {"task": "a"}},
        {"completion": "str", "metadata": {"task": "a"}},
        {"completion": "long text", "metadata": {"task": "b"}},
        {"completion": 7},
    ]
    results = routed.score(rows)
    full = [r.model_dump(mode="json") for r in results]
    expected = [
        {
            **{k: f[k] for k in ("reward", "status", "reason")},
            "components": {
                n: {"value": c["value"], "status": c["status"]} for n, c in f["components"].items()
            },
        }
        for f in full
    ]
    assert results.brief() == expected
    assert expected[2]["components"]["odd"]["status"] == "error"  # it returned a str


def test_a_nan_reward_is_null_in_the_answer(assay_registry):
    def nan(sample):
        return float("nan")

    assay_registry.add("reward", "nan", nan)
    pipe = load_pipeline({"rewards": [{"use": "nan"}]})
    app = create_app(ThreadScorer(pipe))
    with running(app) as (url, _), httpx.Client(base_url=url, timeout=30) as c:
        for path, body in [
            ("/score", {"samples": [{"completion": "a"}]}),
            ("/get_reward", {"query": ["a"]}),
            ("/reward", {"prompt": "q", "response": "a", "label": None}),
        ]:
            r = c.post(path, json=body)
            assert r.status_code == 200, r.text
            assert "NaN" not in r.text and "null" in r.text


def test_a_request_that_kills_its_worker_fails_alone(assay_registry):
    """A sample that crashes the scoring worker (here: exits it) every time: its request gets
    `error` rows after the retry; the requests micro-batched with it are scored."""
    import asyncio
    import os

    def fragile(sample):
        if sample.completion_text == "poison":
            os._exit(1)
        return 1.0

    assay_registry.add("reward", "fragile", fragile)
    pipe = load_pipeline({"rewards": [{"use": "fragile"}]})
    scorer = ProcessScorer(pipe, workers=1, batch_timeout=60)
    app = create_app(scorer, max_batch=64, max_wait=0.2)
    with running(app) as (url, _):

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, timeout=60) as c:
                bodies = [{"query": ["fine", "also fine"]} for _ in range(7)]
                bodies.insert(3, {"query": ["fine", "poison"]})
                return await asyncio.gather(*(c.post("/get_reward", json=b) for b in bodies))

        responses = asyncio.run(burst())
    data = [r.json() for r in responses]
    assert [d["statuses"] for d in data[:3] + data[4:]] == [["ok", "ok"]] * 7
    assert data[3]["statuses"] == ["error", "error"] and "died twice" in data[3]["errors"][1]
    assert scorer.retries == 4  # the merged batch twice, then the poisoned request twice
