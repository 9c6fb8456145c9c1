"""Turn what a user names as "the rewards" into TRL ``reward_funcs`` and ``reward_weights``.

Accepted:

- an ``assay.Pipeline``, a spec dict, a YAML/JSON path, a reward name (``"math"``, or
  ``"math,think_format"``) or a list of names: made into callables by
  ``Pipeline.as_trl(components=...)``: the combined reward first (weight 1.0), then with
  ``components`` one callable per component (weight 0.0, so TRL logs each component as
  ``rewards/<pipeline>/<component>/mean`` without counting it twice);
- TRL reward callables already (``fn(prompts, completions, **columns)``), weighted by their
  ``.weight`` attribute when they have one, else 1.0.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import PipelineError

RewardFunc = Callable[..., list[float | None]]


def _is_callables(obj: Any) -> bool:
    if isinstance(obj, (str, Path, dict)) or hasattr(obj, "as_trl"):
        return False
    if callable(obj):
        return True
    return (
        isinstance(obj, (list, tuple))
        and bool(obj)
        and all(callable(f) and not isinstance(f, str) for f in obj)
    )


def _is_path(text: str) -> bool:
    return text.endswith((".yaml", ".yml", ".json")) or Path(text).is_file()


def normalise_spec(pipeline: Any) -> Any:
    """Reward names become a spec dict; paths, dicts and pipelines pass through unchanged."""
    if isinstance(pipeline, str) and not _is_path(pipeline) and "\n" not in pipeline:
        names = [n.strip() for n in pipeline.split(",") if n.strip()]
        return {"rewards": [{"use": n} for n in names]}
    if (
        isinstance(pipeline, (list, tuple))
        and pipeline
        and all(isinstance(n, str) for n in pipeline)
    ):
        return {"rewards": [{"use": n} for n in pipeline]}
    return pipeline


def load(pipeline: Any) -> Any:
    """An ``assay.Pipeline`` from any accepted form but callables."""
    import assay

    spec = normalise_spec(pipeline)
    if isinstance(spec, assay.Pipeline):
        return spec
    return assay.load_pipeline(spec)


def trl_reward_funcs(
    pipeline: Any, *, components: bool = True
) -> tuple[list[RewardFunc], list[float]]:
    """``(reward_funcs, reward_weights)`` for a TRL trainer from a pipeline-like object."""
    from assay.adapters import trl_weights

    if pipeline is None:
        raise PipelineError("no rewards given: pass a pipeline, a spec, reward names or callables")
    if _is_callables(pipeline):
        funcs = list(pipeline) if isinstance(pipeline, (list, tuple)) else [pipeline]
    else:
        funcs = list(load(pipeline).as_trl(components=components))
    return funcs, trl_weights(funcs)
