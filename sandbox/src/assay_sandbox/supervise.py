"""Supervision of one running program (by the supervisor, or the zygote): pipes, deadline, caps.

Stdlib-only (shipped into the sandbox). `supervise` sleeps on the child's pidfd with the wall-clock
deadline, feeds stdin, empties the output pipes into bounded `Sink`s every `TICK_S`, and (with
``memory_cap``) stops the run when the memory of every process in the sandbox together (resident
anonymous and shared pages, SysV segments; memfds are denied by the seccomp filter) passes the
cap: the fallback for a memory cap over a program and all its children where no
cgroup v2 is available. A `ChannelSink` keeps only what the channel's owner process wrote.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import socket
import struct
import time
from collections.abc import Callable
from typing import Any


class Sink:
    """Bytes read from one pipe, up to a cap (past it, ``overflow`` is set and reading stops)."""

    def __init__(self, name: str, cap: int) -> None:
        self.name, self.cap, self.data, self.overflow = name, cap, bytearray(), False

    def feed(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if len(chunk) > room:
            self.data += chunk[: max(room, 0)]
            self.overflow = True
        else:
            self.data += chunk

    def read(self, fd: int) -> bytes | None:
        """Up to 64 KiB; b"" at EOF; None when what was read is not kept."""
        return os.read(fd, 65536)


_CRED = struct.Struct("iII")  # struct ucred: pid, uid, gid


class ChannelSink(Sink):
    """The verdict channel: a Unix stream socket whose reader sees each writer's pid.

    The kernel attaches the sender's credentials to what it writes (``SO_PASSCRED``) and never
    merges two writers' bytes in one read, so bytes from any process but ``owner`` (a forked
    child that inherited the socket, say) are dropped here.
    """

    def __init__(self, name: str, cap: int, owner: int) -> None:
        super().__init__(name, cap)
        self.owner = owner
        self.foreign = 0  # bytes dropped because another process wrote them

    def read(self, fd: int) -> bytes | None:
        sock = socket.socket(fileno=fd)
        try:
            data, anc, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(_CRED.size))
        finally:
            sock.detach()
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = _CRED.unpack(payload[: _CRED.size])[0]
        if data and pid != self.owner:
            self.foreign += len(data)
            if self.foreign > self.cap:  # a flood from elsewhere stops the run like output does
                self.overflow = True
            return None
        return data


def channel_pair() -> tuple[int, int]:
    """(reader, writer) of a verdict channel: the reader learns each writer's pid."""
    r, w = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return r.detach(), w.detach()


def _anon_pages(pid: int | str) -> int:
    """Resident pages of ``pid`` that are not file-backed (``statm``: anyone may read it)."""
    with open(f"/proc/{pid}/statm", "rb") as f:
        fields = f.read().split()
    return int(fields[1]) - int(fields[2])


def execution_sinks(
    limits: dict[str, Any], out_r: int, err_r: int, ch_r: int, owner: int
) -> dict[int, Sink]:
    """The sinks of one execution: stdout, stderr, and the channel only ``owner`` may write."""
    cap_out, cap_err = int(limits["stdout_bytes"]), int(limits["stderr_bytes"])
    return {
        out_r: Sink("stdout", cap_out),
        err_r: Sink("stderr", cap_err),
        ch_r: ChannelSink("channel", max(4 * cap_out, 8 * 1024 * 1024), owner),
    }


def tree_memory(zygote: int, uid: int | None = None) -> int:
    """Estimated private resident bytes of every process in /proc but ``zygote`` and pid 1
    (with ``uid``: of every process running as ``uid``).

    Inside the worker's pid namespace that is exactly the running program and its children.
    Exact figures (PSS) need ptrace rights over the program, which the zygote lacks, so each
    process counts its resident anonymous pages minus the zygote's own: a fork shares those with
    the zygote until it writes them. A fork bomb of idle children costs next to nothing; children
    that each fill memory add up.
    """
    page = os.sysconf("SC_PAGE_SIZE")
    try:
        base = _anon_pages(zygote)
    except (OSError, ValueError, IndexError):
        base = 0
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (zygote, 1):  # the zygote(s)
            continue
        try:
            shmem, owner = _status_fields(entry)
            if uid is not None and owner != uid:
                continue
            total += max(0, _anon_pages(entry) - base) * page + shmem
        except (OSError, ValueError, IndexError):
            continue
    return total + _sysv_shm()


