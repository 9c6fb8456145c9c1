"""Load the prompts a backend trains on into a ``datasets.Dataset`` with a ``prompt`` column.

Accepted: a ``Dataset``; a list of rows (dicts) or of prompt strings; a JSONL/JSON/Parquet path;
or a mapping ``{path, name, split, prompt_column}`` for ``datasets.load_dataset`` (local files or a
Hub dataset), or ``{prompts: [...], repeat: n, ...columns}`` written inline in a recipe. Other
columns (``answer``, ``tests``, ``metadata`` ...) travel to the rewards, as TRL passes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DatasetError

if TYPE_CHECKING:
    from datasets import Dataset

_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def load_prompts(data: Any, *, base: Path | None = None) -> Dataset:
    """A ``Dataset`` with a ``prompt`` column from any of the accepted forms (module docstring)."""
    from datasets import Dataset

    if data is None:
        raise DatasetError("no training data: give `dataset:` in the recipe or a Dataset")
    if isinstance(data, Dataset):
        ds = data
    elif isinstance(data, (list, tuple)):
        rows = [{"prompt": r} if isinstance(r, str) else dict(r) for r in data]
        ds = Dataset.from_list(rows)
    elif isinstance(data, (str, Path)):
        ds = _from_file(_resolve(data, base), split="train")
    elif isinstance(data, dict):
        ds = _from_mapping(dict(data), base)
    else:
        raise DatasetError(f"cannot load training data from a {type(data).__name__}")
    if "prompt" not in ds.column_names:
        raise DatasetError(
            f"training data has no `prompt` column (columns: {', '.join(ds.column_names)}); "
            "rename it or set `prompt_column:`"
        )
    if len(ds) == 0:
        raise DatasetError("training data is empty")
    return ds


def _resolve(path: str | Path, base: Path | None) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute() and base is not None and (base / p).exists():
        p = base / p
    return p


def _from_file(path: Path, split: str) -> Dataset:
    from datasets import load_dataset

    builder = _FILE_BUILDERS.get(path.suffix)
    if builder is None or not path.exists():
        raise DatasetError(f"{path}: not a readable .jsonl/.json/.parquet/.csv file")
    return load_dataset(builder, data_files=str(path), split=split)


def _from_mapping(spec: dict[str, Any], base: Path | None) -> Dataset:
    from datasets import Dataset, load_dataset

    prompt_column = spec.pop("prompt_column", "prompt")
    if "prompts" in spec:
        prompts = spec.pop("prompts")
        repeat = int(spec.pop("repeat", 1))
        if not isinstance(prompts, list) or not prompts:
            raise DatasetError("dataset.prompts must be a non-empty list")
        rows = [{"prompt": p} if isinstance(p, str) else dict(p) for p in prompts] * repeat
        for row in rows:  # constant columns given next to the prompts
            for key, value in spec.items():
                row.setdefault(key, value)
        ds = Dataset.from_list(rows)
    elif "path" in spec:
        path = spec.pop("path")
        split = spec.pop("split", "train")
        local = _resolve(path, base)
        if local.exists() and local.is_file():
            ds = _from_file(local, split)
        else:
            try:
                ds = load_dataset(path, spec.pop("name", None), split=split, **spec)
            except Exception as exc:  # datasets raises many kinds; name the input
                raise DatasetError(
                    f"cannot load dataset {path!r} (split {split!r}): {exc}"
                ) from exc
    else:
        raise DatasetError(
            "dataset mapping needs `path:` (file or Hub name) or `prompts:` (inline)"
        )
    if prompt_column != "prompt":
        if prompt_column not in ds.column_names:
            raise DatasetError(f"dataset has no column {prompt_column!r}")
        ds = ds.rename_column(prompt_column, "prompt")
    limit = spec.get("limit")
    if limit:
        ds = ds.select(range(min(int(limit), len(ds))))
    return ds
