"""The trusted runner's view of the candidate: a connection and `Remote` proxies (see `proxy`).

Stdlib-only (shipped into the sandbox); runs in the test runner, never in the candidate's
process. Everything that comes back is decoded as data (bounded, exact types) and checked for
shape; nothing the candidate built is ever called here.

A failure of the candidate that no honest answer could produce (its process died or was killed,
a call ran past its time, an undecodable or oversized reply, a ``SystemExit`` or
``KeyboardInterrupt``, a protocol it lied about) is recorded in `Connection.fatal` as well as
raised: the statement fails even when the test's own ``except Exception`` (or a bare
``except``) swallows the exception, as it would had the tests run in the candidate's process.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import itertools
import os
import signal
import socket
from typing import Any

from assay_sandbox import codec
from assay_sandbox.proxy import CandidateError, CandidateGone, Uncrossable, recv_msg, send_msg

_MUTABLE = (list, dict, set, bytearray)


GRACE_S = 0.5  # how long an interrupted call may take to answer before its process is killed


class Connection:
    """Calls into the candidate's process over one socket (see `assay_sandbox.proxy`)."""

    def __init__(self, sock: socket.socket, classes: dict[str, type], cap: int) -> None:
        self.sock, self.classes, self.cap = sock, classes, cap
        # Only the task's own Exception classes: a BaseException would escape the test's handlers
        self.exc_classes = {n: c for n, c in classes.items() if issubclass(c, Exception)}
        self.pid = 0
        self.gone = False
        self.callbacks: list[Any] = []  # functions of the test passed to the candidate
        # the first failure no test code may excuse since the runner last cleared it (per
        # statement); see the module docstring
        self.fatal: str | None = None

    def broken(self, exc: BaseException) -> BaseException:
        """Record ``exc`` as a failure of the candidate that the test cannot catch; return it."""
        if self.fatal is None:
            self.fatal = f"{type(exc).__name__}: {exc}"[:2000]
        return exc

    def loaded(self) -> dict[str, Any]:
        """The candidate's first message: ``{"exports", "pid"}`` or ``{"load_error"}``."""
        msg = recv_msg(self.sock, self.cap)
        if not isinstance(msg, dict):
            self.gone = True
            raise self.broken(CandidateGone("the candidate's process ended while loading"))
        pid = msg.get("pid")
        if type(pid) is int and 1 < pid != os.getpid():
            self.pid = pid
        return msg

    def kill(self) -> None:
        """The candidate's process is of no more use: stop it, fail every later call."""
        self.gone = True
        if self.fatal is None:
            self.fatal = "CandidateGone: the candidate's process was stopped"
        if self.pid:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)

    def interrupt(self) -> None:
        """A call ran past the statement's time: interrupt it, drop its answer, or kill."""
        if not self.pid:
            self.kill()
            return
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGINT)
        self.sock.settimeout(GRACE_S)
        try:
            if recv_msg(self.sock, self.cap) is None:
                self.kill()
        except (OSError, CandidateGone, ValueError):
            self.kill()
        finally:
            if not self.gone:
                self.sock.settimeout(None)

    def request(self, req: dict[str, Any]) -> Any:
        if self.gone:
            raise self.broken(
                CandidateGone("the candidate's process is gone (an earlier call ended it)")
            )
        try:
            send_msg(self.sock, req)
            while True:
                reply = recv_msg(self.sock, self.cap)
                if not (isinstance(reply, dict) and "cb" in reply):
                    break
                self.serve_callback(reply)  # the candidate calls a function the test passed
        except TimeoutError as exc:  # the statement's time ran out (SIGALRM)
            self.broken(exc)
            self.interrupt()
            raise
        except CandidateGone as exc:  # over the size cap or not JSON: the stream is lost
            self.kill()
            raise self.broken(exc) from None
        except (OSError, ValueError):
            reply = None
        if not isinstance(reply, dict):
            self.kill()
            raise self.broken(CandidateGone("the candidate's process ended during the call"))
        return reply

    def serve_callback(self, msg: dict[str, Any]) -> None:
        """Run the test's function ``msg["cb"]`` on what the candidate passed; send the result.

        The function is the test's own; its arguments arrive as values or handles, never as
        objects of the candidate's, so nothing the candidate built runs here."""
        n, args, kwargs = msg.get("cb"), msg.get("args"), msg.get("kwargs")
        if not (type(n) is int and 0 <= n < len(self.callbacks)):
            raise self.broken(CandidateGone("a call back to a function the test never passed"))
        if type(args) is not list or type(kwargs) is not dict:
            raise self.broken(CandidateGone("a malformed call back"))
        try:
            value = self.callbacks[n](
                *[self.result(a) for a in args if isinstance(a, dict)],
                **{str(k): self.result(v) for k, v in kwargs.items() if isinstance(v, dict)},
            )
            reply = {"ret": True, **self.out(value)}
        except (CandidateGone, TimeoutError):  # the statement's time ends here, not in the program
            raise
        except Exception as exc:  # noqa: BLE001 (the test's function raised: the candidate sees it)
            base = next(
                (c.__name__ for c in type(exc).__mro__ if getattr(builtins, c.__name__, None) is c),
                "Exception",
            )
            reply = {"ret": True, "exc": [type(exc).__name__, base, str(exc)[:2000]]}
        send_msg(self.sock, reply)

    # -- values ----------------------------------------------------------------------------------
    def out(self, value: Any) -> dict[str, Any]:
        if type(value) is Remote:
            if value._conn is not self:
                raise Uncrossable("a candidate object of another run")
            return {"h": value._h}
        if callable(value):  # a function (or class) of the test: called
            self.callbacks.append(value)  # back by the candidate, run here
            return {"cb": len(self.callbacks) - 1}
        if _is_iterator(value):  # a generator or map() the test passes: its items cross
            items = codec.Materialized(itertools.islice(value, MAX_ITER_ITEMS + 1))
            if len(items) > MAX_ITER_ITEMS:
                # longer or endless (its length may be the candidate's doing: a generator over
                # a list it returned): the first items at once, the rest pulled one per round
                # trip as the candidate iterates (each ``next`` runs here)
                rest = itertools.chain([items.pop()], value)
                try:
                    head = codec.encode_tree(items, self.classes)
                except codec.Unencodable:  # (handles among them): every item pulled alone
                    head, rest = (
                        codec.encode_tree(codec.Materialized()),
                        itertools.chain(items, rest),
                    )
                self.callbacks.append(functools.partial(next, rest))
                return {"icb": len(self.callbacks) - 1, "v": head}
            value = items
        try:
            return {"v": codec.encode_tree(value, self.classes)}
        except codec.Unencodable as exc:
            if exc.type_name in ("Remote", "structure nested too deep"):
                # built from what the candidate returned (a handle put in a container, a value
                # nested one level too deep): the candidate's doing, not the test's
                raise self.broken(
                    CandidateError(f"cannot pass back what the candidate returned: {exc}")
                ) from None
            raise Uncrossable(
                f"cannot pass {type(value).__name__} to the candidate: {exc}"
            ) from None
        except (RecursionError, ValueError) as exc:
            raise self.broken(
                CandidateError(f"cannot pass back what the candidate returned: {exc}")
            ) from None

    def result(self, reply: dict[str, Any], stops: bool = False) -> Any:
        """The value a reply stands for, or raise what the candidate raised. Only a ``next``
        (``stops``) may end an iteration: a StopIteration from a call or any other operation
        would silently end the test's own loop (``map``, ``all``), so it is a plain failure."""
        if "v" in reply:
            try:
                return codec.decode_tree(reply["v"], self.classes, iterators=False)
            except codec.Undecodable as exc:
                raise self.broken(
                    CandidateGone(f"the candidate's value could not be decoded: {exc}")
                ) from None
        if type(reply.get("h")) is int:
            return Remote(self, reply["h"], str(reply.get("type", "?"))[:80])
        raised = reply.get("exc")
        if type(raised) is list and len(raised) == 3 and all(type(x) is str for x in raised):
            error = self.exception(*raised)
            if not stops and isinstance(error, (StopIteration, StopAsyncIteration)):
                error = CandidateError(f"{raised[0]} raised outside an iteration: {raised[2]}")
                error._assay_from_candidate = True  # type: ignore[attr-defined]
            raise error
        raise self.broken(CandidateGone("the candidate sent something that is not a reply"))

    def exception(self, name: str, base: str, message: str) -> BaseException:
        """The exception to raise in the test for one the candidate raised. ``SystemExit``,
        ``KeyboardInterrupt`` and ``GeneratorExit`` arrive as themselves: as in the candidate's
        own process, a test's ``except Exception`` does not catch them (the statement fails),
        while a test that expects one (``except SystemExit``) sees it."""
        cls: type[BaseException] = CandidateError
        found = self.exc_classes.get(name) or getattr(builtins, base, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            cls = found
        exc: BaseException
        try:
            if cls is SystemExit:  # its code crossed as text: ``sys.exit(2)`` has code 2 again
                digits = message.lstrip("-")
                code = (
                    int(message)
                    if digits.isascii() and digits.isdigit() and len(digits) < 20
                    else message or None
                )
                exc = SystemExit(code)
            else:
                exc = (
                    cls(message)
                    if cls is not CandidateError
                    else CandidateError(f"{name}: {message}")
                )
        except Exception:  # noqa: BLE001 (a task exception class with another signature)
            plain = issubclass(cls, Exception)
            exc = (CandidateError if plain else BaseException)(f"{name}: {message}")
        exc._assay_from_candidate = True  # type: ignore[attr-defined]  # (its ImportError is its own)
        return exc

    def op(self, h: int, op: str, **fields: Any) -> Any:
        return self.result(self.request({"op": op, "h": h, **fields}), op == "next")

    def call(self, h: int, args: tuple, kwargs: dict[str, Any]) -> Any:
        back = any(_mutable(a) for a in args) or any(_mutable(v) for v in kwargs.values())
        req = {
            "args": [self.out(a) for a in args],
            "kwargs": {str(k): self.out(v) for k, v in kwargs.items()},
            "back": back,
        }
        reply = self.request({"op": "call", "h": h, **req})
        value = self.result(reply)
        if back and reply.get("back") is not None:
            self.write_back(args, kwargs, reply["back"])
        return value

    def write_back(self, args: tuple, kwargs: dict[str, Any], tree: Any) -> None:
        try:
            new_args, new_kwargs = codec.decode_tree(tree, self.classes, iterators=False)
        except (codec.Undecodable, TypeError, ValueError):
            return
        if type(new_args) is not list or type(new_kwargs) is not dict:
            return
        pairs = list(zip(args, new_args)) + [
            (v, new_kwargs[k]) for k, v in kwargs.items() if k in new_kwargs
        ]
        for old, new in pairs:
            _update(old, new)


MAX_ITER_ITEMS = 100_000


def _is_iterator(value: Any) -> bool:
    t = type(value)
    return (
        t is not Remote
        and hasattr(t, "__next__")
        and hasattr(t, "__iter__")
        and t.__module__ in ("builtins", "itertools")
    )


def _mutable(value: Any) -> bool:
    t = type(value)
    return t in _MUTABLE or (
        t is not Remote and hasattr(value, "__dict__") and not isinstance(value, type)
    )


def _update(old: Any, new: Any) -> None:
    """Write ``new`` into ``old`` in place (same type only)."""
    t = type(old)
    if t is not type(new):
        return
    if t is list or t is bytearray:
        old[:] = new
    elif t is dict or t is set:
        old.clear()
        old.update(new)
    elif hasattr(old, "__dict__") and not isinstance(old, type):
        old.__dict__.clear()
        old.__dict__.update(new.__dict__)


class Remote:
    """A function, class or object that lives in the candidate's process (see `proxy`)."""

    __slots__ = ("_conn", "_h", "_type")

    def __init__(self, conn: Connection, h: int, type_name: str) -> None:
        self._conn, self._h, self._type = conn, h, type_name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._conn.call(self._h, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # protocols the test runner probes for are not crossed
        return self._conn.op(self._h, "getattr", name=name)

    def __iter__(self) -> Any:
        it = self._conn.op(self._h, "iter")
        return it if type(it) is Remote else iter(it)

    def __next__(self) -> Any:
        return self._conn.op(self._h, "next")

    # len, bool and `in` are answered here from the items the object yields (each crossing as a
    # value and compared by the runner's own ==), never by the candidate's __contains__; its
    # __len__ must agree with its items. An object cannot claim what no honest value could
    # (containing everything, having items its length denies).
    def _items(self) -> Any:
        it = self._conn.op(self._h, "iter")
        return it if type(it) is Remote else iter(it)

    def __len__(self) -> int:
        try:
            it = self._items()
        except TypeError:  # not iterable: its own len, which no item can contradict
            return int(self._checked("len", int))
        if type(it) is Remote and it._h == self._h:  # an iterator has no len (list() then
            raise TypeError(f"object of type {self._type!r} has no len()")  # iterates it)
        n = sum(1 for _ in it)
        if self._checked("len", int) != n:
            raise self._conn.broken(
                CandidateError(f"len() of a {self._type} object disagrees with its items")
            )
        return n

    def __bool__(self) -> bool:
        try:
            it = self._items()
        except TypeError:  # not a container: its own truth (any plain value could say as much)
            return bool(self._checked("bool", bool))
        if type(it) is Remote and it._h == self._h:
            return True  # an iterator (a generator): truthy, and not consumed
        return any(True for _ in it)

    def _checked(self, op: str, want: type) -> Any:
        got = self._conn.op(self._h, op)
        if type(got) is not want or (type(got) is int and got < 0):
            raise self._conn.broken(
                CandidateGone(f"{op}() of a candidate object did not give a {want.__name__}")
            )
        return got

    def __getitem__(self, key: Any) -> Any:
        return self._conn.op(self._h, "getitem", key=self._conn.out(key))

    def __contains__(self, key: Any) -> bool:
        return any(item is key or item == key for item in self._items())

    def __repr__(self) -> str:
        return f"<candidate {self._type} object>"

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other  # identity only: the candidate's __eq__ never decides a test

    def __ne__(self, other: object) -> bool:
        return self is not other
