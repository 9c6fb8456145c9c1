"""The fork server that runs inside the sandbox: one per worker, one fork per execution.

Stdlib-only. The parent starts ``python -I -S -c BOOTSTRAP`` (or a container does) and sends one
frame holding the sources of `codec`, `jail` and this module plus a config; see
`assay_sandbox.protocol`. The server then

1. (``namespaces`` mode) unshares user/pid/net/mount/ipc/uts namespaces, asks the parent to write
   the uid/gid maps, forks the zygote that is pid 1 of the new pid namespace, and builds the
   read-only root (`jail.build_root`);
2. mounts the private work tmpfs, preloads common modules, ``gc.freeze()``s them, installs
   ``no_new_privs`` and the seccomp filter on itself (inherited by every fork), says ``ready``
   with the isolation level in force;
3. serves requests: for each, pipes for stdin/stdout/stderr plus a separate channel pipe, one
   ``fork``; the child drops to the sandbox uid, sets rlimits, runs the program; the zygote enforces the wall clock and output caps with ``poll``,
   then kills every process left in the namespace (``kill(-1)`` from pid 1, so setsid daemons go
   too), empties the work dir, and answers with one frame.

The modules, one job each: `framing` (frames, shared with the parent), `supervise` (one running
program), `runners` (the child side), `verdicts`, `cleanup`, `executions` (one execution), `zygote` (the serving loop). Frames are a 4-byte big-endian length and UTF-8 JSON. A request names a ``language`` (only
``python`` today) and a ``mode`` (``script``, ``call``, ``cases``, ``statements``); another language
would add a child runner that ``exec``s a compiled program in place of running a code object.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from assay_sandbox import jail
from assay_sandbox.framing import read_frame, write_frame
from assay_sandbox.zygote import Zygote


def _ask_parent(in_fd: int, out_fd: int, msg: dict[str, Any]) -> dict[str, Any]:
    write_frame(out_fd, msg)
    reply = read_frame(in_fd)
    if reply is None:
        os._exit(0)
    return reply


def serve(cfg: dict[str, Any]) -> None:
    """Entry point: set up isolation as ``cfg`` asks, then serve on the inherited fds 0/1."""
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    layers: list[str] = []
    notes: list[str] = []
    mode = cfg.get("isolation", "auto")
    if cfg.get("container"):
        layers.append("docker")
        jail.prctl(jail.PR_SET_DUMPABLE, 0)
    elif mode in ("auto", "namespaces"):
        # No PR_SET_PDEATHSIG here: it fires when the parent *thread* that started us exits.
        # When the parent dies our input pipe closes and the zygote exits on EOF instead.
        ok = _enter_namespaces(cfg, in_fd, out_fd, notes)
        if ok:
            layers.append("namespaces")
        elif mode == "namespaces":
            write_frame(out_fd, {"op": "failed", "reason": "; ".join(notes)})
            os._exit(1)
    if not layers:  # noqa: SIM102
        if os.geteuid() == 0 and cfg.get("host_uid_base") is not None:  # a uid of our own
            uid = int(cfg["host_uid_base"]) + os.getpid()
            cfg["run_uid"], cfg["run_gid"] = uid, uid
    zygote = Zygote(cfg, in_fd, out_fd, layers, notes)
    zygote.serve()


def _enter_namespaces(cfg: dict[str, Any], in_fd: int, out_fd: int, notes: list[str]) -> bool:
    """Unshare, get mapped, fork the pid-1 zygote and build its root. False if unavailable.

    The process that called this becomes a waiter: it exits when the zygote does.
    """
    flags = (
        jail.CLONE_NEWNS
        | jail.CLONE_NEWPID
        | jail.CLONE_NEWNET
        | jail.CLONE_NEWIPC
        | jail.CLONE_NEWUTS
    )
    euid, egid = os.geteuid(), os.getegid()
    try:
        jail.unshare(jail.CLONE_NEWUSER | flags)
    except OSError as exc:
        notes.append(f"namespaces unavailable ({exc.strerror})")
        return False
    reply = _ask_parent(in_fd, out_fd, {"op": "map", "pid": os.getpid()})
    if reply.get("ok"):
        cfg["run_uid"], cfg["run_gid"] = 1000, 1000
    else:
        try:
            jail.deny_setgroups_and_map_self(euid, egid)
        except OSError as exc:
            notes.append(f"user namespace could not be mapped ({exc.strerror})")
            return False
        notes.append(
            "only one uid mapped: the program runs as namespace root without host privileges"
        )
    pid = os.fork()
    if pid:
        for fd in (in_fd, out_fd):
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    try:
        jail.prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)
        jail.prctl(jail.PR_SET_DUMPABLE, 0)
        os.setsid()
        jail.build_root(cfg.get("staging", "/tmp"), cfg["binds"], cfg.get("work", "/sandbox"))
        jail.sethostname("sandbox")
    except OSError as exc:
        write_frame(out_fd, {"op": "failed", "reason": f"building the sandbox root failed: {exc}"})
        os._exit(1)
    return True
