"""verl ``compute_score`` over a pipeline, fed what verl's reward managers really pass.

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info)`` per sample
(``NaiveRewardManager``; the response decoded *with* its end-of-turn token) or
``compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=)`` per batch
(``BatchRewardManager``; numpy object arrays). ``ground_truth`` comes from the parquet row's
``reward_model.ground_truth``: a plain answer, or, for code, a JSON string of tests (Assay's
forms or the APPS/TACO ``{"inputs", "outputs", "fn_name"?}`` shape); ``extra_info`` is a dict
whose list fields arrive as numpy arrays.

Each sample gets: the decoded ground truth (`assay.payloads.label_fields`), ``extra_info``'s
fields in ``metadata`` (never replacing a ``task`` the ground truth set; an ``extra_info.tests``
becomes the tests), ``data_source`` as a top-level field and in ``metadata`` (route on it with
``route: {by: data_source}``), and the response without trailing end tokens.

Returns ``{"score": reward, <component>: value, "assay/<component>/<status>": 0 or 1, ...}`` per
sample, the same keys for every sample (verl collects each key into ``reward_extra_info`` and
logs their means: the rate of ``unverifiable``/``error``/``timeout`` per component).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .adapter_policy import NON_OK_STATUSES, AdapterPolicy, NonOk, non_ok_indicators, status_key
from .payloads import (
    as_tests,
    label_fields,
    merge_metadata,
    plain,
    resolve_end_tokens,
    strip_end_tokens,
)

if TYPE_CHECKING:
    from .composed import Pipeline


def check_lengths(what: str, **cols: Sequence[Any]) -> int:
    """The common length of per-sample inputs; a clear error when they disagree."""
    lengths = {k: len(v) for k, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"{what}: per-sample inputs differ in length: "
            + ", ".join(f"{k}={n}" for k, n in lengths.items())
        )
    return next(iter(lengths.values()), 0)


def is_batch(x: Any) -> bool:
    """A per-sample column: a list, tuple or 1-D array (numpy, as verl passes), not a string."""
    if isinstance(x, (list, tuple)):
        return True
    return (
        hasattr(x, "__len__")
        and hasattr(x, "tolist")
        and getattr(x, "ndim", 0) == 1
        and not isinstance(x, (str, bytes))
    )


def verl_fields(
    data_source: Any, solution: Any, ground_truth: Any, extra_info: Any, end_tokens: Sequence[str]
) -> dict[str, Any]:
    """One verl sample's `Sample` fields (see the module docstring)."""
    ds = plain(data_source)
    fields = label_fields(ground_truth) if ground_truth is not None else {}
    extra = plain(extra_info)
    if isinstance(extra, dict):
        extra = dict(extra)
        tests = extra.pop("tests", None)
        if tests is not None and "tests" not in fields:
            fields["tests"] = as_tests(tests)
        merge_metadata(fields, extra)
    if ds is not None:
        merge_metadata(fields, {"data_source": ds})
        fields.setdefault("data_source", ds)
    if isinstance(solution, str):
        fields["completion"] = strip_end_tokens(solution, end_tokens)
    else:  # validated by the pipeline: an error for this row, not a crash
        fields["completion"] = "" if solution is None else solution
    return fields


class VerlComputeScore:
    """verl ``compute_score`` over a pipeline (see the module docstring).

    ``non_ok`` / ``max_non_ok_rate``: `assay.adapter_policy.AdapterPolicy` (``mask`` is refused:
    verl needs a number). ``end_tokens``: what to strip from the end of a response (default: the
    common chat templates'; ``tokenizer=`` adds that tokenizer's special tokens).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        non_ok: NonOk = "pipeline",
        max_non_ok_rate: float | None = None,
        end_tokens: Sequence[str] | None = None,
        tokenizer: Any = None,
    ) -> None:
        self.pipeline = pipeline
        self.policy = AdapterPolicy(non_ok, max_non_ok_rate)
        self.policy.require_number("verl")
        self.end_tokens = resolve_end_tokens(end_tokens, tokenizer)
        self.__name__ = "compute_score"
        self._warned = False

    def _warn_unrouted(self, samples: list[dict[str, Any]]) -> None:
        """Routing by a field no verl sample carries sends every sample to the default route:
        say so once, and how to route on verl's ``data_source``."""
        route = getattr(self.pipeline, "route", None)
        by = getattr(route, "by", None)
        if self._warned or not isinstance(by, str) or not samples:
            return
        if any(_dotted(s, by) is not None for s in samples):
            return
        self._warned = True
        warnings.warn(
            f"assay verl adapter: the pipeline routes by {by!r}, which no sample carries, so "
            "every sample goes to the default route (or is unverifiable); verl's data_source "
            "is the `data_source` field: use `route: {by: data_source}`, or set "
            f"{by} in extra_info or the ground truth",
            RuntimeWarning,
            stacklevel=3,
        )

    def _rows(
        self, ds: Sequence[Any], sol: Sequence[Any], gt: Sequence[Any], extra: Sequence[Any]
    ) -> list[dict[str, float]]:
        check_lengths(
            "verl compute_score",
            data_source=ds,
            solution_str=sol,
            ground_truth=gt,
            extra_info=extra,
        )
        samples = [
            verl_fields(d, s, g, e, self.end_tokens) for d, s, g, e in zip(ds, sol, gt, extra)
        ]
        self._warn_unrouted(samples)
        results = self.pipeline.score(samples)
        rewards = self.policy.rewards(results)
        flags = non_ok_indicators(results)
        columns = {name: results.component(name) for name in results.component_names}
        # Every component of the pipeline, not only those a route ran in this call: verl's
        # per-sample manager collects each key into a list, so the keys must never vary.
        names = list(dict.fromkeys([*self.pipeline.component_names, *columns]))
        out = []
        for i, r in enumerate(rewards):
            row: dict[str, float] = {"score": r if r is not None else 0.0}
            for name in names:
                v = columns[name][i] if name in columns else None
                row[name] = v if v is not None else 0.0
            for name in names:
                for status in NON_OK_STATUSES:
                    key = status_key(name, status)
                    row[key] = flags[key][i] if key in flags else 0.0
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
        batched = "solution_strs" in kw
        if batched:
            data_source = kw.get("data_sources", data_source)
            solution_str = kw["solution_strs"]
            ground_truth = kw.get("ground_truths", ground_truth)
            extra_info = kw.get("extra_infos", extra_info)
        if batched or is_batch(solution_str):
            sol = list(solution_str)
            n = len(sol)

            def col(x: Any) -> list[Any]:
                return list(x) if is_batch(x) else [x] * n  # a scalar applies to every sample

            return self._rows(col(data_source), sol, col(ground_truth), col(extra_info))
        return self._rows([data_source], [solution_str], [ground_truth], [extra_info])[0]


def _dotted(obj: Any, path: str) -> Any:
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur
