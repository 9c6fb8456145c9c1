"""Adapters from a pipeline to the reward interfaces of trainers: TRL, verl, OpenRLHF.

- TRL: ``pipe.as_trl()`` -> ``reward_funcs``. Each is a picklable callable
  ``fn(prompts, completions, completion_ids=None, **columns) -> list[float | None]`` with a
  ``__name__`` TRL logs under. ``as_trl(components=True)`` adds one callable per component with
  ``weight = 0.0``: pass `trl_weights(funcs)` as ``reward_weights`` and TRL logs every component
  without counting it twice (the components read the combined call's cached results).
- verl: ``pipe.as_verl()`` -> ``compute_score(data_source, solution_str, ground_truth,
  extra_info=None)``, single or batched (lists or arrays in, list out; verl's batch reward
  manager's ``data_sources=, solution_strs=, ground_truths=, extra_infos=`` keywords too).
- OpenRLHF: ``pipe.as_openrlhf()`` -> ``reward_func(queries, prompts, labels)`` returning
  ``{"rewards", "scores", "extra_logs"}`` (torch tensors when torch is importable).

For trainers that import a function by file path and name (verl's ``custom_reward_function``,
OpenRLHF's ``--remote_rm_url`` file), `assay.entrypoints` builds the pipeline named by the
``ASSAY_PIPELINE`` environment variable on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .adapter_policy import AdapterPolicy, NonOk, non_ok_counts
from .openrlhf_adapter import OpenRLHFRewardFunc
from .verl_adapter import VerlComputeScore
from .verl_adapter import check_lengths as _check_lengths
from .verl_adapter import is_batch as _is_batch

if TYPE_CHECKING:
    from .composed import Pipeline
    from .results import Results

__all__ = [
    "ANSWER_ALIASES",
    "OpenRLHFRewardFunc",
    "TRLReward",
    "VerlComputeScore",
    "as_trl",
    "trl_weights",
]

ANSWER_ALIASES = ("answer", "solution", "ground_truth", "reference")


def _per_sample_columns(n: int, columns: dict[str, Any]) -> list[dict[str, Any]]:
    """Split TRL's column lists (or 1-D arrays) into one dict per sample; other values are not
    columns."""
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for key, col in columns.items():
        if not _is_batch(col) or len(col) != n:
            continue  # trainer_state, log_metric, ...: not per-sample data
        for row, v in zip(rows, _plain(col)):
            row[key] = v
    return rows


def _sample(prompt: Any, completion: Any, cols: dict[str, Any]) -> dict[str, Any]:
    """One sample's fields; the pipeline validates them, so a row of the wrong type becomes an
    ``error`` result for that row instead of failing the whole batch."""
    data = dict(cols)
    if "answer" not in data:
        for alias in ANSWER_ALIASES[1:]:
            if alias in data:
                data["answer"] = data[alias]
                break
    data["prompt"] = prompt if prompt is not None else ""
    data["completion"] = completion if completion is not None else ""
    if "metadata" in data and not isinstance(data["metadata"], dict):
        data["metadata_value"] = data.pop("metadata")
    return data


def _plain(x: Any) -> Any:
    """numpy / torch scalars and arrays as plain Python values (what rewards and JSON expect)."""
    if hasattr(x, "tolist") and type(x).__module__.split(".")[0] in ("numpy", "torch"):
        return x.tolist()
    return x


def _exact(x: Any) -> Any:
    """``x`` with arrays and tensors as lists at any depth: their reprs elide the middle."""
    x = _plain(x)
    if isinstance(x, (list, tuple)):
        return [_exact(v) for v in x]
    if isinstance(x, dict):
        return {k: _exact(v) for k, v in x.items()}
    return x


class _LastBatch:
    """The combined call's results, kept so the component loggers of the same step reuse them."""

    def __init__(self) -> None:
        self.key: Any = None
        self.results: Results | None = None
        self.lock = threading.Lock()


