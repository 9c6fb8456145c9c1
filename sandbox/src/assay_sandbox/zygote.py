"""The zygote: serves requests, one fork per execution, inside the worker's isolation.

Stdlib-only (shipped into the sandbox). Each request is served by a fresh session process
forked from the zygote (see `Zygote.serve`); one execution's fork, supervision and cleanup are
`assay_sandbox.executions`. For each execution: pipes for stdin/stdout/stderr plus a
verdict channel (a Unix socket whose reader sees the writer's pid), one ``fork``; the child drops
to the sandbox uid (`assay_sandbox.child`) and runs a runner (`assay_sandbox.runners`); the
zygote supervises it (`assay_sandbox.supervise`), kills every process left, empties the work dir
(`assay_sandbox.cleanup`), checks that it is clean again, and answers with the verdict
(`assay_sandbox.verdicts`). A ``tests`` request forks two processes: the candidate's and a
trusted test runner that reaches it through proxies (`assay_sandbox.testrun`).

A worker whose health check fails after an execution (a work dir it could not empty, a process
that survived) says so in its answer (``health``) and exits; the pool replaces it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
from typing import Any

from assay_sandbox import jail, native, testrun
from assay_sandbox.child import sandbox_environment
from assay_sandbox.cleanup import kill_all, try_compile
from assay_sandbox.executions import Executions
from assay_sandbox.framing import read_frame, write_frame
from assay_sandbox.runners import error_text
from assay_sandbox.supervise import execution_pipes

PRELOAD = [
    "math",
    "cmath",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "re",
    "string",
    "json",
    "random",
    "decimal",
    "fractions",
    "typing",
    "dataclasses",
    "operator",
    "copy",
    "statistics",
    "array",
    "enum",
    "io",
    "traceback",
]


class Zygote(Executions):
    """Serves requests on ``in_fd``/``out_fd``; see the module docstring."""

    def __init__(
        self, cfg: dict[str, Any], in_fd: int, out_fd: int, layers: list[str], notes: list[str]
    ) -> None:
        self.cfg, self.in_fd, self.out_fd = cfg, in_fd, out_fd
        self.layers, self.notes = layers, notes
        self.follow_pending = False  # a tests request's second frame is still unread
        self.sick: str | None = None  # set when the last execution left the worker unclean
        self.baton: int | None = None  # a session's "done, fork the next one" pipe (see `serve`)
        self.reaped: int | None = None  # EOF once the zygote has reaped the session before
        self.dirty: list[str] = []  # work dirs of executions not cleaned yet (see `tidy`)
        self.spare: tuple[tuple[int, int], ...] | None = None  # the next execution's pipes
        self.pid_ns = os.getpid() == 1
        self.uid = cfg.get("run_uid")
        # Sessions (see `serve`) need programs that cannot signal them: another uid.
        self.sessions = self.uid is not None and self.uid != os.geteuid()
        self.gid = cfg.get("run_gid")
        self.work = cfg.get("work", "/sandbox")
        # One private work dir for the life of the worker, emptied after every execution.
        self.shared_work = "namespaces" in layers or bool(cfg.get("container"))
        if "namespaces" in layers:
            size = int(cfg.get("work_mb", 64))
            opts = f"size={size}m,nr_inodes=4096,mode=0700,uid={self.uid},gid={self.gid}"
            jail.mount("tmpfs", self.work, "tmpfs", jail.MS_NOSUID | jail.MS_NODEV, opts)
        if not self.pid_ns:
            try:
                jail.prctl(jail.PR_SET_CHILD_SUBREAPER, 1)
            except OSError:
                notes.append("no child subreaper: orphans may escape cleanup")
        sys.path.extend(cfg.get("sys_path") or ())
        for name in (*PRELOAD, "socket", "struct", "ctypes"):
            with contextlib.suppress(ImportError):
                __import__(name)
        testrun.helper_names()  # once here, not in every test runner
        if self.shared_work:  # every execution's environment, set once (see `enter_child`)
            os.environ.clear()
            os.environ.update(sandbox_environment(self.work))
        # Python's SIGINT handler is the only one installed; a program sharing our uid (docker)
        # could otherwise interrupt the zygote. Executions get the default handler back.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        gc.freeze()  # children's collections skip (and do not copy-on-write) the zygote's objects
        if "namespaces" in layers and not jail.drop_bounding_set():
            notes.append("the capability bounding set could not be emptied")
        # no_new_privs, then the seccomp filter, on the zygote itself: every execution inherits
        # both through fork for free. The zygote needs nothing the filter denies from here on.
        jail.prctl(jail.PR_SET_NO_NEW_PRIVS, 1)
        if cfg.get("seccomp", True) and jail.seccomp_supported():
            try:
                jail.SeccompFilter(deny_kill_all=not self.pid_ns).install()
                layers.append("seccomp")
            except OSError as exc:
                notes.append(f"seccomp unavailable: {exc}")
        elif cfg.get("seccomp", True):
            notes.append("seccomp unavailable on this architecture")
        if not ({"namespaces", "docker"} & set(layers)):
            layers.insert(0, "rlimits")
        self.isolation = "+".join(layers)

    # -- main loop ---------------------------------------------------------------------------
    def serve(self) -> None:
        """Answer requests, each in a fresh *session* process forked before anything of the
        request is read: the zygote's heap never holds a program or test text, so no later
        candidate (forked from a session, itself fresh from the zygote) can find an earlier
        sample's program or tests in its memory, not even as freed bytes. Where programs run
        under the zygote's own uid (the docker backend) they could kill a session, so requests
        are served in the zygote itself there (and earlier programs' text may linger).

        The next session is forked as soon as the current one says (one byte on its *baton*
        pipe) that every process of its request is dead and the request stream is no longer
        read by it or its children: the fork then overlaps the current session's cleanup and the
        answer's trip to the client, and the next session is already waiting when the next
        request comes (which it cannot before this answer). It runs no program before the
        zygote has reaped the session before it (EOF on its *reaped* pipe), so a program only
        ever sees the zygote, its own session and its own processes. A session that says
        nothing (the stream ended, an exit was asked, the server failed), or that finds the
        worker unclean after passing the baton (exit code 3), ends the worker.
        """
        write_frame(self.out_fd, {"op": "ready", "isolation": self.isolation, "notes": self.notes})
        if not self.sessions:  # programs share our uid (docker): they could kill a session
            while self.serve_one() == 0:
                pass
            return
        previous = 0
        while True:
            baton_r, baton_w = os.pipe()
            reaped_r, reaped_w = os.pipe()
            session = os.fork()
            if session == 0:
                code = 3
                try:
                    os.close(baton_r)
                    os.close(reaped_w)
                    self.baton, self.reaped = baton_w, reaped_r
                    jail.prctl(jail.PR_SET_CHILD_SUBREAPER, 1)  # orphans of the run come here
                    code = self.serve_one()
                finally:
                    os._exit(code)
            os.close(baton_w)
            os.close(reaped_r)
            if previous:  # it has answered by now, or is about to: reap it
                with contextlib.suppress(ChildProcessError):
                    _, status = os.waitpid(previous, 0)
                    if os.waitstatus_to_exitcode(status) == 3:
                        return  # it found the worker unclean after passing the baton: end
            os.close(reaped_w)  # the new session may run programs now: no other session is left
            try:
                go = os.read(baton_r, 1)
            finally:
                os.close(baton_r)
            if go != b"c":  # the stream ended, an exit was asked, or the worker is unclean
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(session, 0)
                return
            previous = session

    def serve_one(self) -> int:
        """One request, in a session process: 0 to go on, 2 at the end, 3 when unclean."""
        if self.sessions:  # made while waiting for the request, off its path
            self.spare = execution_pipes()
        try:
            req = read_frame(self.in_fd)
        except (OSError, ValueError):
            return 2
        if req is None or req.get("op") == "exit":
            return 2
        t0 = time.monotonic()
        self.sick = None
        self.follow_pending = req.get("_follow") is True
        try:
            resp = self.handle(req)
        except Exception as exc:  # noqa: BLE001 (the sandbox itself failed: say so, then be replaced)
            resp = {
                "status": "error",
                "fault": "sandbox",
                "reason": f"sandbox server: {error_text(exc)}",
            }
            self.sick = f"the server raised {type(exc).__name__}"
            with contextlib.suppress(Exception):
                kill_all(self.pid_ns)
        if self.follow_pending:  # no test runner read the test code: skip it unseen
            try:
                self.discard_follow()
            except (OSError, ValueError):
                return 3
        resp.setdefault("duration_s", time.monotonic() - t0)
        if not self.sick and self.baton is not None:
            # Every process of the request is dead and the request stream read: the next
            # session may be forked now, while this one tidies up and answers.
            os.write(self.baton, b"c")
        try:
            self.tidy()
        except Exception as exc:  # noqa: BLE001 (cleanup itself failed: be replaced)
            self.sick = self.sick or f"cleanup raised {type(exc).__name__}"
        resp["id"] = req.get("id")
        resp["isolation"] = self.isolation
        if self.sick:
            resp["health"] = self.sick
        write_frame(self.out_fd, resp)
        return 3 if self.sick else 0

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        if req.get("op") == "ping":
            return {"status": "ok", "reason": "pong"}
        if req.get("language") == "native":  # compilers, compiled programs, other runtimes
            return native.handle(self, req)
        if req.get("language", "python") != "python":
            return {"status": "error", "reason": f"unsupported language {req.get('language')!r}"}
        mode = req.get("mode")
        if mode == "cases" and req.get("case_kind") == "stdio":
            return self.stdio_cases(req)
        if mode not in ("script", "call", "cases", "statements", "tests"):
            return {"status": "error", "reason": f"unknown mode {mode!r}"}
        # Compile here, once: the child inherits the code objects through fork (and for stdio
        # cases every case reuses them). Compiling runs none of the program's code.
        try:
            req["_code"] = compile(
                req["source"], "main.py" if mode == "script" else "solution.py", "exec"
            )
        except (
            SyntaxError,
            ValueError,
            RecursionError,
            MemoryError,
        ) as exc:  # ValueError: NUL bytes
            if mode in ("statements", "tests"):
                return {
                    "status": "failed",
                    "fault": "candidate",
                    "reason": "source does not compile",
                    "load_error": f"source: {error_text(exc)}",
                    "completed": 0,
                    "results": [],
                }
            return {
                "status": "exception",
                "fault": "candidate",
                "reason": "source does not compile",
                "error": error_text(exc),
            }
        if mode == "tests":
            req["_shared"] = try_compile(req.get("shared") or "", "shared.py")
            return self.execute_tests(req, req["limits"])
        if mode == "statements":
            req["_setup"] = try_compile(req.get("setup") or "", "setup.py")
            req["_statements"] = [
                try_compile(stmt, f"statement_{i}.py") for i, stmt in enumerate(req["statements"])
            ]
        return self.execute(req, req["limits"])

    def stdio_cases(self, req: dict[str, Any]) -> dict[str, Any]:
        limits = req["limits"]
        try:
            req["_code"] = compile(req["source"], "main.py", "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            err = error_text(exc)
            cases = [
                {"status": "exception", "error": err, "reason": "source does not compile"}
                for _ in req["cases"]
            ]
            return {
                "status": "exception",
                "fault": "candidate",
                "reason": "source does not compile",
                "error": err,
                "cases": cases,
            }
        t_end = time.monotonic() + float(limits["wall_s"])
        case_wall = float(req["case_wall_s"])
        out = []
        for case in req["cases"]:
            left = t_end - time.monotonic()
            if left <= 0:
                out.append(
                    {"status": "timeout", "reason": "total deadline passed before this case"}
                )
                continue
            one = dict(req, mode="script", stdin=case.get("stdin", ""))
            lim = dict(limits, wall_s=min(case_wall, left))
            res = self.execute(one, lim)
            out.append(res)
        statuses = {c["status"] for c in out}
        status = "ok" if statuses <= {"ok"} else sorted(statuses - {"ok"})[0]
        return {
            "status": status,
            "reason": f"{sum(c['status'] == 'ok' for c in out)}/{len(out)} cases ran",
            "cases": out,
        }
