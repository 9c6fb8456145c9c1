"""The base of every backend: a pydantic config, and ``train(model, tokenizer, dataset, pipeline)``.

A backend's ``Config`` holds the settings users write in a recipe. Fields named like a TRL config
field are passed to TRL under that name; the paper-prescribed settings a backend fixes (its
`fixed` mapping) come next; ``trl: {...}`` last, as an escape hatch to any other TRL field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.interfaces import Algorithm

from .errors import TrainerUnavailable

TESTED_TRL = "1.16"

# Config fields that are ours, never passed to TRL.
ASSAY_ONLY = frozenset({"trl", "log_components", "dtype"})


class TrainConfig(BaseModel):
    """Settings every backend shares (TRL ``TrainingArguments`` names)."""

    model_config = ConfigDict(extra="forbid")

    output_dir: str = "outputs"
    learning_rate: float = 1e-6
    max_steps: int = 100
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    seed: int = 0
    logging_steps: int = 1
    save_strategy: Literal["no", "steps", "epoch"] = "steps"
    save_steps: int = 500
    bf16: bool | None = Field(
        default=None, description="None: bf16 on a GPU that supports it, fp32 elsewhere"
    )
    activation_checkpointing: bool = Field(
        default=False, description="recompute activations in backward (saves memory on big models)"
    )
    report_to: str | list[str] = "none"
    dtype: Literal["auto", "bfloat16", "float16", "float32"] | None = Field(
        default=None, description="dtype to load a model path in (None: the checkpoint's)"
    )
    trl: dict[str, Any] = Field(
        default_factory=dict, description="any other field of the TRL config, passed as is"
    )


def device_kwargs(config: TrainConfig) -> dict[str, Any]:
    """``use_cpu`` and ``bf16`` for this machine: bf16 on a capable GPU unless told otherwise."""
    import torch

    cuda = torch.cuda.is_available()
    bf16 = config.bf16 if config.bf16 is not None else bool(cuda and torch.cuda.is_bf16_supported())
    return {"use_cpu": not cuda, "bf16": bf16}


def training_argument_names() -> frozenset[str]:
    """The fields of the installed ``transformers.TrainingArguments``."""
    from dataclasses import fields

    from transformers import TrainingArguments

    return frozenset(f.name for f in fields(TrainingArguments))


def for_installed_transformers(
    kwargs: dict[str, Any], names: frozenset[str] | None = None
) -> dict[str, Any]:
    """``kwargs`` with ``activation_checkpointing`` under the name the installed transformers
    knows: releases before 5.2x call it ``gradient_checkpointing`` (later ones keep that as a
    deprecated alias), and an unknown keyword would stop the config class."""
    names = training_argument_names() if names is None else names
    if "activation_checkpointing" in kwargs and "activation_checkpointing" not in names:
        kwargs = dict(kwargs)
        kwargs["gradient_checkpointing"] = kwargs.pop("activation_checkpointing")
    return kwargs


class TRLAlgorithm(Algorithm):
    """A training backend wrapping a TRL trainer. ``cls(config).train(model, tokenizer, dataset,
    pipeline)`` returns the trainer after training (``trainer.state.log_history`` holds the logs)."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[TrainConfig]] = TrainConfig
    summary: ClassVar[str] = ""

    def __init__(self, config: TrainConfig | Mapping[str, Any] | None = None, **overrides: Any):
        if isinstance(config, BaseModel):
            data = config.model_dump(exclude_unset=True)
        else:
            data = dict(config or {})
        data.update(overrides)
        self.config = self.Config.model_validate(data)

    def load_class(self, dotted: str) -> Any:
        """``"module:Attr"`` imported now (TRL loads only when a backend trains); a missing one
        raises `TrainerUnavailable` naming the TRL version this plugin was tested with."""
        import importlib
        import os

        module, attr = dotted.split(":")
        os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            import trl

            raise TrainerUnavailable(
                f"{self.name}: {module}.{attr} is not in the installed TRL {trl.__version__} "
                f"(TRL removes experimental trainers without warning); assay-trl's {self.name} "
                f"backend was tested with TRL {TESTED_TRL}: pip install 'trl=={TESTED_TRL}.*'"
            ) from exc

    def fixed(self) -> dict[str, Any]:
        """TRL settings this algorithm prescribes (its paper's choices) beyond the config fields."""
        return {}

    def trl_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the TRL config class: fields, then `fixed`, then ``trl``."""
        kwargs = self.config.model_dump(exclude=set(ASSAY_ONLY) | self.assay_fields())
        kwargs.update(device_kwargs(self.config))
        kwargs.update(self.fixed())
        kwargs.update(self.config.trl)
        return for_installed_transformers(kwargs)

    def assay_fields(self) -> set[str]:
        """Config fields of this backend that TRL does not know (consumed by the backend itself)."""
        return set()

    def train(  # type: ignore[override]
        self,
        model: Any,
        tokenizer: Any = None,
        dataset: Any = None,
        pipeline: Any = None,
        **kwargs: Any,
    ) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<algorithm {self.name} {self.config.model_dump(exclude_defaults=True)}>"
