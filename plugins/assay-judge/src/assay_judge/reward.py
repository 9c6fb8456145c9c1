"""The ``judge`` reward: a model behind an OpenAI-compatible endpoint grades each sample
against a rubric; the score is the rubric's documented function of the criteria.

    {"use": "judge", "with": {"base_url": "http://127.0.0.1:8000/v1", "model": "Qwen/Qwen3-8B",
                              "rubric": "rubrics/helpful.yaml", "api_key_env": "JUDGE_KEY"}}

``details`` holds each criterion's grade, the raw reply (``keep_reply`` characters), whether it
came from the cache, the self-consistency draws, and the cross-check. An unparsable reply or a
failed request is ``error`` with the reason and the raw reply, never a guessed value.
"""

from __future__ import annotations

import statistics
from functools import partial
from typing import Any, Literal

from pydantic import Field

import assay

from .base import JudgeBase, conversation_text
from .engine import Answer, Request
from .options import CrossCheck, Endpoint, JudgeSettings
from .parsing import read_verdict
from .prompts import SYSTEM, USER, grading_messages
from .rubric import Rubric, load_rubric


class JudgeOptions(JudgeSettings):
    rubric: dict[str, Any] | str = Field(
        description="a rubric (dict) or the path of a YAML/JSON one"
    )
    use_answer: bool = Field(
        default=True, description="a sample's `answer` is the reference answer"
    )
    cross_check: CrossCheck | None = None
    disagreement: float = Field(
        default=0.25, ge=0.0, description="score gap that counts as disagreement"
    )
    on_disagreement: Literal["record", "unverifiable", "mean"] = "record"


class JudgeReward(JudgeBase):
    """LLM-as-judge against a rubric (weighted pass/fail and ordinal criteria, or Likert)."""

    name = "judge"
    Options = JudgeOptions
    options: JudgeOptions

    def _setup(self) -> None:
        self.rubric: Rubric = load_rubric(self.options.rubric)
        super()._setup()
        o = self.options
        self._primary = Endpoint(base_url=o.base_url, model=o.model, api_key_env=o.api_key_env)
        self._cross: Endpoint | None = None
        if o.cross_check is not None:
            cc = o.cross_check
            self._cross = Endpoint(
                base_url=cc.base_url or o.base_url,
                model=cc.model,
                api_key_env=cc.api_key_env if cc.base_url else (cc.api_key_env or o.api_key_env),
            )
            self.engine.endpoint_key(self._cross)  # a missing key fails now, not per sample
        self._schema = self.rubric.output_schema()
        self._parse = partial(read_verdict, rubric=self.rubric)

    def messages(self, sample: assay.Sample) -> list[dict[str, str]]:
        o = self.options
        reference = None
        if o.use_answer and sample.answer is not None:
            reference = str(sample.answer)
        reference = reference or self.rubric.reference
        return grading_messages(
            self.rubric,
            conversation_text(sample.prompt),
            sample.completion_text,
            reference,
            system=o.system_prompt or SYSTEM,
            template=o.template or USER,
        )

    def requests(self, sample: assay.Sample) -> list[Request]:
        msgs = self.messages(sample)
        parts = {"rubric": self.rubric.fingerprint(), "kind": "grade"}
        reqs = [
            Request(
                self._primary, msgs, self.options.params(i), self._schema, self._parse, parts, i
            )
            for i in range(self.options.n)
        ]
        if self._cross is not None:
            reqs.append(
                Request(self._cross, msgs, self.options.params(0), self._schema, self._parse, parts)
            )
        return reqs

    def verdict(self, sample: assay.Sample, answers: list[Answer]) -> assay.Score:
        o = self.options
        draws, cross = answers[: o.n], (answers[o.n] if self._cross is not None else None)
        good = [a for a in draws if a.ok]
        details: dict[str, Any] = {"judge": o.model, "cached": all(a.cached for a in draws)}
        if not good:
            bad = draws[0]
            details.update(reply=self.reply_excerpt(bad.reply), **bad.details)
            if o.n > 1:
                details["draw_errors"] = [a.error for a in draws]
            return assay.Score.error(bad.error or "no verdict", **details)
        value = self._combine([a.value for a in good])
        if o.n == 1:
            details.update(criteria=good[0].value, reply=self.reply_excerpt(good[0].reply))
        else:
            details["draws"] = [self.rubric.score(a.value) for a in good]
            details["criteria"] = [a.value for a in good]
            details["draw_errors"] = [a.error for a in draws if not a.ok]
        if cross is None:
            return assay.Score.ok(value, **details)
        return self._cross_checked(value, cross, details)

    def _combine(self, grades: list[dict[str, Any]]) -> float:
        if len(grades) == 1:
            return self.rubric.score(grades[0])
        if self.options.aggregate == "median":
            return float(statistics.median(self.rubric.score(g) for g in grades))
        return self.rubric.score_mean(grades)

    def _cross_checked(self, value: float, cross: Answer, details: dict[str, Any]) -> assay.Score:
        o = self.options
        assert self._cross is not None
        if not cross.ok:
            details["cross_check"] = {"judge": self._cross.model, "error": cross.error}
            return assay.Score.ok(value, **details)
        other = self.rubric.score(cross.value)
        gap = abs(value - other)
        agree = gap <= o.disagreement
        details["cross_check"] = {
            "judge": self._cross.model,
            "value": other,
            "criteria": cross.value,
            "disagreement": gap,
            "agree": agree,
        }
        if not agree and o.on_disagreement == "unverifiable":
            return assay.Score.unverifiable(
                f"judges disagree: {value:.3g} vs {other:.3g}", **details
            )
        if o.on_disagreement == "mean":
            value = (value + other) / 2
        return assay.Score.ok(value, **details)
