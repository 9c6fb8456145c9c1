"""Adapters from a pipeline to the reward interfaces of trainers: TRL, verl, OpenRLHF.

- TRL: ``pipe.as_trl()`` -> ``reward_funcs``. Each is a picklable callable
  ``fn(prompts, completions, completion_ids=None, **columns) -> list[float | None]`` with a
  ``__name__`` TRL logs under. ``as_trl(components=True)`` adds one callable per component with
  ``weight = 0.0``: pass `trl_weights(funcs)` as ``reward_weights`` and TRL logs every component
  without counting it twice (the components read the combined call's cached results).
- verl: ``pipe.as_verl()`` -> ``compute_score(data_source, solution_str, ground_truth,
  extra_info=None)``, single or batched (lists in, list out).
- OpenRLHF: ``pipe.as_openrlhf()`` -> ``reward_func(queries, prompts, labels)`` returning
  ``{"rewards", "scores", "extra_logs"}`` (torch tensors when torch is importable).

For trainers that import a function by file path and name (verl's ``custom_reward_function``,
OpenRLHF's ``--remote_rm_url`` file), `verl_compute_score` and `openrlhf_reward_func` below build
the pipeline named by the ``ASSAY_PIPELINE`` environment variable (a YAML/JSON path) on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .models import Sample

if TYPE_CHECKING:
    from .pipeline import Pipeline, Results

ANSWER_ALIASES = ("answer", "solution", "ground_truth", "reference")


def _per_sample_columns(n: int, columns: dict[str, Any]) -> list[dict[str, Any]]:
    """Split TRL's column lists into one dict per sample; non-list values are not columns."""
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for key, col in columns.items():
        if not isinstance(col, (list, tuple)) or len(col) != n:
            continue  # trainer_state, log_metric, ...: not per-sample data
        for row, v in zip(rows, col):
            row[key] = v
    return rows


def _sample(prompt: Any, completion: Any, cols: dict[str, Any]) -> Sample:
    data = dict(cols)
    if "answer" not in data:
        for alias in ANSWER_ALIASES[1:]:
            if alias in data:
                data["answer"] = data[alias]
                break
    data["prompt"] = prompt if prompt is not None else ""
    data["completion"] = completion
    if "metadata" in data and not isinstance(data["metadata"], dict):
        data["metadata_value"] = data.pop("metadata")
    return Sample.model_validate(data)


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
    ) -> None:
        self.pipeline = pipeline
        self.component = component
        self.weight = weight
        self._cache = cache or _LastBatch()
        self.__name__ = pipeline.name if component is None else f"{pipeline.name}/{component}"
        self.__qualname__ = self.__name__

    def _results(
        self, prompts: Sequence[Any] | None, completions: Sequence[Any], columns: dict[str, Any]
    ) -> Results:
        # TRL calls every reward function of a step with the same batch: key on its content.
        cols = sorted((k, v) for k, v in columns.items() if isinstance(v, (list, tuple)))
        key = (repr(prompts), repr(completions), repr(cols))
        with self._cache.lock:
            if self._cache.key == key and self._cache.results is not None:
                return self._cache.results
        n = len(completions)
        prompts = list(prompts) if prompts is not None else [""] * n
        rows = _per_sample_columns(n, columns)
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
        results = self._results(prompts, list(completions), columns)
        if self.component is None:
            return results.rewards
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


def as_trl(pipeline: Pipeline, components: bool = False) -> list[TRLReward]:
    """TRL ``reward_funcs`` for a pipeline (see module docstring)."""
    cache = _LastBatch()
    funcs = [TRLReward(pipeline, None, 1.0, cache)]
    if components:
        funcs += [TRLReward(pipeline, name, 0.0, cache) for name in pipeline.component_names]
    return funcs


def trl_weights(funcs: Sequence[Any]) -> list[float]:
    """``reward_weights`` for TRL's config matching `as_trl` output (plain callables weigh 1.0)."""
    return [float(getattr(f, "weight", 1.0)) for f in funcs]


