"""Entry points for trainers that import a reward function by module path and name.

verl's ``custom_reward_function`` (``path``/``name``), OpenRLHF's reward-function file and the
like cannot pass a pipeline object: these functions build the pipeline named by the
``ASSAY_PIPELINE`` environment variable (a YAML/JSON spec path) once per process, on first call: e.g. verl with ``custom_reward_function.path`` set to this
file and ``custom_reward_function.name=verl_compute_score``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from .adapters import OpenRLHFRewardFunc, VerlComputeScore
from .building import load_pipeline
from .composed import Pipeline

__all__ = ["openrlhf_reward_func", "pipeline_from_env", "verl_compute_score"]

_ENV_PIPELINE: Pipeline | None = None
_ENV_LOCK = threading.Lock()


def pipeline_from_env() -> Pipeline:
    """The pipeline named by ``ASSAY_PIPELINE`` (built once per process)."""
    global _ENV_PIPELINE
    with _ENV_LOCK:
        if _ENV_PIPELINE is None:
            path = os.environ.get("ASSAY_PIPELINE")
            if not path:
                raise RuntimeError("set ASSAY_PIPELINE to a pipeline spec (YAML/JSON path)")
            _ENV_PIPELINE = load_pipeline(path)
        return _ENV_PIPELINE


def verl_compute_score(
    data_source: Any = None,
    solution_str: Any = None,
    ground_truth: Any = None,
    extra_info: Any = None,
    **kw: Any,
) -> Any:
    """verl ``custom_reward_function`` entry: scores with the ``ASSAY_PIPELINE`` pipeline.

    Single (``data_source, solution_str, ground_truth, extra_info``) or batched (lists, or the
    batch reward manager's ``data_sources=, solution_strs=, ground_truths=, extra_infos=``)."""
    return VerlComputeScore(pipeline_from_env())(
        data_source, solution_str, ground_truth, extra_info, **kw
    )


def openrlhf_reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None
) -> dict[str, Any]:
    """OpenRLHF reward function entry: scores with the ``ASSAY_PIPELINE`` pipeline."""
    return OpenRLHFRewardFunc(pipeline_from_env())(queries, prompts, labels)
