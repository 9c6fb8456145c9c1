"""The drop: what a forked child does before it runs anything of the program.

Stdlib-only (shipped into the sandbox). `enter_child` runs in the fresh fork, as the zygote's
uid: a new session, stdio on the pipes, the kept fds moved to random high numbers and every
other fd closed (`detach`), the uid switch (`switch_uid`), a clean environment (`settle`),
the rlimits (`set_limits`). A *trusted* child (the
test runner) also becomes non-dumpable, so processes of the same uid (the candidate's) cannot
ptrace it, read its memory or open its fds through ``/proc``, and it never puts the work dir on
``sys.path``.
"""

from __future__ import annotations

import fcntl
import os
import random
import resource
import signal
import sys
from typing import Any

from assay_sandbox import jail

RLIMITS = ("CPU", "AS", "FSIZE", "NOFILE", "CORE", "NPROC")


def _hide(fds: list[int]) -> list[int]:
    """Each fd moved to a random number in 200-999 (close-on-exec); the rest closed."""
    out: list[int] = []
    for fd in fds:
        while True:
            want = 200 + int.from_bytes(os.urandom(2), "big") % 800
            if want not in out:
                break
        new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, want)
        out.append(new)
    keep = sorted(out)
    low = 3
    for fd in keep:
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)
    return out


def sandbox_environment(work: str) -> dict[str, str]:
    """The whole environment of an execution."""
    return {"HOME": work, "TMPDIR": work, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def enter_child(
    work: str,
    limits: dict[str, Any],
    uid: int | None,
    gid: int | None,
    stdio: tuple[int, int, int],
    keep: list[int],
    trusted: bool = False,
) -> list[int]:
    """Set up this forked child; returns the new numbers of the ``keep`` fds."""
    fds = detach(work, stdio, keep)
    switch_uid(work, uid, gid, trusted)
    settle(work)
    set_limits(limits)
    return fds


def detach(work: str, stdio: tuple[int, int, int], keep: list[int]) -> list[int]:
    """A new process session, stdio on the pipes, the kept fds hidden and every other one
    closed, the work dir as the current dir. Returns the kept fds' new numbers."""
    os.setsid()
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    fds = _hide(keep)
    os.chdir(work)
    return fds


def settle(work: str) -> None:
    """A clean environment, the interpreter's streams and state for a program. Nothing here
    needs the request: a standby (`assay_sandbox.standby`) does it before the request comes."""
    env = sandbox_environment(work)
    if os.environ != env:  # the zygote sets it once where the work dir is always the same
        os.environ.clear()
        os.environ.update(env)
    # The interpreter's own std streams are bound to fds 0-2, which now are the pipes; the
    # zygote never used them, so their buffers are empty.
    for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
        stream = getattr(sys, "__" + name + "__")
        if stream is None:
            stream = open(fd, mode, encoding="utf-8", closefd=False)  # noqa: SIM115 (lives as long as the process)
        setattr(sys, name, stream)
    sys.argv = ["main.py"]
    random.seed(os.urandom(32))
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def switch_uid(work: str, uid: int | None, gid: int | None, trusted: bool = False) -> None:
    """The sandbox uid. A *trusted* child (the test runner) becomes non-dumpable and keeps the
    work dir off ``sys.path``; any other gets it first on ``sys.path``."""
    if uid is not None and gid is not None and os.geteuid() != uid:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    if trusted:
        jail.prctl(jail.PR_SET_DUMPABLE, 0)  # after the uid switch, which resets it
    elif work not in sys.path:
        sys.path.insert(0, work)


def set_limits(limits: dict[str, Any]) -> None:
    """The request's rlimits, after `switch_uid` (``RLIMIT_NPROC`` counts the sandbox uid's
    processes, and a uid switch past it would fail). An unprivileged process may lower its
    limits; the zygote could not raise a hard one either."""
    mb = 1024 * 1024
    cpu = max(1, int(float(limits["cpu_s"]) + 0.999))
    procs = int(limits["processes"])
    values = {
        "CPU": (cpu, cpu + 1),
        "AS": (int(limits["memory_mb"]) * mb,) * 2,
        "FSIZE": (int(limits["file_size_mb"]) * mb,) * 2,
        "NOFILE": (int(limits["open_files"]),) * 2,
        "CORE": (0, 0),
        "NPROC": (procs, procs),
    }
    for name in RLIMITS:
        resource.setrlimit(getattr(resource, "RLIMIT_" + name), values[name])
