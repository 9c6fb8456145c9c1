"""Verdicts: a status, a reason and mode-specific fields from how a child ended and what it said.

Stdlib-only (shipped into the sandbox). Runs in the zygote, never in the program's process: the
program's only say is what it wrote on its nonce-tagged channel, parsed here.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from assay_sandbox import native
from assay_sandbox.supervise import Sink, signame


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
        except ValueError:
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
            except ValueError:
                continue
            if isinstance(msg, dict):
                out.append(msg)
    return out


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
    if stopped == "timeout":
        out.update(status="timeout", reason=f"wall-clock limit of {float(limits['wall_s']):g} s")
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
        elif value["t"] == "unencodable":
            out.update(status="error", reason=value.get("error"))
        else:
            out["value"] = value.get("value")
    elif mode == "call" and out["status"] == "ok" and exc is None:
        pass
    if mode == "statements":
        _statements_verdict(req, msgs, out)
    if mode == "cases":
        _cases_verdict(req, msgs, out)
    if req.get("language") == "native":
        native.verdict(req, msgs, out)
    return out


def _statements_verdict(
    req: dict[str, Any], msgs: list[dict[str, Any]], out: dict[str, Any]
) -> None:
    results: list[dict[str, Any]] = []
    done = False
    load_error = None
    for m in msgs:
        if m.get("t") == "stmt" and m.get("i") == len(results):
            results.append({"ok": bool(m.get("ok")), "error": m.get("error")})
        elif m.get("t") == "load_error":
            load_error = m.get("error")
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
    for m in msgs:
        i = m.get("i")
        if m.get("t") == "case" and isinstance(i, int) and 0 <= i < n and cases[i] is None:
            cases[i] = {
                k: m.get(k) for k in ("status", "reason", "value", "error", "signal", "duration_s")
            }
    base = out["status"]
    for i in range(n):
        if cases[i] is None:
            if load_error is not None:
                cases[i] = {
                    "status": "exception",
                    "error": load_error,
                    "reason": "the program failed to load",
                }
            else:
                st = base if base in ("timeout", "memory", "crash", "output_limit") else "error"
                cases[i] = {"status": st, "reason": f"not run: {out.get('reason')}"}
    out["cases"] = cases
    if load_error is not None:
        out.update(status="exception", error=load_error, reason=f"load: {load_error}")
