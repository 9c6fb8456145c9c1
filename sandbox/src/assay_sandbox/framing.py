"""Frames of the fork-server protocol: a 4-byte big-endian length, then UTF-8 JSON.

Stdlib-only: shared by the parent (`assay_sandbox.protocol`) and the server inside the sandbox,
which receives this module's source at start-up.
"""

from __future__ import annotations

import json
import os
from typing import Any

MAX_FRAME = 256 * 1024 * 1024


def encode_frame(obj: Any) -> bytes:
    """``obj`` as one frame (length prefix included)."""
    data = json.dumps(obj, separators=(",", ":")).encode()
    return len(data).to_bytes(4, "big") + data


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame(fd: int) -> Any:
    head = _read_exact(fd, 4)
    if head is None:
        return None
    n = int.from_bytes(head, "big")
    if n > MAX_FRAME:
        raise ValueError(f"frame of {n} bytes is too large")
    body = _read_exact(fd, n)
    if body is None:
        return None
    return json.loads(body)


def write_frame(fd: int, obj: Any) -> None:
    view = memoryview(encode_frame(obj))
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_tests_frame(fd: int) -> dict[str, Any]:
    """A ``tests`` request's second frame, read in the test runner's fork: ``statements`` and
    ``setup`` only (the zygote never reads it; see `assay_sandbox.zygote`)."""
    frame = read_frame(fd)
    if not isinstance(frame, dict):
        raise ValueError("no test code followed the tests request")
    return {"statements": list(frame.get("statements") or []), "setup": frame.get("setup") or ""}


def skip_frame(fd: int) -> None:
    """Read past one frame without keeping its text: each chunk lands in one buffer that is
    zeroed at once (no bytes object, so nothing of it lingers in the heap)."""
    head = _read_exact(fd, 4)
    if head is None:
        raise ValueError("the request stream ended inside a frame")
    n = int.from_bytes(head, "big")
    buf = bytearray(min(n, 1 << 20) or 1)
    while n > 0:
        got = os.readv(fd, [memoryview(buf)[: min(n, len(buf))]])
        if not got:
            raise ValueError("the request stream ended inside a frame")
        buf[:] = bytes(len(buf))
        n -= got
