"""Rubrics as data: weighted criteria, each pass/fail or on an ordinal scale, and the score.

A rubric is a YAML/JSON document (or a dict):

    name: dosage_answer
    reference: "500 mg every 8 hours"     # optional; a sample's `answer` takes precedence
    criteria:
      - name: correct_dose
        description: States the correct dose and interval.
        weight: 3
        required: true                    # failing it makes the score 0
      - name: clarity
        description: Clear, well organised, no filler.
        weight: 1
        scale: [1, 5]                     # ordinal: an integer from 1 to 5
      - name: unsafe_advice
        description: Recommends something unsafe.
        weight: -2                        # a pitfall: satisfying it costs

Plain Likert grading is the one-criterion case: ``{likert: 5, question: "How helpful is it?"}``.

The score (Rubrics-as-Rewards style, explicit aggregation) is

    score = sum_c w_c * v_c / sum_{c: w_c > 0} w_c

where ``v_c`` is 1/0 for a passed/failed binary criterion and ``(x - lo) / (hi - lo)`` for an
ordinal grade ``x`` on ``[lo, hi]``. With positive weights only it lies in [0, 1]; negative
weights (pitfalls) can take it below 0. A ``required`` binary criterion that fails makes the
score 0 whatever the others say.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

RESERVED = frozenset({"reasoning"})
# A JSON key the judge can copy back: up to 64 characters, no quotes, backslashes or controls.
NAME_PATTERN = r'^[^\x00-\x20"\\][^\x00-\x1f"\\]{0,63}$'


class RubricError(ValueError):
    """A rubric that cannot be used; the message names the field or file to fix."""


class Criterion(BaseModel):
    """One thing the judge checks: pass/fail (no ``scale``) or an integer grade on ``scale``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field(min_length=1)
    weight: float = Field(default=1.0, allow_inf_nan=False)
    scale: tuple[int, int] | None = None
    required: bool = False

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v in RESERVED:
            raise ValueError(f"{v!r} is reserved for the judge's own reasoning; rename it")
        return v

    @model_validator(mode="after")
    def _check(self) -> Criterion:
        if self.scale is not None and self.scale[0] >= self.scale[1]:
            raise ValueError(f"scale {list(self.scale)} must go from low to high")
        if self.required and self.scale is not None:
            raise ValueError("`required` applies to pass/fail criteria (no `scale`)")
        return self

    @property
    def binary(self) -> bool:
        return self.scale is None

    def normalise(self, grade: bool | int) -> float:
        """``v_c``: 1.0/0.0 for pass/fail, the grade's position on the scale otherwise."""
        if self.scale is None:
            return 1.0 if grade else 0.0
        lo, hi = self.scale
        return (int(grade) - lo) / (hi - lo)

    def json_schema(self) -> dict[str, Any]:
        if self.scale is None:
            return {"type": "boolean", "description": self.description}
        lo, hi = self.scale
        return {"type": "integer", "minimum": lo, "maximum": hi, "description": self.description}


class Rubric(BaseModel):
    """Weighted criteria, an optional reference answer, and extra instructions for the judge."""

    model_config = ConfigDict(extra="forbid")

    name: str = "rubric"
    criteria: list[Criterion] = Field(min_length=1)
    reference: str | None = None
    instructions: str = ""

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        names = [c.name for c in self.criteria]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"criterion names must be unique; repeated: {sorted(dup)}")
        if not any(c.weight > 0 for c in self.criteria):
            raise ValueError("at least one criterion needs a positive weight")
        return self

    @classmethod
    def likert(cls, points: int = 5, question: str = "", name: str = "likert") -> Rubric:
        """Plain Likert grading: one ordinal criterion ``score`` on ``[1, points]``."""
        q = question or "Overall quality of the response for the user's request."
        return cls(name=name, criteria=[Criterion(name="score", description=q, scale=(1, points))])

    @property
    def is_likert(self) -> bool:
        return len(self.criteria) == 1 and self.criteria[0].scale is not None

    def score(self, grades: Mapping[str, bool | int]) -> float:
        """The documented function of the criteria (module docstring)."""
        positive = sum(c.weight for c in self.criteria if c.weight > 0)
        total = 0.0
        for c in self.criteria:
            if c.required and not grades[c.name]:
                return 0.0
            total += c.weight * c.normalise(grades[c.name])
        return total / positive

    def score_mean(self, draws: Sequence[Mapping[str, bool | int]]) -> float:
        """Self-consistency: each criterion's ``v_c`` averaged over draws, then the formula.

        A required criterion gates on its majority (ties pass)."""
        positive = sum(c.weight for c in self.criteria if c.weight > 0)
        total = 0.0
        for c in self.criteria:
            vs = [c.normalise(g[c.name]) for g in draws]
            mean = sum(vs) / len(vs)
            if c.required and mean < 0.5:
                return 0.0
            total += c.weight * mean
        return total / positive

    def output_schema(self) -> dict[str, Any]:
        """JSON schema of the verdict: ``reasoning`` first (think, then grade), then each criterion."""
        props: dict[str, Any] = {"reasoning": {"type": "string"}}
        for c in self.criteria:
            props[c.name] = c.json_schema()
        return {
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        }

    def fingerprint(self) -> str:
        """Canonical JSON of everything in the rubric (part of the cache key)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def _from_mapping(data: Mapping[str, Any], where: str) -> Rubric:
    data = dict(data)
    if "likert" in data:
        points = data.pop("likert")
        extra = set(data) - {"question", "name", "reference", "instructions"}
        if extra:
            raise RubricError(
                f"{where}: a likert rubric takes question/name/reference/instructions, not {sorted(extra)}"
            )
        if not isinstance(points, int) or isinstance(points, bool) or not 2 <= points <= 100:
            raise RubricError(
                f"{where}: `likert` is the number of points, an integer from 2 to 100"
            )
        r = Rubric.likert(points, data.pop("question", ""), data.pop("name", "likert"))
        return r.model_copy(update=data)
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        raise RubricError(f"{where}: {exc}") from None


def load_rubric(source: Rubric | Mapping[str, Any] | str | Path) -> Rubric:
    """A `Rubric` from a Rubric, a dict, a YAML/JSON file path, or a YAML/JSON string."""
    if isinstance(source, Rubric):
        return source
    if isinstance(source, Mapping):
        return _from_mapping(source, "rubric")
    text, where = str(source), "rubric"
    if "\n" not in text and (text.endswith((".yaml", ".yml", ".json")) or Path(text).is_file()):
        path = Path(text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RubricError(f"cannot read rubric file {path}: {exc.strerror or exc}") from None
        where = str(path)
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RubricError(f"{where}: not valid YAML/JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise RubricError(f"{where}: a rubric is a mapping with `criteria` (or `likert`)")
    return _from_mapping(data, where)
