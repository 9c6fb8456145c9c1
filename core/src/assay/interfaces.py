"""Base classes for the non-reward kinds plugins register: samplers and training algorithms.

They are deliberately small: the core only needs a name to list and a way to construct; each
plugin documents the rest of its contract.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from .models import NoOptions

EmptyConfig = NoOptions  # the former name of the one empty-options model


class Sampler(abc.ABC):
    """Draws ``k`` completions for each prompt (transformers ``generate``, vLLM, an HTTP endpoint)."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    @abc.abstractmethod
    def sample(self, prompts: Sequence[Any], k: int = 1, **generation: Any) -> list[list[str]]:
        """One list of ``k`` completions per prompt, in order."""


class Algorithm(abc.ABC):
    """A training backend. ``Config`` validates the recipe; `train` runs it."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, config: BaseModel | Mapping[str, Any] | None = None, **overrides: Any):
        data = config.model_dump(exclude_unset=True) if isinstance(config, BaseModel) else {}
        if isinstance(config, Mapping):
            data = dict(config)
        data.update(overrides)
        self.config = self.Config.model_validate(data)

    @abc.abstractmethod
    def train(
        self,
        model: Any,
        tokenizer: Any = None,
        dataset: Any = None,
        pipeline: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Train ``model`` on ``dataset`` with ``pipeline`` as the reward (the contract of
        ``assay_register_algorithms``) and return what the backend's trainer returns (e.g. the
        TRL trainer, whose ``state.log_history`` holds the logs)."""
