"""A pipeline built in Python and the same pipeline from a spec report the same error type for
the same mistake; nested spec files resolve next to the spec naming them; `Component` takes a
reward name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import assay
from assay import Component, Pipeline, load_pipeline


def test_component_accepts_a_registered_name_like_pipeline_does() -> None:
    c = Component("exact_match", weight=2.0)
    assert c.name == "exact_match"
    assert c.plugin == "builtins"
    pipe = Pipeline([c])
    assert pipe.score([{"completion": "a", "answer": "a"}]).rewards == [2.0]


def test_unknown_reward_is_an_unknown_name_error_from_python_and_from_a_spec() -> None:
    with pytest.raises(assay.UnknownNameError):
        Pipeline(["no_such_reward"])
    with pytest.raises(assay.UnknownNameError) as e:
        load_pipeline({"rewards": [{"use": "no_such_reward"}]})
    assert isinstance(e.value, assay.SpecError)
    assert "rewards[0].use" in str(e.value)


def test_duplicate_names_are_spec_errors_from_python_and_from_a_spec() -> None:
    with pytest.raises(assay.SpecError, match="duplicate"):
        Pipeline([Component("exact_match"), Component("constant", name="exact_match")])
    with pytest.raises(assay.SpecError, match="duplicate"):
        load_pipeline(
            {"rewards": [{"use": "exact_match"}, {"use": "constant", "name": "exact_match"}]}
        )


def test_neither_components_nor_route_is_a_spec_error() -> None:
    with pytest.raises(assay.SpecError):
        Pipeline([])


def test_bad_options_in_a_spec_are_options_errors_naming_the_key() -> None:
    with pytest.raises(assay.OptionsError, match=r"rewards\[0\]\.with\.patern: unknown option"):
        load_pipeline({"rewards": [{"use": "regex", "with": {"patern": "x"}}]})


def test_nested_spec_path_is_relative_to_the_spec_that_names_it(
    tmp_path: Path, monkeypatch
) -> None:
    sub = tmp_path / "specs" / "parts"
    sub.mkdir(parents=True)
    (sub / "inner.yaml").write_text("name: strict\nrewards:\n  - use: exact_match\n")
    (tmp_path / "specs" / "outer.yaml").write_text(
        "rewards:\n  - pipeline: parts/inner.yaml\n    weight: 2\n  - use: constant\n"
    )
    monkeypatch.chdir(tmp_path)  # not the spec's directory
    pipe = load_pipeline(tmp_path / "specs" / "outer.yaml")
    assert [c.name for c in pipe.components] == ["strict", "constant"]  # the nested spec's name
    assert pipe.score([{"completion": "a", "answer": "a"}]).rewards == [2.0]


def test_missing_nested_file_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "outer.yaml").write_text("rewards:\n  - use: constant\n  - pipeline: gone.yaml\n")
    with pytest.raises(assay.SpecError, match=r"rewards\[1\]\.pipeline: file not found"):
        load_pipeline(tmp_path / "outer.yaml")


def test_a_nested_pipeline_is_a_reward() -> None:
    inner = Pipeline(["exact_match"], name="inner")
    reward = inner.as_reward()
    assert isinstance(reward, assay.Reward)
    outer = Pipeline([Component(inner, weight=3.0), "constant"])
    res = outer.score([{"completion": "a", "answer": "a"}])
    assert res.rewards == [3.0]
    assert res[0].components["inner"].details["components"] == {"exact_match": 1.0}


def test_no_guarded_pool_noise_at_interpreter_exit() -> None:
    code = (
        "import assay\n"
        "from assay import GuardedPool\n"
        "pool = GuardedPool(2)\n"
        "assert pool.call(pow, 2, 5, timeout=10) == 32\n"
        "pipe = assay.load_pipeline({'rewards': [{'use': 'exact_match', 'timeout': 5}]})\n"
        "assert pipe.score([{'completion': 'a', 'answer': 'a'}]).rewards == [1.0]\n"
        "bad = None\n"
        "try:\n"
        "    GuardedPool(0)\n"
        "except ValueError:\n"
        "    pass\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Exception ignored" not in out.stderr
    assert out.stderr == ""
