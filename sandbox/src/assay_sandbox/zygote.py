"""The zygote: serves requests, one fork per execution, inside the worker's isolation.

Stdlib-only (shipped into the sandbox). For each request: pipes for stdin/stdout/stderr plus a
separate channel pipe, one ``fork``; the child drops to the sandbox uid, sets rlimits and runs a
runner (`assay_sandbox.runners`); the zygote supervises it (`assay_sandbox.supervise`), kills
every process left, empties the work dir (`assay_sandbox.cleanup`) and answers with the verdict
(`assay_sandbox.verdicts`).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import random
import resource
import signal
import sys
import time
from typing import Any

from assay_sandbox import jail, native, runners
from assay_sandbox.cleanup import children, empty_dir, reap, try_compile
from assay_sandbox.framing import read_frame, write_frame
from assay_sandbox.runners import Channel, error_text, flush
from assay_sandbox.supervise import Sink, big_pipe, drain, supervise, text
from assay_sandbox.verdicts import messages, verdict

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
_RLIMITS = ("CPU", "AS", "FSIZE", "NOFILE", "CORE")


class Zygote:
    """Serves requests on ``in_fd``/``out_fd``; see the module docstring."""

    def __init__(
        self, cfg: dict[str, Any], in_fd: int, out_fd: int, layers: list[str], notes: list[str]
    ) -> None:
        self.cfg, self.in_fd, self.out_fd = cfg, in_fd, out_fd
        self.layers, self.notes = layers, notes
        self.pid_ns = os.getpid() == 1
        self.uid = cfg.get("run_uid")
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
        for name in PRELOAD:
            with contextlib.suppress(ImportError):
                __import__(name)
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
        write_frame(self.out_fd, {"op": "ready", "isolation": self.isolation, "notes": self.notes})
        while True:
            try:
                req = read_frame(self.in_fd)
            except (OSError, ValueError):
                return
            if req is None or req.get("op") == "exit":
                return
            t0 = time.monotonic()
            try:
                resp = self.handle(req)
            except Exception as exc:  # the sandbox itself failed: say so, keep serving  # noqa: BLE001 (the program's own exceptions, any kind, must not escape here)
                resp = {"status": "error", "reason": f"sandbox server: {error_text(exc)}"}
                self.cleanup()
            resp.setdefault("duration_s", time.monotonic() - t0)
            resp["id"] = req.get("id")
            resp["isolation"] = self.isolation
            write_frame(self.out_fd, resp)

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
        if mode not in ("script", "call", "cases", "statements"):
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
            if mode == "statements":
                return {
                    "status": "failed",
                    "reason": "source does not compile",
                    "load_error": f"source: {error_text(exc)}",
                    "completed": 0,
                    "results": [],
                }
            return {
                "status": "exception",
                "reason": "source does not compile",
                "error": error_text(exc),
            }
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

    # -- one execution -----------------------------------------------------------------------
    def execute(self, req: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
        nonce = os.urandom(16).hex()
        work = self.prepare_work()
        in_r, in_w = big_pipe()
        out_r, out_w = big_pipe()
        err_r, err_w = big_pipe()
        ch_r, ch_w = big_pipe()
        wall = float(limits["wall_s"])
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 70
            try:
                for fd in (in_w, out_r, err_r, ch_r, self.in_fd, self.out_fd):
                    os.close(fd)
                ch = self.enter_child(work, limits, in_r, out_w, err_w, ch_w)
                code = self.run_child(req, Channel(ch, nonce))
            except BaseException as exc:  # report the setup failure on stderr, not as a verdict  # noqa: BLE001 (the program's own exceptions, any kind, must not escape here)
                with contextlib.suppress(OSError):
                    os.write(2, f"sandbox child setup failed: {error_text(exc)}\n".encode())
            finally:
                flush()
                os._exit(code)
        for fd in (in_r, out_w, err_w, ch_w):
            os.close(fd)
        cap_out, cap_err = int(limits["stdout_bytes"]), int(limits["stderr_bytes"])
        chan_cap = max(4 * cap_out, 8 * 1024 * 1024)
        sinks = {
            out_r: Sink("stdout", cap_out),
            err_r: Sink("stderr", cap_err),
            ch_r: Sink("channel", chan_cap),
        }
        try:
            status, stopped, rusage = supervise(
                pid, sinks, in_w, req.get("stdin", "").encode(), t0 + wall
            )
            duration = time.monotonic() - t0
            self.cleanup()
            drain(sinks)
        finally:
            for fd in sinks:
                os.close(fd)
            self.release_work(work)
        msgs = messages(bytes(sinks[ch_r].data), nonce)
        res: dict[str, Any] = {
            "duration_s": duration,
            "stdout": text(sinks[out_r].data),
            "stderr": text(sinks[err_r].data),
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu_s": (rusage.ru_utime + rusage.ru_stime) if rusage else None,
        }
        if any(s.overflow for s in sinks.values()):  # also what arrived while draining
            stopped = stopped or "output_limit"
        res.update(verdict(req, limits, status, stopped, msgs, sinks, res))
        return res

    def enter_child(
        self, work: str, limits: dict[str, Any], in_r: int, out_w: int, err_w: int, ch_w: int
    ) -> int:
        """Set up the forked child: stdio, the hidden channel fd, rlimits, uid, seccomp, env."""
        os.setsid()
        os.dup2(in_r, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        hidden = 200 + int.from_bytes(os.urandom(2), "big") % 800
        ch = fcntl.fcntl(ch_w, fcntl.F_DUPFD_CLOEXEC, hidden)
        os.closerange(3, ch)
        os.closerange(ch + 1, 65536)
        os.chdir(work)
        mb = 1024 * 1024
        cpu = max(1, int(float(limits["cpu_s"]) + 0.999))
        values = {
            "CPU": (cpu, cpu + 1),
            "AS": (int(limits["memory_mb"]) * mb,) * 2,
            "FSIZE": (int(limits["file_size_mb"]) * mb,) * 2,
            "NOFILE": (int(limits["open_files"]),) * 2,
            "CORE": (0, 0),
        }
        for name in _RLIMITS:
            resource.setrlimit(getattr(resource, "RLIMIT_" + name), values[name])
        if self.uid is not None and os.geteuid() != self.uid:
            os.setgroups([])
            os.setresgid(self.gid, self.gid, self.gid)
            os.setresuid(self.uid, self.uid, self.uid)
        procs = int(limits["processes"])
        resource.setrlimit(resource.RLIMIT_NPROC, (procs, procs))  # after the uid switch
        os.environ.clear()
        os.environ.update(
            {
                "HOME": work,
                "TMPDIR": work,
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "LANG": "C.UTF-8",
            }
        )
        # The interpreter's own std streams are bound to fds 0-2, which now are the pipes; the
        # zygote never used them, so their buffers are empty.
        for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
            stream = getattr(sys, "__" + name + "__")
            if stream is None:
                stream = open(fd, mode, encoding="utf-8", closefd=False)  # noqa: SIM115 (the stream lives as long as the process)
            setattr(sys, name, stream)
        sys.argv = ["main.py"]
        sys.path.insert(0, work)
        random.seed(os.urandom(32))
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return ch

    def run_child(self, req: dict[str, Any], chan: Channel) -> int:
        if req.get("language") == "native":
            return native.run_child(req, chan)
        mode = req["mode"]
        if mode == "script":
            return runners.child_script(req, chan)
        if mode == "call":
            return runners.child_call(req, chan)
        if mode == "statements":
            return runners.child_statements(req, chan)
        return runners.child_call_cases(req, chan, self.cfg)

    # -- work dir and cleanup ----------------------------------------------------------------
    def prepare_work(self) -> str:
        if self.shared_work:
            return self.work
        import tempfile

        path = tempfile.mkdtemp(prefix="assay-work-", dir=self.cfg.get("work_parent"))
        if self.uid is not None:
            os.chown(path, self.uid, self.gid)
        return path

    def release_work(self, work: str) -> None:
        empty_dir(work)
        for extra in self.cfg.get("wipe") or ():  # e.g. the container's /dev/shm
            empty_dir(extra)
        if not self.shared_work:
            os.rmdir(work)

    def cleanup(self) -> None:
        """Kill every process the execution left behind and reap it."""
        if self.pid_ns:
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
            while True:
                try:
                    os.waitpid(-1, 0)
                except ChildProcessError:
                    return
        # No pid namespace: we are a child subreaper; kill our children (orphans land here).
        for _ in range(1000):
            kids = children()
            if not kids:
                break
            for kid in kids:
                for target in (-kid, kid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(target, signal.SIGKILL)
            reap()
        reap()