class TRLReward:
    """One TRL reward function over a pipeline (the combined reward, or one component)."""

    def __init__(
        self,
        pipeline: Pipeline,
        component: str | None = None,
        weight: float = 1.0,
        cache: _LastBatch | None = None,
        policy: AdapterPolicy | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.component = component
        self.weight = weight
        self.policy = policy or AdapterPolicy()
        self._cache = cache or _LastBatch()
        self.__name__ = pipeline.name if component is None else f"{pipeline.name}/{component}"
        self.__qualname__ = self.__name__

    def _results(
        self, prompts: Sequence[Any] | None, completions: Sequence[Any], columns: dict[str, Any]
    ) -> Results:
        # TRL calls every reward function of a step with the same batch, the combined one first:
        # it always scores (a repeated batch in a later step is scored again), and the
        # component loggers reuse its results when their batch is the same, content for content.
        # The key is what the samples are built from: other arguments (``trainer_state``, whose
        # log grows every step) reach no reward and would only make the key costly.
        n = len(completions)
        prompts = list(prompts) if prompts is not None else [""] * n
        _check_lengths("TRL reward", prompts=prompts, completions=completions)
        rows = _per_sample_columns(n, columns)
        key = repr([prompts, completions, rows])
        if "..." in key:  # perhaps an elided array repr: spell every array out
            key = repr(_exact([prompts, completions, rows]))
        if self.component is not None:
            with self._cache.lock:
                if self._cache.key == key and self._cache.results is not None:
                    return self._cache.results
        samples = [_sample(p, c, r) for p, c, r in zip(prompts, completions, rows)]
        results = self.pipeline.score(samples)
        with self._cache.lock:
            self._cache.key, self._cache.results = key, results
        return results

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] = (),
        completion_ids: Sequence[Sequence[int]] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        if completion_ids is not None:
            columns["completion_ids"] = list(completion_ids)
        log_metric = columns.pop("log_metric", None)
        log_extra = columns.pop("log_extra", None)
        results = self._results(prompts, list(completions), columns)
        if self.component is None:
            rewards = self.policy.rewards(results)
            _report(results, log_metric, log_extra)
            return rewards
        if self.component not in results.component_names:
            return [None] * len(results)
        return results.component(self.component)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache = _LastBatch()

    def __repr__(self) -> str:
        return f"<TRLReward {self.__name__} weight={self.weight:g}>"


def _report(results: Results, log_metric: Any, log_extra: Any) -> None:
    """Tell TRL what was not scored ``ok``: per component and status, the batch's count as a
    metric (``assay/math/unverifiable``), and each sample's status and reason as a column of the
    completions table (``assay_status``)."""
    if callable(log_metric):
        for key, count in non_ok_counts(results).items():
            log_metric(key, float(count))
    if callable(log_extra):
        statuses = results.statuses
        if any(st != "ok" for st in statuses):
            column = [
                "ok" if st == "ok" else f"{st}: {results[i].reason}"
                for i, st in enumerate(statuses)
            ]
        else:
            column = ["ok"] * len(statuses)
        log_extra("assay_status", column)


def as_trl(
    pipeline: Pipeline,
    components: bool = False,
    *,
    non_ok: NonOk = "pipeline",
    max_non_ok_rate: float | None = None,
) -> list[TRLReward]:
    """TRL ``reward_funcs`` for a pipeline (see module docstring). ``non_ok`` and
    ``max_non_ok_rate``: what a sample that was not scored ``ok`` counts as
    (`assay.adapter_policy.AdapterPolicy`; ``mask`` gives None, which TRL ignores)."""
    cache = _LastBatch()
    policy = AdapterPolicy(non_ok, max_non_ok_rate)
    funcs = [TRLReward(pipeline, None, 1.0, cache, policy)]
    if components:
        funcs += [TRLReward(pipeline, name, 0.0, cache) for name in pipeline.component_names]
    return funcs


def trl_weights(funcs: Sequence[Any]) -> list[float]:
    """``reward_weights`` for TRL's config matching `as_trl` output (plain callables weigh 1.0)."""
    return [float(getattr(f, "weight", 1.0)) for f in funcs]
