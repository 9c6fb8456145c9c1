"""Verdicts: a status, a reason and mode-specific fields from how a child ended and what it said.

Stdlib-only (shipped into the sandbox). Runs in the supervisor (or the zygote), never in the program's process: the
program's only say is what it wrote on its nonce-tagged channel, parsed here.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from assay_sandbox import native
from assay_sandbox.supervise import Sink, signame, text


def base_fields(
    duration: float, sinks: dict[int, Sink], out_r: int, err_r: int, status: int, rusage: Any
) -> dict[str, Any]:
    """Fields every answer carries: duration, output, how the process ended, CPU used."""
    return {
        "duration_s": duration,
        "stdout": text(sinks[out_r].data),
        "stderr": text(sinks[err_r].data),
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "cpu_s": (rusage.ru_utime + rusage.ru_stime) if rusage else None,
    }


def case_outcome(status: int, stopped: str | None, sink: Sink, wall: float) -> dict[str, Any]:
    if stopped == "timeout":
        return {"status": "timeout", "reason": f"case ran past {wall:g} s"}
    if stopped == "output_limit" or sink.overflow:
        return {"status": "output_limit", "reason": "return value too large"}
    msg: dict[str, Any] = {}
    line = bytes(sink.data).split(b"\n", 1)[0]
    if line.startswith(b" "):
        try:
            msg = json.loads(line[1:])
        except (ValueError, RecursionError):  # the program's bytes: malformed or nested deep
            msg = {}
    if msg.get("t") == "value":
        return {"status": "ok", "value": msg.get("value")}
    if msg.get("t") == "exc":
        st = "memory" if msg.get("memory") else "exception"
        return {"status": st, "error": msg.get("error"), "reason": msg.get("error")}
    if msg.get("t") == "unencodable":
        return {"status": "error", "reason": msg.get("error")}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        st = "timeout" if sig == signal.SIGXCPU else "crash"
        return {"status": st, "reason": f"killed by {signame(sig)}", "signal": sig}
    return {
        "status": "error",
        "reason": f"exited with status {os.WEXITSTATUS(status)} before returning",
    }


def messages(data: bytes, nonce: str) -> list[dict[str, Any]]:
    prefix = nonce.encode() + b" "
    out = []
    for line in data.split(b"\n"):
        if line.startswith(prefix):
            try:
                msg = json.loads(line[len(prefix) :])
            except (ValueError, RecursionError):  # the program's bytes: malformed or nested deep
                continue
            if isinstance(msg, dict):
                out.append(msg)
    return out


CASE_STATUSES = frozenset(
    {"ok", "exception", "timeout", "memory", "crash", "output_limit", "error"}
)
STOPPED = ("timeout", "memory", "crash", "output_limit")


def verdict(
    req: dict[str, Any],
    limits: dict[str, Any],
    status: int,
    stopped: str | None,
    msgs: list[dict[str, Any]],
    sinks: dict[int, Sink],
    res: dict[str, Any],
) -> dict[str, Any]:
    """Status, reason and mode-specific fields from how the child ended and what it said."""
    mode = req["mode"]
    out: dict[str, Any] = {}
    exc = next((m for m in msgs if m.get("t") == "exc"), None)
    if exc is not None:  # the program's own process may forge it: well-typed fields only
        exc = {"error": _text_or_none(exc.get("error")), "memory": exc.get("memory") is True}
    if stopped == "timeout":
        out.update(status="timeout", reason=f"wall-clock limit of {float(limits['wall_s']):g} s")
    elif stopped == "memory":
        out.update(status="memory", reason=_tree_memory_reason(limits))
    elif stopped == "output_limit":
        which = [s.name for s in sinks.values() if s.overflow]
        out.update(
            status="output_limit", reason=f"{'/'.join(which) or 'output'} over its limit; killed"
        )
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU or (
            sig == signal.SIGKILL and (res.get("cpu_s") or 0) >= float(limits["cpu_s"])
        ):
            out.update(status="timeout", reason=f"CPU time limit of {float(limits['cpu_s']):g} s")
        else:
            out.update(status="crash", reason=f"killed by {signame(sig)}")
    elif exc is not None:
        out.update(
            status="memory" if exc.get("memory") else "exception",
            reason=exc.get("error"),
            error=exc.get("error"),
        )
    else:
        out.update(status="ok", reason=f"exited with status {os.WEXITSTATUS(status)}")
    if mode == "call" and out["status"] == "ok":
        value = next((m for m in msgs if m.get("t") in ("value", "unencodable")), None)
        if value is None:
            out.update(
                status="error",
                reason=f"the program exited (status {os.WEXITSTATUS(status)}) before returning",
            )
        elif value["t"] == "unencodable" or type(value.get("value")) is not str:
            out.update(status="error", reason=_text_or_none(value.get("error")) or "no value")
        else:
            out["value"] = value.get("value")
    elif mode == "call" and out["status"] == "ok" and exc is None:
        pass
    if mode == "statements":
        _statements_verdict(req, msgs, out)
    if mode == "cases":
        _cases_verdict(req, msgs, out)
    # Everything here is the program's doing (the sandbox's own failures never reach a verdict);
    # only trusted setup code that fails to load is the task's.
    task = str(out.get("load_error") or "").startswith("setup:")
    out["fault"] = None if out["status"] == "ok" else ("task" if task else "candidate")
    if req.get("language") == "native":  # may change status and fault (a tool that cannot start)
        native.verdict(req, msgs, out)
    return out


def _text_or_none(v: Any, limit: int = 2000) -> str | None:
    return v[:limit] if isinstance(v, str) else None


def _clean_case(m: dict[str, Any]) -> dict[str, Any]:
    """A case outcome as the candidate's loader reported it, reduced to well-typed fields.

    The loader is the candidate's own process: what it says is its answer, never a failure of
    the sandbox or the task, and a malformed message must not make the whole answer malformed.
    """
    status = m.get("status") if m.get("status") in CASE_STATUSES else "error"
    sig, dur = m.get("signal"), m.get("duration_s")
    return {
        "status": status,
        "reason": _text_or_none(m.get("reason")),
        "error": _text_or_none(m.get("error")),
        "value": m.get("value") if isinstance(m.get("value"), str) else None,
        "signal": sig if type(sig) is int else None,
        "duration_s": float(dur) if isinstance(dur, (int, float)) and dur == dur else 0.0,
        "fault": None if status == "ok" else "candidate",
    }


def _tree_memory_reason(limits: dict[str, Any]) -> str:
    return f"the program and its children passed {int(limits['memory_mb'])} MB together; killed"


def _statements_verdict(
    req: dict[str, Any], msgs: list[dict[str, Any]], out: dict[str, Any]
) -> None:
    results: list[dict[str, Any]] = []
    done = False
    load_error = None
    for m in msgs:
        if m.get("t") == "stmt" and m.get("i") == len(results):
            results.append({"ok": m.get("ok") is True, "error": _text_or_none(m.get("error"))})
        elif m.get("t") == "load_error":
            load_error = _text_or_none(m.get("error")) or "load error"
        elif m.get("t") == "done":
            done = True
    completed = sum(r["ok"] for r in results)
    out.update(completed=completed, results=results, load_error=load_error)
    total = len(req["statements"])
    base = out["status"]
    if base in ("timeout", "memory", "crash", "output_limit"):
        return
    if any(r["error"] and r["error"].startswith("MemoryError") for r in results):
        out.update(status="memory", reason="a statement ran out of memory")
    elif load_error is not None:
        out.update(status="failed", reason=load_error)
    elif not done:
        out.update(
            status="exit", reason=f"the process ended after {len(results)} of {total} statements"
        )
    elif completed == total:
        out.update(status="ok", reason=f"{completed}/{total} statements completed")
    else:
        out.update(status="failed", reason=f"{completed}/{total} statements completed")


def _cases_verdict(req: dict[str, Any], msgs: list[dict[str, Any]], out: dict[str, Any]) -> None:
    n = len(req["cases"])
    cases: list[dict[str, Any] | None] = [None] * n
    load_error = next((m.get("error") for m in msgs if m.get("t") == "load_error"), None)
    if load_error is not None:  # said by the candidate's own loader: text only
        load_error = _text_or_none(load_error) or "load error"
    for m in msgs:
        i = m.get("i")
        if m.get("t") == "case" and isinstance(i, int) and 0 <= i < n and cases[i] is None:
            # The loader that reports cases is the candidate's own process: whatever it says
            # about a case is the candidate's answer, never a sandbox failure.
            case = _clean_case(m)
            cases[i] = case
    base = out["status"]
    for i in range(n):
        if cases[i] is None:
            if load_error is not None:
                cases[i] = {
                    "status": "exception",
                    "error": load_error,
                    "reason": "the program failed to load",
                    "fault": "candidate",
                }
            else:
                st = base if base in ("timeout", "memory", "crash", "output_limit") else "error"
                cases[i] = {
                    "status": st,
                    "reason": f"not run: {out.get('reason')}",
                    "fault": "candidate",
                }
    out["cases"] = cases
    if load_error is not None:
        out.update(status="exception", error=load_error, reason=f"load: {load_error}")


def tests_verdict(
    req: dict[str, Any],
    limits: dict[str, Any],
    status: int,
    stopped: str | None,
    msgs: list[dict[str, Any]],
    sinks: dict[int, Sink],
    cand_status: int | None,
) -> dict[str, Any]:
    """A ``tests`` run: outcomes as the trusted runner reported them, and whose fault each is.

    ``status`` is the runner's wait status; ``cand_status`` the candidate loader's, when it had
    ended on its own before the runner finished.
    """
    results: list[dict[str, Any]] = []
    done = gone = False
    load_error = load_fault = None
    for m in msgs:
        if m.get("t") == "stmt" and m.get("i") == len(results):
            fault = (
                None
                if m.get("ok")
                else (m.get("fault") if m.get("fault") == "task" else "candidate")
            )
            results.append({"ok": bool(m.get("ok")), "error": m.get("error"), "fault": fault})
            gone = gone or m.get("gone") is True
        elif m.get("t") == "load_error" and load_error is None:
            load_error = str(m.get("error"))
            load_fault = "task" if m.get("fault") == "task" else "candidate"
        elif m.get("t") == "done":
            done = True
    total = int(req["n_statements"])
    completed = sum(r["ok"] for r in results)
    out: dict[str, Any] = {"completed": completed, "results": results, "load_error": load_error}
    if stopped == "timeout":
        out.update(status="timeout", reason=f"wall-clock limit of {float(limits['wall_s']):g} s")
    elif stopped == "memory":
        out.update(status="memory", reason=_tree_memory_reason(limits))
    elif stopped == "output_limit":
        which = [s.name for s in sinks.values() if s.overflow]
        out.update(
            status="output_limit", reason=f"{'/'.join(which) or 'output'} over its limit; killed"
        )
    elif os.WIFSIGNALED(status):
        # Only the candidate (same uid) can kill the runner, or the runner's own CPU limit.
        out.update(
            status="crash", reason=f"the test runner was killed by {signame(os.WTERMSIG(status))}"
        )
    elif any(r["error"] and r["error"].startswith("MemoryError") for r in results):
        out.update(status="memory", reason="a statement ran out of memory")
    elif load_error is not None:
        out.update(status="failed", reason=load_error)
    elif gone:
        out.update(status="crash", reason="the candidate's process ended during a call")
    elif not done:
        out.update(
            status="exit",
            reason=f"the test runner ended after {len(results)} of {total} statements",
        )
    elif completed == total:
        out.update(status="ok", reason=f"{completed}/{total} statements completed")
    else:
        out.update(status="failed", reason=f"{completed}/{total} statements completed")
    if cand_status is not None and os.WIFSIGNALED(cand_status) and out["status"] != "ok":
        out["reason"] = (
            f"{out['reason']} (the candidate's process was killed by {signame(os.WTERMSIG(cand_status))})"
        )
    failing = [r for r in results if not r["ok"]]
    if out["status"] == "ok":
        out["fault"] = None
    elif load_fault == "task" or (failing and all(r["fault"] == "task" for r in failing)):
        # the test code could not run; a runner that stopped after statements that passed (the
        # candidate, same uid, killed or stopped it) is no failure of the task's
        out["fault"] = "task"
    else:
        out["fault"] = "candidate"
    return out
