"""Less work on a request's path: what a session can do before its request comes.

Stdlib-only (shipped into the sandbox). A request is two forks (a session from the zygote, the
program from the session), and on a small VM their cost is mostly page faults: every page a
forked process writes is copied on its first write (measured on this project's 2-core
development VM: ~750 faults in a session, ~385 in a `run_statements` program, a few microseconds
each). A session is forked before its request comes (see `assay_sandbox.zygote`), so what it
does while waiting is off the request's path: `spare_fds` makes the pipes of its first execution
and `rehearse` parses and compiles a fixed sample request, so that the pages that work writes
are copied then rather than after the request has come.
"""

from __future__ import annotations

import json
from typing import Any


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
