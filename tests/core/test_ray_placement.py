"""Per-component resources on Ray: which components share a pool (table-driven, no Ray), how
many actors the nodes hold, guided chunk sizes (hypothesis), and, on a real local Ray
(``num_cpus=2``), pools scoring their components with results identical to inline."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assay
from assay.components import Component
from assay.models import Sample, Score
from assay.ray_executor import guided_chunks
from assay.ray_placement import PoolPlan, fit_actors, pipeline_resources, plan_pools
from assay.rewards import Reward, lift

# -- rewards (module level: Ray's workers get them by value, see below) ------------------------


def right(sample):
    if sample.answer is None:
        return None
    return 1.0 if sample.completion_text.strip() == str(sample.answer) else 0.0


def brief(sample):
    return 1.0 if len(sample.completion_text) <= 2 else 0.0


def slow(sample):
    time.sleep(0.01)
    return 0.5


def crash(sample):
    if sample.completion_text == "crash":
        os._exit(1)  # the whole actor dies, every time this sample is scored
    return 1.0


def group_rank(prompts, completions, **kw):
    """Per GRPO group (the prompt): 1.0 for the longest completion of the group, else 0.0."""
    best: dict[str, int] = {}
    for p, c in zip(prompts, completions):
        best[p] = max(best.get(p, 0), len(c))
    return [1.0 if len(c) == best[p] else 0.0 for p, c in zip(prompts, completions)]


class Scaled(Reward):
    """Reads the ``right`` component: half its value where the completion is long."""

    name = "scaled"

    def score(self, samples: Sequence[Sample]) -> list:
        raise AssertionError("only scored with its upstream in these tests")

    def dependencies(self) -> list[str]:
        return ["right"]

    def score_with(self, samples: Sequence[Sample], upstream: dict[str, list[Score]]) -> list:
        return [
            None if u.value is None else u.value * (0.5 if len(s.completion_text) > 2 else 1.0)
            for s, u in zip(samples, upstream["right"])
        ]


def _reward(fn, **kw) -> Reward:
    reward: Reward = lift(fn, **kw)()
    return reward


def _pipeline(**asks) -> assay.Pipeline:
    """right (gate), brief, slow, a group reward, scaled (reads right), a penalty: each with
    the resources given in ``asks`` (name -> (num_cpus, num_gpus))."""

    def comp(name, reward, **kw):
        cpus, gpus = asks.get(name, (None, None))
        return Component(reward, name=name, num_cpus=cpus, num_gpus=gpus, **kw)

    return assay.Pipeline(
        [
            comp("right", _reward(right), gate=True, threshold=1.0, weight=2.0),
            comp("brief", _reward(brief), weight=0.5),
            comp("slow", _reward(slow)),
            comp("group", _reward(group_rank, split="prompt"), weight=0.25),
            comp("scaled", Scaled(), weight=0.1),
            comp("long", _reward(brief), penalty="below", weight=0.3),
        ]
    )


# -- planning (no Ray) -------------------------------------------------------------------------

_CASES = [
    ("nothing asked: one whole-pipeline pool", {}, [((), 1.0, 0.0)]),
    (
        "a GPU reward model apart from the CPU rewards",
        {"slow": (None, 1.0)},
        [(("right", "brief", "group", "scaled", "long"), 1.0, 0.0), (("slow",), 1.0, 1.0)],
    ),
    (
        "equal CPU asks share a pool; the reader stays with what it reads",
        {"right": (0.5, None), "brief": (0.5, None), "slow": (0.25, None), "scaled": (2, None)},
        [
            (("right", "brief", "scaled"), 2.0, 0.0),
            (("slow",), 0.25, 0.0),
            (("group", "long"), 1.0, 0.0),
        ],
    ),
    (
        "two GPU components never share actors",
        {"brief": (None, 0.5), "group": (2, 0.5)},
        [
            (("right", "slow", "scaled", "long"), 1.0, 0.0),
            (("brief",), 1.0, 0.5),
            (("group",), 2.0, 0.5),
        ],
    ),
    (
        "every component asks the same: one pool, as when nothing is asked",
        {n: (0.5, None) for n in ("right", "brief", "slow", "group", "scaled", "long")},
        [((), 0.5, 0.0)],
    ),
]


@pytest.mark.parametrize(("asks", "expected"), [c[1:] for c in _CASES], ids=[c[0] for c in _CASES])
def test_plan_pools(asks, expected):
    with _pipeline(**asks) as pipe:
        plans = plan_pools(pipe)
    assert [(p.components, p.num_cpus, p.num_gpus) for p in plans] == expected


def test_a_routed_or_nested_pipeline_is_one_pool_reserving_the_largest_cpu_and_all_gpus():
    inner = assay.Pipeline(
        [Component(_reward(right), num_gpus=0.5), Component(_reward(brief), num_cpus=2)],
        name="inner",
    )
    routed = assay.Pipeline(
        route=assay.Router("metadata.task", {"a": inner, "b": assay.Pipeline([_reward(slow)])})
    )
    assert plan_pools(routed) == [PoolPlan((), 2.0, 0.5)]
    outer = assay.Pipeline([inner, Component(_reward(slow), num_gpus=1)])
    assert [(p.components, p.num_cpus, p.num_gpus) for p in plan_pools(outer)] == [
        (("inner",), 2.0, 0.5),
        (("slow",), 1.0, 1.0),
    ]
    assert pipeline_resources(outer) == (2.0, 1.5)


_NODE = {"CPU": 2.0, "GPU": 0.0}
_GPU_NODE = {"CPU": 1.0, "GPU": 1.0}


@pytest.mark.parametrize(
    ("plans", "nodes", "workers", "expected"),
    [
        ([PoolPlan((), 1, 0)], [_NODE], 4, [2]),
        ([PoolPlan(("a",), 1, 0), PoolPlan(("rm",), 1, 1)], [_NODE, _GPU_NODE], 2, [2, 1]),
        ([PoolPlan(("a",), 0.5, 0), PoolPlan(("b",), 1, 0)], [_NODE], 3, [2, 1]),
        ([PoolPlan(("a",), 0.25, 0), PoolPlan(("rm",), 0.5, 0.5)], [_GPU_NODE], 2, [2, 1]),
    ],
)
def test_fit_actors(plans, nodes, workers, expected):
    assert fit_actors(plans, nodes, workers) == expected


def test_a_pool_no_node_can_hold_is_a_clear_error():
    with pytest.raises(ValueError, match=r"actor of rm needs 1 CPU and 1 GPU .* no node has"):
        fit_actors([PoolPlan(("a",), 1, 0), PoolPlan(("rm",), 1, 1)], [_NODE], 2)


_ASK = st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0])


@settings(max_examples=300, deadline=None)
@given(
    asks=st.lists(st.tuples(_ASK, _ASK), min_size=1, max_size=6),
    nodes=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 2)), min_size=1, max_size=5),
    workers=st.integers(1, 50),
)
def test_fit_actors_never_commits_more_than_the_nodes_hold(asks, nodes, workers):
    plans = [PoolPlan((f"c{i}",), c, g) for i, (c, g) in enumerate(asks)]
    resources = [{"CPU": float(c), "GPU": float(g)} for c, g in nodes]
    why = ""
    try:
        counts = fit_actors(plans, resources, workers)
    except ValueError as exc:  # some pool's first actor fits on no node (what is left of it)
        why = str(exc)
    if why:
        assert "no node has that left" in why
        alone = [
            any(r["CPU"] >= p.num_cpus and r["GPU"] >= p.num_gpus for r in resources) for p in plans
        ]
        assert not all(alone) or len(plans) > 1  # one pool that fits alone is never refused
        return
    assert all(1 <= k <= workers for k in counts)
    assert sum(k * p.num_cpus for k, p in zip(counts, plans)) <= sum(c for c, _ in nodes) + 1e-6
    assert sum(k * p.num_gpus for k, p in zip(counts, plans)) <= sum(g for _, g in nodes) + 1e-6


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 50), max_size=400),
    workers=st.integers(1, 64),
)
def test_guided_chunks_cover_every_piece_once_in_order_and_shrink(sizes, workers):
    pieces = [[0] * k for k in sizes]
    chunks = guided_chunks(pieces, workers)
    assert [k for c in chunks for k in c] == list(range(len(pieces)))
    lengths = [sum(sizes[k] for k in c) for c in chunks]
    # each chunk reaches its target (about 1/(2 workers) of what was left) by at most one
    # piece (the last may fall short), so no more chunks than the targets allow
    remaining = sum(sizes)
    for i, (c, n) in enumerate(zip(chunks, lengths)):
        target = max(1, remaining // (2 * workers))
        assert n >= target or i == len(chunks) - 1
        assert n - sizes[c[-1]] < target
        remaining -= n


# -- on a real local Ray -------------------------------------------------------------------------

ray = pytest.importorskip("ray")
# The rewards above live in this test module, which Ray's workers cannot import: by value.
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


def _rows(n: int) -> list:
    rows: list = [
        {"prompt": f"q{i % 7}", "completion": str(i % 13) * (1 + i % 3), "answer": str(i % 5)}
        for i in range(n)
    ]
    rows[5] = {"prompt": "q", "completion": {"not": "text"}}  # a bad row: its own error
    rows[9] = dict(rows[2])  # a duplicate: scored once, fanned out
    return rows


def _dump(results):
    return [r.model_dump() for r in results]


def test_pools_score_their_components_and_match_inline(local_ray):
    from assay.ray_executor import RayExecutor

    asks = {"right": (0.25, None), "scaled": (0.25, None), "slow": (0.5, None)}
    with _pipeline(**asks) as pipe:
        rows = _rows(90)
        inline = _dump(pipe.score(rows))
        ex = RayExecutor(pipe, 2)
        try:
            # two CPUs: one actor of each pool (1.75 CPU), then one more of the 0.25 pool
            pools = {p.label: (p.num_cpus, p.size) for p in ex.pools}
            assert pools == {
                "right+scaled": (0.25, 2),
                "brief+group+long": (1.0, 1),
                "slow": (0.5, 1),
            }
            for chunk_size in (None, 1, 7):
                out = pipe.score(rows, executor=ex, chunk_size=chunk_size)
                assert _dump(out) == inline
            placed = ex.placement()
            assert [len(v) for v in placed.values()] == [2, 1, 1]
            pids = {pid for v in placed.values() for pid, _ in v}
            assert len(pids) == 4 and os.getpid() not in pids  # four actors, none the driver
        finally:
            ex.close()


def test_an_actor_killed_in_one_pool_mid_batch_loses_no_sample(local_ray):
    from assay.ray_executor import RayExecutor

    with _pipeline(slow=(0.5, None)) as pipe:
        rows = _rows(120)
        inline = _dump(pipe.score(rows))
        ex = RayExecutor(pipe, 2)
        try:
            ex.warm()
            victim = ex.placement()["slow"][0][0]
            out: dict = {}
            t = threading.Thread(target=lambda: out.update(r=pipe.score(rows, executor=ex)))
            t.start()
            time.sleep(0.4)  # 0.01 s per sample: the slow pool is mid-batch
            os.kill(victim, signal.SIGKILL)
            t.join(120)
            assert _dump(out["r"]) == inline
            assert ex.replaced == 1 and victim not in {pid for pid, _ in ex.where()}
        finally:
            ex.close()


def test_a_sample_that_kills_one_pools_actors_is_that_components_error(local_ray):
    from assay.ray_executor import RayExecutor

    pipe = assay.Pipeline(
        [
            Component(_reward(right), name="right"),
            Component(_reward(crash), name="crash", num_cpus=0.5, weight=0.5),
        ]
    )
    rows = [{"completion": c, "answer": "b"} for c in ["a", "b", "crash", "c", "d", "b"]]
    with pipe:
        ex = RayExecutor(pipe, 1)
        try:
            res = pipe.score(rows, executor=ex, chunk_size=2)
            # [crash, c] kills two crash actors, is cut into single samples, and only "crash"
            # kills a third: its crash term is an error (counted as 0), its right term scored
            assert [r.status for r in res] == ["ok", "ok", "error", "ok", "ok", "ok"]
            assert res[2].components["crash"].status == "error"
            assert "died twice" in res[2].reason and res[2].reason.startswith("crash: ")
            assert res[2].components["right"].value == 0.0 and res[2].reward == 0.0
            assert [r.reward for r in res] == [0.5, 1.5, 0.0, 0.5, 0.5, 1.5]
            assert ex.replaced == 3 and [p.replaced for p in ex.pools] == [0, 3]
        finally:
            ex.close()


def test_a_chunk_past_its_deadline_in_one_pool_times_out_that_component(local_ray):
    from assay.ray_executor import RayExecutor

    def hang(sample):
        if sample.completion_text == "hang":
            time.sleep(60)
        return 1.0

    pipe = assay.Pipeline(
        [Component(_reward(right)), Component(_reward(hang), name="hang", num_cpus=0.5)]
    )
    with pipe:
        ex = RayExecutor(pipe, 1, chunk_timeout=3.0)
        try:
            ex.warm()
            t0 = time.monotonic()
            rows = [{"completion": "hang", "answer": "hang"}, {"completion": "ok", "answer": "ok"}]
            res = pipe.score(rows, executor=ex, chunk_size=1)
            assert time.monotonic() - t0 < 20
            assert [r.status for r in res] == ["timeout", "ok"]
            assert res[0].components["hang"].status == "timeout"
            assert res[0].components["right"].value == 1.0 and res[0].reward == 1.0
            assert [p.replaced for p in ex.pools] == [0, 1]
        finally:
            ex.close()


def test_more_workers_than_the_nodes_hold_get_only_the_actors_that_fit(local_ray):
    """Three one-CPU actors on two CPUs: the third would stay pending forever and the chunks
    sent to it would never come back (as they did not before); two are started instead."""
    from assay.ray_executor import RayExecutor

    with assay.Pipeline([_reward(right)]) as pipe:
        rows = _rows(40)
        inline = _dump(pipe.score(rows))
        ex = RayExecutor(pipe, 3)
        try:
            assert [p.size for p in ex.pools] == [2] and len(ex.where()) == 2
            assert _dump(pipe.score(rows, executor=ex)) == inline
        finally:
            ex.close()


def test_an_empty_batch_and_no_chunks(local_ray):
    from assay.ray_executor import RayExecutor

    with _pipeline(slow=(0.5, None)) as pipe:
        ex = RayExecutor(pipe, 1)
        try:
            assert len(pipe.score([], executor=ex)) == 0
            assert ex.run([], None) == []
        finally:
            ex.close()
