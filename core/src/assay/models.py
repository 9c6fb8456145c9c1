"""The typed data model every reward, pipeline and adapter speaks: `Sample`, `Score`, `Result`.

`Sample` keeps unknown fields (dataset columns travel through to rewards and outputs).
`Score` is what one reward says about one sample; `Result` is what a pipeline says, with the
score of each component. Rewards may return a bare float (or None) for speed; the pipeline
lifts it to an ``ok`` score only when someone looks at it.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["ok", "unverifiable", "error", "timeout"]
STATUSES: tuple[str, ...] = ("ok", "unverifiable", "error", "timeout")

Message = dict[str, Any]
Text = Union[str, list[Message]]


def text_of(value: Text | None) -> str:
    """The text of a prompt or completion: a string as is; chat messages -> the last message's content.

    A completion in chat form is usually one assistant message; a prompt in chat form ends with
    the user turn, which is the part rewards care about.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        last = value[-1]
        if isinstance(last, dict):
            content = last.get("content", "")
            if isinstance(content, list):  # multimodal parts: keep the text parts
                return "".join(
                    t
                    for p in content
                    if isinstance(p, dict) and isinstance(t := p.get("text"), str)
                )
            return "" if content is None else str(content)
        return str(last)
    return ""


class Sample(BaseModel):
    """One thing to score: a prompt, the model's completion, and what to check it against.

    Unknown fields are kept (``sample.model_extra``) and passed through to TRL-style rewards
    as dataset columns and to `assay score` outputs.
    """

    model_config = ConfigDict(extra="allow", frozen=False)

    prompt: Text = ""
    completion: Text = ""
    answer: Any = None
    tests: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def prompt_text(self) -> str:
        return text_of(self.prompt)

    @property
    def completion_text(self) -> str:
        return text_of(self.completion)

    def columns(self) -> dict[str, Any]:
        """Dataset columns as TRL passes them to reward functions (answer, tests, extras, metadata)."""
        cols: dict[str, Any] = {}
        if self.answer is not None:
            cols["answer"] = self.answer
        if self.tests is not None:
            cols["tests"] = self.tests
        if self.metadata:
            cols["metadata"] = self.metadata
        if self.model_extra:
            cols.update(self.model_extra)
        return cols


class Score(BaseModel):
    """What one reward says about one sample.

    ``value`` is None when the reward does not apply or cannot decide; ``status`` says which:
    ``ok`` (value is the verdict, or None for "does not apply"), ``unverifiable`` (e.g. a gold
    answer that does not parse), ``error`` (the reward crashed on this sample), ``timeout``
    (the deadline stopped it). Provenance (`reward`, `plugin`, `version`) says who scored it.
    """

    model_config = ConfigDict(extra="forbid")

    value: float | None = None
    status: Status = "ok"
    reason: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    reward: str | None = None
    plugin: str | None = None
    version: str | None = None

    @classmethod
    def ok(cls, value: float | None, reason: str = "", **details: Any) -> Score:
        return cls(value=value, status="ok", reason=reason, details=details)

    @classmethod
    def unverifiable(cls, reason: str, **details: Any) -> Score:
        return cls(value=None, status="unverifiable", reason=reason, details=details)

    @classmethod
    def error(cls, reason: str, **details: Any) -> Score:
        return cls(value=None, status="error", reason=reason, details=details)

    @classmethod
    def timeout(cls, reason: str, **details: Any) -> Score:
        return cls(value=None, status="timeout", reason=reason, details=details)


ScoreLike = Union[Score, float, int, bool, None]


def as_score(value: ScoreLike, reward: str | None = None) -> Score:
    """Lift what a reward returned (a Score, a number, or None) to a `Score`."""
    if isinstance(value, Score):
        if reward is not None and value.reward is None:
            value.reward = reward
        return value
    if value is None:
        return Score(value=None, status="ok", reason="not applicable", reward=reward)
    if isinstance(value, (int, float)):
        return Score(value=float(value), reward=reward)
    raise TypeError(
        f"reward {reward!r} returned {type(value).__name__}; expected a float, None or assay.Score"
    )


class Result(BaseModel):
    """What a pipeline says about one sample: the combined reward and each component's score."""

    model_config = ConfigDict(extra="forbid")

    reward: float | None
    status: Status = "ok"
    reason: str = ""
    components: dict[str, Score] = Field(default_factory=dict)

    @property
    def rewards(self) -> dict[str, float | None]:
        """Component name -> value, as `assay score` writes it."""
        return {name: s.value for name, s in self.components.items()}


class NoOptions(BaseModel):
    """The one options model of a reward, sampler or algorithm that takes none: any key is an
    error."""

    model_config = ConfigDict(extra="forbid")
