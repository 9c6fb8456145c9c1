"""The four forms of code tests a `Sample.tests` may hold, as a pydantic discriminated union.

```json
{"type": "asserts", "asserts": ["assert add(1, 2) == 3"], "setup": "import math"}
{"type": "check", "check": "def check(candidate): ...", "entry_point": "add"}
{"type": "stdio", "cases": [{"input": "1 2\\n", "output": "3\\n"}]}
{"type": "call", "fn_name": "add", "cases": [{"args": [1, 2], "kwargs": {}, "expected": 3}]}
```

`parse_tests` accepts a dict, a model or a JSON string and raises `TestSpecError` (which the
reward turns into an ``unverifiable`` score) with a message naming the bad field.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from assay import AssayError

from .judge_specs import Checker, Subtask
from .pyparse import parse

__all__ = [
    "AssertsTests",
    "CallCase",
    "CallTests",
    "CheckTests",
    "StdioCase",
    "StdioTests",
    "TestSpec",
    "TestSpecError",
    "parse_tests",
]


class TestSpecError(AssayError, ValueError):
    """`Sample.tests` is missing or malformed; the sample cannot be verified."""

    __test__ = False  # not a pytest class


def _check_python(source: str, what: str) -> str:
    try:
        parse(source)
    except SyntaxError as e:
        raise ValueError(f"{what} is not valid Python: {e.msg} (line {e.lineno})") from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ValueError(f"{what} cannot be parsed: {type(e).__name__}") from None
    return source


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str | None = Field(
        default=None,
        description="Code placed before the completion (e.g. HumanEval's prompt when the sample's "
        "prompt is a chat message). Default: the sample's prompt when it is Python code.",
    )


class AssertsTests(_Spec):
    """MBPP style: assert statements run after the candidate, each one a case."""

    type: Literal["asserts"] = "asserts"
    asserts: list[str] = Field(min_length=1)
    setup: str = ""

    @field_validator("asserts")
    @classmethod
    def _asserts_parse(cls, v: list[str]) -> list[str]:
        return [_check_python(s, f"asserts[{i}]") for i, s in enumerate(v)]

    @field_validator("setup")
    @classmethod
    def _setup_parses(cls, v: str) -> str:
        return _check_python(v, "setup")


class CheckTests(_Spec):
    """HumanEval style: a ``check(candidate)`` function called with the entry point."""

    type: Literal["check"] = "check"
    check: str = Field(min_length=1)
    entry_point: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    check_name: str = Field(default="check", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @field_validator("check")
    @classmethod
    def _check_parses(cls, v: str) -> str:
        return _check_python(v, "check")


class StdioCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: str = ""
    output: str

    @field_validator("input", mode="before")
    @classmethod
    def _null_input_is_empty(cls, v: Any) -> Any:
        return "" if v is None else v  # datasets write a case without stdin as null


class StdioTests(_Spec):
    """CodeContests / APPS style: a program reads stdin; its whole stdout is compared (or a
    task-supplied ``checker`` decides); ``subtasks`` score IOI style; ``language`` names the
    language the task expects (see `judge_specs` and `docs/code.md`)."""

    type: Literal["stdio"] = "stdio"
    cases: list[StdioCase] = Field(min_length=1)
    language: str | None = None
    checker: Checker | None = None
    subtasks: list[Subtask] | None = None

    @model_validator(mode="after")
    def _subtask_cases_exist(self) -> StdioTests:
        for i, sub in enumerate(self.subtasks or ()):
            bad = [c for c in sub.cases if not 0 <= c < len(self.cases)]
            if bad:
                raise ValueError(f"subtasks.{i}: case {bad[0]} does not exist")
        if self.subtasks is not None and not self.subtasks:
            raise ValueError("subtasks: give at least one, or leave it out")
        return self


class CallCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    expected: Any


class CallTests(_Spec):
    """LiveCodeBench / TACO functional style: call ``fn_name`` and compare the return value."""

    type: Literal["call"] = "call"
    fn_name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
    cases: list[CallCase] = Field(min_length=1)


TestSpec = Annotated[
    Union[AssertsTests, CheckTests, StdioTests, CallTests], Field(discriminator="type")
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(TestSpec)


def _describe(err: ValidationError, limit: int = 3) -> str:
    parts = []
    for e in err.errors(include_url=False)[:limit]:
        loc = list(e.get("loc", ()))
        if len(loc) > 1 and loc[0] in ("asserts", "check", "stdio", "call"):
            loc = loc[1:]  # the union's tag, not a field
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        where = ".".join(str(p) for p in loc)
        parts.append(f"{where}: {msg}" if where else msg)
    more = err.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def parse_tests(raw: Any) -> AssertsTests | CheckTests | StdioTests | CallTests:
    """Validate `Sample.tests` into one of the four spec models.

    >>> parse_tests({"type": "stdio", "cases": [{"input": "1\\n", "output": "1\\n"}]}).type
    'stdio'
    """
    if isinstance(raw, (AssertsTests, CheckTests, StdioTests, CallTests)):
        return raw
    if raw is None:
        raise TestSpecError("sample has no tests")
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as e:
            raise TestSpecError(f"tests is a string but not JSON: {e}") from None
    if not isinstance(raw, dict):
        raise TestSpecError(f"tests must be an object with a 'type', got {type(raw).__name__}")
    if "type" not in raw:
        raise TestSpecError("tests has no 'type' (one of asserts, check, stdio, call)")
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as e:
        raise TestSpecError(f"malformed tests: {_describe(e)}") from None
