"""Resolve the model and tokenizer a backend trains: a path, a Hub id, ``tiny``, or objects.

TRL builds reference models by reloading the policy *by path* (``config._name_or_path``). A model
built in memory (``assay_trl.tiny``, a model edited in a notebook) has no such path, so
`ensure_on_disk` saves it first and points its config at the copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .tiny import DEFAULT_ALPHABET, TINY_NAME, tiny_model_and_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def load_model_and_tokenizer(
    model: Any, tokenizer: Any = None, *, dtype: str | None = None, seed: int = 0
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """``(model, tokenizer)`` from paths, Hub ids, ``"tiny"`` / ``"tiny:<alphabet>"``, or objects."""
    if isinstance(model, str) and (model == TINY_NAME or model.startswith(TINY_NAME + ":")):
        alphabet = model.split(":", 1)[1] if ":" in model else DEFAULT_ALPHABET
        model, tiny_tok = tiny_model_and_tokenizer(alphabet, seed=seed)
        tokenizer = tokenizer if tokenizer is not None else tiny_tok
    elif isinstance(model, (str, Path)):
        from transformers import AutoModelForCausalLM

        kwargs: dict[str, Any] = {}
        if dtype and dtype != "auto":
            import torch

            kwargs["dtype"] = getattr(torch, dtype)
        elif dtype == "auto":
            kwargs["dtype"] = "auto"
        tokenizer = tokenizer if tokenizer is not None else str(model)
        model = AutoModelForCausalLM.from_pretrained(str(model), **kwargs)
    if tokenizer is None:
        tokenizer = getattr(model.config, "_name_or_path", "") or None
        if not tokenizer:
            raise ValueError("a model object without a path needs its tokenizer passed explicitly")
    if isinstance(tokenizer, (str, Path)):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer), padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def has_disk_copy(model: PreTrainedModel) -> bool:
    """True when ``from_pretrained(config._name_or_path)`` can rebuild this model: a local
    directory with a config, or a Hub id (TRL reloads it from the Hub cache)."""
    name = str(getattr(model.config, "_name_or_path", "") or "")
    if name in ("", "."):
        return False
    path = Path(name)
    if path.exists():
        return (path / "config.json").is_file()
    return not path.is_absolute() and name.count("/") <= 1  # "org/model" or "model"


def ensure_on_disk(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, directory: str | Path
) -> Path:
    """Save ``model`` (and tokenizer) under ``directory`` unless it already has a local copy.

    Returns the path its config now names, so TRL reloads it as the reference model.
    """
    if has_disk_copy(model):
        return Path(model.config._name_or_path)  # a Hub id stays a relative "path"
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    model.config._name_or_path = str(directory)
    return directory


def snapshot(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, directory: str | Path
) -> Path:
    """Save the current weights under ``directory`` and point the config there (a new reference)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    model.config._name_or_path = str(directory)
    return directory
