"""Per-component placement on a two-node cluster simulated with Ray's own
`ray.cluster_utils.Cluster`: a head node with two CPUs and a second node that declares one GPU.

Ray lets a node declare ``num_gpus=1`` without having a GPU (it only counts the resource), so
this runs on a CPU-only machine: the component asking for a GPU (``rm``, a stand-in for a
reward model: a pure function of the sample, so inline gives the same values) must land on the
second node, the real math, code (sandboxed) and format verifiers on the head node, with
results identical to inline; an ``rm`` actor killed mid-batch loses no sample."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib.resources import files

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("assay_verifiers")

from ray.cluster_utils import Cluster  # noqa: E402

import assay  # noqa: E402
from assay.ray_executor import RayExecutor  # noqa: E402

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # `rm` below travels by value

_MB = 1024 * 1024


@contextlib.contextmanager
def head_and_gpu_node() -> Iterator[str]:
    """The cluster, and the node id of the node that declares a GPU."""
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "object_store_memory": 80 * _MB, "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1, num_gpus=1, object_store_memory=80 * _MB)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    try:
        gpu = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("GPU")]
        assert len(gpu) == 1
        yield gpu[0]
    finally:
        ray.shutdown()
        cluster.shutdown()


def rm(sample):
    """A stand-in for a reward model: a fixed function of the text, 20 ms per sample (so a kill
    lands mid-chunk)."""
    time.sleep(0.02)
    return (sum(map(ord, sample.completion_text)) % 97) / 96


SPEC = {
    "name": "mixed",
    "rewards": [
        {"use": "math", "num_cpus": 0.5},
        {"use": "code", "num_cpus": 0.5},
        {"use": "think_format", "weight": 0.2},
        {"use": "repetition", "weight": 0.1, "penalty": True},
        {"use": "rm", "weight": 0.5, "num_gpus": 1},
    ],
}


def _rows(copies: int) -> list[dict]:
    demo = [
        json.loads(x) for x in (files("assay") / "data" / "demo.jsonl").read_text().splitlines()
    ]
    return [{**r, "prompt": f"{r['prompt']} #{k}"} for k in range(copies) for r in demo]


def _dump(results):
    """Results as dicts, less what depends on the process's history rather than the sample
    (wall-clock ``duration_s``; which of math's paths answered)."""
    out = [r.model_dump() for r in results]
    for r in out:
        for name, comp in r["components"].items():
            comp["details"].pop("duration_s", None)
            if name == "math":
                comp["details"].pop("path", None)
    return out


def test_the_gpu_component_lands_on_the_gpu_node_and_results_match_inline():
    """Run in a fresh interpreter (this file as a script): a Ray cluster started and stopped
    in the test process next to other Ray sessions can leave it hanging."""
    done = subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert done.stdout.strip().endswith("placement checks passed")


def main() -> None:
    assay.get_registry().add("reward", "rm", rm)
    rows = _rows(4)  # 44 samples: about 0.9 s of rm work, so the kill lands mid-batch
    with head_and_gpu_node() as gpu_node, assay.load_pipeline(SPEC) as pipe:
        inline = _dump(pipe.score(rows))
        # every row is a math or a code task: the other verifier says "unverifiable" for it
        assert {r["status"] for r in inline} == {"unverifiable"}
        assert len({r["reward"] for r in inline}) > 5  # and the terms give distinct rewards
        ex = RayExecutor(pipe, 2)
        try:
            ex.warm()
            placed = ex.placement()
            assert set(placed) == {"math+code", "think_format+repetition", "rm"}, placed
            assert {node for _, node in placed["rm"]} == {gpu_node}
            elsewhere = {node for k, v in placed.items() if k != "rm" for _, node in v}
            assert gpu_node not in elsewhere and len(elsewhere) == 1
            assert {p.label: p.num_gpus for p in ex.pools}["rm"] == 1.0
            # Ray gives the rm actor the node's (declared) GPU, as it would a real one
            gpus = ex.gpus()
            assert [ids for ids, _ in gpus["rm"]] == [[0]] and gpus["rm"][0][1] == "0"
            assert all(ids == [] for k, v in gpus.items() if k != "rm" for ids, _ in v)
            assert _dump(pipe.score(rows, executor=ex)) == inline

            victim = placed["rm"][0][0]
            out: dict = {}
            t = threading.Thread(target=lambda: out.update(r=pipe.score(rows, executor=ex)))
            t.start()
            time.sleep(0.5)
            os.kill(victim, signal.SIGKILL)  # both "nodes" are processes on this machine
            t.join(180)
            assert _dump(out["r"]) == inline
            assert ex.replaced == 1
            assert {node for _, node in ex.placement()["rm"]} == {gpu_node}  # replaced there
        finally:
            ex.close()
    print("placement checks passed")


if __name__ == "__main__":
    main()
