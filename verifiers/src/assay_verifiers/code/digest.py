"""The key identical jobs share: a digest that keeps every type of the tests' values.

Two samples with the same program and tests get one sandbox run (a GRPO group repeats them).
The tests are digested with their exact types, recursively: an expected ``{1, 2}``, ``(1, 2)``
and ``[1, 2]`` are three keys, as are ``1``, ``1.0`` and ``True`` (JSON would blur each group
into one and let two samples share a verdict only one of them earned). A value too deep to walk
gets a key of its own: it is never shared.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

__all__ = ["job_digest"]


def _typed(value: Any, depth: int = 0) -> Any:
    if depth > 500:
        raise RecursionError("too deep to digest")
    t = type(value)
    d = depth + 1
    if t in (list, tuple):
        return [t.__name__, [_typed(v, d) for v in value]]
    if t in (set, frozenset):
        return [t.__name__, sorted(json.dumps(_typed(v, d)) for v in value)]
    if t is dict:
        pairs = [[json.dumps(_typed(k, d)), _typed(v, d)] for k, v in value.items()]
        return ["dict", sorted(pairs, key=lambda p: p[0])]
    if t is int:
        return ["int", hex(value)]  # never decimal text: no digit limit, linear
    if t is str:
        return ["str", value]
    if hasattr(value, "model_dump"):  # a pydantic model (the spec, its cases)
        return [t.__name__, _typed(value.model_dump(), d)]
    return [t.__qualname__, repr(value)]


def job_digest(*parts: Any) -> str:
    """The sha256 of ``parts`` with every type kept (see the module docstring)."""
    try:
        text = json.dumps(_typed(list(parts)))
    except (RecursionError, ValueError):
        return os.urandom(16).hex()  # cannot be keyed safely: run it on its own
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
