"""Recipes, overrides and the ``assay train`` command (argparse handler and real subprocesses)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from assay_trl.cli import add_train_command, main
from assay_trl.errors import RecipeError
from assay_trl.recipe import apply_overrides, load_recipe, packaged_recipes, parse_override

ROOT = Path(__file__).resolve().parents[3]
FAST = ["--set", "max_steps=2", "--set", "trl.disable_tqdm=true"]


@pytest.mark.parametrize(
    ("item", "path", "value"),
    [
        ("config.learning_rate=1e-5", ["config", "learning_rate"], 1e-5),
        ("learning_rate=3", ["config", "learning_rate"], 3),
        ("model=some/path", ["model"], "some/path"),
        ("config.trl.top_k=5", ["config", "trl", "top_k"], 5),
        ("use_vllm=true", ["config", "use_vllm"], True),
        ("dataset.repeat=2", ["dataset", "repeat"], 2),
        ("epsilon_high=", ["config", "epsilon_high"], None),
        ("loss_type=[ipo, sigmoid]", ["config", "loss_type"], ["ipo", "sigmoid"]),
    ],
)
def test_parse_override(item, path, value) -> None:
    assert parse_override(item) == (path, value)


@pytest.mark.parametrize("item", ["noequals", "=3", "x=[unclosed"])
def test_bad_overrides_are_named(item) -> None:
    with pytest.raises(RecipeError, match="--set"):
        parse_override(item)


def test_apply_overrides_creates_nested_sections() -> None:
    data = apply_overrides({"model": "tiny"}, ["config.trl.top_k=3", "model=m"])
    assert data == {"model": "m", "config": {"trl": {"top_k": 3}}}


def test_every_algorithm_has_a_packaged_recipe() -> None:
    from assay_trl import ALGORITHMS

    assert set(ALGORITHMS) <= set(packaged_recipes())
    for name in packaged_recipes():
        recipe = load_recipe(name)
        assert recipe.algorithm is None or recipe.algorithm in ALGORITHMS


def test_recipe_relative_paths_follow_the_recipe(tmp_path) -> None:
    (tmp_path / "data.jsonl").write_text('{"prompt": "ab"}\n')
    (tmp_path / "pipe.yaml").write_text("rewards:\n  - use: char_fraction\n")
    (tmp_path / "r.yaml").write_text("model: tiny\ndataset: data.jsonl\npipeline: pipe.yaml\n")
    recipe = load_recipe(tmp_path / "r.yaml")
    assert recipe.resolved_dataset() == str(tmp_path / "data.jsonl")
    assert recipe.resolved_pipeline() == str(tmp_path / "pipe.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modle: tiny\n", "modle"),
        ("- a\n- b\n", "mapping"),
        ("model: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_recipes_name_the_problem(tmp_path, text, message) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=message):
        load_recipe(path)


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="assay")
    add_train_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "grpo", "--config", "grpo", "--set", "learnin_rate=1"], "learnin_rate"),
        (["train", "no_such_algo", "--config", "grpo"], "no algorithm named 'no_such_algo'"),
        (["train", "dpo", "--config", "grpo"], "is for 'grpo'"),
        (["train", "grpo", "--config", "missing.yaml"], "packaged recipes"),
    ],
)
def test_cli_errors_exit_2_with_the_reason(argv, message, capsys) -> None:
    assert _run(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_dry_run_prints_the_resolved_config(capsys, tmp_path) -> None:
    argv = ["train", "dapo", "--config", "dapo", "--output-dir", str(tmp_path), "--dry-run"]
    assert _run(argv) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["algorithm"] == "dapo"
    assert shown["config"]["epsilon_high"] == 0.28
    assert shown["config"]["output_dir"] == str(tmp_path)


def test_cli_trains_in_process(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", "grpo", "--config", "grpo", "--output-dir", str(out), *FAST]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 2 and summary["output_dir"] == str(out)
    assert "first_reward" in summary
    # The trained policy is saved (the packaged recipe sets save_strategy: no) and loads back.
    assert summary["saved"] == str(out)
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(out).config.vocab_size > 0


def test_recipe_output_dir_resolves_like_its_dataset(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "prompts.jsonl").write_text('{"prompt": "abc"}\n')
    (folder / "recipe.yaml").write_text("dataset: prompts.jsonl\nconfig: {output_dir: runs/one}\n")
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe(folder / "recipe.yaml")
    assert recipe.resolved_dataset() == str(folder / "prompts.jsonl")
    assert recipe.config["output_dir"] == str(folder / "runs" / "one")
    # Typed on the command line: relative to where the command runs.
    typed = load_recipe(folder / "recipe.yaml", ["config.output_dir=elsewhere"])
    assert typed.config["output_dir"] == "elsewhere"
    absolute = tmp_path / "abs"
    (folder / "abs.yaml").write_text(f"config: {{output_dir: {absolute}}}\n")
    assert load_recipe(folder / "abs.yaml").config["output_dir"] == str(absolute)
    assert load_recipe("grpo").config["output_dir"] == "outputs/grpo"  # packaged: cwd


def test_cli_trains_a_preference_backend(tmp_path, capsys) -> None:
    argv = ["train", "dpo", "--config", "dpo", "--output-dir", str(tmp_path / "dpo")]
    argv += ["--set", "rounds=1", "--set", "max_steps=2", "--set", "trl.disable_tqdm=true"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["round"] for r in summary["rounds"]] == [0, "final"]
    assert summary["steps"] == 2


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["TRL_EXPERIMENTAL_SILENCE"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.mark.slow
def test_assay_train_from_a_clean_directory(tmp_path) -> None:
    """The console script, run where no repo file is reachable: packaged recipe, checkpoints."""
    exe = shutil.which("assay", path=str(Path(sys.executable).parent))
    assert exe, "the core's `assay` console script is not installed"
    cmd = [exe, "train", "grpo", "--config", "grpo", *FAST]
    cmd += ["--set", "save_strategy=steps", "--set", "save_steps=2"]
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "rewards/pipeline/char_fraction/mean" in proc.stdout  # components logged per step
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 2
    assert (tmp_path / "outputs" / "grpo" / "checkpoint-2" / "model.safetensors").is_file()


def test_python_dash_m_entry(tmp_path) -> None:
    cmd = [sys.executable, "-m", "assay_trl", "train", "ppo", "--config", "ppo", "--dry-run"]
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["config"]["vf_coef"] == 0.1


@pytest.mark.slow
def test_wheel_ships_recipes_and_the_entry_point(tmp_path) -> None:
    """A fresh install gets what `assay train grpo --config grpo` needs."""
    import importlib.util

    # build in this environment when it has setuptools (no download), else in pip's isolated one
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    src = tmp_path / "assay-trl"  # a copy: pip builds in the source tree
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT / "plugins" / "assay-trl", src, ignore=ignore)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q",
         "-w", str(tmp_path), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("assay_trl-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "assay_trl/recipes/grpo.yaml" in names
        entry = next(n for n in names if n.endswith("entry_points.txt"))
        assert "trl = assay_trl.plugin" in zf.read(entry).decode()
