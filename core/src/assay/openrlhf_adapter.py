"""OpenRLHF ``reward_func(queries, prompts, labels)`` over a pipeline, fed what OpenRLHF sends.

OpenRLHF (a ``--remote_rm_url`` file, or ``assay serve`` posting ``{"query", "prompts",
"labels"}``) gives each sample as the decoded sequence (``query``: left padding, the templated
prompt, the response and its end-of-turn token), the templated prompt, and the dataset's
``--label_key`` value. Each becomes a sample: the response split from the query
(`assay.payloads.split_query`: after the prompt, else after the last assistant marker of a
known chat template) with trailing end tokens removed, and the label decoded
(`assay.payloads.label_fields`: a plain answer, or a JSON object with ``answer``/``tests``/
``metadata``, or code tests), so code tasks and routing on ``metadata.task`` work.

Returns ``{"rewards", "scores", "extra_logs"}``; ``extra_logs`` holds each component's values
and, per component, ``assay/<component>/<status>``: 1.0 for each sample that was
``unverifiable``/``error``/``timeout`` (OpenRLHF logs the mean: the rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .adapter_policy import AdapterPolicy, NonOk, non_ok_indicators
from .payloads import (
    DEFAULT_END_TOKENS,
    label_fields,
    plain,
    resolve_end_tokens,
    split_query,
    strip_leading_tokens,
)
from .verl_adapter import check_lengths

if TYPE_CHECKING:
    from .composed import Pipeline


def openrlhf_sample(
    query: Any, prompt: Any, label: Any, end_tokens: Sequence[str] = DEFAULT_END_TOKENS
) -> dict[str, Any]:
    """One sample's fields from what OpenRLHF sends (see the module docstring); a query or prompt
    of the wrong type is left for the pipeline to reject (an ``error`` for that row only)."""
    fields = label_fields(label) if label is not None else {}
    q = "" if query is None else query
    p = "" if prompt is None else prompt
    if isinstance(q, str) and isinstance(p, str):
        _, completion = split_query(q, p, end_tokens)
        fields["prompt"] = strip_leading_tokens(p, end_tokens)
        fields["completion"] = completion
    else:
        fields["prompt"], fields["completion"] = plain(p), plain(q)
    return fields


class OpenRLHFRewardFunc:
    """OpenRLHF ``reward_func`` over a pipeline (see the module docstring).

    ``non_ok`` / ``max_non_ok_rate``: `assay.adapter_policy.AdapterPolicy` (``mask`` is refused:
    OpenRLHF needs a number). ``end_tokens`` / ``tokenizer``: what to strip (see
    `assay.payloads.end_tokens_of`).
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
        self.policy.require_number("OpenRLHF")
        self.end_tokens = resolve_end_tokens(end_tokens, tokenizer)
        self.__name__ = "reward_func"

    def sample(self, query: Any, prompt: Any, label: Any) -> dict[str, Any]:
        """One sample's fields (`openrlhf_sample`)."""
        return openrlhf_sample(query, prompt, label, self.end_tokens)

    def scores(
        self, queries: Sequence[Any], prompts: Sequence[Any] | None, labels: Sequence[Any] | None
    ) -> tuple[list[float], dict[str, list[float]]]:
        """(rewards, extra_logs) as plain lists (what `assay serve` returns as JSON)."""
        queries = list(queries)
        prompts = list(prompts) if prompts is not None else [""] * len(queries)
        labels = list(labels) if labels is not None else [None] * len(queries)
        check_lengths("OpenRLHF reward_func", queries=queries, prompts=prompts, labels=labels)
        samples = [self.sample(q, p, lab) for q, p, lab in zip(queries, prompts, labels)]
        results = self.pipeline.score(samples)
        rewards = [r if r is not None else 0.0 for r in self.policy.rewards(results)]
        logs: dict[str, list[float]] = {
            name: [v if v is not None else 0.0 for v in results.component(name)]
            for name in results.component_names
        }
        logs.update(non_ok_indicators(results))
        return rewards, logs

    def __call__(
        self, queries: Sequence[Any], prompts: Sequence[Any], labels: Sequence[Any] | None = None
    ) -> dict[str, Any]:
        rewards, logs = self.scores(queries, prompts, labels)
        return {
            "rewards": _tensor(rewards),
            "scores": _tensor(rewards),
            "extra_logs": {k: _tensor(v) for k, v in logs.items()},
        }


def _tensor(xs: list[float]) -> Any:
    """A float32 torch tensor, or the list itself where torch is not installed."""
    try:
        import torch
    except ImportError:  # torch-free environments get lists
        return xs
    return torch.tensor(xs, dtype=torch.float32)
