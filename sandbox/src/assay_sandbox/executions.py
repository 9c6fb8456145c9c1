"""One execution, as a session runs it: fork, supervise, kill, clean up (the zygote's half).

Stdlib-only (shipped into the sandbox). `Executions` is the part of `assay_sandbox.zygote.Zygote`
that runs one program: pipes and a verdict channel (made ahead while the session waits), the fork into the sandbox (`assay_sandbox.child`), supervision
(`assay_sandbox.supervise`), the verdict (`assay_sandbox.verdicts`), and the cleanup: processes
killed at once, the work dir and IPC objects removed by `tidy`, before the request's next
execution or after the session has handed over to the next one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import Any

from assay_sandbox import native, runners, testrun
from assay_sandbox.child import enter_child
from assay_sandbox.cleanup import empty_dir, health, kill_all, remove_ipc
from assay_sandbox.framing import read_tests_frame, skip_frame
from assay_sandbox.runners import Channel, error_text, flush
from assay_sandbox.supervise import Sink, drain, execution_pipes, execution_sinks, supervise
from assay_sandbox.verdicts import base_fields, messages, tests_verdict, verdict


class Executions:
    """Runs executions for a session; `assay_sandbox.zygote.Zygote` sets the attributes."""

    cfg: dict[str, Any]
    layers: list[str]
    in_fd: int
    out_fd: int
    uid: int | None
    gid: int | None
    pid_ns: bool
    shared_work: bool
    work: str
    sick: str | None
    follow_pending: bool
    baton: int | None
    reaped: int | None
    dirty: list[str]
    spare: tuple[tuple[int, int], ...] | None

    # -- one execution -----------------------------------------------------------------------
    def _fork(
        self,
        work: str,
        limits: dict[str, Any],
        stdio: tuple[int, int, int],
        keep: list[int],
        close: list[int],
        run: Any,
        trusted: bool = False,
        first: Any = None,
    ) -> int:
        """Fork a child that enters the sandbox and calls ``run(*kept_fds)``; never returns there.

        ``first`` runs in the child before anything else (while it still holds the request fd).
        """
        pid = os.fork()
        if pid:
            return pid
        code = 70
        try:
            if first is not None:
                first()
            for fd in (*close, self.in_fd, self.out_fd):
                os.close(fd)
            for own in (self.baton, self.reaped):  # the session's pipes to the zygote
                if own is not None:
                    os.close(own)
            fds = enter_child(work, limits, self.uid, self.gid, stdio, keep, trusted)
            code = run(*fds)
        except BaseException as exc:  # noqa: BLE001 (a setup failure goes to stderr, never into a verdict)
            with contextlib.suppress(OSError):
                os.write(2, f"sandbox child setup failed: {error_text(exc)}\n".encode())
        finally:
            flush()
            os._exit(code)

    def _memory_cap(self, limits: dict[str, Any]) -> int:
        """The cap over the program and all its children (pid namespace only: /proc is ours)."""
        return int(limits["memory_mb"]) * 1024 * 1024 if self.pid_ns else 0

    def execution_fds(self) -> tuple[tuple[int, int], ...]:
        """(stdin, stdout, stderr, channel) pairs: the spare ones made ahead, else new ones."""
        fds, self.spare = self.spare, None
        return fds or execution_pipes()

    def execute(self, req: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
        nonce = os.urandom(16).hex()
        work = self.prepare_work()
        (in_r, in_w), (out_r, out_w), (err_r, err_w), (ch_r, ch_w) = self.execution_fds()
        t0 = time.monotonic()
        pid = self._fork(
            work,
            limits,
            (in_r, out_w, err_w),
            [ch_w],
            [in_w, out_r, err_r, ch_r],
            lambda ch: self.run_child(req, Channel(ch, nonce)),
        )
        for fd in (in_r, out_w, err_w, ch_w):
            os.close(fd)
        sinks = execution_sinks(limits, out_r, err_r, ch_r, pid)
        try:
            status, stopped, rusage = supervise(
                pid,
                sinks,
                in_w,
                req.get("stdin", "").encode(),
                t0 + float(limits["wall_s"]),
                self._memory_cap(limits),
            )
            duration = time.monotonic() - t0
            self.finish(sinks, work)
        finally:
            for fd in sinks:
                os.close(fd)
        msgs = messages(bytes(sinks[ch_r].data), nonce)
        res = base_fields(duration, sinks, out_r, err_r, status, rusage)
        if any(s.overflow for s in sinks.values()):  # also what arrived while draining
            stopped = stopped or "output_limit"
        res.update(verdict(req, limits, status, stopped, msgs, sinks, res))
        return res

    def execute_tests(self, req: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
        """The candidate's process and the trusted test runner (see `assay_sandbox.testrun`)."""
        nonce = os.urandom(16).hex()
        work = self.prepare_work()
        (in_r, in_w), (out_r, out_w), (err_r, err_w), (ch_r, ch_w) = self.execution_fds()
        os.close(in_w)  # neither reads stdin
        ctl_t, ctl_c = (s.detach() for s in socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM))
        t0 = time.monotonic()
        stdio = (in_r, out_w, err_w)
        # The runner first: it reads the test code (the request's second frame) itself, before it
        # drops its privileges; the zygote, and so the candidate forked from it, never holds it.
        runner = self._fork(
            work,
            limits,
            stdio,
            [ch_w, ctl_t],
            [out_r, err_r, ch_r, ctl_c],
            lambda ch, ctl: testrun.run_tests(testrun.compile_tests(req), Channel(ch, nonce), ctl),
            trusted=True,
            first=lambda: req.update(read_tests_frame(self.in_fd)),
        )
        self.follow_pending = False
        cand = self._fork(
            work,
            limits,
            stdio,
            [ctl_c],
            [out_r, err_r, ch_r, ch_w, ctl_t],
            lambda ctl: testrun.run_candidate(req, ctl),
        )
        for fd in (in_r, out_w, err_w, ch_w, ctl_t, ctl_c):
            os.close(fd)
        sinks = execution_sinks(limits, out_r, err_r, ch_r, runner)
        try:
            status, stopped, rusage = supervise(
                runner,
                sinks,
                None,
                b"",
                t0 + float(limits["wall_s"]),
                self._memory_cap(limits),
            )
            duration = time.monotonic() - t0
            cand_status = None
            with contextlib.suppress(ChildProcessError):
                done, st = os.waitpid(cand, os.WNOHANG)
                cand_status = st if done else None
            self.finish(sinks, work)
        finally:
            for fd in sinks:
                os.close(fd)
        msgs = messages(bytes(sinks[ch_r].data), nonce)
        res = base_fields(duration, sinks, out_r, err_r, status, rusage)
        if any(s.overflow for s in sinks.values()):
            stopped = stopped or "output_limit"
        res.update(tests_verdict(req, limits, status, stopped, msgs, sinks, cand_status))
        return res

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

    def discard_follow(self) -> None:
        """Skip the request's second frame (test code no runner read), keeping none of it."""
        self.follow_pending = False
        skip_frame(self.in_fd)

    # -- work dir, cleanup, health -------------------------------------------------------------
    def prepare_work(self) -> str:
        self.tidy()  # the request's earlier execution, if any
        if self.reaped is not None:  # no program runs while the session before is still there
            os.read(self.reaped, 1)
            os.close(self.reaped)
            self.reaped = None
        if self.shared_work:
            return self.work
        import tempfile

        path = tempfile.mkdtemp(prefix="assay-work-", dir=self.cfg.get("work_parent"))
        if self.uid is not None:
            os.chown(path, self.uid, self.gid if self.gid is not None else -1)
        return path

    def finish(self, sinks: dict[int, Sink], work: str) -> None:
        """After an execution: kill what is left and read the pipes dry. The work dir and IPC
        objects are cleaned by `tidy`: before the request's next execution, or after the baton
        is passed (the next session cannot start an execution before this one has answered)."""
        kill_all(self.pid_ns)
        drain(sinks)
        self.dirty.append(work)

    def tidy(self) -> None:
        """Empty the work dirs of the executions so far, remove their IPC objects, check health."""
        if not self.dirty:
            return
        clean = True
        for work in self.dirty:
            clean = empty_dir(work) and clean
        for extra in self.cfg.get("wipe") or ():  # e.g. the container's /dev/shm
            clean = empty_dir(extra) and clean
        if "namespaces" in self.layers or self.cfg.get("container"):
            remove_ipc(None)  # the worker's own IPC namespace: everything in it goes
        elif self.uid is not None:  # the host's: what the program's uid made
            remove_ipc(self.uid)
        sick = health(self.dirty[-1], self.pid_ns) or (None if clean else "cleanup failed")
        self.sick = self.sick or sick
        if not self.shared_work:
            for work in self.dirty:
                with contextlib.suppress(OSError):
                    os.rmdir(work)
        self.dirty = []
