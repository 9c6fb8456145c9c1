"""Entry points for trainers that import a reward function by module path and name.

verl's ``custom_reward_function`` (``path``/``name``), OpenRLHF's reward-function file and the
like cannot pass a pipeline object: these functions build the pipeline named by the
``ASSAY_PIPELINE`` environment variable (a YAML/JSON spec path) once per process, on first
call: e.g. verl with ``custom_reward_function.path`` set to this file (``python -c "import
assay.entrypoints as e; print(e.__file__)"`` prints it) and
``custom_reward_function.name=verl_compute_score``; OpenRLHF with ``--remote_rm_url`` set to it
(the function is ``reward_func``, an alias of `openrlhf_reward_func`). ``ASSAY_NON_OK`` and
``ASSAY_MAX_NON_OK_RATE`` set the adapters' options.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

# Absolute imports: verl and OpenRLHF load this file by path as a top-level module
# (``spec_from_file_location("custom_module", path)``), where relative imports fail.
from assay.building import load_pipeline
from assay.composed import Pipeline
from assay.openrlhf_adapter import OpenRLHFRewardFunc
from assay.verl_adapter import VerlComputeScore

__all__ = [
    "adapter_options_from_env",
    "openrlhf_reward_func",
    "pipeline_from_env",
    "reward_func",
    "verl_compute_score",
]

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


def adapter_options_from_env() -> dict[str, Any]:
    """Adapter options from the environment: ``ASSAY_NON_OK`` (``pipeline`` or ``zero``) and
    ``ASSAY_MAX_NON_OK_RATE`` (a share in [0, 1]); see ``docs/adapters.md``."""
    opts: dict[str, Any] = {}
    if os.environ.get("ASSAY_NON_OK"):
        opts["non_ok"] = os.environ["ASSAY_NON_OK"]
    rate = os.environ.get("ASSAY_MAX_NON_OK_RATE")
    if rate:
        try:
            opts["max_non_ok_rate"] = float(rate)
        except ValueError:
            raise ValueError(f"ASSAY_MAX_NON_OK_RATE={rate!r} is not a number in [0, 1]") from None
    return opts


_ADAPTERS: dict[str, Any] = {}


def _adapter(kind: str) -> Any:
    """One adapter per process and kind, so its non-ok window and warnings span calls."""
    pipeline = pipeline_from_env()
    with _ENV_LOCK:
        if kind not in _ADAPTERS:
            cls = VerlComputeScore if kind == "verl" else OpenRLHFRewardFunc
            _ADAPTERS[kind] = cls(pipeline, **adapter_options_from_env())
        return _ADAPTERS[kind]


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
    return _adapter("verl")(data_source, solution_str, ground_truth, extra_info, **kw)


def openrlhf_reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None
) -> dict[str, Any]:
    """OpenRLHF reward function entry: scores with the ``ASSAY_PIPELINE`` pipeline."""
    result: dict[str, Any] = _adapter("openrlhf")(queries, prompts, labels)
    return result


#: OpenRLHF's ``--remote_rm_url path.py`` calls the file's ``reward_func``.
reward_func = openrlhf_reward_func
