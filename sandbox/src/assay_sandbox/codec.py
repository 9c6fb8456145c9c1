"""Tagged JSON: Python values with exact types across the sandbox boundary, never pickle or eval.

Plain JSON cannot tell a tuple from a list, ``True`` from ``1`` once a checker is sloppy, a set
from a list, ``inf`` from a string, or keep dict keys that are not strings. Here every value that
JSON would blur is wrapped in a one-key object whose key starts with ``$``:

=================  ===========================================
Python             encoded
=================  ===========================================
None, bool, str    null, true/false, "..."
int                JSON integer
float              JSON number; ``{"$float": "nan" | "inf" | "-inf"}``
list               JSON array
tuple              ``{"$tuple": [...]}``
set / frozenset    ``{"$set": [...]}`` / ``{"$frozenset": [...]}``
dict (str keys)    JSON object (``{"$dict": [[k, v], ...]}`` if a key starts with ``$``)
dict (other keys)  ``{"$dict": [[k, v], ...]}``
bytes / bytearray  ``{"$bytes": "<base64>"}`` / ``{"$bytearray": "<base64>"}``
complex            ``{"$complex": [re, im]}``
int (> 4000 bits)  ``{"$int": "<hex>"}`` (linear both ways, no digit limit)
range              ``{"$range": [start, stop, step]}``
slice              ``{"$slice": [start, stop, step]}`` (a test's ``obj[1:3]`` on a handle)
Fraction           ``{"$fraction": [numerator, denominator]}``
Decimal            ``{"$decimal": "<str>"}``
an iterator        ``{"$iter": [...]}`` (only what the test runner passes: `Materialized`)
=================  ===========================================

Instances of *helper classes* (classes both sides define from the same trusted code, such as a
task's ``ListNode``/``TreeNode``) cross when the caller passes ``classes`` (name -> class): the
value becomes ``{"$graph": [root, [[class name, {attr: value}], ...]]}`` where each instance is
``{"$ref": n}`` wherever it occurs, so shared nodes, cycles and long chains cross without deep
recursion. An instance is rebuilt with ``cls.__new__(cls)`` and its ``__dict__`` set: no code of
the class runs while decoding.

Anything else raises `Unencodable` naming the type. Decoding rebuilds exactly these types and
nothing else, bounded: at most `MAX_TEXT` characters, `MAX_NODES` values, `MAX_DEPTH` levels of
nesting, and no more than `MAX_SAME_HASH` dict keys or set members with one hash (colliding keys,
e.g. ``k * (2**61 - 1)``, would make building the dict quadratic). Hostile output can at worst be
rejected (`Undecodable`), in time linear in its size.

This module is stdlib-only on purpose: the sandbox server ships its source into the sandbox.

>>> decode(encode((1, True, {2: {3.5}})))
(1, True, {2: {3.5}})
"""

from __future__ import annotations

import base64
import json
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

MAX_DEPTH = 200
MAX_TEXT = 64 * 1024 * 1024
MAX_NODES = 4_000_000
MAX_SAME_HASH = 32


