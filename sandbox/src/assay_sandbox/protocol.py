"""The parent's side of the fork-server protocol: bootstrap, framing, transports.

A worker is ``python -I -S -c BOOTSTRAP``. Its first input frame carries the sources of
the sandbox-side modules (`MODULES`) and the config; from then on each request frame gets one response
frame (4-byte big-endian length, UTF-8 JSON). During start-up the worker may send
``{"op": "map", "pid": N}`` (write my uid/gid maps) before ``{"op": "ready", "isolation": ...}``.
The transport is a pair of pipes for the process backend and a Docker attach socket for the
docker backend; the protocol is the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import time
from importlib import resources
from typing import Any

from .errors import WorkerLost
from .framing import encode_frame

# In dependency order: each module imports only those before it.
MODULES = (
    "codec",
    "jail",
    "framing",
    "native",
    "supervise",
    "verdicts",
    "runners",
    "cleanup",
    "child",
    "proxy",
    "remote",
    "testrun",
    "standby",
    "executions",
    "zygote",
    "server",
)

BOOTSTRAP = """\
import json, os, sys, types
def _r(n):
    b = b""
    while len(b) < n:
        c = os.read(0, n - len(b))
        if not c:
            raise SystemExit(0)
        b += c
    return b
_m = json.loads(_r(int.from_bytes(_r(4), "big")))
_p = types.ModuleType("assay_sandbox")
_p.__path__ = []
sys.modules["assay_sandbox"] = _p
for _n, _s in _m["modules"]:
    _mod = types.ModuleType("assay_sandbox." + _n)
    sys.modules[_mod.__name__] = _mod
    exec(compile(_s, "assay_sandbox/" + _n + ".py", "exec"), _mod.__dict__)
    setattr(_p, _n, _mod)
del _m["modules"]
sys.modules["assay_sandbox.server"].serve(_m["config"])
"""

_SOURCES: list[tuple[str, str]] | None = None


def module_sources() -> list[tuple[str, str]]:
    global _SOURCES
    if _SOURCES is None:
        pkg = resources.files("assay_sandbox")
        _SOURCES = [(m, (pkg / f"{m}.py").read_text(encoding="utf-8")) for m in MODULES]
    return _SOURCES


def boot_frame(config: dict[str, Any]) -> bytes:
    return encode_frame({"modules": module_sources(), "config": config})


class Transport:
    """Bytes to and from one worker. Subclasses implement `_send`, `_recv_some`, `kill`."""

    isolation: str = ""
    notes: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._buf = bytearray()

    def send(self, obj: Any) -> None:
        try:
            self._send(encode_frame(obj))
        except OSError as exc:
            raise WorkerLost(f"worker input closed: {exc}") from None

    def recv(self, deadline: float | None) -> Any:
        """The next frame, or raise `WorkerLost` (EOF) / `TimeoutError` (deadline)."""
        while True:
            if len(self._buf) >= 4:
                n = int.from_bytes(self._buf[:4], "big")
                if len(self._buf) >= 4 + n:
                    body = bytes(self._buf[4 : 4 + n])
                    del self._buf[: 4 + n]
                    return json.loads(body)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError("worker did not answer in time")
            chunk = self._recv_some(left)
            if chunk is None:
                continue
            if not chunk:
                raise WorkerLost("worker closed its output")
            self._buf += chunk

    def _send(self, data: bytes) -> None:
        raise NotImplementedError

    def _recv_some(self, timeout: float | None) -> bytes | None:
        """Up to some bytes; b"" at EOF; None when nothing came within ``timeout``."""
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError


class PipeTransport(Transport):
    """A worker subprocess with its stdin/stdout as the protocol pipes."""

    def __init__(self, proc: Any) -> None:
        super().__init__()
        self.proc = proc
        self._in = proc.stdin.fileno()
        self._out = proc.stdout.fileno()

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._in, view) :]

    def _recv_some(self, timeout: float | None) -> bytes | None:
        ready, _, _ = select.select([self._out], [], [], timeout)
        if not ready:
            return None
        return os.read(self._out, 1 << 20)

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:  # noqa: SIM105 (plain try: contextlib may be patched by the program / kept stdlib-minimal)
                self.proc.kill()  # by PID (Popen), never by name
            except ProcessLookupError:
                pass
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                f.close()