def _status_fields(pid: str) -> tuple[int, int | None]:
    """Shared-memory bytes ``pid`` has mapped (a memfd or shm segment written through a
    mapping: resident, but not anonymous, so `_anon_pages` leaves them out), and its real uid."""
    shmem, uid = 0, None
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"Uid:"):
                uid = int(line.split()[1])
            elif line.startswith(b"RssShmem:"):
                shmem = int(line.split()[1]) * 1024
    return shmem, uid


def _sysv_shm() -> int:
    """Bytes of SysV shared memory segments (the worker's own IPC namespace: all the program's)."""
    try:
        with open("/proc/sysvipc/shm", "rb") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return 0
    return sum(int(row.split()[3]) for row in rows if len(row.split()) > 3)


MEMORY_EVERY = 5  # ticks between two looks at the tree's memory


def _nonblock(fd: int) -> None:
    os.set_blocking(fd, False)


TICK_S = 0.02  # how often a running program's pipes are emptied
F_SETPIPE_SZ = 1031


def _pipe_max() -> int:
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            return min(int(f.read()), 1 << 20)
    except (OSError, ValueError):
        return 0


PIPE_SIZE = _pipe_max()


def big_pipe() -> tuple[int, int]:
    """A pipe with a large buffer (up to 1 MiB), so a program rarely waits for its reader."""
    r, w = os.pipe()
    if PIPE_SIZE:
        with contextlib.suppress(OSError):
            fcntl.fcntl(r, F_SETPIPE_SZ, PIPE_SIZE)
    return r, w


def execution_pipes() -> tuple[tuple[int, int], ...]:
    """stdin, stdout and stderr pipes and a verdict channel: one execution's (read, write) pairs.

    The zygote makes a standby's while no request waits for it (see `assay_sandbox.standby`)."""
    return big_pipe(), big_pipe(), big_pipe(), channel_pair()


class Ended:
    """What a child's last channel message (``{"t": "end"}``, see `end_of`) says of it: the
    exit code it is about to exit with and the CPU time it used, in place of `os.wait4`'s."""

    def __init__(self, code: int, cpu: float) -> None:
        self.ru_utime, self.ru_stime = cpu, 0.0
        self.status = (code & 0xFF) << 8  # a wait status: exited with ``code``


def end_of(channel: Sink, prefix: bytes) -> Ended | None:
    """The end message, when it is the last line the channel's owner wrote."""
    data = channel.data
    if not data.endswith(b"\n"):
        return None
    cut = data.rfind(b"\n", 0, len(data) - 1)
    line = bytes(data[cut + 1 : -1])
    if not line.startswith(prefix):
        return None
    try:
        msg = json.loads(line[len(prefix) :])
    except ValueError:
        return None
    if not isinstance(msg, dict) or msg.get("t") != "end":
        return None
    code, cpu = msg.get("code"), msg.get("cpu")
    if type(code) is not int or not isinstance(cpu, (int, float)) or isinstance(cpu, bool):
        return None
    return Ended(code, float(cpu))


