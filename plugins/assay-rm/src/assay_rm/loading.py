"""Load a model and tokenizer from a local path or accept objects; pick device and dtype.

Only local paths are loaded (``local_files_only=True``): a reward never reaches out to the
Hugging Face Hub while scoring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay import AssayError


class ModelLoadError(AssayError, ValueError):
    """The reward model or its tokenizer could not be loaded; the message says what to pass."""


def parse_device(device: str) -> Any:
    """``torch.device(device)``, or a `ModelLoadError` naming the option."""
    import torch

    try:
        return torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ModelLoadError(
            f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps ({exc})"
        ) from exc


def check_options(model: Any, tokenizer: Any, device: str, dtype: str) -> None:
    """Fail at construction, before any model loads: a bad dtype or device string, a model or
    tokenizer path that does not exist or holds no saved model."""
    if dtype != "auto" and dtype not in _DTYPES:
        raise ModelLoadError(f"unknown dtype {dtype!r}; use auto, {', '.join(sorted(_DTYPES))}")
    if device != "auto":
        parse_device(device)
    for what, value in (("model", model), ("tokenizer", tokenizer)):
        if isinstance(value, (str, Path)):
            check_path(value, what)


def check_path(value: str | Path, what: str) -> Path:
    path = Path(value)
    if not path.exists():
        raise ModelLoadError(
            f"reward {what} path {str(path)!r} does not exist; pass a local directory saved "
            f"with save_pretrained() or a {what} object"
        )
    if not path.is_dir():
        raise ModelLoadError(
            f"reward {what} path {str(path)!r} is not a directory; pass a local directory "
            "saved with save_pretrained()"
        )
    if what == "model" and not any(
        (path / name).is_file() for name in ("config.json", "adapter_config.json")
    ):
        raise ModelLoadError(
            f"reward model path {str(path)!r} holds no config.json: not a model saved with "
            "save_pretrained()"
        )
    return path


def pick_device(device: str = "auto") -> Any:
    """``auto`` -> CUDA when available, else Apple MPS, else CPU; anything else is passed to torch."""
    import torch

    if device != "auto":
        dev = parse_device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ModelLoadError(f"device {device!r} asked for, but CUDA is not available here")
        mps = getattr(torch.backends, "mps", None)
        if dev.type == "mps" and not (mps is not None and mps.is_available()):
            raise ModelLoadError(f"device {device!r} asked for, but MPS is not available here")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16"}
_DTYPES |= {"float16": "float16", "fp16": "float16", "half": "float16"}


def pick_dtype(dtype: str, device: Any) -> Any:
    """``auto`` -> bfloat16 on a GPU that supports it, float32 elsewhere (CPU half is slow)."""
    import torch

    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if dtype not in _DTYPES:
        raise ModelLoadError(f"unknown dtype {dtype!r}; use auto, {', '.join(sorted(_DTYPES))}")
    return getattr(torch, _DTYPES[dtype])


def load_model(model: Any, auto_class: str, device: Any, dtype: Any) -> Any:
    """A model object as given, or ``AutoModelFor<auto_class>.from_pretrained(local path)``."""
    import transformers

    if isinstance(model, (str, Path)):
        path = check_path(model, "model")
        cls = getattr(transformers, f"AutoModelFor{auto_class}")
        try:
            model = cls.from_pretrained(path, local_files_only=True, dtype=dtype)
        except Exception as exc:  # transformers raises many kinds here
            raise ModelLoadError(
                f"cannot load {auto_class} model from {str(path)!r}: {exc}"
            ) from exc
    if not hasattr(model, "config"):
        raise ModelLoadError(
            f"expected a transformers model or a local path, got {type(model).__name__}"
        )
    return model.to(device=device, dtype=dtype).eval()


def load_tokenizer(tokenizer: Any, model: Any, model_arg: Any) -> Any:
    """A tokenizer object as given, a local path, or the model's own directory."""
    from transformers import AutoTokenizer

    source = tokenizer if tokenizer is not None else model_arg
    if isinstance(source, (str, Path)):
        try:
            tok = AutoTokenizer.from_pretrained(source, local_files_only=True)
        except Exception as exc:
            raise ModelLoadError(f"cannot load a tokenizer from {str(source)!r}: {exc}") from exc
    elif tokenizer is None or not hasattr(tokenizer, "pad_token"):
        raise ModelLoadError("a model object needs its tokenizer: pass tokenizer=...")
    else:
        tok = source
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
    if getattr(model.config, "pad_token_id", None) is None:
        if tok.pad_token_id is None:
            raise ModelLoadError(
                "the tokenizer has no pad, eos or unk token and the model config no "
                "pad_token_id: set tokenizer.pad_token (or model.config.pad_token_id)"
            )
        model.config.pad_token_id = tok.pad_token_id
    return tok
