"""Results from worker answers: the pydantic models, built defensively.

A malformed answer is a sandbox failure (``fault="sandbox"``); a return value that does not decode
is the program's (``fault="candidate"``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from . import codec
from .results import CallCase, ExecResult, StdioCase

R = TypeVar("R", bound=ExecResult)


def case(c: Any) -> StdioCase | CallCase:
    if isinstance(c, (StdioCase, CallCase)):
        return c
    if isinstance(c, dict):
        return (
            CallCase(**c)
            if "fn_name" in c
            else StdioCase(**{k: v for k, v in c.items() if k != "kind" or v == "stdio"})
        )
    raise TypeError(f"not a case: {type(c).__name__}")


def build(model: type[R], resp: dict[str, Any]) -> R:
    fields = {k: v for k, v in resp.items() if k in model.model_fields}
    try:
        return model(**fields)
    except ValueError as exc:  # a malformed answer from a worker is a sandbox error
        return model(
            status="error",
            fault="sandbox",
            reason=f"bad worker answer: {exc}"[:300],
            isolation=resp.get("isolation", ""),
        )


def with_value(model: type[R], resp: dict[str, Any]) -> R:
    resp = dict(resp)
    raw = resp.pop("value", None)
    res = build(model, resp)
    if raw is not None and res.status == "ok":
        try:
            res.value = codec.decode(raw)  # type: ignore[attr-defined]
        except codec.Undecodable as exc:  # the program's value, crafted to be hard to decode
            res.status = "error"
            res.fault = "candidate"
            res.reason = f"undecodable return value: {exc}"
    return res
