"""Calls across the boundary between the trusted test runner and the candidate's process.

Stdlib-only (shipped into the sandbox). The test runner (`assay_sandbox.testrun`) never loads the
candidate's code; it reaches the candidate's functions through `Remote` proxies. Each call is one
message over a Unix socket to the candidate's process, and one reply:

- arguments and return values cross as tagged JSON (`assay_sandbox.codec`): plain values, and
  instances of the task's helper classes (``ListNode``, ``TreeNode``: defined on both sides by
  the same trusted code), rebuilt on the receiving side with its own class;
- anything else the candidate returns (an instance of its own class, a generator, a function)
  stays in the candidate's process and crosses as a *handle*: a `Remote` on which the test may
  call, read attributes, iterate, index, take ``len`` and ``bool``; each of those is another
  round trip whose result is again a plain value or a handle. A handle compares by identity
  only, so an object whose ``__eq__`` lies never reaches the test's comparisons;
- an exception the candidate raises comes back as the nearest builtin exception type in its MRO
  (``ValueError`` for ``class MyError(ValueError)``), or as the task's own exception class of
  the same name, or else `CandidateError`; ``pytest.raises``-style and ``try/except`` tests
  see what they expect;
- arguments the test passes that the call mutates (lists, dicts, sets, bytearrays, helper
  objects) are sent back and written into the test's own objects, in place;
- a reply that is malformed, too big or never comes (the process died) raises `CandidateGone`.

The candidate side: after loading, the candidate's process answers the runner's requests one by
one (`serve_calls`). A call that runs past the statement's time is interrupted (SIGINT, so the
call raises ``KeyboardInterrupt``); a candidate that does not yield within a grace period is
killed, and the statements after it fail.
"""

from __future__ import annotations

import builtins
import itertools
import json
import signal
import socket
from typing import Any

from assay_sandbox import codec

MAX_MESSAGE = 64 * 1024 * 1024


class CandidateError(Exception):
    """The candidate raised an exception with no builtin or task counterpart."""


class CandidateGone(CandidateError):
    """The candidate's process ended, or answered with something that is not a reply."""


class Uncrossable(TypeError):
    """A value the test passes cannot cross to the candidate (a function, a candidate object
    inside a container): the test's problem, not the candidate's."""


