"""Cleanup after an execution: kill and reap what it left, empty the work dir.

Stdlib-only (shipped into the sandbox).
"""

from __future__ import annotations

import os
import time
from typing import Any


def empty_dir(path: str) -> None:
    """Delete everything in ``path``, also what a program made unreadable (``chmod 000``)."""
    import shutil

    try:  # noqa: SIM105 (plain try: contextlib may be patched by the program / kept stdlib-minimal)
        os.chmod(path, 0o700)  # a program may have locked its own work dir
    except OSError:
        pass
    for _ in range(64):
        entries = os.listdir(path)
        if not entries:
            return
        failed: list[str] = []
        for name in entries:
            p = os.path.join(path, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, onerror=lambda _f, where, _e, sink=failed: sink.append(where))
            else:
                try:
                    os.unlink(p)
                except OSError:
                    failed.append(p)
        for p in failed:
            for q in (os.path.dirname(p), p):
                try:
                    if not os.path.islink(q):
                        os.chmod(q, 0o700)
                except OSError:
                    pass


def try_compile(source: str, filename: str) -> Any:
    """A code object, or the exception compiling raised (raised again when the child gets there)."""
    try:
        return compile(source, filename, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return exc


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
