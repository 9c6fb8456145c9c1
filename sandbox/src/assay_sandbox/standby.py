"""Standby children: forked by the zygote ahead of the requests, handed one by the supervisor.

Stdlib-only (shipped into the sandbox). Where programs run under a uid of their own, a worker is
two long-lived processes (see `assay_sandbox.zygote`): the *zygote*, which never reads a request,
and the *supervisor*, which reads them, runs them and answers. Every process that runs a
program is forked from the zygote, so no candidate ever finds another request's program or tests
in its memory, not even as freed bytes; the supervisor, which holds them, is never forked.

`Factory` is the zygote's side: on the supervisor's word it forks a *standby* (`_standby`), sends
the supervisor the standby's pid and its pipes' far ends (``SCM_RIGHTS``), reaps every child
and tells the supervisor how any of them ended. A standby runs no part of any request while it
waits: it detaches (new process session, stdio on its pipes, fds hidden), rehearses a fixed
request (`_rehearse`), settles (environment, streams) and reads its private *go* socket. The
supervisor sends it one payload (`encode_payload`): its role, the compiled request, the limits
and the channel's nonce, and for a ``tests`` execution the control socket between the test
runner and the candidate. Only then does it switch to the sandbox uid, set the request's
limits and run. Until that switch it runs as the zygote's uid, so no program can signal it,
trace it or read its memory.
"""

from __future__ import annotations

import collections
import contextlib
import copyreg
import io
import json
import marshal
import os
import pickle
import select
import signal
import socket
import types
from typing import Any

from assay_sandbox import runners, testrun
from assay_sandbox.child import detach, set_limits, settle, switch_uid
from assay_sandbox.runners import Channel, error_text, flush, send_end
from assay_sandbox.supervise import execution_pipes

MAX_STATUSES = 4096  # exit statuses kept for the supervisor to ask about, newest last


def _reduce_code(code: types.CodeType) -> tuple[Any, tuple[bytes]]:
    return marshal.loads, (marshal.dumps(code),)


def encode_payload(obj: Any) -> bytes:
    """``obj`` for a standby: pickled, with code objects as ``marshal`` data. Both ends are
    trusted: the supervisor compiled the code, and the standby unpickles before it runs any."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, types.CodeType: _reduce_code}
    pickler.dump(obj)
    return buf.getvalue()


def _rehearsal() -> bytes:
    """A fixed statements request, no part of any real one (see `_rehearse`)."""
    code = compile("def _f(a, b):\n    return [a, b, {'a': a}]\n", "solution.py", "exec")
    stmt = compile("assert _f(1, 2)[0] == 1", "statement_0.py", "exec")
    req = {"mode": "statements", "_code": code, "_setup": code, "_statements": [stmt, stmt]}
    return encode_payload(("program", req, {}, "0" * 32, ""))


def _rehearse(payload: bytes) -> None:
    """Unpickle a fixed request and run it through the statements runner on a throw-away
    channel. A fresh fork pays a page copy for each page it first writes; a standby pays these
    while it waits, off the request's path. What is left is garbage of a fixed text."""
    _, req, _, nonce, _ = pickle.loads(payload)
    r, w = os.pipe()
    try:
        runners.child_statements(req, Channel(w, nonce))
    finally:
        os.close(r)
        os.close(w)


class Standby:
    """The supervisor's handle on a standby: its pid, the write end of its *go* socket, the
    write end of its stdin, and the read ends of its stdout, stderr, channel and *end* pipe."""

    def __init__(self, pid: int, fds: list[int]) -> None:
        self.pid = pid
        self.go, self.stdin, self.stdout, self.stderr, self.channel, self.end = fds

    def launch(self, payload: bytes, fd: int | None = None) -> bool:
        """Hand over the payload (and ``fd``); False if the standby is gone."""
        try:
            go = socket.socket(fileno=self.go)
            try:
                head = [len(payload).to_bytes(8, "big")]
                if fd is None:
                    go.sendall(head[0])
                else:
                    socket.send_fds(go, head, [fd])
                go.sendall(payload)
            finally:
                go.close()
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Close the supervisor's ends (the go socket is closed by `launch`)."""
        for fd in (self.stdin, self.stdout, self.stderr, self.channel, self.end):
            with contextlib.suppress(OSError):
                os.close(fd)