def _ground_truth_fields(ground_truth: Any, extra_info: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"answer": ground_truth}
    if isinstance(ground_truth, dict) and "type" in ground_truth:  # code tests as ground truth
        fields = {"tests": ground_truth}
    if isinstance(extra_info, dict):
        extra = dict(extra_info)
        if "tests" in extra:
            fields["tests"] = extra.pop("tests")
        fields["metadata"] = extra
    return fields


class VerlComputeScore:
    """verl ``compute_score`` over a pipeline: data_source goes to ``metadata.data_source``."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.__name__ = "compute_score"

    def _rows(
        self, ds: Sequence[Any], sol: Sequence[Any], gt: Sequence[Any], extra: Sequence[Any]
    ) -> list[dict[str, float]]:
        samples = []
        for d, s, g, e in zip(ds, sol, gt, extra):
            f = _ground_truth_fields(g, e)
            meta = f.setdefault("metadata", {})
            meta.setdefault("data_source", d)
            meta.setdefault("task", d)
            samples.append(Sample(completion=s, **f))
        results = self.pipeline.score(samples)
        out = []
        for r in results:
            row = {"score": r.reward if r.reward is not None else 0.0}
            for name, sc in r.components.items():
                row[name] = sc.value if sc.value is not None else 0.0
            out.append(row)
        return out

    def __call__(
        self,
        data_source: Any,
        solution_str: Any,
        ground_truth: Any = None,
        extra_info: Any = None,
        **_: Any,
    ) -> Any:
        if isinstance(solution_str, (list, tuple)):  # verl's batched reward manager
            n = len(solution_str)
            ds = data_source if isinstance(data_source, (list, tuple)) else [data_source] * n
            gt = ground_truth if isinstance(ground_truth, (list, tuple)) else [ground_truth] * n
            ex = extra_info if isinstance(extra_info, (list, tuple)) else [extra_info] * n
            return self._rows(ds, solution_str, gt, ex)
        return self._rows([data_source], [solution_str], [ground_truth], [extra_info])[0]


class OpenRLHFRewardFunc:
    """OpenRLHF ``reward_func(queries, prompts, labels)`` over a pipeline.

    ``queries`` are prompt + response; the response is the query with the prompt removed.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.__name__ = "reward_func"

    def scores(
        self, queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None
    ) -> tuple[list[float], dict[str, list[float]]]:
        labels = list(labels) if labels is not None else [None] * len(queries)
        samples = []
        for q, p, label in zip(queries, prompts, labels):
            completion = q[len(p) :] if p and q.startswith(p) else q
            samples.append(Sample(prompt=p, completion=completion, answer=label))
        results = self.pipeline.score(samples)
        rewards = [r if r is not None else 0.0 for r in results.rewards]
        logs = {
            name: [v if v is not None else 0.0 for v in results.component(name)]
            for name in results.component_names
        }
        return rewards, logs

    def __call__(
        self, queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None
    ) -> dict[str, Any]:
        rewards, logs = self.scores(queries, prompts, labels)
        try:
            import torch

            t = lambda xs: torch.tensor(xs, dtype=torch.float32)  # noqa: E731
        except ImportError:  # torch-free environments get lists
            t = list  # type: ignore[assignment]
        return {
            "rewards": t(rewards),
            "scores": t(rewards),
            "extra_logs": {k: t(v) for k, v in logs.items()},
        }


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
            from .pipeline import load_pipeline

            _ENV_PIPELINE = load_pipeline(path)
        return _ENV_PIPELINE


def verl_compute_score(
    data_source: Any, solution_str: Any, ground_truth: Any = None, extra_info: Any = None, **kw: Any
) -> Any:
    """verl ``custom_reward_function`` entry: scores with the ``ASSAY_PIPELINE`` pipeline."""
    return VerlComputeScore(pipeline_from_env())(
        data_source, solution_str, ground_truth, extra_info, **kw
    )


def openrlhf_reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None
) -> dict[str, Any]:
    """OpenRLHF reward function entry: scores with the ``ASSAY_PIPELINE`` pipeline."""
    return OpenRLHFRewardFunc(pipeline_from_env())(queries, prompts, labels)
