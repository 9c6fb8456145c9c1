"""The Ray executor on a two-node cluster simulated with Ray's own `ray.cluster_utils.Cluster`:
the real math, code (sandboxed) and shaping verifiers give the same results as inline, and an
actor killed mid-batch loses no sample."""

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

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # `pause` below travels by value

_MB = 1024 * 1024


@contextlib.contextmanager
def two_nodes() -> Iterator[Cluster]:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 80 * _MB, "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1, object_store_memory=80 * _MB)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def pause(sample):
    """A term worth nothing that makes each sample take 30 ms (so a kill lands mid-chunk)."""
    time.sleep(0.03)
    return 0.0


SPEC = {
    "name": "mixed",
    "route": {
        "by": "metadata.task",
        "routes": {
            "math": {
                "name": "math_task",
                "rewards": [
                    {"use": "math"},
                    {"use": "think_format", "weight": 0.2},
                    {"use": "repetition", "weight": 0.1, "penalty": True},
                    {"use": "pause"},
                ],
            },
            "code": {"name": "code_task", "rewards": [{"use": "code"}, {"use": "pause"}]},
        },
        "default": {"use": "exact_match"},
    },
}


def _rows(copies: int) -> list[dict]:
    demo = [
        json.loads(x) for x in (files("assay") / "data" / "demo.jsonl").read_text().splitlines()
    ]
    return [{**r, "prompt": f"{r['prompt']} #{k}"} for k in range(copies) for r in demo]


def _dump(results):
    """Results as dicts, less what depends on the process's history rather than the sample:
    wall-clock figures (``duration_s``) and which of math's paths answered (``path``: its
    cache remembers what this process scored before)."""
    out = [r.model_dump() for r in results]
    for r in out:
        for name, comp in r["components"].items():
            comp["details"].pop("duration_s", None)
            if name == "math":
                comp["details"].pop("path", None)
    return out


def test_two_nodes_identical_to_inline_and_no_sample_lost_when_an_actor_dies():
    """Run in a fresh interpreter (this file as a script): a Ray cluster started and stopped
    in the test process next to other Ray sessions can leave it hanging."""
    done = subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert done.stdout.strip().endswith("two-node checks passed")


def main() -> None:
    assay.get_registry().add("reward", "pause", pause)
    rows = _rows(4)
    with two_nodes(), assay.load_pipeline(SPEC) as pipe:
        inline = _dump(pipe.score(rows))
        assert {r["status"] for r in inline} >= {"ok", "unverifiable"}
        ex = RayExecutor(pipe, 2)
        try:
            ex.warm()
            nodes = {node for _, node in ex.where()}
            assert len(nodes) == 2  # one actor per node (each node has one CPU)
            assert _dump(pipe.score(rows, executor=ex)) == inline

            victim = ex.where()[1][0]
            out: dict = {}
            t = threading.Thread(target=lambda: out.update(r=pipe.score(rows, executor=ex)))
            t.start()
            time.sleep(0.4)
            os.kill(victim, signal.SIGKILL)  # both "nodes" are processes on this machine
            t.join(180)
            assert _dump(out["r"]) == inline
            assert ex.replaced == 1
        finally:
            ex.close()
    print("two-node checks passed")


if __name__ == "__main__":
    main()
