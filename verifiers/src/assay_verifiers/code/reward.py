"""The ``code`` reward: run a completion's program against `Sample.tests` in the sandbox.

Per sample: validate the tests (`specs`), find the program (`extract`), run it in an
``assay_sandbox`` pool, and decide *outside* the sandbox:

- ``stdio``: each case's whole stdout is compared in this process (`compare.outputs_match`); a
  case passes only when the program exited with status 0 and its output matches;
- ``call``: return values come back decoded with exact types and are compared here
  (`compare.values_equal`); expected values never enter the sandbox;
- ``asserts`` / ``check``: the trusted test code runs in the sandbox in a test-runner process
  the candidate's code never runs in (`plan`, ``SandboxPool.run_tests``); it calls the
  candidate's functions through proxies that carry plain values only. A case passes only when
  the runner reports its statement completed; nothing the candidate prints, exits with or
  returns can reach that report.

The value is the fraction of cases passed with ``partial_credit``, else 1.0 only when every case
passed. A program that does not parse, raises on load, times out or crashes scores 0.0 with
status ``ok`` (it is the candidate's failure); malformed tests, or tests that cannot run here
(the sandbox says ``fault="task"``), give ``unverifiable``; a failure of the sandbox itself
(``fault="sandbox"``) gives ``error``. Every sandbox result says whose failure it is; the
reward reads that field, never the wording of an error message. ``details`` holds ``passed``, ``failed``, ``total``, the
first failure (truncated), ``duration_s``, ``isolation`` and how the program was found.

The reward enforces its own hard deadlines (the sandbox kills the program), so it is not
``expensive`` in the pipeline's sense: batches go to the sandbox pool whole, in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from assay import Reward, Sample, Score

from .compare import OutputMode, outputs_match, short, values_equal
from .digest import job_digest
from .extract import defined_names, extract_program, fenced_blocks, parses
from .native_judge import score_stdio_job
from .plan import TestPlan, plan_tests
from .polyglot import UnknownLanguage, choose_language, extract_native, language_named
from .prelude import PRELUDE
from .pyparse import parse
from .scoretext import serialisable
from .specs import AssertsTests, CallTests, CheckTests, StdioTests, TestSpecError, parse_tests

__all__ = ["CodeOptions", "CodeReward"]

_BUILTIN_NAMES = frozenset(dir(__import__("builtins")))
_PLAN_CACHE = 1024


class CodeOptions(BaseModel):
    """Options of the ``code`` reward (``with:`` in a pipeline spec)."""

    model_config = ConfigDict(extra="forbid")

    partial_credit: bool = Field(
        default=False, description="Fraction of cases passed instead of all-or-nothing."
    )
    case_timeout: float = Field(default=5.0, gt=0, description="Wall seconds per case.")
    total_timeout: float = Field(default=30.0, gt=0, description="Wall seconds per sample.")
    memory_mb: int = Field(default=1024, ge=64, description="Address-space cap of the program.")
    workers: int = Field(default=2, ge=1, description="Sandbox workers (parallel programs).")
    backend: str = Field(
        default="process", description="Sandbox backend (registry kind 'sandbox')."
    )
    backend_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Options of the backend, e.g. docker's {'languages': ['cpp']} (toolchains "
        "in its image).",
    )
    output_mode: OutputMode = Field(
        default="lines", description="stdio comparison: exact, lines, tokens."
    )
    float_tol: float | None = Field(
        default=None,
        ge=0,
        description="Relative/absolute float tolerance (stdio tokens, call values).",
    )
    int_float: bool = Field(
        default=False, description="call: let 3 equal 3.0 (never True equal 1)."
    )
    tuples_as_lists: bool = Field(default=True, description="call: tuples compare as lists (JSON).")
    harden: bool = Field(
        default=True,
        description="Kept for old specs; no effect: asserts/check verdicts are decided in a "
        "process the candidate never runs in, so there is no test code left to harden.",
    )
    prelude: bool = Field(
        default=False,
        description="Run the LeetCode/LiveCodeBench import prelude (List, Optional, "
        "defaultdict, heapq, ListNode, TreeNode, ...) before the program.",
    )
    failure_chars: int = Field(default=300, ge=40, description="Truncation of the first failure.")
    max_chars: int = Field(
        default=200_000, ge=1, description="Longer completions score 0 without being parsed or run."
    )
    language: str = Field(
        default="auto",
        description="Force a language (python, c, cpp, java, javascript, rust, go); auto: the "
        "task's, else the completion's fence, else python.",
    )
    compile_timeout: float = Field(
        default=30.0, gt=0, description="Wall and CPU seconds per compile."
    )
    checker_timeout: float = Field(default=10.0, gt=0, description="Wall seconds per checker run.")


@dataclass
class _Job:
    """One distinct program-and-tests to run."""

    form: str
    spec: Any
    program: str
    how: str
    key: str
    prefix: str | None = None
    language: str = "python"
    chosen: bool = False  # the completion's fences chose the language (not the task or option)


class CodeReward(Reward):
    """Unit-test reward for code completions (docs/code.md; the rules in the module docstring).

    >>> reward = CodeReward(partial_credit=True)                    # doctest: +SKIP
    >>> reward.score([{"completion": "def add(a, b): return a + b",
    ...                "tests": {"type": "asserts", "asserts": ["assert add(1, 2) == 3"]}}])
    """

    name: ClassVar[str] = "code"
    Options: ClassVar[type[BaseModel]] = CodeOptions
    expensive: ClassVar[bool] = False  # hard deadlines are the sandbox's, per program

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.opts: CodeOptions = self.options  # type: ignore[assignment]
        self._pool: Any = None
        self._lock = threading.Lock()
        self._threads: ThreadPoolExecutor | None = None
        self._owner = os.getpid()  # the process whose sandbox pool this is
        self._plans: OrderedDict[str, TestPlan] = OrderedDict()
        self._native: Any = None  # NativeRunner (compile-once cache) over the pool

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_pool=None, _threads=None, _plans=OrderedDict(), _native=None)
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- sandbox ------------------------------------------------------------------------------

    def _sandbox(self) -> Any:
        with self._lock:
            if self._owner != os.getpid():  # a forked copy: the inherited pool is the parent's
                self._pool, self._threads, self._owner = None, None, os.getpid()
                self._native = None
            if self._pool is None:
                from assay_sandbox import Limits, open_sandbox

                limits = Limits(
                    wall_s=self.opts.total_timeout,
                    cpu_s=self.opts.total_timeout,
                    memory_mb=self.opts.memory_mb,
                )
                self._pool = open_sandbox(
                    self.opts.backend,
                    workers=self.opts.workers,
                    limits=limits,
                    **self.opts.backend_options,
                )
                self._threads = ThreadPoolExecutor(
                    max_workers=max(2, self.opts.workers * 2), thread_name_prefix="assay-code"
                )
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            threads, self._threads = self._threads, None
            self._native = None
            if self._owner != os.getpid():  # never stop the parent's workers from a fork
                pool, threads, self._owner = None, None, os.getpid()
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)
        if pool is not None:
            pool.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- preparing ----------------------------------------------------------------------------

    def _prepare(self, sample: Sample | dict) -> _Job | Score:
        s = sample if isinstance(sample, Sample) else Sample.model_validate(sample)
        try:
            spec = parse_tests(s.tests)
        except TestSpecError as e:
            return Score.unverifiable(str(e))
        entry = _entry_point(spec)
        prefix = spec.prefix
        prompt = s.prompt_text
        if prefix is None and entry and prompt:
            prefix = _prompt_prefix(prompt, entry)  # HumanEval: the prompt starts the program
        completion = s.completion_text
        if len(completion) > self.opts.max_chars:
            n = _n_cases(spec)
            return Score.ok(0.0, f"completion longer than {self.opts.max_chars} characters",
                            form=spec.type, passed=0, failed=n, total=n)  # fmt: skip
        task_lang = (getattr(spec, "language", None), (s.metadata or {}).get("language"))
        try:
            named = language_named(*task_lang, self.opts.language)
            language = choose_language(completion, *task_lang, self.opts.language)
        except UnknownLanguage as e:
            return Score.unverifiable(str(e))
        if language != "python" and (named or isinstance(spec, StdioTests)):
            return self._prepare_native(spec, completion, language, chosen=not named)
        # Another language's fence on a Python-only form: judged as Python (and fails), never
        # unverifiable, or answering in C++ would dodge every 0.
        found = extract_program(completion, prefix=prefix, entry_point=entry)
        program = found.program
        if not program.strip():
            return Score.ok(0.0, "no code in the completion", form=spec.type, passed=0,
                            failed=_n_cases(spec), total=_n_cases(spec))  # fmt: skip
        if not parses(program):
            return Score.ok(0.0, "the program is not valid Python", form=spec.type, passed=0,
                            failed=_n_cases(spec), total=_n_cases(spec), extraction=found.how)  # fmt: skip
        digest = job_digest(program, spec, prefix)
        return _Job(spec.type, spec, program, found.how, digest, prefix)

    def _prepare_native(
        self, spec: Any, completion: str, language: str, chosen: bool = False
    ) -> _Job | Score:
        """A job for a program in another language (``stdio`` tasks only)."""
        if not isinstance(spec, StdioTests):
            return Score.unverifiable(
                f"{language}: only stdio tests run in languages other than Python, not {spec.type}"
            )
        program, how = extract_native(completion, language)
        if not program.strip():
            n = _n_cases(spec)
            return Score.ok(0.0, f"no {language} code in the completion", form=spec.type,
                            passed=0, failed=n, total=n, language=language)  # fmt: skip
        digest = job_digest(language, program, spec, chosen)
        return _Job(spec.type, spec, program, how, digest, None, language, chosen)

    def _native_runner(self, pool: Any) -> Any:
        """The reward's `NativeRunner` (its compile cache lives as long as the pool)."""
        with self._lock:
            if self._native is None or self._native.pool is not pool:
                from assay_sandbox import CompileLimits, NativeRunner

                limits = CompileLimits(wall_s=self.opts.compile_timeout,
                                       cpu_s=self.opts.compile_timeout)  # fmt: skip
                self._native = NativeRunner(pool, compile_limits=limits)
            return self._native

    # -- running ------------------------------------------------------------------------------

    def _run(self, job: _Job) -> Score:
        start = time.perf_counter()
        try:
            score = self._dispatch(job)
        except _BadArguments as e:
            return Score.unverifiable(f"call arguments the sandbox cannot carry: {e}")
        except Exception as e:  # noqa: BLE001 (the sandbox itself failed: not the candidate's fault)
            return Score.error(f"sandbox failed: {type(e).__name__}: {short(str(e), 200)}")
        score.details.setdefault("duration_s", round(time.perf_counter() - start, 4))
        score.details["extraction"] = job.how
        score.details["form"] = job.form
        return serialisable(score)

    def _dispatch(self, job: _Job) -> Score:
        pool = self._sandbox()
        spec = job.spec
        program = job.program
        if self.opts.prelude:
            # the prelude's imports (``gcd``, ``comb``, ``bisect_left``) never stand in for the
            # function a ``call`` task names: the program must bind it itself
            entry = spec.fn_name.split(".")[0] if isinstance(spec, CallTests) else ""
            forget = f"globals().pop({entry!r}, None)\n" if entry else ""
            program = f"{PRELUDE}\n{forget}{job.program}"
        if job.language != "python" or (
            isinstance(spec, StdioTests) and (spec.checker is not None or spec.subtasks)
        ):  # compiled languages, special judges, IOI subtasks
            runner = self._native_runner(pool)
            source = program if job.language == "python" else job.program
            return score_stdio_job(
                runner, pool, spec, source, job.language, self.opts, chosen=job.chosen
            )
        if isinstance(spec, StdioTests):
            from assay_sandbox import StdioCase

            cases = [StdioCase(stdin=c.input) for c in spec.cases]
            results = pool.run_cases(program, cases, case_wall_s=self.opts.case_timeout)
            return self._judge_stdio(spec, results, pool)
        if isinstance(spec, CallTests):
            from assay_sandbox import CallCase

            # ``Class.method`` is the sandbox's too: the class is instantiated without arguments.
            cases = [
                CallCase(fn_name=spec.fn_name, args=c.args, kwargs=c.kwargs) for c in spec.cases
            ]
            results = pool.run_cases(program, cases, case_wall_s=self.opts.case_timeout)
            return self._judge_call(spec, results, pool)
        plan = self._plan(spec, job.prefix)
        result = pool.run_tests(
            job.program,
            plan.statements,
            setup=plan.setup,
            shared=plan.shared,
            exports=plan.exports,
            keep=plan.keep,
            case_wall_s=self.opts.case_timeout,
        )
        return self._judge_tests(plan, result, pool)

    def _plan(self, spec: AssertsTests | CheckTests, prefix: str | None) -> TestPlan:
        """Plans cached by test spec (a GRPO group shares one)."""
        key = spec.model_dump_json() + "\0" + (prefix or "")
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
                return plan
        plan = plan_tests(
            spec,
            prefix=prefix if isinstance(spec, CheckTests) else None,
            prelude=self.opts.prelude,
        )
        with self._lock:
            self._plans[key] = plan
            while len(self._plans) > _PLAN_CACHE:
                self._plans.popitem(last=False)
        return plan

    async def _arun(self, job: _Job) -> Score:
        # The sandbox call blocks a worker thread, never the event loop.
        return await asyncio.to_thread(self._run, job)

    # -- judging ------------------------------------------------------------------------------

    def _finish(
        self, passed: int, total: int, first: str | None, pool: Any, **details: Any
    ) -> Score:
        value = passed / total if self.opts.partial_credit else float(passed == total)
        reason = "all tests passed" if passed == total else f"{passed}/{total} passed; {first}"
        details.update(passed=passed, failed=total - passed, total=total,
                       isolation=getattr(pool, "isolation", None))  # fmt: skip
        if first:
            details["first_failure"] = short(first, self.opts.failure_chars)
        return Score.ok(value, short(reason, self.opts.failure_chars), **details)

    def _judge_stdio(self, spec: StdioTests, results: Sequence[Any], pool: Any) -> Score:
        passed, first, statuses = 0, None, []
        for i, (case, r) in enumerate(zip(spec.cases, results, strict=True)):
            statuses.append(r.status)
            _raise_on_sandbox_failure(r)
            if r.status != "ok" or (getattr(r, "exit_code", 0) or 0) != 0:
                why = _describe_failure(r)
                first = first or f"case {i}: {why}"
                continue
            ok, diff = outputs_match(r.stdout or "", case.output, self.opts.output_mode,
                                     self.opts.float_tol)  # fmt: skip
            if ok:
                passed += 1
            else:
                first = first or f"case {i}: wrong output: {diff}"
        return self._finish(passed, len(spec.cases), first, pool, case_status=_tally(statuses))

    def _judge_call(self, spec: CallTests, results: Sequence[Any], pool: Any) -> Score:
        passed, first, statuses = 0, None, []
        for i, (case, r) in enumerate(zip(spec.cases, results, strict=True)):
            statuses.append(r.status)
            _raise_on_sandbox_failure(r)
            if r.status != "ok":
                first = first or f"case {i}: {_describe_failure(r)}"
                continue
            got = r.value
            if values_equal(got, case.expected, float_tol=self.opts.float_tol,
                            tuples_as_lists=self.opts.tuples_as_lists,
                            int_float=self.opts.int_float):  # fmt: skip
                passed += 1
            else:
                first = first or (
                    f"case {i}: returned {short(got, 80)} ({type(got).__name__}), "
                    f"expected {short(case.expected, 80)} ({type(case.expected).__name__})"
                )
        return self._finish(passed, len(spec.cases), first, pool, case_status=_tally(statuses))

    def _judge_tests(self, plan: TestPlan, result: Any, pool: Any) -> Score:
        total = len(plan.statements)
        status = getattr(result, "status", "error")
        fault = getattr(result, "fault", None)
        if fault == "sandbox" or status == "error":
            raise RuntimeError(getattr(result, "reason", "") or "sandbox error")
        load_error = getattr(result, "load_error", None)
        outcomes = list(getattr(result, "results", []) or [])
        task_failure = next((o for o in outcomes if not o.ok and o.fault == "task"), None)
        if load_error and fault == "task":
            return Score.unverifiable(short(f"the task's test code cannot run: {load_error}",
                                            self.opts.failure_chars))  # fmt: skip
        if task_failure is not None:
            return Score.unverifiable(short(f"the task's test code cannot run: {task_failure.error}",
                                            self.opts.failure_chars))  # fmt: skip
        if load_error:
            return self._finish(0, total, f"the program raised on load: {load_error}", pool,
                                status=status)  # fmt: skip
        completed = int(getattr(result, "completed", 0) or 0)
        passed, first = 0, None
        for j in range(total):
            o = outcomes[j] if j < len(outcomes) else None
            if o is not None and o.ok:
                passed += 1
            elif first is None:
                if o is not None:
                    first = f"{plan.labels[j]}: {o.error or 'failed'}"
                else:
                    first = f"{plan.labels[j]}: not reached ({_describe_stop(result)})"
        # Outcomes and count both come from the trusted runner; never count more passes than
        # completions, and a run that ended badly after every case passed still fails one.
        passed = min(passed, completed)
        if passed == total and status != "ok":
            passed, first = max(total - 1, 0), f"the run ended with {_describe_stop(result)}"
        return self._finish(passed, total, first, pool, status=status)

    # -- the Reward API -----------------------------------------------------------------------

    def _prepare_all(self, samples: Sequence[Sample]) -> list[_Job | Score]:
        out: list[_Job | Score] = []
        for s in samples:
            try:
                out.append(self._prepare(s))
            except Exception as e:  # noqa: BLE001 (a malformed sample: its own error, the batch goes on)
                out.append(Score.error(f"cannot prepare the sample: {type(e).__name__}: {e}"))
        return out

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        prepared = self._prepare_all(samples)
        jobs = {p.key: p for p in prepared if isinstance(p, _Job)}
        done: dict[str, Score] = {}
        if jobs:
            self._sandbox()
            assert self._threads is not None
            futures = {k: self._threads.submit(self._run, j) for k, j in jobs.items()}
            done = {k: f.result() for k, f in futures.items()}
        return [_copy(done[p.key]) if isinstance(p, _Job) else p for p in prepared]

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        prepared = self._prepare_all(samples)
        jobs = {p.key: p for p in prepared if isinstance(p, _Job)}
        if jobs:
            await asyncio.to_thread(self._sandbox)
        keys = list(jobs)
        scores = await asyncio.gather(*(self._arun(jobs[k]) for k in keys))
        done = dict(zip(keys, scores, strict=True))
        return [_copy(done[p.key]) if isinstance(p, _Job) else p for p in prepared]


