"""Fewer page faults per fork: what an execution costs on a small machine is mostly faults.

Stdlib-only (shipped into the sandbox). A request forks twice (a session from the zygote, the
program from the session), and each fork pays a page fault for every page it then touches:
copy-on-write faults on the heap, and minor faults on library text and constants, whose page
table entries ``fork`` does not copy (the kernel leaves a file mapping with no anonymous pages
to be faulted in again). Measured on this project's 2-core development VM: ~750 faults in a
session, ~380 in a program's process, at a few microseconds each, most of a request's time.

`share_library_pages` gives each read-only private file mapping of the zygote (interpreter,
libc, extension modules) an anonymous page, so that ``fork`` copies its page table entries
(present ones: the zygote populates them first), and forks stop faulting on them; the byte
written is the byte that was there, and each mapping gets its protection back at once.
`spare_fds` makes the pipes of the next execution and `rehearse` parses and compiles a sample
request while a session waits for its request: the pages that work writes are copied then, off
the request's path.
"""

from __future__ import annotations

import ctypes
import json
from typing import Any

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAX_MAPPING = 32 << 20  # larger read-only files (a locale archive) are left to fault lazily
MADV_POPULATE_READ = 22  # Linux 5.14+; older kernels say EINVAL and the pages fault in lazily


def share_library_pages(maps: str = "/proc/self/maps") -> int:
    """Make fork copy the page table entries of read-only file mappings; returns how many.

    Only for private, non-writable mappings of files up to `MAX_MAPPING` bytes (the pages of
    a bigger one, a locale archive say, would make every fork copy more than it saves). A
    mapping whose protection cannot be changed (a kernel or LSM policy that denies writable
    text) is left as it is. Call it in a single-threaded process before any untrusted code
    runs (the zygote, before seccomp).
    """
    try:
        with open(maps) as f:
            lines = f.read().splitlines()
    except OSError:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    done = 0
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or not fields[5].startswith("/"):
            continue
        perms = fields[1]
        if perms[3] != "p" or "w" in perms or "r" not in perms:
            continue
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        if hi - lo > MAX_MAPPING:
            continue
        prot = PROT_READ | (PROT_EXEC if "x" in perms else 0)
        if libc.mprotect(lo, hi - lo, prot | PROT_WRITE) != 0:
            continue
        try:
            byte = ctypes.c_char.from_address(lo)
            byte.value = byte.value  # one private copy: the mapping now has an anon_vma
        finally:
            libc.mprotect(lo, hi - lo, prot)
        libc.madvise(lo, hi - lo, MADV_POPULATE_READ)
        done += 1
    return done


def spare_fds(big_pipe: Any, channel_pair: Any) -> tuple[tuple[int, int], ...]:
    """stdin, stdout, stderr pipes and a verdict channel for one execution, made ahead."""
    return big_pipe(), big_pipe(), big_pipe(), channel_pair()


_SAMPLE = (
    '{"mode":"statements","source":"def f(a, b):\\n    return [a, b]\\n",'
    '"statements":["assert f(1, 2) == [1, 2]"],"setup":"","id":1,"_follow":false,'
    '"limits":{"wall_s":5.0,"cpu_s":5.0,"memory_mb":512}}'
)


def rehearse() -> None:
    """Parse and compile a sample request (no program of anyone's: a fixed text)."""
    req = json.loads(_SAMPLE)
    compile(req["source"], "solution.py", "exec")
    for stmt in req["statements"]:
        compile(stmt, "statement_0.py", "exec")
