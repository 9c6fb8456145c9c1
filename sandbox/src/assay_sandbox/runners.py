"""Runners: what the forked child does after the drop, one function per request mode.

Stdlib-only (shipped into the sandbox). These run in the program's own process; whatever they
send goes over the nonce-tagged `Channel` and is judged by `assay_sandbox.verdicts` in the supervisor.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any

from assay_sandbox import codec
from assay_sandbox.supervise import Sink, big_pipe, drain, supervise
from assay_sandbox.verdicts import case_outcome


class Channel:
    """Messages from the child to its supervisor, tagged with the per-run nonce.

    The write end sits at a random high fd; the supervisor accepts only lines that start with the
    nonce it generated, so text the program prints (on stdout/stderr, a different pipe) or
    writes blindly can never count as a verdict.
    """

    def __init__(self, fd: int, nonce: str) -> None:
        self._fd, self._nonce = fd, nonce
        self.send = _sender(fd, nonce + " ")

    def send(self, **msg: Any) -> None:  # replaced per instance by `_sender` (for type checkers)
        raise NotImplementedError


# The C string escaper, bound when the zygote loads this module, before any program runs.
_ESCAPE = json.encoder.c_encode_basestring_ascii or json.encoder.py_encode_basestring_ascii


def _sender(fd: int, prefix: str) -> Any:
    """``send(**msg)`` for a channel, built only from functions bound now, before the program
    runs: a program that rebinds ``json.dumps``, ``os.write``, ``memoryview`` or this module's
    globals (all reachable from it) cannot rewrite its messages, e.g. a failed statement into
    a passed one. Messages hold scalars (str, bool, int, float, None); anything else is null."""
    write, mv, esc, kind = os.write, memoryview, _ESCAPE, type
    t_str, t_bool, t_int, t_float = str, bool, int, float
    int_repr, float_repr, join = int.__repr__, float.__repr__, ",".join
    inf = float("inf")

    def encode(msg: dict[str, Any]) -> str:
        parts = []
        for k, v in msg.items():
            t = kind(v)
            if t is t_str:
                s = esc(v)
            elif t is t_bool:
                s = "true" if v else "false"
            elif t is t_int:
                s = int_repr(v)
            elif t is t_float and v == v and v != inf and v != -inf:
                s = float_repr(v)
            else:
                s = "null"
            parts.append(esc(k) + ":" + s)
        return "{" + join(parts) + "}"

    def send(**msg: Any) -> None:
        view = mv((prefix + encode(msg) + "\n").encode())
        while view:
            view = view[write(fd, view) :]

    return send


def error_text(exc: BaseException) -> str:
    msg = str(exc)
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:  # noqa: SIM105 (plain try: contextlib may be patched by the program / kept stdlib-minimal)
        sys.stderr.write(str(code) + "\n")
    except Exception:  # noqa: BLE001 (the program's own exceptions, any kind, must not escape here)
        pass
    return 1


def send_end(chan: Channel, code: int, end: int) -> None:
    """The child's last message, after its output is flushed: the exit code it will exit with
    and its CPU time; then the *end* pipe is closed, which wakes the supervisor (see
    `assay_sandbox.supervise.supervise`). A program that broke either only makes it wait
    for its exit instead."""
    try:  # plain try: contextlib may be patched by the program
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
        chan.send(t="end", code=code, cpu=cpu)
        os.close(end)
    except BaseException:  # noqa: BLE001 (the program's own doing, any kind)
        pass


def flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 (plain try: contextlib may be patched by the program / kept stdlib-minimal)
            stream.flush()
        except BaseException:  # noqa: BLE001 (the program's own exceptions, any kind, must not escape here)
            pass


def _print_exc(exc: BaseException) -> None:
    import traceback

    tb = exc.__traceback__
    tb = tb.tb_next if tb is not None else None  # drop the server's own frame
    try:  # noqa: SIM105 (plain try: contextlib may be patched by the program / kept stdlib-minimal)
        traceback.print_exception(type(exc), exc, tb)
    except BaseException:  # noqa: BLE001 (the program's own exceptions, any kind, must not escape here)
        pass


def new_namespace(name: str) -> dict[str, Any]:
    """A fresh module registered as ``sys.modules[name]`` (dataclasses, pickle, typing need it)."""
    import builtins
    import types

    module = types.ModuleType(name)
    module.__file__ = "/sandbox/main.py"
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules[name] = module  # in the child only: the zygote's own modules stay as they are
    return module.__dict__


def _resolve(ns: dict[str, Any], fn_name: str) -> Any:
    """``f`` or ``Class.method`` (LeetCode style: the class is instantiated without arguments)."""
    head, _, tail = fn_name.partition(".")
    obj = ns[head]
    if tail:
        obj = getattr(obj(), tail)
    return obj


def child_script(req: dict[str, Any], chan: Channel) -> int:
    ns = new_namespace("__main__")
    try:
        exec(req["_code"], ns)
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException as exc:  # noqa: BLE001 (the program's own exceptions, any kind, must not escape here)
        _print_exc(exc)
        chan.send(t="exc", error=error_text(exc), memory=isinstance(exc, MemoryError))
        return 1
    return 0


def child_call(req: dict[str, Any], chan: Channel) -> int:
    ns = new_namespace("solution")
    try:
        exec(req["_code"], ns)
        fn = _resolve(ns, req["fn_name"])
        args = codec.decode(req["args"])
        kwargs = codec.decode(req["kwargs"])
        value = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 (the program's own exceptions, any kind, must not escape here)
        chan.send(t="exc", error=error_text(exc), memory=isinstance(exc, MemoryError))
        return 1
    try:
        text = codec.encode(value)
    except codec.Unencodable as exc:
        chan.send(t="unencodable", error=str(exc))
        return 1
    except RecursionError:
        chan.send(t="unencodable", error="unencodable return value: structure nested too deep")
        return 1
    chan.send(t="value", value=text)
    return 0


def child_statements(req: dict[str, Any], chan: Channel) -> int:
    # Everything the loop calls is bound here, before the program runs: a program that rebinds
    # ``builtins.exec`` (or ``isinstance``, ``enumerate``, this module's globals) must not make
    # a statement that never ran report that it completed.
    run, is_a, err_text, base, exc_type = exec, isinstance, error_text, BaseException, Exception
    statements = list(req["_statements"])
    ns = new_namespace("solution")
    send = chan.send
    del chan
    for what, code in (("setup", req["_setup"]), ("source", req["_code"])):
        try:
            if is_a(code, base):
                raise code
            run(code, ns)
        except exc_type as exc:
            send(t="load_error", error=f"{what}: {err_text(exc)}")
            return 1
        except base:
            return 0  # an exit at load time: nothing completed
    i = -1
    for code in statements:
        i += 1
        try:
            if is_a(code, base):
                raise code
            run(code, ns)
        except exc_type as exc:
            send(t="stmt", i=i, ok=False, error=err_text(exc))
            continue
        except base:
            return 0  # SystemExit / KeyboardInterrupt inside a statement: stop counting
        send(t="stmt", i=i, ok=True)
    send(t="done")
    return 0


def child_call_cases(req: dict[str, Any], chan: Channel, cfg: dict[str, Any]) -> int:
    """Load the program once, then fork per case so that a case cannot poison the next."""
    ns = new_namespace("solution")
    try:
        exec(req["_code"], ns)
    except BaseException as exc:  # noqa: BLE001 (the program's own exceptions, any kind, must not escape here)
        chan.send(t="load_error", error=error_text(exc))
        return 1
    case_wall = float(req["case_wall_s"])
    cap = int(req["value_bytes"])
    for i, case in enumerate(req["cases"]):
        r, w = big_pipe()
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            sub = Channel(w, "")
            try:
                fn = _resolve(ns, case["fn_name"])
                value = fn(*codec.decode(case["args"]), **codec.decode(case["kwargs"]))
            except BaseException as exc:  # noqa: BLE001 (the program's own exceptions, any kind, must not escape here)
                sub.send(t="exc", error=error_text(exc), memory=isinstance(exc, MemoryError))
                flush()
                os._exit(1)
            try:
                sub.send(t="value", value=codec.encode(value))
            except (codec.Unencodable, RecursionError) as exc:
                sub.send(t="unencodable", error=str(exc))
            flush()
            os._exit(0)
        os.close(w)
        sink = Sink("value", cap)
        status, stopped, _ = supervise(pid, {r: sink}, None, b"", t0 + case_wall)
        drain({r: sink})
        os.close(r)
        out = case_outcome(status, stopped, sink, case_wall)
        out["duration_s"] = time.monotonic() - t0
        chan.send(t="case", i=i, **out)
    chan.send(t="done")
    return 0
