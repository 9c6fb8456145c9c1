"""The Ray executor on a real local Ray (``num_cpus=2``), started once for this module."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

ray = pytest.importorskip("ray")

from assay.pipeline import load_pipeline  # noqa: E402
from assay.ray_executor import RayExecutor  # noqa: E402

# The rewards below are defined in this test module, which Ray's workers cannot import: send
# them by value, as a script's or notebook's own functions are.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def local_ray():
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=100 * 1024 * 1024,
        log_to_driver=False,
    )
    yield
    ray.shutdown()


def right(sample):
    if sample.answer is None:
        return None
    return 1.0 if sample.completion_text.strip() == str(sample.answer) else 0.0


def brief(sample):
    return 1.0 if len(sample.completion_text) <= 3 else 0.0


def slow(sample):
    time.sleep(0.02)
    return 0.25


def crash(sample):
    if sample.completion_text == "crash":
        os._exit(1)  # the whole actor dies, every time this sample is scored
    return 1.0


def hang(sample):
    if sample.completion_text == "hang":
        time.sleep(60)
    return 1.0


def _sibling(path: str):
    """A test module of this tree, by path (tests are not a package)."""
    import importlib.util
    from pathlib import Path

    file = Path(__file__).parents[1] / path
    spec = importlib.util.spec_from_file_location(f"_assay_tests_{file.stem}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dump(results):
    return [r.model_dump() for r in results]


def _rows(n: int) -> list[dict]:
    rows: list = [
        {"prompt": f"q{i % 9}", "completion": str(i % 7), "answer": str(i % 5)} for i in range(n)
    ]
    rows[3] = {"prompt": "q", "completion": {"not": "text"}}  # a bad row: its own error
    return rows


def test_identical_to_inline_in_input_order_with_resources_from_the_spec(local_ray, assay_registry):
    for f in (right, brief, slow):
        assay_registry.add("reward", f.__name__, f)
    spec = {
        "rewards": [
            {"use": "right", "num_cpus": 0.5},
            {"use": "brief", "weight": 0.5, "num_cpus": 0.25},
            {"use": "slow", "timeout": 5},  # a deadline: worker processes inside the actor
        ]
    }
    with load_pipeline(spec) as pipe:
        rows = _rows(60)
        inline = _dump(pipe.score(rows))
        assert _dump(pipe.score(rows, executor="ray", workers=2)) == inline
        ex = pipe._ray
        # different asks: a pool each, its actors reserving what its component asks
        pools = {p.label: (p.num_cpus, p.num_gpus, p.size) for p in ex.pools}
        # two CPUs: one actor each (1.75 CPU), then a second of the one that still fits
        assert pools == {"right": (0.5, 0.0, 1), "brief": (0.25, 0.0, 2), "slow": (1.0, 0.0, 1)}
        pids = {pid for pid, _ in ex.where()}
        assert _dump(pipe.score(rows, executor="ray", workers=2)) == inline
        assert {pid for pid, _ in ex.where()} == pids  # the same warm actors, not new ones
        assert os.getpid() not in pids


def test_an_actor_killed_mid_batch_loses_no_sample(local_ray, assay_registry):
    assay_registry.add("reward", "right", right)
    assay_registry.add("reward", "slow", slow)
    with load_pipeline({"rewards": [{"use": "right"}, {"use": "slow"}]}) as pipe:
        rows = _rows(80)
        inline = _dump(pipe.score(rows))
        ex = RayExecutor(pipe, 2)
        try:
            ex.warm()
            victim = ex.where()[0][0]
            out: dict = {}
            t = threading.Thread(target=lambda: out.update(r=pipe.score(rows, executor=ex)))
            t.start()
            time.sleep(0.3)  # chunks of 10 samples take 0.2 s each: both actors are busy
            os.kill(victim, signal.SIGKILL)
            t.join(120)
            assert _dump(out["r"]) == inline
            assert ex.replaced == 1 and victim not in {pid for pid, _ in ex.where()}
        finally:
            ex.close()


def test_a_sample_that_kills_actors_is_an_error_and_the_rest_is_scored(local_ray, assay_registry):
    assay_registry.add("reward", "crash", crash)
    with load_pipeline({"rewards": [{"use": "crash"}]}) as pipe:
        rows = [{"completion": c} for c in ["a", "b", "crash", "c", "d", "e"]]
        ex = RayExecutor(pipe, 2)
        try:
            res = pipe.score(rows, executor=ex, chunk_size=2)
            # the chunk [crash, c] kills two actors, is cut into single samples, and only the
            # sample that kills a third is an error
            assert [r.status for r in res] == ["ok", "ok", "error", "ok", "ok", "ok"]
            assert "died twice" in res[2].reason and res[2].reward is None
            assert [r.reward for r in res[3:]] == [1.0, 1.0, 1.0]
            assert ex.replaced == 3
        finally:
            ex.close()


def test_chunks_waiting_behind_the_one_that_kills_the_actor_are_not_blamed(
    local_ray, assay_registry
):
    """One actor, two chunks in flight: [a, b] dies with the actor behind [crash, x] and is
    sent again, not counted against it; [crash, x] kills two actors and is cut, and only
    "crash" is an error."""
    assay_registry.add("reward", "crash", crash)
    with load_pipeline({"rewards": [{"use": "crash"}]}) as pipe:
        rows = [{"completion": c} for c in ["crash", "x", "a", "b"]]
        ex = RayExecutor(pipe, 1)
        try:
            res = pipe.score(rows, executor=ex, chunk_size=2)
            assert [r.status for r in res] == ["error", "ok", "ok", "ok"]
            # after the first death the pool sends one chunk at a time: three deaths in all
            assert [r.reward for r in res[1:]] == [1.0, 1.0, 1.0] and ex.replaced == 3
        finally:
            ex.close()


def test_a_chunk_past_its_deadline_times_out_and_its_actor_is_replaced(local_ray, assay_registry):
    assay_registry.add("reward", "hang", hang)
    with load_pipeline({"rewards": [{"use": "hang"}]}) as pipe:
        ex = RayExecutor(pipe, 2, chunk_timeout=3.0)
        try:
            ex.warm()
            t0 = time.monotonic()
            res = pipe.score(
                [{"completion": "hang"}, {"completion": "ok"}], executor=ex, chunk_size=1
            )
            assert time.monotonic() - t0 < 20
            assert [r.status for r in res] == ["timeout", "ok"] and ex.replaced == 1
        finally:
            ex.close()


def test_cli_score_with_the_ray_executor(local_ray, tmp_path):
    import json

    from assay.cli import main

    src, out, spec = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "em.yaml"
    src.write_text(
        "".join(
            json.dumps({"id": i, "completion": str(i % 2), "answer": "1"}) + "\n" for i in range(40)
        )
    )
    spec.write_text("rewards:\n  - use: exact_match\n")
    argv = [
        "score",
        str(src),
        "-p",
        str(spec),
        "-o",
        str(out),
        "--executor",
        "ray",
        "--workers",
        "2",
    ]
    assert main(argv) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(40))
    assert [r["reward"] for r in rows] == [float(i % 2) for i in range(40)]


def test_serve_with_ray_actors(local_ray, assay_registry):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    from assay.serve import create_app, make_scorer

    running = _sibling("core/test_serve.py").running

    assay_registry.add("reward", "right", right)
    pipe = load_pipeline({"rewards": [{"use": "right"}]})
    app = create_app(make_scorer(pipe, "ray", 2))
    with running(app) as (url, _), httpx.Client(base_url=url, timeout=60) as c:
        body = {"query": ["1", "2", "3"], "labels": ["1", "1", "3"]}
        assert c.post("/get_reward", json=body).json()["rewards"] == [1.0, 0.0, 1.0]
        assert len(app.state.assay.scorer.executor.where()) == 2


def test_every_first_party_reward_scores_the_same_on_ray_actors(local_ray, monkeypatch, request):
    """The executor-equivalence batch (GRPO groups, smallest chunks the rewards allow) through
    one pipeline holding every first-party reward, inline and on two actors."""
    import assay

    eq = _sibling("test_executor_equivalence.py")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reg = assay.get_registry()
    comps = [assay.Component(assay.get_reward("math"), name="math")]
    judge_url: str | None = None
    for name, cases in eq.CASES.items():
        base = name.split("-")[0]
        try:
            reg.get("reward", base)
        except assay.UnknownNameError:
            continue  # its package is not installed here
        for cid, options, _extra in cases:
            if base == "math":
                continue
            if base in ("reward_model", "process_reward", "online_reward_model"):
                pytest.importorskip("transformers")
            judge = options in ("judge", "pairwise")
            if judge and judge_url is None:
                judge_testing = pytest.importorskip("assay_judge.testing")
                server = judge_testing.ScriptedChatServer(eq._judge_script).start()
                request.addfinalizer(server.stop)
                judge_url = server.url
            reward = assay.get_reward(base, **eq._options(options, judge_url if judge else None))
            comps.append(assay.Component(reward, name=f"{base}-{cid}" if cid else base))
    rows = eq.batch()
    with assay.Pipeline(comps) as pipe:
        inline = eq._rounded(eq._table(pipe.score(rows)))
        on_ray = eq._rounded(eq._table(pipe.score(rows, executor="ray", workers=2, chunk_size=1)))
    assert on_ray == inline


def test_an_actor_no_node_can_hold_is_a_clear_error(local_ray, assay_registry):
    assay_registry.add("reward", "right", right)
    pipe = load_pipeline({"rewards": [{"use": "right", "num_gpus": 1}]})
    with pipe, pytest.raises(ValueError, match=r"needs 1 CPU and 1 GPU .* no node has that"):
        pipe.score(_rows(4), executor="ray", workers=1)


def test_a_reward_defined_in_a_script_reaches_the_actors(local_ray, tmp_path):
    """A script's own reward (in ``__main__``) travels to the actors by value; the script joins
    this test's cluster through ``RAY_ADDRESS`` as a user's script joins theirs."""
    import json
    import subprocess

    script = tmp_path / "train.py"
    script.write_text(
        "import json\n"
        "import assay\n\n"
        "@assay.reward\n"
        "def shouty(sample):\n"
        "    return float(sample.completion_text.isupper())\n\n"
        "rows = [{'completion': c} for c in ['A', 'b', 'CC', 'dd'] * 3]\n"
        "with assay.load_pipeline({'rewards': [{'use': 'shouty'}]}) as pipe:\n"
        "    out = pipe.score(rows, executor='ray', workers=2)\n"
        "    print(json.dumps([out.rewards, len(pipe._ray.where())]))\n"
    )
    address = ray.get_runtime_context().gcs_address
    env = {**os.environ, "RAY_ADDRESS": address}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rewards, actors = json.loads(done.stdout.strip().splitlines()[-1])
    assert rewards == [1.0, 0.0, 1.0, 0.0] * 3 and actors == 2


def test_cli_serve_says_why_the_actors_cannot_start(local_ray, tmp_path):
    import subprocess

    spec = tmp_path / "rm.yaml"
    spec.write_text("rewards:\n  - use: exact_match\n    num_gpus: 1\n")
    env = {**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    argv = ["serve", "-p", str(spec), "--port", "0", "--executor", "ray"]
    done = subprocess.run(
        [sys.executable, "-m", "assay.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "did not start" in done.stderr and "no node has that" in done.stderr