class Factory:
    """The zygote's loop once the supervisor runs: standbys on request, reaping, statuses.

    Messages are single JSON datagrams on a ``SOCK_SEQPACKET`` pair. From the supervisor:
    ``{"op": "standby"}`` and ``{"op": "status", "pid": n}``. To it: ``{"t": "standby", "pid"}`` with
    six fds, and ``{"t": "status", "pid", "status", "cpu"}``. Neither carries
    any text of a request.
    """

    def __init__(self, zygote: Any, sock: socket.socket, supervisor: int) -> None:
        self.z, self.sock, self.supervisor = zygote, sock, supervisor
        self.statuses: dict[int, tuple[int, float]] = {}
        # Children whose status the supervisor may ask for (itself and the standbys). Orphans of
        # programs, reaped here too, are forgotten: kept, they could push a standby's status
        # out of `statuses`, or (once pids wrap) stand for a later standby of the same pid.
        self.ours: set[int] = {supervisor}
        self.wake_r, self.wake_w = os.pipe()
        self.rehearsal = _rehearsal()

    def run(self) -> int:
        """Serve until the supervisor ends; returns its exit code."""
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w)
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        poller.register(self.wake_r, select.POLLIN)
        try:
            while True:
                self.reap()
                if self.supervisor in self.statuses:
                    return os.waitstatus_to_exitcode(self.statuses[self.supervisor][0])
                for fd, _ in poller.poll():
                    if fd == self.wake_r:
                        with contextlib.suppress(BlockingIOError):
                            while os.read(self.wake_r, 512):
                                pass
                    else:
                        self.command()
        except _SupervisorGone:
            return 2

    def reap(self) -> None:
        while True:
            try:
                pid, status, rusage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            if pid not in self.ours:
                continue
            self.ours.discard(pid)
            self.statuses[pid] = (status, rusage.ru_utime + rusage.ru_stime)
            while len(self.statuses) > MAX_STATUSES:
                del self.statuses[next(iter(self.statuses))]

    def command(self) -> None:
        try:
            data = self.sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            raise _SupervisorGone
        msg = json.loads(data)
        if msg.get("op") == "standby":
            self.fork_standby()
        elif msg.get("op") == "status":
            pid = int(msg["pid"])
            if pid not in self.statuses and pid in self.ours:
                with contextlib.suppress(ChildProcessError):
                    _, status, rusage = os.wait4(pid, 0)  # asked once it has ended
                    self.ours.discard(pid)
                    self.statuses[pid] = (status, rusage.ru_utime + rusage.ru_stime)
            # A pid never ours has no status: the supervisor fails loudly, it never reads one.
            known = self.statuses.pop(pid, None)
            msg = {"t": "status", "pid": pid, "status": None, "cpu": 0.0}
            if known is not None:
                msg["status"], msg["cpu"] = known
            self.sock.send(json.dumps(msg).encode())

    def adopt(self, pid: int) -> None:
        """``pid`` is a new standby: its status will be kept, and none an earlier process of
        that pid left (one never asked about) may stand for it."""
        self.statuses.pop(pid, None)
        self.ours.add(pid)

    def fork_standby(self) -> None:
        (in_r, in_w), (out_r, out_w), (err_r, err_w), (ch_r, ch_w) = execution_pipes()
        end_r, end_w = os.pipe()
        go_s, go_c = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The worker's own work dir, or none yet: a fresh one comes with the payload.
        work = self.z.work if self.z.shared_work else ""
        rehearsal = self.rehearsal
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for fd in (in_w, out_r, err_r, ch_r, end_r, go_s.fileno(), self.wake_r):
                    os.close(fd)
                os.close(self.wake_w)
                self.sock.close()
                code = _standby(
                    self.z, work, (in_r, out_w, err_w), [ch_w, go_c.detach(), end_w], rehearsal
                )
            except BaseException as exc:  # noqa: BLE001 (a setup failure goes to stderr, never into a verdict)
                with contextlib.suppress(OSError):
                    os.write(2, f"sandbox standby failed: {error_text(exc)}\n".encode())
            finally:
                flush()
                os._exit(code)
        self.adopt(pid)
        go = go_s.detach()
        go_c.close()
        for fd in (in_r, out_w, err_w, ch_w, end_w):
            os.close(fd)
        ends = [go, in_w, out_r, err_r, ch_r, end_r]
        try:
            msg = json.dumps({"t": "standby", "pid": pid}).encode()
            socket.send_fds(self.sock, [msg], ends)
        finally:
            for fd in ends:
                os.close(fd)