class Unencodable(TypeError):
    """A value of a type the tagged encoding does not carry (e.g. a custom object)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        super().__init__(f"unencodable return value: {type_name}")


class Materialized(list[Any]):
    """The items of an iterator the test runner passes (a generator, ``map``): it crosses as
    ``$iter`` and arrives as an iterator over the same items."""


MAX_DECIMAL = 1 << 20  # characters of a Decimal's text
MAX_FRACTION_BITS = 1 << 17  # a Fraction is normalised with gcd: superlinear in its size
BIG_INT_BITS = 4000  # past this an int crosses as hex: decimal text has a digit limit


class Undecodable(ValueError):
    """Input that is not a valid tagged encoding (malformed, too deep, too big, colliding keys)."""


def _float(x: float) -> Any:
    if math.isnan(x):
        return {"$float": "nan"}
    if math.isinf(x):
        return {"$float": "inf" if x > 0 else "-inf"}
    return x


class _Objects:
    """Helper-class instances met while encoding: each gets a number, encoded once."""

    def __init__(self, classes: dict[str, type]) -> None:
        self.names = {cls: name for name, cls in classes.items()}
        self.ids: dict[int, int] = {}
        self.order: list[Any] = []

    def ref(self, value: Any) -> Any:
        n = self.ids.get(id(value))
        if n is None:
            n = self.ids[id(value)] = len(self.order)
            self.order.append(value)
        return {"$ref": n}


def to_tree(value: Any, depth: int = 0, objects: _Objects | None = None) -> Any:
    """The JSON-able tree for ``value`` (see the module table)."""
    if depth > MAX_DEPTH:
        raise Unencodable("structure nested too deep")
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if value.bit_length() <= BIG_INT_BITS else {"$int": hex(value)}
    if t is float:
        return _float(value)
    d = depth + 1
    if t is list:
        return [to_tree(v, d, objects) for v in value]
    if t is tuple:
        return {"$tuple": [to_tree(v, d, objects) for v in value]}
    if t is set or t is frozenset:
        return {"$" + t.__name__: [to_tree(v, d, objects) for v in value]}
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: to_tree(v, d, objects) for k, v in value.items()}
        return {
            "$dict": [[to_tree(k, d, objects), to_tree(v, d, objects)] for k, v in value.items()]
        }
    if t is bytes or t is bytearray:
        return {"$" + t.__name__: base64.b64encode(bytes(value)).decode("ascii")}
    if t is complex:
        return {"$complex": [_float(value.real), _float(value.imag)]}
    if t is range:
        return {"$range": [to_tree(value.start), to_tree(value.stop), to_tree(value.step)]}
    if t is slice:
        return {"$slice": [to_tree(value.start, d), to_tree(value.stop, d), to_tree(value.step, d)]}
    if t is Fraction:
        return {"$fraction": [to_tree(value.numerator), to_tree(value.denominator)]}
    if t is Decimal:
        return {"$decimal": str(value)}
    if t is Materialized:
        return {"$iter": [to_tree(v, d, objects) for v in value]}
    if (
        objects is not None
        and t in objects.names
        and type(getattr(value, "__dict__", None)) is dict
    ):
        return objects.ref(value)
    raise Unencodable(t.__name__)


def encode(value: Any, classes: dict[str, type] | None = None) -> str:
    """``value`` as tagged JSON text; raises `Unencodable`.

    ``classes`` (name -> class) lets instances of those classes cross (see the module doc).
    """
    return json.dumps(encode_tree(value, classes), allow_nan=False, separators=(",", ":"))


def encode_tree(value: Any, classes: dict[str, type] | None = None) -> Any:
    """The JSON tree `encode` would serialise (to embed a value in a larger message)."""
    if not classes:
        return to_tree(value)
    objects = _Objects(classes)
    root = to_tree(value, 0, objects)
    if not objects.order:
        return root
    table = []
    i = 0
    while i < len(
        objects.order
    ):  # encoding an instance may meet new ones: a worklist, no recursion
        obj = objects.order[i]
        attrs = {k: to_tree(v, 1, objects) for k, v in obj.__dict__.items() if type(k) is str}
        table.append([objects.names[type(obj)], attrs])
        i += 1
    return {"$graph": [root, table]}


_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _num(x: Any) -> float:
    if isinstance(x, dict) and list(x) == ["$float"] and x["$float"] in _FLOATS:
        return _FLOATS[x["$float"]]
    if type(x) in (int, float):
        return float(x)
    raise Undecodable(f"bad number {x!r:.60}")


class _Decoder:
    """One decoding: counts values (size bound) and resolves ``$ref`` to prepared instances."""

    def __init__(self, objects: list[Any] | None = None, iterators: bool = True) -> None:
        self.nodes = 0
        self.objects = objects
        self.iterators = iterators  # ``$iter`` accepted (only what the test runner sends)

    def tree(self, tree: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise Undecodable("structure nested too deep")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise Undecodable(f"more than {MAX_NODES} values")
        t = type(tree)
        if tree is None or t is bool or t is str or t is int or t is float:
            return tree
        d = depth + 1
        if t is list:
            return [self.tree(v, d) for v in tree]
        if t is not dict:
            raise Undecodable(f"unexpected JSON type {t.__name__}")
        if len(tree) == 1:
            ((key, body),) = tree.items()
            if key.startswith("$"):
                return self.tagged(key, body, d)
        return {k: self.tree(v, d) for k, v in tree.items()}

    def tagged(self, key: str, body: Any, d: int) -> Any:
        try:
            if key == "$float":
                return _num({key: body})
            if key in ("$bytes", "$bytearray"):
                raw = base64.b64decode(body.encode("ascii"), validate=True)
                return raw if key == "$bytes" else bytearray(raw)
            if key == "$complex":
                re, im = body
                return complex(_num(re), _num(im))
            if key == "$int":
                if type(body) is not str:
                    raise Undecodable("bad $int")
                return int(body, 16)
            if key == "$decimal":
                if type(body) is not str or len(body) > MAX_DECIMAL:
                    raise Undecodable("bad $decimal")
                return Decimal(body)
            if key == "$ref":
                if (
                    self.objects is None
                    or type(body) is not int
                    or not 0 <= body < len(self.objects)
                ):
                    raise Undecodable("bad $ref")
                return self.objects[body]
            if not isinstance(body, list):
                raise Undecodable(f"{key} needs a list")
            if key == "$tuple":
                return tuple(self.tree(v, d) for v in body)
            if key == "$iter":
                if not self.iterators:
                    raise Undecodable("an iterator from a sender that may not send one")
                return iter([self.tree(v, d) for v in body])
            if key == "$slice":
                start, stop, step = (self.tree(v, d) for v in body)
                return slice(start, stop, step)
            if key == "$range":
                start, stop, step = (self.tree(v, d) for v in body)
                if not all(type(x) is int for x in (start, stop, step)):
                    raise Undecodable("bad $range")
                return range(start, stop, step)
            if key == "$fraction":
                num, den = (self.tree(v, d) for v in body)
                if type(num) is not int or type(den) is not int or den <= 0:
                    raise Undecodable("bad $fraction")
                if num.bit_length() + den.bit_length() > MAX_FRACTION_BITS:  # gcd cost
                    raise Undecodable("bad $fraction")
                return Fraction(num, den)
            if key in ("$set", "$frozenset"):
                items = [self.tree(v, d) for v in body]
                _no_collisions(items)
                return set(items) if key == "$set" else frozenset(items)
            if key == "$dict":
                pairs = []
                for pair in body:
                    k, v = pair
                    pairs.append((self.tree(k, d), self.tree(v, d)))
                _no_collisions([k for k, _ in pairs])
                return dict(pairs)
        except Undecodable:
            raise
        except (TypeError, ValueError, AttributeError) as exc:
            raise Undecodable(f"bad {key}: {type(exc).__name__}: {exc}") from None
        raise Undecodable(f"unknown tag {key!r:.40}")


def _no_collisions(keys: list[Any]) -> None:
    """Reject keys sharing one hash too often (building the dict or set would be quadratic)."""
    if len(keys) <= MAX_SAME_HASH:
        return
    counts: dict[int, int] = {}
    for k in keys:
        h = hash(k)  # raises TypeError for an unhashable key: Undecodable above
        n = counts.get(h, 0) + 1
        if n > MAX_SAME_HASH:
            raise Undecodable(f"more than {MAX_SAME_HASH} keys with one hash")
        counts[h] = n


def from_tree(tree: Any, depth: int = 0) -> Any:
    """Rebuild the value a `to_tree` tree stands for (no helper classes); raises `Undecodable`."""
    return _Decoder().tree(tree, depth)


def _graph(body: Any, classes: dict[str, type], iterators: bool = True) -> Any:
    if not (type(body) is list and len(body) == 2 and type(body[1]) is list):
        raise Undecodable("bad $graph")
    root, table = body
    if len(table) > MAX_NODES:
        raise Undecodable(f"more than {MAX_NODES} values")
    objects = []
    for entry in table:
        if not (type(entry) is list and len(entry) == 2 and type(entry[1]) is dict):
            raise Undecodable("bad $graph entry")
        cls = classes.get(entry[0]) if type(entry[0]) is str else None
        if cls is None:
            raise Undecodable(f"unknown helper class {entry[0]!r:.40}")
        objects.append(cls.__new__(cls))  # type: ignore[call-overload]  # no __init__ runs
    dec = _Decoder(objects, iterators)
    for obj, (_, attrs) in zip(objects, table):
        obj.__dict__.update({k: dec.tree(v, 1) for k, v in attrs.items()})
    return dec.tree(root)


def decode(text: str | bytes, classes: dict[str, type] | None = None) -> Any:
    """The value tagged JSON ``text`` stands for; raises `Undecodable` on anything malformed.

    ``classes`` (name -> class) are the helper classes whose instances may be rebuilt.
    """
    if len(text) > MAX_TEXT:
        raise Undecodable(f"more than {MAX_TEXT} characters")
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Undecodable(f"not JSON: {exc}"[:200]) from None
    return decode_tree(tree, classes)


def decode_tree(
    tree: Any, classes: dict[str, type] | None = None, *, iterators: bool = True
) -> Any:
    """`decode` on an already parsed JSON tree.

    ``iterators=False`` rejects ``$iter`` (the test runner decoding what the candidate sent:
    an iterator there could never be passed back, and the test would be blamed for it)."""
    try:
        if classes and type(tree) is dict and len(tree) == 1 and "$graph" in tree:
            return _graph(tree["$graph"], classes, iterators)
        return _Decoder(iterators=iterators).tree(tree)
    except RecursionError:
        raise Undecodable("structure nested too deep") from None
