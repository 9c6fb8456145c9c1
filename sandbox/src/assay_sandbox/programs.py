"""Compile once, run many: programs in C, C++, Java, JavaScript, Rust and Go on a `SandboxPool`.

>>> runner = NativeRunner(pool)                                   # doctest: +SKIP
>>> built = runner.compile("cpp", "int main(){return 0;}")
>>> built.status, built.cached                                     # 'ok', False
>>> [r.exit_code for r in runner.run_cases(built.program, ["", ""])]  # [0, 0]

The compiler runs *inside* the sandbox (same namespaces, seccomp, rlimits as any program) with
its own limits (`CompileLimits`); its output (the binary, Java's class files) comes back over
the sandbox's authenticated channel and is kept in a `CompileCache` keyed on the language, the
toolchain (tools, version, flags) and the source. A GRPO group of 8 identical programs compiles
once: concurrent requests for one key wait for the first compile instead of repeating it.
Each run then places the artifact in a fresh work dir and ``exec``s it.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .languages import Toolchain, ToolchainMissing, find_toolchain
from .limits import Limits
from .results import CaseResult

__all__ = [
    "CompileCache",
    "CompileLimits",
    "CompileResult",
    "CompiledProgram",
    "NativeRunner",
    "run_limits",
]

COMPILER_MESSAGE_BYTES = 65_536
_COMPILER_OOM = (
    "out of memory allocating",
    "virtual memory exhausted",
    "std::bad_alloc",
    "memory allocation of",
    "java.lang.OutOfMemoryError",
    "fatal error: runtime: out of memory",
)


class CompileLimits(BaseModel):
    """Limits of one compilation (a compiler is bigger than the programs it builds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_s: float = Field(30.0, gt=0, le=600)
    cpu_s: float = Field(30.0, gt=0, le=600)
    artifact_mb: int = Field(16, ge=1, description="largest compiled output kept")


@dataclass(frozen=True)
class CompiledProgram:
    """A built program: what to place in the work dir and how to start it."""

    language: str
    key: str
    source_name: str
    files: tuple[tuple[str, str, bool], ...]  # (path, base64, executable)
    toolchain: Toolchain

    def size_bytes(self) -> int:
        return sum(len(data) * 3 // 4 for _, data, _ in self.files)


class CompileResult(BaseModel):
    """The outcome of compiling: ``ok``, ``compile_error`` (the candidate's), ``timeout``,
    ``memory``, ``crash``, ``output_limit`` (the compiler's run), ``unavailable`` (no
    toolchain here) or ``error`` (the sandbox failed). ``message`` is the compiler's output."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    status: str
    language: str
    reason: str = ""
    message: str = ""
    duration_s: float = 0.0
    cached: bool = False
    isolation: str = ""
    program: CompiledProgram | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def run_limits(toolchain: Toolchain, base: Limits) -> Limits:
    """The program's limits plus what its runtime needs (JVM, V8, Go reserve address space and
    start threads): ``memory_mb + as_extra_mb`` of address space, at least ``processes``."""
    spec = toolchain.spec
    return base.model_copy(
        update={
            "memory_mb": base.memory_mb + spec.as_extra_mb,
            "processes": max(base.processes, spec.processes),
        }
    )


class CompileCache:
    """Compiled programs (and compile errors) by key, least recently used first out, bounded
    by total artifact bytes. One lock per key in flight: the same program compiles once."""

    def __init__(self, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, CompileResult] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get_or_build(self, key: str, build: Any) -> tuple[CompileResult, bool]:
        """The cached result for ``key`` (True) or ``build()``'s (False), built once."""
        with self._lock:
            got = self._lookup(key)
            if got is not None:
                return got, True
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                got = self._lookup(key)
                if got is not None:
                    return got, True
                self.misses += 1
            result = build()
            with self._lock:
                if result.status in ("ok", "compile_error"):  # deterministic outcomes only
                    self._store(key, result)
                self._inflight.pop(key, None)
            return result, False

    def _lookup(self, key: str) -> CompileResult | None:
        got = self._items.get(key)
        if got is not None:
            self._items.move_to_end(key)
            self.hits += 1
        return got

    def _store(self, key: str, result: CompileResult) -> None:
        size = result.program.size_bytes() if result.program else len(result.message)
        self._items[key] = result
        self._bytes += size
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._bytes -= old.program.size_bytes() if old.program else len(old.message)

    def __len__(self) -> int:
        return len(self._items)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


class NativeRunner:
    """Compile and run programs of other languages on a `SandboxPool` (any backend)."""

    def __init__(
        self,
        pool: Any,
        cache: CompileCache | None = None,
        compile_limits: CompileLimits | None = None,
    ) -> None:
        self.pool = pool
        self.cache = cache if cache is not None else CompileCache()
        self.compile_limits = compile_limits or CompileLimits()

    # -- compiling ------------------------------------------------------------------------------
    def compile(
        self, language: str, source: str, extra_files: dict[str, str] | None = None
    ) -> CompileResult:
        """Build ``source`` once per (toolchain, source, extra files); ``extra_files`` are
        placed next to it (a checker's ``testlib.h``). See the module docstring."""
        extra = sorted((extra_files or {}).items())
        try:
            chain = find_toolchain(language)
        except ToolchainMissing as exc:
            return CompileResult(status="unavailable", language=language, reason=str(exc))
        key = hashlib.sha256(
            "\0".join(
                [chain.identity(), str(self.compile_limits.artifact_mb), source]
                + [f"{n}\0{t}" for n, t in extra]
            ).encode("utf-8", "surrogatepass")
        ).hexdigest()
        result, cached = self.cache.get_or_build(
            key, lambda: self._build(chain, source, key, extra)
        )
        return result.model_copy(update={"cached": True}) if cached else result

    def _build(
        self, chain: Toolchain, source: str, key: str, extra: list[tuple[str, str]]
    ) -> CompileResult:
        spec, cl = chain.spec, self.compile_limits
        name = spec.source_name(source)
        src_file = (name, _b64(source), False)
        argv = chain.compile_argv(name)
        if argv is None:  # nothing to build
            program = CompiledProgram(spec.name, key, name, (src_file,), chain)
            return CompileResult(status="ok", language=spec.name, reason="", program=program)
        limits = Limits(
            wall_s=cl.wall_s,
            cpu_s=cl.cpu_s,
            memory_mb=spec.compile_memory_mb,
            processes=spec.compile_processes,
            file_size_mb=max(cl.artifact_mb, 16),
            open_files=256,
            stdout_bytes=COMPILER_MESSAGE_BYTES,
            stderr_bytes=COMPILER_MESSAGE_BYTES,
        )
        req = {
            "mode": "exec",
            "language": "native",
            "argv": argv,
            "env": dict(spec.env),
            "files": [list(src_file)] + [[n, _b64(t), False] for n, t in extra],
            "collect": list(spec.collect),
            "collect_bytes": cl.artifact_mb * 1024 * 1024,
        }
        resp = self.pool._run(req, limits)
        message = ((resp.get("stderr") or "") + (resp.get("stdout") or "")).strip()
        status = resp.get("status", "error")
        common: dict[str, Any] = {
            "language": spec.name,
            "message": message,
            "duration_s": float(resp.get("duration_s") or 0.0),
            "isolation": resp.get("isolation") or "",
        }
        if status == "ok" and resp.get("exit_code") == 0:
            files = [tuple(f) for f in resp.get("files") or ()]
            if spec.keeps_source:
                files = [src_file, *files]
            elif not files:
                return CompileResult(
                    status="error",
                    reason="the compiler reported success but wrote nothing",
                    **common,
                )
            program = CompiledProgram(spec.name, key, name, tuple(files), chain)  # type: ignore[arg-type]
            return CompileResult(status="ok", reason="compiled", program=program, **common)
        if status == "ok" and any(m in message for m in _COMPILER_OOM):
            return CompileResult(status="memory", reason="the compiler ran out of memory", **common)
        if status == "ok":
            return CompileResult(
                status="compile_error",
                reason=f"compilation failed (exit code {resp.get('exit_code')})",
                **common,
            )
        if status == "timeout":
            return CompileResult(
                status="timeout", reason=f"compiler: {resp.get('reason')}", **common
            )
        if status in ("crash", "output_limit", "memory"):
            if any(m in message for m in _COMPILER_OOM):
                status = "memory"
            return CompileResult(status=status, reason=f"compiler: {resp.get('reason')}", **common)
        return CompileResult(status="error", reason=f"sandbox: {resp.get('reason')}", **common)

    # -- running --------------------------------------------------------------------------------
    def run_cases(
        self,
        program: CompiledProgram,
        stdins: list[str],
        limits: Limits | None = None,
        case_wall_s: float | None = None,
        case_files: list[list[tuple[str, str]]] | None = None,
        argv_extra: list[str] | None = None,
    ) -> list[CaseResult]:
        """Run the program once per stdin (a fresh execution each); ``case_files`` adds text
        files per case (a checker's input/output/answer); ``argv_extra`` arguments."""
        base = limits or self.pool.limits
        chain = program.toolchain
        lim = run_limits(chain, base)
        argv = chain.run_argv(program.source_name, base.memory_mb) + list(argv_extra or ())
        env = dict(chain.spec.env) | chain.spec.run_env(base.memory_mb)
        cases = []
        for i, stdin in enumerate(stdins):
            extra = case_files[i] if case_files else []
            cases.append({"stdin": stdin, "files": [[n, _b64(t), False] for n, t in extra]})
        req = {
            "mode": "exec_cases",
            "language": "native",
            "argv": argv,
            "env": env,
            "files": [list(f) for f in program.files],
            "cases": cases,
            "case_wall_s": float(case_wall_s or base.wall_s),
        }
        resp = self.pool._run(req, lim)
        raw = resp.get("cases")
        if not isinstance(raw, list) or len(raw) != len(stdins):
            fail = {k: resp.get(k) for k in ("status", "reason")}
            fail["status"] = fail.get("status") or "error"
            raw = [fail for _ in stdins]
        out = []
        for c in raw:
            r = CaseResult.model_validate(
                {k: v for k, v in c.items() if k in CaseResult.model_fields}
                | {"isolation": resp.get("isolation") or ""}
            )
            oom = any(m in r.stderr for m in chain.spec.memory_markers)
            if oom and (r.status == "crash" or (r.status == "ok" and r.exit_code)):
                r = r.model_copy(update={"status": "memory", "reason": "out of memory"})
            out.append(r)
        return out

    def run(
        self, program: CompiledProgram, stdin: str = "", limits: Limits | None = None
    ) -> CaseResult:
        """One execution of ``program`` fed ``stdin``."""
        return self.run_cases(program, [stdin], limits)[0]
