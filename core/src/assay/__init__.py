"""Assay: rewards and verifiers for RL post-training of language models, as plugins.

``import assay`` is cheap: it loads pluggy and nothing else. Everything below is imported on
first use (pydantic models, the registry, pipelines), and plugins load on first registry use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .hookspecs import hookimpl, hookspec

__all__ = [
    "Algorithm",
    "GuardedPool",
    "Pipeline",
    "Result",
    "Results",
    "Reward",
    "Sample",
    "Sampler",
    "Score",
    "get_registry",
    "get_reward",
    "hookimpl",
    "hookspec",
    "load_pipeline",
    "register",
    "reward",
]

_LAZY: dict[str, str] = {
    "Sample": "models",
    "Score": "models",
    "Result": "models",
    "Reward": "rewards",
    "reward": "rewards",
    "Sampler": "interfaces",
    "Algorithm": "interfaces",
    "GuardedPool": "workers",
    "Pipeline": "pipeline",
    "Results": "pipeline",
    "load_pipeline": "pipeline",
    "get_registry": "registry",
    "get_reward": "registry",
    "register": "registry",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("assay")
        except PackageNotFoundError:  # a source tree without install
            return "0.0.0"
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'assay' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .interfaces import Algorithm, Sampler
    from .models import Result, Sample, Score
    from .pipeline import Pipeline, Results, load_pipeline
    from .registry import get_registry, get_reward, register
    from .rewards import Reward, reward
    from .workers import GuardedPool