def supervise(
    pid: int,
    sinks: dict[int, Sink],
    stdin_fd: int | None,
    stdin_data: bytes,
    deadline: float,
    memory_cap: int = 0,
    end: tuple[int, int, bytes] | None = None,
    wait: Callable[[int], tuple[int, Any]] | None = None,
    base: int | None = None,
    uid: int | None = None,
    pidfd: int | None = None,
) -> tuple[int, str | None, Any]:
    """Wait until ``pid`` exits, the deadline passes or a sink overflows; feed stdin meanwhile.

    It sleeps on the child's pidfd only, not on its output pipes: a program's every
    write would otherwise wake it (on a loaded machine each wake-up is a trip through
    the scheduler). The pipes are large and emptied every `TICK_S`, and once more at the end.
    With ``end`` (the read end of a pipe only the child holds, the channel's fd, its nonce
    prefix) it also wakes once when that pipe closes, and stops if the channel's last message is
    the child's end message, sent after its output is flushed: the child's exit and reaping
    (most of a short run's cost) then come after the answer (see `assay_sandbox.executions`).
    A child that closes the pipe early, or whose children keep it open, is waited for as usual.
    Returns (wait status, why it was stopped, rusage; an `Ended` when the end message came
    first); the caller closes the reader fds. ``wait`` gets an ended child's status and usage
    where ``pid`` is not our child (the supervisor's standbys: the zygote reaps them), with its
    ``pidfd`` opened before it started (it may be reaped by now); ``base`` and ``uid`` are
    `tree_memory`'s. ``pidfd`` is closed here.
    """
    wait = wait or _wait4
    if pidfd is None:
        pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    if end is not None:
        poller.register(end[0], select.POLLIN)
    channel = sinks[end[1]] if end is not None else None
    for fd in sinks:
        _nonblock(fd)
    pending = memoryview(stdin_data)
    if stdin_fd is not None:
        _nonblock(stdin_fd)
        pending = _feed(stdin_fd, pending)
        if pending:
            poller.register(stdin_fd, select.POLLOUT)
        else:
            os.close(stdin_fd)
            stdin_fd = None
    stopped: str | None = None
    status: int | None = None
    ticks = 0
    rusage = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                stopped = "timeout"
                break
            events = poller.poll(max(1, int(min(left, TICK_S) * 1000)))
            if any(fd == pidfd for fd, _ in events):
                status, rusage = wait(pid)
                break
            if end is not None and channel is not None and any(fd == end[0] for fd, _ in events):
                poller.unregister(end[0])  # once: it stays readable (closed) from now on
                drain({end[1]: channel})
                rusage = end_of(channel, end[2])
                if rusage is not None:
                    status = rusage.status
                    break
            if stdin_fd is not None and events:
                pending = _feed(stdin_fd, pending)
                if not pending:
                    poller.unregister(stdin_fd)
                    os.close(stdin_fd)
                    stdin_fd = None
            drain(sinks)
            if any(sink.overflow for sink in sinks.values()):
                stopped = "output_limit"
                break

            ticks += 1
            if (
                memory_cap
                and ticks % MEMORY_EVERY == 0
                and tree_memory(os.getpid() if base is None else base, uid) > memory_cap
            ):
                stopped = "memory"
                break
        if status is None:
            with contextlib.suppress(ProcessLookupError):  # it has just ended by itself
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            select.select([pidfd], [], [])  # until it has exited
            status, rusage = wait(pid)
    finally:
        os.close(pidfd)
        if stdin_fd is not None:
            os.close(stdin_fd)
    return status, stopped, rusage


def _wait4(pid: int) -> tuple[int, Any]:
    _, status, rusage = os.wait4(pid, 0)
    return status, rusage


def _feed(fd: int, pending: memoryview) -> memoryview:
    """Write as much of ``pending`` as the pipe takes now; the rest is returned."""
    while pending:
        try:
            n = os.write(fd, pending[: 1 << 20])
        except (BlockingIOError, InterruptedError):
            return pending
        except OSError:  # the program closed its stdin: the rest is dropped
            return pending[:0]
        pending = pending[n:]
    return pending


def drain(sinks: dict[int, Sink]) -> None:
    """Read what is left in each pipe without blocking (writers are dead or killed)."""
    for fd, sink in sinks.items():
        while not sink.overflow:
            try:
                chunk = sink.read(fd)
            except (BlockingIOError, InterruptedError, OSError):
                break
            if chunk is None:
                continue
            if not chunk:
                break
            sink.feed(chunk)


def text(b: bytes | bytearray) -> str:
    return bytes(b).decode("utf-8", "replace")


def signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
