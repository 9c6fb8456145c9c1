"""One execution, as the supervisor runs it: start, supervise, verdict, then kill and clean up.

Stdlib-only (shipped into the sandbox). `Executions` is the part of `assay_sandbox.zygote.Zygote`
that runs one program: its child (`assay_sandbox.child`), supervision
(`assay_sandbox.supervise`), the verdict (`assay_sandbox.verdicts`), and the cleanup (`tidy`:
every process killed and reaped, the work dir and IPC objects removed, the worker's health
checked), before the request's next execution or after the answer.

Where programs run under a uid of their own, the supervisor hands each execution to a standby
child that the zygote forked ahead (`assay_sandbox.standby`): no fork, no page copies of a
fresh process and no exit lie on the request's path, and a child that sends its end message
(after its output is flushed) is answered for before it is reaped. Every process of an
execution runs as the sandbox uid and nothing else in the worker does, so the cleanup kills by
uid. Where programs share the zygote's uid (the docker backend), the zygote serves requests
itself and forks each child on demand (`Executions._fork`).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import time
from typing import Any

from assay_sandbox import native, runners, testrun
from assay_sandbox.child import enter_child
from assay_sandbox.cleanup import empty_dir, health, kill_all, kill_uid, remove_ipc
from assay_sandbox.framing import read_tests_frame, skip_frame
from assay_sandbox.runners import Channel, error_text, flush
from assay_sandbox.standby import Standby, Standbys, Usage, encode_payload
from assay_sandbox.supervise import Sink, drain, execution_pipes, execution_sinks, supervise
from assay_sandbox.verdicts import base_fields, messages, tests_verdict, verdict


def _exited(pidfd: int) -> bool:
    return bool(select.select([pidfd], [], [], 0)[0])


class Executions:
    """Runs executions for the zygote or the supervisor; `assay_sandbox.zygote.Zygote` sets the
    attributes (``standbys`` only in the supervisor)."""

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
    dirty: list[str]
    unreaped: bool
    standbys: Standbys | None

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

    def _wait(self, pid: int) -> tuple[int, Any]:
        """The wait status and usage of an ended child: the zygote's, when we supervise."""
        if self.standbys is None:
            _, status, rusage = os.wait4(pid, 0)
            return status, rusage
        status, cpu = self.standbys.status(pid)
        return status, Usage(cpu)

    def _start(
        self,
        role: str,
        req: dict[str, Any],
        limits: dict[str, Any],
        nonce: str | None,
        fd: int | None = None,
    ) -> tuple[Standby, int]:
        """A standby running ``req`` in ``role`` now (see `assay_sandbox.standby`), and its
        pidfd, opened while it still waited: a quick run may be over and reaped by the zygote
        before this returns."""
        assert self.standbys is not None
        work = self.new_work()
        if work not in self.dirty:
            self.dirty.append(work)
        self.unreaped = True
        payload = encode_payload((role, req, limits, nonce, "" if self.shared_work else work))
        standby = self.standbys.take()
        pidfd = os.pidfd_open(standby.pid)
        if not standby.launch(payload, fd):
            os.close(pidfd)
            standby.close()
            raise OSError(f"standby {standby.pid} was gone")
        return standby, pidfd

    def execute(self, req: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
        nonce = os.urandom(16).hex()
        if self.standbys is None:
            return self._execute_forked(req, limits, nonce)
        self.tidy()  # the request's earlier execution, if any
        child_req = {k: v for k, v in req.items() if k != "stdin"}
        standby, pidfd = self._start("program", child_req, limits, nonce)
        t0 = time.monotonic()
        sinks = execution_sinks(
            limits, standby.stdout, standby.stderr, standby.channel, standby.pid
        )
        try:
            status, stopped, rusage = supervise(
                standby.pid,
                sinks,
                standby.stdin,
                req.get("stdin", "").encode(),
                t0 + float(limits["wall_s"]),
                self._memory_cap(limits),
                end=(standby.end, standby.channel, (nonce + " ").encode()),
                wait=self._wait,
                base=os.getppid(),
                uid=self.uid,
                pidfd=pidfd,
            )
            duration = time.monotonic() - t0
            drain(sinks)
        finally:
            for fd in (*sinks, standby.end):
                os.close(fd)
        return self._verdict(
            req,
            limits,
            nonce,
            sinks,
            standby.stdout,
            standby.stderr,
            standby.channel,
            duration,
            status,
            stopped,
            rusage,
        )

    def _execute_forked(
        self, req: dict[str, Any], limits: dict[str, Any], nonce: str
    ) -> dict[str, Any]:
        work = self.prepare_work()
        (in_r, in_w), (out_r, out_w), (err_r, err_w), (ch_r, ch_w) = execution_pipes()
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
        return self._verdict(
            req, limits, nonce, sinks, out_r, err_r, ch_r, duration, status, stopped, rusage
        )

    def _verdict(
        self,
        req: dict[str, Any],
        limits: dict[str, Any],
        nonce: str,
        sinks: dict[int, Sink],
        out_r: int,
        err_r: int,
        ch_r: int,
        duration: float,
        status: int,
        stopped: str | None,
        rusage: Any,
    ) -> dict[str, Any]:
        msgs = messages(bytes(sinks[ch_r].data), nonce)
        res = base_fields(duration, sinks, out_r, err_r, status, rusage)
        if any(s.overflow for s in sinks.values()):  # also what arrived while draining
            stopped = stopped or "output_limit"
        res.update(verdict(req, limits, status, stopped, msgs, sinks, res))
        return res

    def execute_tests(self, req: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
        """The candidate's process and the trusted test runner (see `assay_sandbox.testrun`)."""
        if self.standbys is None:
            return self._execute_tests_forked(req, limits)
        nonce = os.urandom(16).hex()
        # The test code (the request's second frame) goes to the runner's payload only: the
        # candidate's never holds it, and no process is ever forked from this one.
        tests = read_tests_frame(self.in_fd)
        self.follow_pending = False
        runner_req = {k: v for k, v in req.items() if k != "stdin"}
        runner_req.update(tests)
        testrun.compile_tests(runner_req)  # here, warm, rather than in the runner's fresh fork
        cand_req = {k: v for k, v in req.items() if k not in ("stdin", "statements", "setup")}
        self.tidy()
        ctl_t, ctl_c = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            runner, pidfd = self._start("runner", runner_req, limits, nonce, ctl_t.fileno())
            del runner_req, tests
            cand, cand_fd = self._start("candidate", cand_req, limits, None, ctl_c.fileno())
        finally:
            ctl_t.close()
            ctl_c.close()
        t0 = time.monotonic()
        for fd in (runner.stdin, cand.stdin):  # neither reads stdin
            os.close(fd)
        sinks = execution_sinks(limits, runner.stdout, runner.stderr, runner.channel, runner.pid)
        sinks[cand.stdout], sinks[cand.stderr] = sinks[runner.stdout], sinks[runner.stderr]
        try:
            status, stopped, rusage = supervise(
                runner.pid,
                sinks,
                None,
                b"",
                t0 + float(limits["wall_s"]),
                self._memory_cap(limits),
                end=(runner.end, runner.channel, (nonce + " ").encode()),
                wait=self._wait,
                base=os.getppid(),
                uid=self.uid,
                pidfd=pidfd,
            )
            duration = time.monotonic() - t0
            cand_status = self._wait(cand.pid)[0] if _exited(cand_fd) else None
            drain(sinks)
        finally:
            for fd in (*sinks, runner.end, cand.end, cand_fd):
                os.close(fd)
        msgs = messages(bytes(sinks[runner.channel].data), nonce)
        res = base_fields(duration, sinks, runner.stdout, runner.stderr, status, rusage)
        if any(s.overflow for s in sinks.values()):
            stopped = stopped or "output_limit"
        res.update(tests_verdict(req, limits, status, stopped, msgs, sinks, cand_status))
        return res

    def _execute_tests_forked(self, req: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
        nonce = os.urandom(16).hex()
        work = self.prepare_work()
        (in_r, in_w), (out_r, out_w), (err_r, err_w), (ch_r, ch_w) = execution_pipes()
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
        return self.new_work()

    def new_work(self) -> str:
        """The work dir of an execution: the worker's own, or a fresh one owned by the uid."""
        if self.shared_work:
            return self.work
        import tempfile

        path = tempfile.mkdtemp(prefix="assay-work-", dir=self.cfg.get("work_parent"))
        if self.uid is not None:
            os.chown(path, self.uid, self.gid if self.gid is not None else -1)
        return path

    def finish(self, sinks: dict[int, Sink], work: str) -> None:
        """After a forked execution: kill what is left and read the pipes dry. The work dir and
        IPC objects are cleaned by `tidy`, before the request's next execution or the answer."""
        kill_all(self.pid_ns)
        drain(sinks)
        self.dirty.append(work)

    def reap(self) -> None:
        """Kill every process of the executions that the supervisor answered for while they
        were alive (their uid's, and nobody else's), and wait until the zygote has reaped them."""
        if self.unreaped:
            self.unreaped = False
            if self.uid is not None and not kill_uid(self.uid):
                self.sick = self.sick or "processes of the sandbox uid survived the cleanup"

    def tidy(self) -> None:
        """Kill and reap what is left, empty the work dirs of the executions so far, remove
        their IPC objects, check health."""
        self.reap()
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
        sick = health(self.dirty[-1], self.pid_ns, self.uid if self.standbys else None)
        sick = sick or (None if clean else "cleanup failed")
        self.sick = self.sick or sick
        if not self.shared_work:
            for work in self.dirty:
                with contextlib.suppress(OSError):
                    os.rmdir(work)
        self.dirty = []
