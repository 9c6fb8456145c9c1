"""assay-sandbox: run untrusted code fast and safely (warm fork-server workers; Docker).

>>> from assay_sandbox import SandboxPool
>>> with SandboxPool(workers=1) as pool:
...     pool.run_script("print(input()[::-1])", stdin="abc").stdout
'cba\\n'

See ``docs/sandbox.md`` for the contract, the isolation layers and the limits.
"""

from __future__ import annotations

from .errors import SandboxError, SandboxUnavailable, WorkerLost
from .languages import LANGUAGES, ToolchainMissing, find_toolchain
from .limits import Limits
from .pool import SandboxPool, open_sandbox
from .programs import CompileCache, CompiledProgram, CompileLimits, CompileResult, NativeRunner
from .results import (
    CallCase,
    CallRequest,
    CallResult,
    CaseResult,
    CasesRequest,
    ExecResult,
    ScriptRequest,
    ScriptResult,
    StatementOutcome,
    StatementsRequest,
    StatementsResult,
    StdioCase,
    TestsRequest,
    TestsResult,
)

__all__ = [
    "LANGUAGES",
    "CallCase",
    "CallRequest",
    "CallResult",
    "CaseResult",
    "CasesRequest",
    "CompileCache",
    "CompileLimits",
    "CompileResult",
    "CompiledProgram",
    "ExecResult",
    "Limits",
    "NativeRunner",
    "SandboxError",
    "SandboxPool",
    "SandboxUnavailable",
    "ScriptRequest",
    "ScriptResult",
    "StatementOutcome",
    "StatementsRequest",
    "StatementsResult",
    "StdioCase",
    "TestsRequest",
    "TestsResult",
    "ToolchainMissing",
    "WorkerLost",
    "find_toolchain",
    "open_sandbox",
]
