"""Base classes for the non-reward kinds plugins register: samplers and training algorithms.

They are deliberately small: the core only needs a name to list and a way to construct; each
plugin documents the rest of its contract.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class EmptyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sampler(abc.ABC):
    """Draws ``k`` completions for each prompt (transformers ``generate``, vLLM, an HTTP endpoint)."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = EmptyConfig

    @abc.abstractmethod
    def sample(self, prompts: Sequence[Any], k: int = 1, **generation: Any) -> list[list[str]]:
        """One list of ``k`` completions per prompt, in order."""


class Algorithm(abc.ABC):
    """A training backend. ``Config`` validates the recipe; `train` runs it."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[BaseModel]] = EmptyConfig

    @abc.abstractmethod
    def train(self, **kwargs: Any) -> Any:
        """Train and return whatever the backend's trainer returns (e.g. the TRL trainer)."""
