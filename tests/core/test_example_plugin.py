"""The template third-party plugin: pip-installed for real, found by `assay plugins`, used in a
pipeline. Installed into a temporary target so the test environment is left as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "assay-example-plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return target


def _env(target: Path) -> dict[str, str]:
    return dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])
    )


def test_example_plugin_is_discovered_after_pip_install(installed):
    out = subprocess.run(
        [sys.executable, "-m", "assay.cli", "plugins", "--json"],
        env=_env(installed),
        capture_output=True,
        text=True,
        check=True,
    )
    plugins = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}
    assert plugins["example"]["distribution"] == "assay-example-plugin"
    assert plugins["example"]["provides"] == {"reward": ["no_apology"]}


def test_example_plugin_reward_in_a_pipeline(installed, tmp_path):
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "rewards:\n  - use: exact_match\n  - use: no_apology\n    with: {penalty: 0.5}\n"
    )
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"completion": "Paris", "answer": "Paris"}\n{"completion": "I\'m sorry, I cannot", "answer": "x"}\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "assay.cli", "score", str(src), "-p", str(spec)],
        env=_env(installed),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["reward"] for r in rows] == [1.0, -0.5]
