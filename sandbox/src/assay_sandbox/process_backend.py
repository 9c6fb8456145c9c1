"""The ``process`` backend: warm fork-server workers in Linux namespaces on this machine.

Each worker is a ``python -I -S`` subprocess that unshares user, pid, net, mount, ipc and uts
namespaces, gets its uid/gid maps written by this (parent) process, and serves executions from a
pid-1 zygote inside a read-only root (see `assay_sandbox.server` and `assay_sandbox.jail`).
Where namespaces cannot be created it degrades to ``rlimits`` (plus seccomp), warns once, and
every result names the level in ``isolation``; it never runs code in the caller's process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
import warnings
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import SandboxUnavailable, WorkerLost
from .protocol import BOOTSTRAP, PipeTransport, Transport, boot_frame

SYSTEM_BINDS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc")
HOST_UID_BASE = 1_000_000  # sandbox uids on the host: HOST_UID_BASE + worker pid (unique)
_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=4)


class ProcessOptions(BaseModel):
    """Options of the process backend (``SandboxPool(backend="process", **options)``)."""

    model_config = ConfigDict(extra="forbid")

    isolation: Literal["auto", "namespaces", "rlimits"] = Field(
        "auto", description="auto: namespaces when possible, else rlimits (warned once)"
    )
    seccomp: bool = True
    python: str | None = Field(None, description="interpreter for the workers (default: this one)")
    site_packages: bool = Field(
        False, description="let programs import this environment's packages"
    )
    extra_binds: list[str] = Field(default_factory=list, description="more read-only host paths")
    work_mb: int = Field(64, ge=1, description="size of the per-execution tmpfs work dir")
    start_timeout_s: float = 30.0


class ProcessBackend:
    """Starts fork-server workers as subprocesses of this process."""

    name = "process"
    Options = ProcessOptions

    def __init__(self, **options: Any) -> None:
        self.options = ProcessOptions(**options)
        self.python = os.path.realpath(self.options.python or sys.executable)

    def _binds(self) -> list[str]:
        binds = [p for p in SYSTEM_BINDS]
        prefix = os.path.realpath(
            sys.base_prefix
            if self.options.python is None
            else os.path.dirname(os.path.dirname(self.python))
        )
        binds.append(prefix)
        binds.append(os.path.dirname(self.python))
        if self.options.site_packages:
            binds += [os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")]
        binds += [os.path.realpath(p) for p in self.options.extra_binds]
        seen: list[str] = []
        for b in binds:
            if b not in seen and not any(b.startswith(s.rstrip("/") + "/") for s in seen):
                seen.append(b)
        return seen

    def config(self) -> dict[str, Any]:
        paths = []
        if self.options.site_packages:
            paths = sorted(
                {os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
            )
        return {
            "isolation": self.options.isolation,
            "seccomp": self.options.seccomp,
            "binds": self._binds(),
            "work": "/sandbox",
            "work_mb": self.options.work_mb,
            "host_uid_base": HOST_UID_BASE,
            "sys_path": paths,
        }

    def start_worker(self, index: int) -> Transport:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        proc = subprocess.Popen(
            [self.python, "-I", "-S", "-c", BOOTSTRAP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        transport = PipeTransport(proc)
        try:
            transport._send(boot_frame(self.config()))
            self._handshake(transport, proc.pid)
        except BaseException:
            transport.kill()
            raise
        return transport

    def _handshake(self, transport: Transport, pid: int) -> None:
        deadline = time.monotonic() + self.options.start_timeout_s
        while True:
            try:
                msg = transport.recv(deadline)
            except (TimeoutError, WorkerLost) as exc:
                raise SandboxUnavailable(f"process sandbox worker did not start: {exc}") from None
            op = msg.get("op")
            if op == "map":
                transport.send({"op": "mapped", "ok": _write_maps(int(msg["pid"]))})
            elif op == "ready":
                transport.isolation = msg["isolation"]
                transport.notes = tuple(msg.get("notes") or ())
                if transport.notes:
                    warn_once(
                        "process:" + transport.isolation,
                        f"assay_sandbox: process backend runs with isolation {transport.isolation!r}: "
                        + "; ".join(transport.notes),
                    )
                return
            elif op == "failed":
                raise SandboxUnavailable(f"process sandbox: {msg.get('reason')}")
            else:
                raise SandboxUnavailable(
                    f"process sandbox: unexpected start-up message {msg!r:.200}"
                )

    def stray_processes(self, transports: list[Transport]) -> list[tuple[int, int, str]]:
        """Host processes running as the sandbox uid of one of these workers."""
        uids = {HOST_UID_BASE + t.proc.pid for t in transports if isinstance(t, PipeTransport)}
        return processes_with_uids(uids)

    def close(self) -> None:
        pass


def processes_with_uids(uids: set[int]) -> list[tuple[int, int, str]]:
    """(pid, uid, name) of every host process whose real uid is in ``uids``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        uid = int(fields.get("Uid", "0").split()[0])
        if uid in uids:
            out.append((int(entry), uid, fields.get("Name", "").strip()))
    return out


def _write_maps(pid: int) -> bool:
    """Map namespace uid 0 to us and uid 1000 (the program) to a host uid of its own."""
    host = HOST_UID_BASE + pid
    try:
        with open(f"/proc/{pid}/uid_map", "w") as f:
            f.write(f"0 {os.geteuid()} 1\n1000 {host} 1\n")
        with open(f"/proc/{pid}/gid_map", "w") as f:
            f.write(f"0 {os.getegid()} 1\n1000 {host} 1\n")
    except OSError:
        return False
    return True
