"""The README's main job: `assay score` with no arguments scores the bundled JSONL with the
bundled pipeline through the real math, code (sandboxed) and format verifiers."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files

import pytest

EXPECTED = {
    "math-correct": (1.2, "ok"),
    "math-equivalent": (1.2, "ok"),
    "math-wrong": (0.2, "ok"),
    "math-no-format": (1.0, "ok"),
    "math-hedge": (0.2, "ok"),
    "math-bad-gold": (0.2, "unverifiable"),
    "code-correct": (1.0, "ok"),
    "code-exit-hack": (0.0, "ok"),
    "code-stdio": (1.0, "ok"),
    "code-always-eq": (0.0, "ok"),
    "text": (1.0, "ok"),
}


def test_demo_prints_the_expected_table():
    out = subprocess.run(
        [sys.executable, "-m", "assay.cli", "score"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if "reward=" in line}
    assert set(lines) == set(EXPECTED)
    for key, (reward, status) in EXPECTED.items():
        assert f"reward={reward:.3f}" in lines[key], lines[key]
        assert status in lines[key]


def test_demo_pipeline_in_python_with_full_results(tmp_path):
    import assay

    data = files("assay") / "data"
    rows = [json.loads(x) for x in (data / "demo.jsonl").read_text().splitlines()]
    with assay.load_pipeline(str(data / "demo_pipeline.yaml")) as pipe:
        results = pipe.score(rows)
    by_id = {row["id"]: r for row, r in zip(rows, results)}
    for key, (reward, status) in EXPECTED.items():
        assert by_id[key].reward == pytest.approx(reward) and by_id[key].status == status
    math = by_id["math-equivalent"].components["math"]
    assert math.plugin == "math" and math.version == "0.1.0" and math.details
    assert by_id["code-exit-hack"].components["code"].details
