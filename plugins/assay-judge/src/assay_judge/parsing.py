"""Read a judge's reply into a verdict, in time linear in the reply's length.

Servers without structured output answer with prose, a ``<think>`` block, code fences or
several JSON objects. We take the text after the last ``</think>``, find the outermost
brace-balanced spans in one pass (disjoint, so ``json.loads`` over all of them is linear too),
and use the last one that is a verdict. Anything else is a `VerdictError` carrying the reason:
the caller makes it an ``error`` score with the raw reply, never a guessed number.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from .rubric import Criterion, Rubric

MAX_REPLY_CHARS = 200_000

_PASS = frozenset({"pass", "passed", "yes", "true", "met", "satisfied", "y", "1"})
_FAIL = frozenset({"fail", "failed", "no", "false", "not met", "unmet", "unsatisfied", "n", "0"})
_NESTED_KEYS = ("verdict", "score", "grade", "value", "met", "pass", "passed", "rating")
_INT = re.compile(r"[+-]?\d{1,9}(?:\.0+)?")


class VerdictError(ValueError):
    """The reply holds no usable verdict; ``str(exc)`` says why."""


def after_reasoning(text: str) -> str:
    """The part of a reply after its last ``</think>`` (reasoning models), else all of it."""
    cut = text.rfind("</think>")
    return text[cut + len("</think>") :] if cut >= 0 else text


def brace_spans(text: str) -> list[tuple[int, int]]:
    """Outermost balanced ``{...}`` spans, left to right, found in one pass.

    Quotes are tracked only inside braces (prose apostrophes and quotes do not matter), with
    backslash escapes. A ``{`` that never closes leaves the objects inside it as candidates.
    """
    closed: list[tuple[int, int]] = []
    stack: list[int] = []
    in_str = escaped = False
    for i, ch in enumerate(text):
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == "{":
            stack.append(i)
        elif ch == "}":
            if stack:
                closed.append((stack.pop(), i + 1))
        elif ch == '"' and stack:
            in_str = True
    # Spans are nested or disjoint; an enclosing span closes after what it holds. Walking from
    # the last-closed back, keep a span only when it ends before the last kept one starts.
    keep: list[tuple[int, int]] = []
    boundary = len(text) + 1
    for start, end in reversed(closed):
        if end <= boundary:
            keep.append((start, end))
            boundary = start
    keep.reverse()
    return keep


def last_span(text: str) -> tuple[int, int] | None:
    """The span of the object that ends at the last ``}``, matched walking backwards.

    Stray braces or quotes in prose *before* the verdict (which confuse a forward scan) do not
    matter here. An escaped quote has an odd run of backslashes before it; each run is counted
    once, for the quote after it, so the walk stays linear.
    """
    end = text.rfind("}")
    depth, in_str = 0, False
    for j in range(end, -1, -1):
        ch = text[j]
        if ch == '"':
            k = j
            while k > 0 and text[k - 1] == "\\":
                k -= 1
            if (j - k) % 2 == 0:
                in_str = not in_str
        elif in_str:
            continue
        elif ch == "}":
            depth += 1
        elif ch == "{":
            depth -= 1
            if depth == 0:
                return (j, end + 1)
    return None


def _load(text: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def json_objects(reply: str) -> list[dict[str, Any]]:
    """The JSON objects of a reply (after any reasoning block), the likeliest verdict last:
    every outermost one in order, then the one ending at the last ``}`` (`last_span`)."""
    if len(reply) > MAX_REPLY_CHARS:
        raise VerdictError(f"reply of {len(reply)} characters is over the {MAX_REPLY_CHARS} limit")
    text = after_reasoning(reply)
    spans = brace_spans(text)
    tail = last_span(text)
    if tail is not None and tail not in spans:
        spans.append(tail)
    return [obj for s, e in spans if (obj := _load(text[s:e])) is not None]


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def _unnest(value: Any) -> Any:
    """``{"score": 4, "reasoning": ...}`` given for a criterion: the grade inside."""
    if isinstance(value, Mapping):
        for k in _NESTED_KEYS:
            if k in value:
                return value[k]
    return value


def coerce_pass(value: Any) -> bool:
    value = _unnest(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and len(value) <= 32:
        word = value.strip().lower().rstrip(".")
        if word in _PASS:
            return True
        if word in _FAIL:
            return False
    raise VerdictError(f"{_show(value)} is not pass/fail")


def coerce_grade(value: Any, lo: int, hi: int) -> int:
    value = _unnest(value)
    grade: int | None = None
    if isinstance(value, bool):
        grade = None
    elif isinstance(value, int):
        grade = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        grade = int(value)
    elif isinstance(value, str) and len(value) <= 32:
        head = value.strip().split("/", 1)[0].strip()
        if _INT.fullmatch(head):
            grade = int(float(head))
    if grade is None:
        raise VerdictError(f"{_show(value)} is not an integer grade")
    if not lo <= grade <= hi:
        raise VerdictError(f"grade {grade} is outside the scale [{lo}, {hi}]")
    return grade


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def grade_criterion(c: Criterion, value: Any) -> bool | int:
    if c.scale is None:
        return coerce_pass(value)
    return coerce_grade(value, *c.scale)


def verdict_from_object(obj: Mapping[str, Any], rubric: Rubric) -> dict[str, bool | int]:
    """Each criterion's grade from one JSON object (names matched exactly, then loosely)."""
    loose = {_key(k): v for k, v in obj.items() if isinstance(k, str)}
    grades: dict[str, bool | int] = {}
    missing = []
    for c in rubric.criteria:
        if c.name in obj:
            value = obj[c.name]
        elif _key(c.name) in loose:
            value = loose[_key(c.name)]
        else:
            missing.append(c.name)
            continue
        try:
            grades[c.name] = grade_criterion(c, value)
        except VerdictError as exc:
            raise VerdictError(f"criterion {c.name!r}: {exc}") from None
    if missing:
        raise VerdictError(f"no grade for {', '.join(missing)}")
    return grades


def read_verdict(reply: str, rubric: Rubric) -> dict[str, bool | int]:
    """The verdict in a reply: the last JSON object that grades every criterion."""
    objects = json_objects(reply)
    if not objects:
        raise VerdictError("no JSON object in the reply")
    first_error: VerdictError | None = None
    for obj in reversed(objects):
        try:
            return verdict_from_object(obj, rubric)
        except VerdictError as exc:
            first_error = first_error or exc
    raise VerdictError(str(first_error))
