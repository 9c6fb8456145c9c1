"""The plugin registers through the `assay` entry points like any third party, and stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import assay
from assay.cli import main


def test_registry_has_the_judges_from_the_judge_plugin() -> None:
    reg = assay.get_registry()
    for name in ("judge", "pairwise_judge"):
        entry = reg.get("reward", name)
        assert entry.plugin == "judge" and entry.distribution == "assay-judge"


def test_assay_plugins_json_lists_them(capsys) -> None:
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (judge,) = [p for p in data["plugins"] if p["name"] == "judge"]
    assert set(judge["provides"]["reward"]) == {"judge", "pairwise_judge"}


def test_options_typo_names_the_key() -> None:
    import pytest

    with pytest.raises(Exception, match="concurency"):
        assay.get_reward(
            "judge", base_url="http://x/v1", model="m", rubric={"likert": 5}, concurency=3
        )


def test_import_assay_and_the_plugin_stay_light() -> None:
    code = (
        "import sys, assay; before = 'assay_judge' in sys.modules; import assay_judge.plugin; "
        "print(before, sorted(m for m in ('aiohttp', 'sqlite3', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False []", out.stderr


def test_every_option_is_documented() -> None:
    from pathlib import Path

    from assay_judge.pairwise import PairwiseOptions
    from assay_judge.reward import JudgeOptions

    text = (Path(__file__).resolve().parents[3] / "docs" / "judge.md").read_text()
    for model in (JudgeOptions, PairwiseOptions):
        missing = [f for f in model.model_fields if f"`{f}`" not in text and f"{f}:" not in text]
        assert not missing, f"{model.__name__}: not in docs/judge.md: {missing}"
