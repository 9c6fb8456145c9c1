"""`SandboxPool`: warm sandbox workers behind a thread-safe, sync + async + batch API.

>>> with SandboxPool(workers=2) as pool:
...     pool.call("def add(a, b): return a + b", "add", [1, 2]).value
3
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, TypeAdapter

from . import codec
from .answers import build as _build
from .answers import case as _case
from .answers import with_value as _with_value
from .backend import SandboxBackend, resolve_backend
from .errors import SandboxError, WorkerLost
from .limits import Limits
from .protocol import Transport
from .results import (
    CallCase,
    CallRequest,
    CallResult,
    CaseResult,
    CasesRequest,
    Request,
    ScriptRequest,
    ScriptResult,
    StatementsRequest,
    StatementsResult,
    StdioCase,
    TestsRequest,
    TestsResult,
)

GRACE_S = 3.0  # on top of the run's own deadline, before the parent gives up on a worker
_REQUEST = TypeAdapter(Request)


class _Worker:
    def __init__(self, transport: Transport) -> None:
        self.t = transport
        self.next_id = 0

    def request(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.next_id += 1
        follow = req.get("_follow")
        self.t.send({**req, "id": self.next_id, "_follow": follow is not None})
        if follow is not None:  # read by the test runner alone (see `assay_sandbox.zygote`)
            self.t.send(follow)
        deadline = time.monotonic() + timeout
        while True:
            resp = self.t.recv(deadline)
            if resp.get("id") == self.next_id:
                return resp


class SandboxPool:
    """A pool of ``workers`` warm sandbox workers of one backend. Thread-safe; a context manager.

    ``isolation`` names the isolation level actually in force (e.g. ``"namespaces+seccomp"``);
    every result repeats it. Hostile programs never raise here: they get a result whose
    ``status`` says what happened.
    """

    def __init__(
        self,
        backend: str | type | SandboxBackend = "process",
        workers: int = 2,
        limits: Limits | dict[str, Any] | None = None,
        **backend_options: Any,
    ) -> None:
        if workers < 1:
            raise ValueError("SandboxPool needs at least one worker")
        self.size = workers
        self.limits = Limits.model_validate(limits or {})
        self.backend: SandboxBackend = resolve_backend(backend, backend_options)
        # First in, first out: a worker tidies up after it answers (see `assay_sandbox.zygote`),
        # so the one idle longest is the one most surely ready.
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._closed = False
        self.restarts = 0
        self.isolation = ""
        # Start every worker now, in parallel (each start is a python start-up).
        with ThreadPoolExecutor(workers) as ex:
            futures = [ex.submit(self.backend.start_worker, i) for i in range(workers)]
        failed = [f.exception() for f in futures if f.exception() is not None]
        started = [f.result() for f in futures if f.exception() is None]
        if failed:  # do not leak the workers that did start
            for t in started:
                t.kill()
            self.backend.close()
            raise failed[0]
        for t in started:
            w = _Worker(t)
            self._all.add(w)
            self._idle.put(w)
        self.isolation = started[0].isolation

    # -- workers -------------------------------------------------------------------------------
    def _acquire(self) -> _Worker:
        if self._closed:
            raise SandboxError("SandboxPool is closed")
        w = self._idle.get()
        if w is None:  # a slot whose worker died: start a fresh one
            try:
                w = _Worker(self.backend.start_worker(0))
            except BaseException:
                self._idle.put(None)
                raise
            with self._lock:
                self._all.add(w)
        return w

    def _release(self, w: _Worker) -> None:
        if self._closed:
            w.t.kill()
        else:
            self._idle.put(w)

    def _discard(self, w: _Worker) -> None:
        w.t.kill()
        self.restarts += 1
        with self._lock:
            self._all.discard(w)
        self._idle.put(None)

    def _run(self, req: dict[str, Any], limits: Limits, extra_s: float = 0.0) -> dict[str, Any]:
        req["limits"] = limits.model_dump()
        for _ in range(self.size + 1):  # a replaced worker's successor counts as another
            resp = self._run_once(req, limits.wall_s + GRACE_S + extra_s)
            if not resp.get("retry"):
                break
        # A worker that answered ``retry`` ran nothing of the request: it found itself unclean
        # (the execution before failed its cleanup after answering) and was replaced.
        resp.pop("retry", None)
        return resp

    def _run_once(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        w = self._acquire()
        try:
            resp = w.request(req, timeout)
        except (TimeoutError, WorkerLost, OSError, ValueError) as exc:
            self._discard(w)
            return {
                "status": "error",
                "fault": "sandbox",
                "reason": f"sandbox worker lost ({exc}); replaced",
                "isolation": w.t.isolation,
            }
        except BaseException:
            self._discard(w)
            raise
        if not isinstance(resp, dict):
            self._discard(w)
            return {"status": "error", "fault": "sandbox", "reason": "malformed worker answer"}
        if resp.get("health"):  # the worker failed its own health check: replace it
            self._discard(w)
            if resp.get("fault") == "sandbox":
                resp["reason"] = f"{resp.get('reason')}; worker replaced"
        else:
            self._release(w)
        return resp

    # -- the API -------------------------------------------------------------------------------
    def run_script(
        self, source: str, stdin: str = "", limits: Limits | None = None
    ) -> ScriptResult:
        """Run ``source`` as ``__main__`` with ``stdin``; stdout, stderr and exit status come back."""
        resp = self._run(
            {"mode": "script", "source": source, "stdin": stdin}, limits or self.limits
        )
        return _build(ScriptResult, resp)

    def call(
        self,
        source: str,
        fn_name: str,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        limits: Limits | None = None,
    ) -> CallResult:
        """Load ``source``, call ``fn_name(*args, **kwargs)``; ``.value`` has exact types.

        ``fn_name`` may be ``"Solution.method"`` (the class is instantiated without arguments).
        """
        try:
            enc_args, enc_kwargs = codec.encode(list(args)), codec.encode(dict(kwargs or {}))
        except codec.Unencodable as exc:
            return CallResult(
                status="error", fault="task", reason=f"arguments: {exc}", isolation=self.isolation
            )
        req = {
            "mode": "call",
            "source": source,
            "fn_name": fn_name,
            "args": enc_args,
            "kwargs": enc_kwargs,
        }
        resp = self._run(req, limits or self.limits)
        return _with_value(CallResult, resp)

    def run_cases(
        self,
        source: str,
        cases: Sequence[StdioCase | CallCase | dict[str, Any]],
        limits: Limits | None = None,
        case_wall_s: float | None = None,
    ) -> list[CaseResult]:
        """Run one program on many cases, each in its own fork; one `CaseResult` per case.

        All cases are stdio cases or all are call cases. ``limits.wall_s`` bounds the whole run,
        ``case_wall_s`` (default ``limits.wall_s``) each case.
        """
        lim = limits or self.limits
        parsed = [_case(c) for c in cases]
        if not parsed:
            return []
        kinds = {c.kind for c in parsed}
        if len(kinds) > 1:
            raise ValueError("run_cases: mix of stdio and call cases; run them separately")
        case_wall = float(case_wall_s or lim.wall_s)
        req: dict[str, Any] = {"mode": "cases", "source": source, "case_wall_s": case_wall}
        if kinds == {"stdio"}:
            req["case_kind"] = "stdio"
            req["cases"] = [{"stdin": c.stdin} for c in parsed]  # type: ignore[union-attr]
        else:
            req["case_kind"] = "call"
            req["value_bytes"] = max(lim.stdout_bytes * 4, 8 << 20)
            try:
                req["cases"] = [
                    {
                        "fn_name": c.fn_name,
                        "args": codec.encode(list(c.args)),
                        "kwargs": codec.encode(dict(c.kwargs)),
                    }  # type: ignore[union-attr]
                    for c in parsed
                ]
            except codec.Unencodable as exc:
                return [
                    CaseResult(
                        status="error",
                        fault="task",
                        reason=f"arguments: {exc}",
                        isolation=self.isolation,
                    )
                    for _ in parsed
                ]
        resp = self._run(req, lim, extra_s=0.05 * len(parsed))
        cases_out = resp.get("cases") or []
        if len(cases_out) != len(parsed):
            base = {k: resp.get(k) for k in ("status", "reason", "fault")}
            cases_out = [dict(base)] * len(parsed)
        out = []
        for c in cases_out:
            c = dict(c)
            c.setdefault("isolation", resp.get("isolation", self.isolation))
            out.append(_with_value(CaseResult, c))
        return out

    def run_statements(
        self, source: str, statements: Sequence[str], setup: str = "", limits: Limits | None = None
    ) -> StatementsResult:
        """Run ``setup``, then ``source``, then each statement, in one namespace.

        ``completed`` counts statements that ran to completion as reported on the nonce-tagged
        channel; printing, exiting early or crashing can never raise it.
        """
        req = {
            "mode": "statements",
            "source": source,
            "statements": list(statements),
            "setup": setup,
        }
        resp = self._run(req, limits or self.limits)
        if resp.get("status") in ("timeout", "error") and "completed" not in resp:
            resp.setdefault("completed", 0)
        return _build(StatementsResult, resp)

    def run_tests(
        self,
        source: str,
        statements: Sequence[str],
        *,
        setup: str = "",
        shared: str = "",
        exports: Sequence[str] = (),
        keep: Sequence[str] = (),
        limits: Limits | None = None,
        case_wall_s: float | None = None,
    ) -> TestsResult:
        """Run trusted test ``statements`` against ``source`` with the verdict out of its reach.

        Two processes: the candidate's runs ``shared`` then ``source``; a trusted test runner
        runs ``shared``, ``setup`` and each statement, and reaches the names in ``exports`` that
        ``source`` defines through proxies (see ``docs/code.md``). Names ``setup`` defines win
        over the candidate's, except those in ``keep``. ``case_wall_s`` is a soft limit per
        statement (``TimeoutError``); ``limits.wall_s`` bounds the whole run.
        """
        lim = limits or self.limits
        req = {
            "mode": "tests",
            "source": source,
            "n_statements": len(statements),
            # the test code travels in a second frame the zygote never reads: no process the
            # candidate is forked from ever holds it (not even freed, in its heap)
            "_follow": {"statements": list(statements), "setup": setup},
            "shared": shared,
            "exports": list(exports),
            "keep": list(keep),
            "case_s": case_wall_s,
            "value_bytes": max(lim.stdout_bytes * 4, 16 << 20),
        }
        resp = self._run(req, lim)
        resp.setdefault("completed", 0)
        return _build(TestsResult, resp)

    # -- async twins: run in a thread, so the event loop never blocks ---------------------------
    async def arun_script(
        self, source: str, stdin: str = "", limits: Limits | None = None
    ) -> ScriptResult:
        return await asyncio.to_thread(self.run_script, source, stdin, limits)

    async def acall(
        self,
        source: str,
        fn_name: str,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        limits: Limits | None = None,
    ) -> CallResult:
        return await asyncio.to_thread(self.call, source, fn_name, args, kwargs, limits)

    async def arun_cases(
        self,
        source: str,
        cases: Sequence[StdioCase | CallCase | dict[str, Any]],
        limits: Limits | None = None,
        case_wall_s: float | None = None,
    ) -> list[CaseResult]:
        return await asyncio.to_thread(self.run_cases, source, cases, limits, case_wall_s)

    async def arun_statements(
        self, source: str, statements: Sequence[str], setup: str = "", limits: Limits | None = None
    ) -> StatementsResult:
        return await asyncio.to_thread(self.run_statements, source, statements, setup, limits)

    # -- batch ---------------------------------------------------------------------------------
    def submit(self, request: Request | dict[str, Any]) -> Any:
        """Run one request model (or a dict with ``kind``): script, call, cases or statements."""
        r = request if isinstance(request, BaseModel) else _REQUEST.validate_python(request)
        if isinstance(r, ScriptRequest):
            return self.run_script(r.source, r.stdin, r.limits)
        if isinstance(r, CallRequest):
            return self.call(r.source, r.fn_name, r.args, r.kwargs, r.limits)
        if isinstance(r, CasesRequest):
            return self.run_cases(r.source, r.cases, r.limits, r.case_wall_s)
        if isinstance(r, StatementsRequest):
            return self.run_statements(r.source, r.statements, r.setup, r.limits)
        if isinstance(r, TestsRequest):
            return self.run_tests(
                r.source,
                r.statements,
                setup=r.setup,
                shared=r.shared,
                exports=r.exports,
                keep=r.keep,
                limits=r.limits,
                case_wall_s=r.case_wall_s,
            )
        raise TypeError(f"not a sandbox request: {type(r).__name__}")

    def batch(self, requests: Sequence[Request | dict[str, Any]]) -> list[Any]:
        """Run many requests across the workers; results in input order."""
        if len(requests) <= 1 or self.size == 1:
            return [self.submit(r) for r in requests]
        with ThreadPoolExecutor(self.size) as ex:
            return list(ex.map(self.submit, requests))

    async def abatch(self, requests: Sequence[Request | dict[str, Any]]) -> list[Any]:
        return await asyncio.to_thread(self.batch, requests)

    def stray_processes(self) -> list[tuple[int, int, str]]:
        """(pid, uid, name) of processes still running as this pool's sandbox uids.

        Between executions this is empty: every execution's process tree is killed when it ends.
        A worker may answer before it has killed them (see `assay_sandbox.zygote`), so each idle
        worker is pinged first: it reads the ping only once its cleanup is over. For tests and
        monitoring; call it while the pool is idle.
        """
        taken = []
        try:
            for _ in range(self.size):
                w = self._acquire()
                taken.append(w)
                w.request({"op": "ping", "limits": self.limits.model_dump()}, GRACE_S)
        finally:
            for w in taken:
                self._release(w)
        with self._lock:
            transports = [w.t for w in self._all]
        return list(self.backend.stray_processes(transports))

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every worker (their whole process trees go with them). Idempotent."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.t.kill()
        self.backend.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def open_sandbox(backend: str = "process", **kwargs: Any) -> SandboxPool:
    """A `SandboxPool` whose backend is looked up in the assay registry (kind ``sandbox``)."""
    return SandboxPool(backend=backend, **kwargs)