class _SupervisorGone(Exception):
    pass


def _read_exact(sock: socket.socket, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return b""
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _standby(
    z: Any, work: str, stdio: tuple[int, int, int], keep: list[int], rehearsal: bytes
) -> int:
    """The standby's life (in the zygote's fork): wait, then run one request. Returns the exit
    code; it never returns into the zygote's loop."""
    ch, go_fd, end = detach(work or "/", stdio, keep)
    _rehearse(rehearsal)
    del rehearsal
    if work:
        settle(work)
    go = socket.socket(fileno=go_fd)
    head, fds, _, _ = socket.recv_fds(go, 8, 1)
    if len(head) < 8:
        head += _read_exact(go, 8 - len(head)) if head else b""
    if len(head) < 8:  # never used: nothing to run
        return 0
    payload = _read_exact(go, int.from_bytes(head, "big"))
    go.close()
    if not payload:
        return 0
    role, req, limits, nonce, given = pickle.loads(payload)
    del payload
    if not work:  # a work dir of this execution's own
        work = given
        os.chdir(work)
        settle(work)
    switch_uid(work, z.uid, z.gid, trusted=role == "runner")
    set_limits(limits)
    if role == "candidate":  # the tests' candidate: no channel, only the control socket
        os.close(ch)
        os.close(end)
        return testrun.run_candidate(req, fds[0])
    chan = Channel(ch, nonce)
    code = 70
    try:
        # The runner's tests come compiled by the supervisor (warm), not in this fresh fork.
        runner = role == "runner"
        code = testrun.run_tests(req, chan, fds[0]) if runner else z.run_child(req, chan)
    finally:
        flush()
        send_end(chan, code, end)
    return code


STANDBYS = 2  # kept ready: a ``tests`` execution takes two


class Standbys:
    """The supervisor's side of `assay_sandbox.standby.Factory`: standbys asked for, received
    and handed out, and the exit statuses of the zygote's children on request."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.ready: collections.deque[Standby] = collections.deque()
        self.asked = 0
        self.statuses: dict[int, tuple[int | None, float]] = {}

    def top_up(self, want: int = STANDBYS) -> None:
        for _ in range(want - len(self.ready) - self.asked):
            self.sock.send(b'{"op":"standby"}')
            self.asked += 1

    def take(self) -> Standby:
        self.top_up(1)
        while not self.ready:
            self._receive()
        return self.ready.popleft()

    def status(self, pid: int) -> tuple[int, float]:
        """(wait status, CPU seconds) of the zygote's child ``pid``, which has ended."""
        self.sock.send(json.dumps({"op": "status", "pid": pid}).encode())
        while pid not in self.statuses:
            self._receive()
        status, cpu = self.statuses.pop(pid)
        if status is None:
            raise OSError(f"the zygote has no exit status for pid {pid}")
        return status, cpu

    def _receive(self) -> None:
        data, fds, _, _ = socket.recv_fds(self.sock, 4096, 6)
        if not data:
            raise OSError("the zygote is gone")
        msg = json.loads(data)
        if msg["t"] == "standby":
            self.asked -= 1
            self.ready.append(Standby(int(msg["pid"]), fds))
        else:
            status = msg["status"]
            self.statuses[int(msg["pid"])] = (
                None if status is None else int(status),
                float(msg["cpu"]),
            )

    def close(self) -> None:
        for standby in self.ready:
            with contextlib.suppress(OSError):
                os.close(standby.go)
            standby.close()
        self.ready.clear()


class Usage:
    """CPU seconds in the shape `assay_sandbox.verdicts.base_fields` reads from an rusage."""

    def __init__(self, cpu: float) -> None:
        self.ru_utime, self.ru_stime = cpu, 0.0
