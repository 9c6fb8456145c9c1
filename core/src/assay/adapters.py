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

from .models import Sample

if TYPE_CHECKING:
    from .composed import Pipeline
    from .results import Results

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


def _check_lengths(what: str, **cols: Sequence[Any]) -> int:
    """The common length of per-sample inputs; a clear error when they disagree."""
    lengths = {k: len(v) for k, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"{what}: per-sample inputs differ in length: "
            + ", ".join(f"{k}={n}" for k, n in lengths.items())
        )
    return next(iter(lengths.values()), 0)


def _is_batch(x: Any) -> bool:
    """A per-sample column: a list, tuple or array (numpy, as verl passes), not a string/dict."""
    if isinstance(x, (list, tuple)):
        return True
    return (
        hasattr(x, "__len__")
        and hasattr(x, "tolist")
        and getattr(x, "ndim", 0) == 1
        and not isinstance(x, (str, bytes))
    )


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
        _check_lengths(
            "verl compute_score",
            data_source=ds,
            solution_str=sol,
            ground_truth=gt,
            extra_info=extra,
        )
        samples = []
        for d, s, g, e in zip(ds, sol, gt, extra):
            d, g, e = _plain(d), _plain(g), _plain(e)
            f = _ground_truth_fields(g, e)
            meta = f.setdefault("metadata", {})
            meta.setdefault("data_source", d)
            meta.setdefault("task", d)
            f["completion"] = s if s is not None else ""
            samples.append(f)  # validated by the pipeline: a bad row is an error, not a crash
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
        data_source: Any = None,
        solution_str: Any = None,
        ground_truth: Any = None,
        extra_info: Any = None,
        **kw: Any,
    ) -> Any:
        # verl's batched reward manager calls compute_score(data_sources=, solution_strs=,
        # ground_truths=, extra_infos=) with numpy object arrays.
        batched = "solution_strs" in kw
        if batched:
            data_source = kw.get("data_sources", data_source)
            solution_str = kw["solution_strs"]
            ground_truth = kw.get("ground_truths", ground_truth)
            extra_info = kw.get("extra_infos", extra_info)
        if batched or _is_batch(solution_str):
            sol = list(solution_str)
            n = len(sol)

            def col(x: Any) -> list[Any]:
                return list(x) if _is_batch(x) else [x] * n  # a scalar applies to every sample

            return self._rows(col(data_source), sol, col(ground_truth), col(extra_info))
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
        queries = list(queries)
        prompts = list(prompts) if prompts is not None else [""] * len(queries)
        labels = list(labels) if labels is not None else [None] * len(queries)
        _check_lengths("OpenRLHF reward_func", queries=queries, prompts=prompts, labels=labels)
        samples: list[Any] = []
        for q, p, label in zip(queries, prompts, labels):
            q = "" if q is None else q
            p = "" if p is None else p
            if isinstance(q, str) and isinstance(p, str):
                completion = q[len(p) :] if p and q.startswith(p) else q
                samples.append(Sample(prompt=p, completion=completion, answer=_plain(label)))
            else:  # validated by the pipeline: an error result for this row only
                samples.append({"prompt": p, "completion": q, "answer": _plain(label)})
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

            t = lambda xs: torch.tensor(xs, dtype=torch.float32)
        except ImportError:  # torch-free environments get lists
            t = list  # type: ignore[assignment]
        return {
            "rewards": t(rewards),
            "scores": t(rewards),
            "extra_logs": {k: t(v) for k, v in logs.items()},
        }
