"""Assay: rewards and verifiers for RL post-training of language models, as plugins.

``import assay`` is cheap: it loads pluggy and nothing else. Everything below is imported on
first use (pydantic models, the registry, pipelines), and plugins load on first registry use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .hookspecs import hookimpl, hookspec

__all__ = [
    "Algorithm",
    "AssayError",
    "Component",
    "DeadlineExceeded",
    "DuplicateNameError",
    "GuardedPool",
    "NoOptions",
    "NonOkRateExceeded",
    "OptionsError",
    "Pipeline",
    "PluginLoadError",
    "Register",
    "Result",
    "Results",
    "Reward",
    "Router",
    "Sample",
    "Sampler",
    "Score",
    "ScoreLike",
    "SpecError",
    "UnknownNameError",
    "WorkerCrashed",
    "__version__",
    "as_score",
    "get_registry",
    "get_reward",
    "hookimpl",
    "hookspec",
    "lift",
    "load_pipeline",
    "register",
    "reward",
    "score_batch",
    "trl_weights",
]

_LAZY: dict[str, str] = {
    "AssayError": "errors",
    "DeadlineExceeded": "errors",
    "DuplicateNameError": "errors",
    "NonOkRateExceeded": "errors",
    "OptionsError": "errors",
    "PluginLoadError": "errors",
    "SpecError": "errors",
    "UnknownNameError": "errors",
    "WorkerCrashed": "errors",
    "Sample": "models",
    "Score": "models",
    "ScoreLike": "models",
    "Result": "models",
    "as_score": "models",
    "NoOptions": "models",
    "Reward": "rewards",
    "lift": "rewards",
    "score_batch": "rewards",
    "Sampler": "interfaces",
    "Algorithm": "interfaces",
    "GuardedPool": "workers",
    "Component": "components",
    "Pipeline": "composed",
    "Router": "routing",
    "Results": "results",
    "load_pipeline": "building",
    "Register": "registry",
    "get_registry": "registry",
    "get_reward": "registry",
    "register": "registry",
    "reward": "registry",
    "trl_weights": "adapters",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from ._version import __version__

        return __version__
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
    from .adapters import trl_weights
    from .building import load_pipeline
    from .components import Component
    from .composed import Pipeline
    from .errors import (
        AssayError,
        DeadlineExceeded,
        DuplicateNameError,
        NonOkRateExceeded,
        OptionsError,
        PluginLoadError,
        SpecError,
        UnknownNameError,
        WorkerCrashed,
    )
    from .interfaces import Algorithm, Sampler
    from .models import NoOptions, Result, Sample, Score, ScoreLike, as_score
    from .registry import Register, get_registry, get_reward, register, reward
    from .results import Results
    from .rewards import Reward, lift, score_batch
    from .routing import Router
    from .workers import GuardedPool

    __version__: str
