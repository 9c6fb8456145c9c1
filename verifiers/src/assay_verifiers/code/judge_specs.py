"""What a ``stdio`` task may add for competitive programming: a special judge and subtasks.

```json
{"type": "stdio", "language": "cpp",
 "cases": [{"input": "4\\n", "output": "2 2\\n"}, {"input": "6\\n", "output": "3 3\\n"}],
 "checker": {"language": "cpp", "source": "int main(int argc, char** argv) {...}"},
 "subtasks": [{"name": "small", "points": 30, "cases": [0]},
              {"name": "full", "points": 70, "cases": [0, 1]}]}
```

- ``checker`` (Codeforces / testlib style): a program the task supplies, compiled and run in the
  sandbox as ``checker input output answer`` (three files: the case's input, the candidate's
  output, the case's expected ``output``). Exit code 0 accepts, 1 (wrong answer) or 2
  (presentation error) rejects, anything else is the checker's failure (the task's fault).
  ``files`` are placed next to its source when compiling (``testlib.h``).
- ``subtasks`` (IOI style): a subtask scores its ``points`` only when every one of its cases
  passes; the sample's points are the sum, its value the points over the total available.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Checker", "Subtask"]


class Checker(BaseModel):
    """A special judge: ``checker input output answer``; the exit code decides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1)
    language: str = Field(default="cpp", description="c, cpp, java, javascript, rust, go, python")
    files: dict[str, str] = Field(
        default_factory=dict, description="extra files next to the source (e.g. testlib.h)"
    )

    @field_validator("files")
    @classmethod
    def _plain_names(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not name or "/" in name or name in (".", ".."):
                raise ValueError(f"checker file name {name!r} must be a plain file name")
        return v


class Subtask(BaseModel):
    """A group of cases worth ``points`` when all of them pass."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    points: float = Field(ge=0)
    cases: list[int] = Field(min_length=1, description="indices into the task's cases")
