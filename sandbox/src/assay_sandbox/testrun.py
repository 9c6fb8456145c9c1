"""The two processes of a ``tests`` execution: the candidate's, and the trusted test runner.

Stdlib-only (shipped into the sandbox). The zygote forks both (`assay_sandbox.zygote`):

- `run_candidate` runs in the candidate's process: the shared trusted code (``shared``: an
  import prelude, the task's setup), then the candidate's ``source``; it reports the names the
  tests use (``exports``) to the runner, then answers its calls (`proxy`);
- `run_tests` runs in the test runner, a process the candidate's code never runs in: the shared
  trusted code, the runner-only trusted code (``setup``: HumanEval's prompt and ``check``
  function), binds the candidate's exports as `Remote` proxies, then runs each statement and
  reports its outcome over the verdict channel, which only this process holds (the zygote
  accepts channel bytes from this process's pid alone).

A statement fails with ``fault="candidate"`` when it raises (a wrong answer, an exception from
the candidate, a timeout, a dead candidate process), with ``fault="task"`` when the test code itself
cannot run (it imports a module the sandbox lacks, passes something that cannot cross).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from typing import Any

from assay_sandbox.proxy import (
    CandidateError,
    CandidateGone,
    Uncrossable,
    _Table,
    exports_of,
    send_msg,
    serve_calls,
)
from assay_sandbox.remote import Connection
from assay_sandbox.runners import Channel, error_text, new_namespace


def helper_classes(ns: dict[str, Any]) -> dict[str, type]:
    """Classes defined by trusted code in ``ns`` (by name): these may cross as values."""
    return {
        k: v
        for k, v in ns.items()
        if isinstance(v, type) and getattr(v, "__module__", None) == ns.get("__name__")
    }


def run_candidate(req: dict[str, Any], ctl_fd: int) -> int:
    """The candidate's process: load, report exports, serve calls. Returns the exit code."""
    ctl = socket.socket(fileno=ctl_fd)
    ns = new_namespace("solution")
    try:
        exec(req["_shared"], ns)
    except BaseException as exc:  # noqa: BLE001 (the runner reports the task's failure itself)
        send_msg(ctl, {"load_error": "setup: " + error_text(exc)[:2000]})
        return 1
    table = _Table(helper_classes(ns))
    before = dict(ns)
    try:
        exec(req["_code"], ns)
    except BaseException as exc:  # noqa: BLE001 (the candidate's exceptions, any kind, are its answer)
        send_msg(ctl, {"load_error": "source: " + error_text(exc)[:2000]})
        return 1
    try:
        exports = exports_of(ns, before, list(req.get("exports") or ()), table)
    except BaseException as exc:  # noqa: BLE001 (a hostile value may raise anything while encoded)
        send_msg(ctl, {"load_error": "source: " + error_text(exc)[:2000]})
        return 1
    send_msg(ctl, {"exports": exports, "pid": os.getpid()})
    serve_calls(ctl, table)
    return 0


def _classify(exc: BaseException) -> str:
    """Whose failure an exception raised by a test statement is: the task's only when the test
    code itself cannot run (an import the sandbox lacks, a value that cannot cross), never for
    an exception the candidate raised."""
    if getattr(exc, "_assay_from_candidate", False):
        return "candidate"
    if isinstance(exc, (Uncrossable, ImportError)):
        return "task"
    return "candidate"


def run_tests(req: dict[str, Any], chan: Channel, ctl_fd: int) -> int:
    """The trusted test runner. Returns the exit code; the verdict goes over ``chan``."""
    send = chan.send
    del chan
    # The candidate (same uid) may signal this process: SIGINT must not raise here, where a
    # KeyboardInterrupt would read as the task's own failure. Other signals kill or stop the
    # runner, which fails the sample.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ns = new_namespace("__main__")
    for what, code in (("setup", req["_shared"]), ("setup", req["_setup"])):
        try:
            if isinstance(code, BaseException):
                raise code
            exec(code, ns)
        except BaseException as exc:  # noqa: BLE001 (trusted code failing is the task's fault)
            send(t="load_error", error=f"{what}: {error_text(exc)}", fault="task")
            return 1
    classes = helper_classes(ns)
    keep = set(req.get("keep") or ())
    trusted_names = set(ns) - keep
    conn = Connection(socket.socket(fileno=ctl_fd), classes, int(req["value_bytes"]))
    try:
        loaded = conn.loaded()
    except CandidateError as exc:
        send(t="load_error", error=f"source: {error_text(exc)}", fault="candidate")
        return 1
    if "load_error" in loaded:  # whatever it says: the runner ran the shared code fine itself
        send(t="load_error", error=str(loaded["load_error"])[:2000], fault="candidate")
        return 1
    exports = loaded.get("exports")
    if isinstance(exports, dict):
        for name, item in exports.items():
            if type(name) is not str or name in trusted_names or hasattr(_builtins, name):
                continue  # a task helper, an import or a builtin is never the candidate's
            try:
                ns[name] = conn.result(item) if isinstance(item, dict) else None
            except Exception:  # noqa: BLE001 (a malformed export is just missing)
                continue
    case_s = float(req.get("case_s") or 0)
    signal.signal(signal.SIGALRM, _on_alarm)
    for i, code in enumerate(req["_statements"]):
        if case_s:
            signal.setitimer(signal.ITIMER_REAL, case_s)
        try:
            if isinstance(code, BaseException):
                raise code
            exec(code, ns)
        except Exception as exc:  # noqa: BLE001 (a failing statement, whatever it raised)
            if case_s:
                signal.setitimer(signal.ITIMER_REAL, 0)
            gone = isinstance(exc, CandidateGone)  # the candidate's process died mid-call
            send(
                t="stmt",
                i=i,
                ok=False,
                error=error_text(exc)[:2000],
                fault=_classify(exc),
                gone=gone,
            )
            continue
        except BaseException as exc:  # noqa: BLE001 (SystemExit from the task's own test code)
            send(t="stmt", i=i, ok=False, error=error_text(exc)[:2000], fault="task")
            continue
        if case_s:
            signal.setitimer(signal.ITIMER_REAL, 0)
        send(t="stmt", i=i, ok=True)
    send(t="done")
    return 0


_builtins = sys.modules["builtins"]


def _on_alarm(signum: int, frame: Any) -> None:
    raise TimeoutError("the test case ran past its time limit")
