"""What the sandbox answers: one pydantic model per kind of execution, and the request models.

Status values (every result): ``ok`` (the program ran and exited, whatever its exit code),
``exception`` (a Python exception escaped; ``error`` holds ``"Type: message"``), ``timeout``
(wall clock or CPU), ``memory`` (``MemoryError``), ``crash`` (killed by a signal), ``output_limit``,
``error`` (the sandbox itself failed, or the value could not be carried back).
`StatementsResult` adds ``failed`` (a statement raised) and ``exit`` (the process ended early
without an exception: ``sys.exit``, ``os._exit``...).

Every result also says whose failure it is (``fault``), decided where it happened: ``None`` when
the status is ``ok``; ``candidate`` (the program did it: raised, timed out, crashed, returned
something that cannot come back, exited early); ``sandbox`` (a worker was lost, the server
failed, an answer was malformed); ``task`` (the task's own code or arguments: trusted setup that
raises, a test that imports a module the sandbox lacks, arguments that cannot be encoded).
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from .limits import Limits

Status = Literal["ok", "exception", "timeout", "memory", "crash", "output_limit", "error"]
Fault = Literal["candidate", "sandbox", "task"]
StatementsStatus = Literal[
    "ok", "failed", "exit", "exception", "timeout", "memory", "crash", "output_limit", "error"
]


class ExecResult(BaseModel):
    """Fields every result carries."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    status: str = "error"
    reason: str | None = None
    duration_s: float = 0.0
    isolation: str = ""
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    signal: int | None = None
    error: str | None = None
    fault: Fault | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class ScriptResult(ExecResult):
    """`SandboxPool.run_script`: stdout, stderr and exit status of a program fed ``stdin``."""

    status: Status = "error"


class CallResult(ExecResult):
    """`SandboxPool.call`: ``value`` is the return value with its exact Python type."""

    status: Status = "error"
    value: Any = None


class CaseResult(ExecResult):
    """One case of `SandboxPool.run_cases`: ``stdout`` for a stdio case, ``value`` for a call."""

    status: Status = "error"
    value: Any = None


class StatementOutcome(BaseModel):
    """One statement that was reached: did it complete, and if not the ``"Type: message"``."""

    ok: bool
    error: str | None = None
    fault: Fault | None = None


class StatementsResult(ExecResult):
    """`SandboxPool.run_statements`: how many statements completed, as the harness reported."""

    status: StatementsStatus = "error"
    completed: int = 0
    results: list[StatementOutcome] = Field(default_factory=list)
    load_error: str | None = None


class TestsResult(StatementsResult):
    """`SandboxPool.run_tests`: outcomes reported by the trusted test runner, never the candidate.

    ``results[i].fault`` says whose failure statement ``i`` is (``candidate`` or ``task``).
    """

    __test__ = False  # not a pytest class


class StdioCase(BaseModel):
    """A test case fed on stdin; the program's stdout comes back."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["stdio"] = "stdio"
    stdin: str = ""


class CallCase(BaseModel):
    """A function call; ``fn_name`` may be ``"f"`` or ``"Solution.method"``."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["call"] = "call"
    fn_name: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)


Case = Union[StdioCase, CallCase]


class ScriptRequest(BaseModel):
    kind: Literal["script"] = "script"
    source: str
    stdin: str = ""
    limits: Limits | None = None


class CallRequest(BaseModel):
    kind: Literal["call"] = "call"
    source: str
    fn_name: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    limits: Limits | None = None


class CasesRequest(BaseModel):
    kind: Literal["cases"] = "cases"
    source: str
    cases: list[Case]
    limits: Limits | None = None
    case_wall_s: float | None = None


class StatementsRequest(BaseModel):
    kind: Literal["statements"] = "statements"
    source: str
    statements: list[str]
    setup: str = ""
    limits: Limits | None = None


class TestsRequest(BaseModel):
    kind: Literal["tests"] = "tests"
    source: str
    statements: list[str]
    setup: str = ""
    shared: str = ""
    exports: list[str] = Field(default_factory=list)
    keep: list[str] = Field(default_factory=list)
    limits: Limits | None = None
    case_wall_s: float | None = None


Request = Union[ScriptRequest, CallRequest, CasesRequest, StatementsRequest, TestsRequest]
