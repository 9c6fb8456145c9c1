"""Cleanup after an execution: kill and reap what it left, remove its IPC objects, empty the
work dir, and check that the worker is clean again (its health check).

Stdlib-only (shipped into the sandbox). Nothing here recurses: a 100,000-deep directory chain or
a path longer than ``PATH_MAX`` is removed with a bounded loop over directory fds.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import stat
import time
from typing import Any

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_STEPS = 2_000_000  # directory operations per cleanup; a tmpfs of 4096 inodes needs far fewer


def _open_dir(name: str, dir_fd: int) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:  # a program made it unreadable (chmod 000): take it back
        os.chmod(name, stat.S_IRWXU, dir_fd=dir_fd, follow_symlinks=False)
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)


def empty_dir(path: str) -> bool:
    """Delete everything in ``path`` without recursion; True when it is empty afterwards.

    Walks down with one open directory fd at a time and comes back up through ``..``, checking
    that ``..`` is the directory it came from (device and inode, kept on a list as it descends),
    so neither the Python stack nor the path length grows with the depth of the tree, and the
    walk never leaves ``path``.
    """
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IRWXU)  # a program may have locked its own work dir
    top = os.open(path, _DIR_FLAGS)
    fd, steps = top, 0
    above: list[tuple[int, int]] = []  # (st_dev, st_ino) of each directory above ``fd``
    try:
        while steps < MAX_STEPS:
            with contextlib.suppress(OSError):
                os.fchmod(fd, stat.S_IRWXU)
            child = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    steps += 1
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            try:
                                os.rmdir(entry.name, dir_fd=fd)
                            except OSError:
                                child = _open_dir(entry.name, fd)
                                break
                        else:
                            os.unlink(entry.name, dir_fd=fd)
                    except FileNotFoundError:
                        continue
            if child is not None:
                here = os.fstat(fd)
                above.append((here.st_dev, here.st_ino))
                if fd != top:
                    os.close(fd)
                fd = child
                continue
            if not above:
                break  # back at ``path``, and it is empty
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            st = os.fstat(parent)
            if (st.st_dev, st.st_ino) != above.pop():  # moved under us: stop, never walk out
                os.close(parent)
                break
            os.close(fd)
            fd = parent if above else _reuse(parent, top)
            steps += 1
    except OSError:
        pass
    finally:
        if fd != top:
            os.close(fd)
        os.close(top)
    try:
        return not os.listdir(path)
    except OSError:
        return False


def _reuse(parent: int, top: int) -> int:
    """Back at the top directory: keep using ``top`` (closing the duplicate fd)."""
    os.close(parent)
    return top


def try_compile(source: str, filename: str) -> Any:
    """A code object, or the exception compiling raised (raised again when the child gets there)."""
    try:
        return compile(source, filename, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return exc


def ppid(pid: str) -> int | None:
    """The parent pid of ``pid`` (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rindex(b")") + 2 :].split()[1])


def children() -> list[int]:
    pid = os.getpid()
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.001)
            if not children():
                return


def kill_all(pid_ns: bool) -> None:
    """Kill every process the execution left behind and reap it."""
    if pid_ns:
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


_IPC_RMID = 0
_IPC_TABLES = (("shm", "shmid"), ("msg", "msqid"), ("sem", "semid"))


_libc: Any = None


def remove_ipc(uid: int | None, mqueue: str = "/dev/mqueue") -> int:
    """Remove the SysV shared memory, queues and semaphores and the POSIX message queues an
    execution left: all of them (``uid=None``: the worker's own IPC namespace, where only
    executions create any), or those owned or created by ``uid`` (no IPC namespace).

    Cheaper than a fresh IPC namespace per execution (creating one costs milliseconds) and as
    complete: a removed segment's memory is freed once no process maps it, and none is left.
    Returns how many objects were removed.
    """
    global _libc
    removed = 0
    try:
        names = os.listdir(mqueue)
    except OSError:
        names = []
    for name in names:
        try:
            if uid is None or os.stat(os.path.join(mqueue, name)).st_uid == uid:
                os.unlink(os.path.join(mqueue, name))
                removed += 1
        except OSError:
            continue
    for table, id_col in _IPC_TABLES:
        try:
            with open(f"/proc/sysvipc/{table}") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        if len(lines) < 2:
            continue
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        libc = _libc
        head = lines[0].split()
        try:
            col_id, col_uid, col_cuid = head.index(id_col), head.index("uid"), head.index("cuid")
        except ValueError:
            continue
        for line in lines[1:]:
            cols = line.split()
            try:
                if uid is not None and uid not in (int(cols[col_uid]), int(cols[col_cuid])):
                    continue
                ipc_id = int(cols[col_id])
                if table == "sem":
                    rc = libc.semctl(ipc_id, 0, _IPC_RMID)
                else:
                    rc = getattr(libc, table + "ctl")(ipc_id, _IPC_RMID, None)
                removed += rc == 0
            except (ValueError, IndexError):
                continue
    return removed


def _uid_of(pid: str) -> int | None:
    """The real uid of ``pid`` (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def processes_of(uid: int) -> list[int]:
    """Every process in /proc running as ``uid``, zombies included."""
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and _uid_of(e) == uid]


def kill_uid(uid: int, timeout_s: float = 3.0) -> bool:
    """Kill every process of ``uid`` until none is left (the zygote reaps them); False if some
    were still there after ``timeout_s``. A fork bomb loses: each round kills all it sees, and
    ``RLIMIT_NPROC`` bounds what it can make between two rounds."""
    deadline = time.monotonic() + timeout_s
    pause = 0.0001
    while True:
        left = processes_of(uid)
        if not left:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(pause)
        pause = min(pause * 2, 0.005)


def health(work: str, pid_ns: bool, uid: int | None = None) -> str | None:
    """None when the worker is clean again; else what is wrong (the worker is then replaced).

    With ``uid`` (the supervisor's executions, `assay_sandbox.executions`): no process of the
    sandbox uid is left; the zygote, the supervisor and the waiting standbys run as another.
    Otherwise (the zygote serves requests itself): no process but this one (pid 1) in a pid
    namespace, no child elsewhere."""
    try:
        if os.listdir(work):
            return "the work dir could not be emptied"
    except OSError as exc:
        return f"the work dir is unreadable ({exc.strerror})"
    if uid is not None:  # the supervisor's executions: all of them, and only them, run as uid
        left = len(processes_of(uid))
    elif pid_ns:  # we are pid 1, and alone after a cleanup
        left = sum(e.isdigit() and e != "1" for e in os.listdir("/proc"))
    else:
        left = 0
    if left:
        return f"{left} processes survived the cleanup"
    if uid is None and not pid_ns and children():
        return "child processes survived the cleanup"
    return None