# -- helpers ----------------------------------------------------------------------------------


def _copy(score: Score) -> Score:
    return score.model_copy(deep=True)


def _n_cases(spec: Any) -> int:
    if isinstance(spec, AssertsTests):
        return len(spec.asserts)
    if isinstance(spec, CheckTests):
        return 1
    return len(spec.cases)


def _entry_point(spec: Any) -> str | None:
    """The name the completion must define, used to pick the right code block."""
    if isinstance(spec, CheckTests):
        return spec.entry_point
    if isinstance(spec, CallTests):
        return spec.fn_name.split(".")[0]
    if isinstance(spec, AssertsTests):
        import ast

        for src in spec.asserts:
            for node in ast.walk(parse(src)):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id not in _BUILTIN_NAMES
                ):
                    return node.func.id
    return None


class _BadArguments(ValueError):
    """A ``call`` case whose arguments the sandbox cannot carry (the test's fault)."""


def _raise_on_sandbox_failure(r: Any) -> None:
    """Raise when a case failed because of the sandbox or the test, not the candidate.

    Decided by the result's structured ``fault`` (set where the failure happened), never by
    the wording of its reason: a program cannot talk its failure into someone else's.
    """
    fault = getattr(r, "fault", None)
    if fault == "task":
        raise _BadArguments(str(getattr(r, "reason", "") or "the task's arguments"))
    if fault == "sandbox" or (getattr(r, "status", None) == "error" and fault is None):
        raise RuntimeError(str(getattr(r, "reason", "") or "sandbox error"))


def _prompt_prefix(prompt: str, entry: str) -> str | None:
    """The prompt (or its fenced block) when it defines ``entry``: the start of the program."""
    if entry in defined_names(prompt):
        return prompt
    for _, body in reversed(fenced_blocks(prompt)):
        if entry in defined_names(body):
            return body
    return None


def _describe_failure(r: Any) -> str:
    status = getattr(r, "status", "?")
    if status == "ok":
        code = getattr(r, "exit_code", None)
        err = (getattr(r, "stderr", "") or "").strip().splitlines()
        tail = f": {err[-1]}" if err else ""
        return f"exit code {code}{tail}"
    detail = getattr(r, "error", None) or getattr(r, "reason", None) or ""
    return f"{status}: {detail}" if detail else str(status)


def _describe_stop(result: Any) -> str:
    status = getattr(result, "status", "?")
    reason = getattr(result, "reason", "") or ""
    sig = getattr(result, "signal", None)
    text = status + (f" (signal {sig})" if sig else "")
    return f"{text}: {reason}" if reason else text


def _tally(statuses: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in statuses:
        out[s] = out.get(s, 0) + 1
    return out
