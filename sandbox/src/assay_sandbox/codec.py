"""Tagged JSON: Python values with exact types across the sandbox boundary, never pickle or eval.

Plain JSON cannot tell a tuple from a list, ``True`` from ``1`` once a checker is sloppy, a set
from a list, ``inf`` from a string, or keep dict keys that are not strings. Here every value that
JSON would blur is wrapped in a one-key object whose key starts with ``$``:

=================  ===========================================
Python             encoded
=================  ===========================================
None, bool, str    null, true/false, "..."
int                JSON integer (any size)
float              JSON number; ``{"$float": "nan" | "inf" | "-inf"}``
list               JSON array
tuple              ``{"$tuple": [...]}``
set / frozenset    ``{"$set": [...]}`` / ``{"$frozenset": [...]}``
dict (str keys)    JSON object (``{"$dict": [[k, v], ...]}`` if a key starts with ``$``)
dict (other keys)  ``{"$dict": [[k, v], ...]}``
bytes / bytearray  ``{"$bytes": "<base64>"}`` / ``{"$bytearray": "<base64>"}``
complex            ``{"$complex": [re, im]}``
=================  ===========================================

Anything else raises `Unencodable` naming the type. Decoding rebuilds exactly these types and
nothing else, with a depth cap, so hostile output can at worst be rejected.

This module is stdlib-only on purpose: the sandbox server ships its source into the sandbox.

>>> decode(encode((1, True, {2: {3.5}})))
(1, True, {2: {3.5}})
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

MAX_DEPTH = 200


class Unencodable(TypeError):
    """A value of a type the tagged encoding does not carry (e.g. a custom object)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        super().__init__(f"unencodable return value: {type_name}")


class Undecodable(ValueError):
    """Input that is not a valid tagged encoding (malformed, too deep, unhashable set item)."""


def _float(x: float) -> Any:
    if math.isnan(x):
        return {"$float": "nan"}
    if math.isinf(x):
        return {"$float": "inf" if x > 0 else "-inf"}
    return x


def to_tree(value: Any, depth: int = 0) -> Any:
    """The JSON-able tree for ``value`` (see the module table)."""
    if depth > MAX_DEPTH:
        raise Unencodable("structure nested too deep")
    t = type(value)
    if value is None or t is bool or t is str or t is int:
        return value
    if t is float:
        return _float(value)
    d = depth + 1
    if t is list:
        return [to_tree(v, d) for v in value]
    if t is tuple:
        return {"$tuple": [to_tree(v, d) for v in value]}
    if t is set or t is frozenset:
        return {"$" + t.__name__: [to_tree(v, d) for v in value]}
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: to_tree(v, d) for k, v in value.items()}
        return {"$dict": [[to_tree(k, d), to_tree(v, d)] for k, v in value.items()]}
    if t is bytes or t is bytearray:
        return {"$" + t.__name__: base64.b64encode(bytes(value)).decode("ascii")}
    if t is complex:
        return {"$complex": [_float(value.real), _float(value.imag)]}
    raise Unencodable(t.__name__)


def encode(value: Any) -> str:
    """``value`` as tagged JSON text; raises `Unencodable`."""
    return json.dumps(to_tree(value), allow_nan=False, separators=(",", ":"))


_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _num(x: Any) -> float:
    if isinstance(x, dict) and list(x) == ["$float"] and x["$float"] in _FLOATS:
        return _FLOATS[x["$float"]]
    if type(x) in (int, float):
        return float(x)
    raise Undecodable(f"bad number {x!r:.60}")


def from_tree(tree: Any, depth: int = 0) -> Any:
    """Rebuild the value a `to_tree` tree stands for; raises `Undecodable`."""
    if depth > MAX_DEPTH:
        raise Undecodable("structure nested too deep")
    t = type(tree)
    if tree is None or t in (bool, str, int, float):
        return tree
    d = depth + 1
    if t is list:
        return [from_tree(v, d) for v in tree]
    if t is not dict:
        raise Undecodable(f"unexpected JSON type {t.__name__}")
    if len(tree) == 1:
        ((key, body),) = tree.items()
        if key.startswith("$"):
            return _tagged(key, body, d)
    return {k: from_tree(v, d) for k, v in tree.items()}


def _tagged(key: str, body: Any, d: int) -> Any:
    try:
        if key == "$float":
            return _num({key: body})
        if key in ("$bytes", "$bytearray"):
            raw = base64.b64decode(body.encode("ascii"), validate=True)
            return raw if key == "$bytes" else bytearray(raw)
        if key == "$complex":
            re, im = body
            return complex(_num(re), _num(im))
        if not isinstance(body, list):
            raise Undecodable(f"{key} needs a list")
        if key == "$tuple":
            return tuple(from_tree(v, d) for v in body)
        if key == "$set":
            return {from_tree(v, d) for v in body}
        if key == "$frozenset":
            return frozenset(from_tree(v, d) for v in body)
        if key == "$dict":
            out = {}
            for pair in body:
                k, v = pair
                out[from_tree(k, d)] = from_tree(v, d)
            return out
    except Undecodable:
        raise
    except (TypeError, ValueError, AttributeError) as exc:
        raise Undecodable(f"bad {key}: {type(exc).__name__}: {exc}") from None
    raise Undecodable(f"unknown tag {key!r:.40}")


def decode(text: str | bytes) -> Any:
    """The value tagged JSON ``text`` stands for; raises `Undecodable` on anything malformed."""
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Undecodable(f"not JSON: {exc}"[:200]) from None
    try:
        return from_tree(tree)
    except RecursionError:
        raise Undecodable("structure nested too deep") from None
