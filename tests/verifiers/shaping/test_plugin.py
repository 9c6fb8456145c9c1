"""The shaping plugin registers through the `assay` entry point and imports cheaply."""

from __future__ import annotations

import subprocess
import sys

from assay.registry import get_registry

NAMES = {
    "think_format",
    "tag_count",
    "json_schema",
    "length",
    "overlong",
    "repetition",
    "reasoning_steps",
    "language",
}


def test_all_rewards_are_registered_by_the_shaping_entry_point() -> None:
    reg = get_registry()
    for name in NAMES:
        entry = reg.get("reward", name)
        assert entry.plugin == "shaping"
        assert entry.distribution == "assay-verifiers"


HEAVY = ("torch", "transformers", "jsonschema", "trl")
# Other plugins are blocked so that only what the shaping plugin imports is measured.
PROBE = """
import importlib.metadata as md, os, sys
eps = md.entry_points(group="assay")
os.environ["ASSAY_DISABLE_PLUGINS"] = ",".join(e.name for e in eps if e.name != "shaping")
import assay
reg = assay.get_registry()
for name in sys.argv[1:]:
    reg.get("reward", name).obj()
print([m for m in {heavy!r} if m in sys.modules])
"""


def test_loading_the_plugin_imports_no_heavy_library() -> None:
    """jsonschema and transformers load on first use, never with the plugin."""
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", PROBE.format(heavy=HEAVY), *sorted(NAMES)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
