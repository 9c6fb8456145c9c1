"""The worker side of native executions: compilers, compiled binaries, other runtimes.

Stdlib-only: shipped into the worker with `server` (see `assay_sandbox.protocol`). A request with
``"language": "native"`` names an ``argv`` (``argv[0]`` an absolute path inside the sandbox's
root) instead of Python source. Everything around the program is the Python path's: the zygote
forks, the child sets the rlimits, drops to the sandbox uid under the same seccomp filter and
namespaces, then this module's `run_child` writes the request's files into the work dir and
``execve``s the program. The zygote supervises the wall clock and the output caps, kills every
process left, and empties the work dir, exactly as for Python.

Request fields (besides ``limits``):

- ``mode``: ``exec`` (one execution) or ``exec_cases`` (``cases``: ``[{"stdin", "files"}]``, each
  case its own execution of the same argv, ``case_wall_s`` each, ``limits.wall_s`` in all);
- ``argv``, ``env`` (added to the sandbox's fixed environment), ``stdin``;
- ``files``: ``[[relative path, base64, executable], ...]`` written by the child before it execs
  (as the sandbox uid, in its own work dir);
- ``collect``: paths (files, or folders taken whole) whose contents come back base64 after the
  program exits (a compiler's output), at most ``collect_bytes`` in all, over the nonce-tagged
  channel. The collecting process is the sandbox child itself; the tool runs as its child.
"""

from __future__ import annotations

import base64
import os
import signal
from typing import Any

MAX_COLLECT_FILES = 256


def handle(zygote: Any, req: dict[str, Any]) -> dict[str, Any]:
    """Serve one native request on ``zygote`` (modes ``exec`` and ``exec_cases``)."""
    mode = req.get("mode")
    argv = req.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return {"status": "error", "reason": "native request without a valid argv"}
    limits = req["limits"]
    if mode == "exec":
        return zygote.execute(req, limits)
    if mode != "exec_cases":
        return {"status": "error", "reason": f"unknown native mode {mode!r}"}
    import time

    t_end = time.monotonic() + float(limits["wall_s"])
    case_wall = float(req.get("case_wall_s") or limits["wall_s"])
    out = []
    for case in req.get("cases") or ():
        left = t_end - time.monotonic()
        if left <= 0:
            out.append({"status": "timeout", "reason": "total deadline passed before this case"})
            continue
        one = dict(req, mode="exec", stdin=case.get("stdin", ""))
        one["files"] = list(req.get("files") or ()) + list(case.get("files") or ())
        one.pop("cases", None)
        out.append(zygote.execute(one, dict(limits, wall_s=min(case_wall, left))))
    statuses = {c["status"] for c in out}
    status = "ok" if statuses <= {"ok"} else sorted(statuses - {"ok"})[0]
    ran = sum(c["status"] == "ok" for c in out)
    return {"status": status, "reason": f"{ran}/{len(out)} cases ran", "cases": out}


def _safe_path(name: str) -> str:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad file name {name!r}")
    return name


def _write_files(files: list[Any]) -> None:
    for name, data, executable in files:
        path = _safe_path(name)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700 if executable else 0o600)
        try:
            view = memoryview(base64.b64decode(data))
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


def _environment(req: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)  # the fixed sandbox environment `enter_child` set
    env.update({str(k): str(v) for k, v in (req.get("env") or {}).items()})
    return env


def _collect_paths(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        path = _safe_path(name)
        if os.path.isdir(path) and not os.path.islink(path):
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                out += [os.path.join(dirpath, f) for f in sorted(filenames)]
        elif os.path.isfile(path) and not os.path.islink(path):
            out.append(path)
    return out[:MAX_COLLECT_FILES]


def run_child(req: dict[str, Any], chan: Any) -> int:
    """In the forked, dropped child: write the files, then exec (or run and collect)."""
    try:
        _write_files(req.get("files") or [])
    except (OSError, ValueError, TypeError) as exc:
        chan.send(t="native_setup", error=f"writing the program's files failed: {exc}")
        return 70
    argv, env = req["argv"], _environment(req)
    collect = req.get("collect") or []
    if not collect:
        try:
            os.execve(argv[0], argv, env)
        except OSError as exc:
            chan.send(t="native_setup", error=f"cannot start {argv[0]}: {exc.strerror}")
            return 127
    pid = os.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, env)
        except OSError as exc:
            os.write(2, f"cannot start {argv[0]}: {exc.strerror}\n".encode())
        os._exit(127)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        chan.send(t="tool_signal", signal=os.WTERMSIG(status))
        return 128 + os.WTERMSIG(status)
    code = os.WEXITSTATUS(status)
    if code == 0:
        budget = int(req.get("collect_bytes") or 0)
        for path in _collect_paths(collect):
            with open(path, "rb") as f:
                data = f.read(budget + 1)
            budget -= len(data)
            if budget < 0:
                chan.send(t="collect_error", error=f"compiled output passed its size cap at {path}")
                return 0
            mode = os.stat(path).st_mode
            chan.send(
                t="file", name=path, data=base64.b64encode(data).decode(), x=bool(mode & 0o100)
            )
    return code


def verdict(req: dict[str, Any], msgs: list[dict[str, Any]], out: dict[str, Any]) -> None:
    """Add what a native run reported (collected files, setup failures) to the response."""
    setup = next((m for m in msgs if m.get("t") == "native_setup"), None)
    if setup is not None and out.get("status") == "ok":  # a missing tool: not the program's doing
        out.update(status="error", reason=setup.get("error"), error=setup.get("error"))
        out["fault"] = "sandbox"
        return
    sig = next((m.get("signal") for m in msgs if m.get("t") == "tool_signal"), None)
    if isinstance(sig, int) and out.get("status") == "ok":
        if sig == signal.SIGXCPU:
            out.update(status="timeout", reason="CPU time limit (the tool was stopped)")
        else:
            out.update(status="crash", reason=f"the tool was killed by signal {sig}", signal=sig)
        out["fault"] = "candidate"  # the compiler's input is the candidate's program
    overflow = next((m for m in msgs if m.get("t") == "collect_error"), None)
    if overflow is not None:
        out.update(status="output_limit", reason=overflow.get("error"), fault="candidate")
        return
    if req.get("collect"):
        out["files"] = [
            [m.get("name"), m.get("data"), bool(m.get("x"))] for m in msgs if m.get("t") == "file"
        ]