# -- framing over a Unix stream socket ---------------------------------------------------------
def send_msg(sock: socket.socket, obj: Any) -> None:
    data = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
    sock.sendall(len(data).to_bytes(4, "big") + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def recv_msg(sock: socket.socket, cap: int = MAX_MESSAGE) -> Any:
    """The next message, or None at EOF; raises `CandidateGone` for an oversized one."""
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    n = int.from_bytes(head, "big")
    if n > cap:
        raise CandidateGone(f"a reply of {n} bytes is over the limit of {cap}")
    body = _recv_exact(sock, n)
    if body is None:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise CandidateGone("a message that is not JSON, or nested too deep") from None


# -- the candidate's side ------------------------------------------------------------------------
class _Table:
    """Objects of the candidate's process that crossed as handles, by number."""

    def __init__(self, classes: dict[str, type]) -> None:
        self.objects: list[Any] = []
        self.numbers: dict[int, int] = {}  # id -> number: an object crosses as one handle
        self.classes = classes
        self.sock: socket.socket | None = None  # to call the test's functions back

    def wrap(self, value: Any) -> dict[str, Any]:
        try:
            return {"v": codec.encode_tree(value, self.classes)}
        except (codec.Unencodable, RecursionError, ValueError):
            n = self.numbers.get(id(value))
            if n is None:  # the table keeps every object alive, so ids stay unique
                n = self.numbers[id(value)] = len(self.objects)
                self.objects.append(value)
            return {"h": n, "type": type(value).__name__[:80]}

    def unwrap(self, item: Any) -> Any:
        if "h" in item:
            return self.objects[int(item["h"])]
        if "cb" in item:
            return _Callback(self, int(item["cb"]))
        if "icb" in item:  # a long iterator of the test's: its first items, then the rest
            head = codec.decode_tree(item["v"], self.classes)  # pulled from the runner
            return itertools.chain(head, _Pull(_Callback(self, int(item["icb"]))))
        return codec.decode_tree(item["v"], self.classes)


class _Callback:
    """A function of the test (``lambda x: x + 1``, ``len``) passed to the candidate: calling it
    runs it in the test runner (one round trip; the runner may call back in meanwhile)."""

    def __init__(self, table: _Table, n: int) -> None:
        self._table, self._n = table, n

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        table = self._table
        sock = table.sock
        if sock is None:
            raise RuntimeError("no test runner to call back")
        send_msg(
            sock,
            {
                "cb": self._n,
                "args": [table.wrap(a) for a in args],
                "kwargs": {str(k): table.wrap(v) for k, v in kwargs.items()},
            },
        )
        while True:  # the runner's answer, or its own calls into this process meanwhile
            msg = recv_msg(sock)
            if not isinstance(msg, dict):
                raise RuntimeError("the test runner hung up")
            if not msg.get("ret"):
                _answer(table, sock, msg)
                continue
            if "exc" in msg:
                name, base, message = (str(x) for x in msg["exc"])
                cls = getattr(builtins, base, None)
                if not (isinstance(cls, type) and issubclass(cls, Exception)):
                    cls = RuntimeError
                raise cls(f"{message}" if name == base else f"{name}: {message}")
            return table.unwrap(msg)

    def __repr__(self) -> str:
        return "<test function>"


class _Pull:
    """The rest of a long iterator of the test's: each ``next`` is one call back to the runner
    (its ``StopIteration`` ends the iteration here)."""

    def __init__(self, pull: _Callback) -> None:
        self._pull = pull

    def __iter__(self) -> _Pull:
        return self

    def __next__(self) -> Any:
        return self._pull()


def _exc_reply(exc: BaseException) -> dict[str, Any]:
    base = next(
        (c.__name__ for c in type(exc).__mro__ if getattr(builtins, c.__name__, None) is c),
        "BaseException",
    )
    try:
        message = str(exc)[:2000]
    except Exception:  # noqa: BLE001 (the candidate's __str__ may raise anything)
        message = ""
    return {"exc": [type(exc).__name__[:80], base, message]}


def _perform(table: _Table, req: dict[str, Any]) -> dict[str, Any]:
    op = req["op"]
    target = table.objects[int(req["h"])]
    if op == "call":
        args = [table.unwrap(a) for a in req["args"]]
        kwargs = {k: table.unwrap(v) for k, v in req["kwargs"].items()}
        reply = table.wrap(target(*args, **kwargs))
        if req.get("back"):  # the test inspects its arguments: send them back, as they are now
            try:
                reply["back"] = codec.encode_tree([args, kwargs], table.classes)
            except (codec.Unencodable, RecursionError, ValueError):
                reply["back"] = None
        return reply
    if op == "getattr":
        return table.wrap(getattr(target, str(req["name"])))
    if op == "iter":
        return table.wrap(iter(target))
    if op == "next":
        return table.wrap(next(target))
    if op == "len":
        return table.wrap(len(target))
    if op == "bool":
        return table.wrap(bool(target))
    if op == "getitem":
        return table.wrap(target[table.unwrap(req["key"])])
    if op == "contains":
        return table.wrap(table.unwrap(req["key"]) in target)
    raise ValueError(f"unknown operation {op!r:.40}")


def serve_calls(sock: socket.socket, table: _Table) -> None:
    """Answer the runner's requests until it hangs up (the candidate's process, after loading).

    The runner interrupts a call that ran past its time with SIGINT: the call then raises
    ``KeyboardInterrupt``, which is its answer. An interrupt that arrives between calls is
    dropped, and none can cut a reply in half (SIGINT is blocked while one is sent).
    """
    table.sock = sock
    while True:
        try:
            req = recv_msg(sock)
            if req is None:
                return
            _answer(table, sock, req)
        except KeyboardInterrupt:
            continue


def _answer(table: _Table, sock: socket.socket, req: Any) -> None:
    """Perform one request of the runner and send the reply."""
    try:
        reply = _perform(table, req)
    except BaseException as exc:  # noqa: BLE001 (the candidate's exceptions, any kind, are its answer)
        reply = _exc_reply(exc)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        send_msg(sock, reply)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def exports_of(
    ns: dict[str, Any], before: dict[str, Any], wanted: list[str], table: _Table
) -> dict:
    """The wanted names the candidate's source defined (or changed), each as a value or handle."""
    out = {}
    for name in wanted:
        if name in ns and (name not in before or ns[name] is not before[name]):
            out[name] = table.wrap(ns[name])
    return out
