"""The plugin registers through the `assay` entry points like any third party."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import assay
from assay_trl import ALGORITHMS


def test_registry_lists_every_algorithm_from_the_trl_plugin() -> None:
    reg = assay.get_registry()
    for name in ALGORITHMS:
        entry = reg.get("algorithm", name)
        assert entry.plugin == "trl" and entry.distribution == "assay-trl"
        assert entry.obj.Config is not None
    assert reg.get("reward", "char_fraction").plugin == "trl"


def test_assay_plugins_json_lists_them() -> None:
    exe = shutil.which("assay", path=str(Path(sys.executable).parent))
    assert exe
    proc = subprocess.run([exe, "plugins", "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    (trl,) = [p for p in data["plugins"] if p["name"] == "trl"]
    assert set(trl["provides"]["algorithm"]) == set(ALGORITHMS)
    assert "transformers" in trl["provides"]["sampler"]


def test_loading_the_plugin_stays_light() -> None:
    code = (
        "import sys, assay_trl.plugin; "
        "print(sorted(m for m in ('torch', 'trl', 'transformers', 'datasets') if m in sys.modules))"
    )
    env = dict(os.environ, ASSAY_DISABLE_PLUGINS="")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "[]", out.stderr
