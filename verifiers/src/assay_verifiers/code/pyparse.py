"""`ast.parse` behind one lock, for every parse the code reward does in the host process.

CPython before 3.13 keeps the AST constructor's recursion depth in state shared by all threads:
two threads parsing at once can fail one of them with ``SystemError: AST constructor recursion
depth mismatch`` (python/cpython#106905), which turned an honest sample into ``error`` when the
reward scored a batch on threads (seen once in the HumanEval test). Parsing is a small share of
a sample's cost, so serialising it costs little; a parse elsewhere in the process (another
library's thread) can still race with ours, so that error is retried a few times.
"""

from __future__ import annotations

import ast
import threading

__all__ = ["parse"]

_LOCK = threading.Lock()
_RETRIES = 3


def parse(source: str) -> ast.Module:
    """``ast.parse(source)``, one thread at a time (raises what ``ast.parse`` raises)."""
    with _LOCK:
        for _ in range(_RETRIES):
            try:
                return ast.parse(source)
            except SystemError as exc:  # the shared-state race above, not the source's fault
                if "recursion depth mismatch" not in str(exc):
                    raise
        return ast.parse(source)
