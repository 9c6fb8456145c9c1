"""Recipes: the YAML a user hands to ``assay train ALGORITHM --config recipe.yaml``.

    model: Qwen/Qwen2.5-0.5B-Instruct     # path, Hub id, or tiny[:alphabet]
    tokenizer: null                       # defaults to the model's
    dataset: {path: data/train.jsonl}     # see assay_trl.data
    pipeline: {rewards: [{use: math}]}    # assay pipeline spec, a YAML path, or reward names
    config: {learning_rate: 1.0e-6, max_steps: 500}   # the backend's Config

``--set key=value`` overrides any of it: ``config.learning_rate=1e-5`` (or just
``learning_rate=1e-5``: keys that are not recipe sections go to ``config``), values parsed as YAML.
A packaged recipe is named by its file stem: ``--config grpo`` loads ``assay_trl/recipes/grpo.yaml``.
Relative paths in a recipe file (``dataset``, ``pipeline``, ``config.output_dir``) are relative to
the recipe's folder; a packaged recipe's to the working directory.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import RecipeError

_SCIENTIFIC = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")
SECTIONS = ("algorithm", "model", "tokenizer", "dataset", "pipeline", "config")


class Recipe(BaseModel):
    """A validated recipe; ``base`` is the directory relative paths in it are resolved against."""

    model_config = ConfigDict(extra="forbid")

    algorithm: str | None = None
    model: str = "tiny"
    tokenizer: str | None = None
    dataset: Any = None
    pipeline: Any = None
    config: dict[str, Any] = Field(default_factory=dict)
    base: Path | None = Field(default=None, exclude=True)

    def resolved_pipeline(self) -> Any:
        """The pipeline with a relative YAML/JSON path made relative to the recipe's folder."""
        p = self.pipeline
        if isinstance(p, str) and p.endswith((".yaml", ".yml", ".json")) and self.base is not None:
            candidate = self.base / p
            if candidate.exists():
                return str(candidate)
        return p

    def resolved_dataset(self) -> Any:
        d = self.dataset
        if self.base is None:
            return d
        if isinstance(d, str) and (self.base / d).exists():
            return str(self.base / d)
        if (
            isinstance(d, dict)
            and isinstance(d.get("path"), str)
            and (self.base / d["path"]).exists()
        ):
            return {**d, "path": str(self.base / d["path"])}
        return d


def packaged_recipes() -> list[str]:
    """Names of the recipes shipped in ``assay_trl/recipes``."""
    folder = resources.files("assay_trl") / "recipes"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def recipe_text(name_or_path: str | Path) -> tuple[str, Path | None]:
    """The YAML text of a recipe file, or of a packaged recipe by name; and its folder."""
    path = Path(name_or_path)
    if path.is_file():
        return path.read_text(), path.resolve().parent
    name = str(name_or_path)
    if name in packaged_recipes():
        return (resources.files("assay_trl") / "recipes" / f"{name}.yaml").read_text(), None
    raise RecipeError(
        f"no recipe file {name_or_path!r}; packaged recipes: {', '.join(packaged_recipes())}"
    )


def parse_override(item: str) -> tuple[list[str], Any]:
    """``a.b=value`` -> (["a", "b"], yaml-parsed value)."""
    import yaml

    if "=" not in item:
        raise RecipeError(f"--set {item!r}: expected key=value")
    key, raw = item.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise RecipeError(f"--set {item!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise RecipeError(f"--set {item!r}: value is not valid YAML: {exc}") from exc
    if isinstance(value, str) and _SCIENTIFIC.fullmatch(value.strip()):
        value = float(value)  # YAML 1.1 reads 1e-5 as text; users mean a number
    if parts[0] not in SECTIONS:
        parts = ["config", *parts]
    return parts, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for item in overrides:
        parts, value = parse_override(item)
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return data


def load_recipe(name_or_path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, override and validate a recipe; errors name the bad key."""
    import yaml

    text, base = recipe_text(name_or_path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise RecipeError(f"{name_or_path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RecipeError(f"{name_or_path}: a recipe is a mapping with keys {', '.join(SECTIONS)}")
    _resolve_output_dir(data, base)
    data = apply_overrides(data, overrides or [])
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(f"{name_or_path}: {_first_error(exc)}") from exc
    recipe.base = base
    return recipe


def _resolve_output_dir(data: dict[str, Any], base: Path | None) -> None:
    """A relative ``config.output_dir`` written in a recipe file is relative to the recipe's
    folder, like its ``dataset`` and ``pipeline``; one given on the command line (``--set``,
    ``--output-dir``) stays relative to the working directory, as a typed path is."""
    config = data.get("config")
    if base is None or not isinstance(config, dict):
        return
    out = config.get("output_dir")
    if isinstance(out, str) and out and not Path(out).expanduser().is_absolute():
        config["output_dir"] = str(base / out)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    return f"{loc}: {err['msg']}" if loc else err["msg"]
