"""The zygote: the worker's first process inside its isolation, and the supervisor it forks.

Stdlib-only (shipped into the sandbox). The zygote preloads the modules programs use, installs
the seccomp filter, then (`Zygote.serve`):

- where programs run under a uid of their own, forks the *supervisor* before it reads anything
  of a request, and from then on only forks standby children on the supervisor's word and reaps
  (`assay_sandbox.standby.Factory`). The supervisor reads the requests, compiles them, hands
  each execution to a standby, supervises it (`assay_sandbox.supervise`), answers with the
  verdict (`assay_sandbox.verdicts`), then kills every process of the sandbox uid and empties
  the work dir (`assay_sandbox.cleanup`). Every program runs in a fork of the zygote, whose heap
  never held a request: no candidate can find another sample's program or tests in its memory,
  not even as freed bytes. A ``tests`` request runs two standbys: the candidate's, and a
  trusted test runner that reaches it through proxies (`assay_sandbox.testrun`);
- where programs share the zygote's uid (the docker backend), and could signal a supervisor,
  serves requests itself, one fork per execution.

A worker whose health check fails after an execution (a work dir it could not empty, a process
that survived) says so in its answer (``health``), and the pool replaces it; where the check
runs after the answer, the next answer says so, with ``retry``: the pool sends that request to
another worker.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
import time
from typing import Any

from assay_sandbox import jail, native, testrun
from assay_sandbox.child import sandbox_environment
from assay_sandbox.cleanup import kill_all, try_compile
from assay_sandbox.executions import Executions
from assay_sandbox.framing import read_frame, write_frame
from assay_sandbox.runners import error_text
from assay_sandbox.standby import Factory, Standbys

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
        self.unclean: str | None = None  # found after an answer: the next request is refused
        self.dirty: list[str] = []  # work dirs of executions not cleaned yet (see `tidy`)
        self.unreaped = False  # an execution's processes are left to kill after the answer
        self.standbys: Standbys | None = None  # the supervisor's (see `serve`)
        self.pid_ns = os.getpid() == 1
        self.uid = cfg.get("run_uid")
        # A supervisor (see `serve`) needs programs that cannot signal it: another uid.
        self.supervised = self.uid is not None and self.uid != os.geteuid()
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
        """Answer requests (see the module docstring): through a supervisor, or here."""
        write_frame(self.out_fd, {"op": "ready", "isolation": self.isolation, "notes": self.notes})
        if not self.supervised:  # programs share our uid (docker): they could kill a supervisor
            while self.serve_one() == 0:
                pass
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        supervisor = os.fork()
        if supervisor == 0:
            code = 3
            try:
                ours.close()
                self.standbys = Standbys(theirs)
                self.standbys.top_up()
                while (code := self.serve_one()) == 0:
                    pass
            finally:
                os._exit(code)
        theirs.close()
        os.close(self.in_fd)
        os.close(self.out_fd)
        Factory(self, ours, supervisor).run()

    def serve_one(self) -> int:
        """One request: 0 to go on, 2 at the end, 3 when unclean.

        The supervisor answers before the cleanup (`tidy`), which ends before it reads the next
        request. A cleanup that fails then is reported with the next answer, which runs
        nothing and asks for a ``retry`` on a healthy worker.
        """
        try:
            req = read_frame(self.in_fd)
        except (OSError, ValueError):
            return 2
        if req is None or req.get("op") == "exit":
            return 2
        t0 = time.monotonic()
        self.sick = None
        self.follow_pending = req.get("_follow") is True
        if self.unclean:
            resp: dict[str, Any] = {
                "status": "error",
                "fault": "sandbox",
                "reason": f"this worker became unclean ({self.unclean}); run elsewhere",
                "retry": True,
            }
            self.sick = self.unclean
        else:
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
                    self.kill_everything()
        if self.follow_pending:  # no test runner read the test code: skip it unseen
            try:
                self.discard_follow()
            except (OSError, ValueError):
                return 3
        resp.setdefault("duration_s", time.monotonic() - t0)
        resp["id"] = req.get("id")
        resp["isolation"] = self.isolation
        if self.standbys is not None and not self.sick:
            self.answer(resp)
            self.tidy_safely()
            self.unclean = self.sick
            self.standbys.top_up()
            return 0
        self.tidy_safely()
        self.answer(resp)
        return 3 if self.sick else 0

    def kill_everything(self) -> None:
        if self.standbys is not None:
            self.unreaped = True
            self.reap()
        else:
            kill_all(self.pid_ns)

    def answer(self, resp: dict[str, Any]) -> None:
        if self.sick:
            resp["health"] = self.sick
        write_frame(self.out_fd, resp)

    def tidy_safely(self) -> None:
        try:
            self.tidy()
        except Exception as exc:  # noqa: BLE001 (cleanup itself failed: be replaced)
            self.sick = self.sick or f"cleanup raised {type(exc).__name__}"

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
