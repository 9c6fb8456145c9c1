"""The two processes of a ``tests`` execution: the candidate's, and the trusted test runner.

Stdlib-only (shipped into the sandbox). Both are forks of the zygote (`assay_sandbox.zygote`):

- `run_candidate` runs in the candidate's process: once the runner's setup is over (the
  candidate shares its uid and work dir, so its code must not run while a failure would still
  be the task's), the shared trusted code (``shared``: an import prelude, the task's setup),
  then the candidate's ``source``; it reports the names the tests use (``exports``) to the
  runner, then answers its calls (`proxy`);
- `run_tests` runs in the test runner, a process the candidate's code never runs in: the shared
  trusted code, the runner-only trusted code (``setup``: HumanEval's prompt and ``check``
  function), binds the candidate's exports as `Remote` proxies, then runs each statement and
  reports its outcome over the verdict channel, which only this process holds (the supervisor
  accepts channel bytes from this process's pid alone).

A statement fails with ``fault="candidate"`` when it raises (a wrong answer, an exception from
the candidate, a timeout, a dead candidate process), with ``fault="task"`` when the test code itself
cannot run (it imports a module the sandbox lacks, passes something that cannot cross). It also
fails when it completes after a failure the test may not excuse (`remote.Connection.fatal`: the
candidate's process died, a call or the statement ran past its time, ``SystemExit`` from the
candidate...), even if the test's own ``except Exception`` caught it.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import os
import signal
import socket
import sys
from typing import Any

from assay_sandbox.cleanup import try_compile
from assay_sandbox.proxy import (
    CandidateError,
    CandidateGone,
    Uncrossable,
    _Table,
    exports_of,
    recv_msg,
    send_msg,
    serve_calls,
)
from assay_sandbox.remote import Connection
from assay_sandbox.runners import Channel, error_text, new_namespace


def helper_classes(ns: dict[str, Any]) -> dict[str, type]:
    """Classes defined by trusted code in ``ns`` (by name): these may cross as values."""
    return {
        k: v
        for k, v in ns.items()
        if isinstance(v, type) and getattr(v, "__module__", None) == ns.get("__name__")
    }


GO = {"go": True}  # the runner to the candidate's process: its setup is over


def run_candidate(req: dict[str, Any], ctl_fd: int) -> int:
    """The candidate's process: load, report exports, serve calls. Returns the exit code."""
    ctl = socket.socket(fileno=ctl_fd)
    # Nothing of the candidate runs before the runner's trusted setup is over (see `run_tests`).
    if recv_msg(ctl, 64) != GO:  # the setup failed and the runner has ended
        return 1
    ns = new_namespace("solution")
    try:
        exec(req["_shared"], ns)
    except BaseException as exc:  # noqa: BLE001 (the runner reports the task's failure itself)
        send_msg(ctl, {"load_error": "setup: " + error_text(exc)[:2000]})
        return 1
    table = _Table(helper_classes(ns))
    before = dict(ns)
    try:
        exec(req["_code"], ns)
    except BaseException as exc:  # noqa: BLE001 (the candidate's exceptions, any kind, are its answer)
        send_msg(ctl, {"load_error": "source: " + error_text(exc)[:2000]})
        return 1
    try:
        exports = exports_of(ns, before, list(req.get("exports") or ()), table)
    except BaseException as exc:  # noqa: BLE001 (a hostile value may raise anything while encoded)
        send_msg(ctl, {"load_error": "source: " + error_text(exc)[:2000]})
        return 1
    send_msg(ctl, {"exports": exports, "pid": os.getpid()})
    serve_calls(ctl, table)
    return 0


def _classify(exc: BaseException) -> str:
    """Whose failure an exception raised by a test statement is: the task's only when the test
    code itself cannot run (an import the sandbox lacks, a value that cannot cross), never for
    an exception the candidate raised."""
    if getattr(exc, "_assay_from_candidate", False):
        return "candidate"
    if isinstance(exc, (Uncrossable, ImportError)):
        return "task"
    return "candidate"


def compile_tests(req: dict[str, Any]) -> dict[str, Any]:
    """``req`` with the runner-only setup and the statements compiled (in the runner's fork)."""
    req["_setup"] = try_compile(req.get("setup") or "", "tests_setup.py")
    req["_statements"] = [
        try_compile(stmt, f"test_{i}.py") for i, stmt in enumerate(req["statements"])
    ]
    return req


def run_tests(req: dict[str, Any], chan: Channel, ctl_fd: int) -> int:
    """The trusted test runner. Returns the exit code; the verdict goes over ``chan``."""
    send = chan.send
    del chan
    # The candidate (same uid) may signal this process: SIGINT must not raise here, where a
    # KeyboardInterrupt would read as the task's own failure. Other signals kill or stop the
    # runner, which fails the sample.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctl = socket.socket(fileno=ctl_fd)
    ns = new_namespace("__main__")
    # The setup runs before the candidate's code does: a failure here is the task's, so no
    # process of the candidate (same uid, same work dir) may be there to cause it (a file the
    # setup writes made a directory, the work dir made read-only, the runner stopped until then).
    for what, code in (("setup", req["_shared"]), ("setup", req["_setup"])):
        try:
            if isinstance(code, BaseException):
                raise code
            exec(code, ns)
        except BaseException as exc:  # noqa: BLE001 (trusted code failing is the task's fault)
            send(t="load_error", error=f"{what}: {error_text(exc)}", fault="task")
            return 1
    with contextlib.suppress(OSError):  # gone: `Connection.loaded` says so
        send_msg(ctl, GO)  # the candidate's process waits for this before it runs anything
    classes = helper_classes(ns)
    keep = set(req.get("keep") or ())
    trusted_names = set(ns) - keep
    conn = Connection(ctl, classes, int(req["value_bytes"]))
    try:
        loaded = conn.loaded()
    except CandidateError as exc:
        send(t="load_error", error=f"source: {error_text(exc)}", fault="candidate")
        return 1
    if "load_error" in loaded:  # whatever it says: the runner ran the shared code fine itself
        send(t="load_error", error=str(loaded["load_error"])[:2000], fault="candidate")
        return 1
    exports = loaded.get("exports")
    contested = Contested()
    bound = bind_exports(
        ns, conn, exports if isinstance(exports, dict) else {}, trusted_names, keep, req, contested
    )
    sources = list(req.get("statements") or ())
    case_s = float(req.get("case_s") or 0)

    def on_alarm(signum: int, frame: Any) -> None:
        # a timeout is the candidate's failure wherever it lands, even in a test's try block
        raise conn.broken(TimeoutError("the test case ran past its time limit"))

    signal.signal(signal.SIGALRM, on_alarm)
    for i, code in enumerate(req["_statements"]):
        if not bound:
            send(t="stmt", i=i, ok=False, error=NOTHING_BOUND, fault="candidate", gone=False)
            continue
        conn.fatal = None
        if contested.mine and i < len(sources):
            contested.bind(ns, sources[i])
        if case_s:
            signal.setitimer(signal.ITIMER_REAL, case_s)
        try:
            if isinstance(code, BaseException):
                raise code
            exec(code, ns)
        except Exception as exc:  # noqa: BLE001 (a failing statement, whatever it raised)
            if case_s:
                signal.setitimer(signal.ITIMER_REAL, 0)
            gone = isinstance(exc, CandidateGone)  # the candidate's process died mid-call
            send(
                t="stmt",
                i=i,
                ok=False,
                error=error_text(exc)[:2000],
                fault="candidate" if conn.fatal is not None else _classify(exc),
                gone=gone,
            )
            continue
        except BaseException as exc:  # noqa: BLE001 (SystemExit from the task's code, or the candidate's)
            if case_s:
                signal.setitimer(signal.ITIMER_REAL, 0)
            mine = conn.fatal is not None or getattr(exc, "_assay_from_candidate", False)
            fault = "candidate" if mine else "task"
            send(t="stmt", i=i, ok=False, error=error_text(exc)[:2000], fault=fault)
            continue
        if case_s:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if conn.fatal is not None:  # caught by the test's own handler: still the candidate's
            send(t="stmt", i=i, ok=False, error=conn.fatal, fault="candidate", gone=conn.gone)
            continue
        send(t="stmt", i=i, ok=True)
    send(t="done")
    return 0


_builtins = sys.modules["builtins"]
NOTHING_BOUND = "NameError: the program defines none of the functions the tests call"
# Modules a test may use without importing them: always the runner's own import.
_LIBRARY_MODULES = [
    "math",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "re",
    "string",
    "typing",
    "operator",
    "fractions",
    "decimal",
    "statistics",
    "copy",
    "cmath",
    "random",
    "json",
    "array",
    "enum",
]
_ALIASES = {"np": "numpy", "pd": "pandas"}
# Where names a test uses as helpers (``Counter(...) == Counter(...)``) come from, besides the
# builtins: the first of these modules defining the name gives the runner's own object.
# (Not itertools or math: ``count``, ``product``, ``gcd`` are too often the function under test.)
_HELPER_MODULES = ("collections", "fractions", "decimal", "functools", "typing")


class _MissingModule:
    """A module the tests use that the runner cannot import: the task's problem."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise ImportError(f"the tests use module {self._name!r}, which the sandbox lacks")


@functools.cache
def helper_names() -> dict[str, Any]:
    """Builtin and helper-library names -> the runner's object (None: the builtin itself).
    Computed once in the zygote (`assay_sandbox.zygote` warms it), shared by every fork."""
    names: dict[str, Any] = {}
    for mod in reversed(_HELPER_MODULES):
        try:
            module = importlib.import_module(mod)
        except ImportError:
            continue
        names.update((n, getattr(module, n)) for n in dir(module) if not n.startswith("_"))
    names.update((n, None) for n in dir(_builtins))
    return names


def _runner_module(name: str) -> Any:
    """The runner's own import of module ``name`` (never the candidate's object of that name)."""
    real = _ALIASES.get(name, name)
    try:
        return importlib.import_module(real)
    except ImportError:
        return _MissingModule(real)


def bind_exports(
    ns: dict[str, Any],
    conn: Connection,
    exports: dict[str, Any],
    trusted: set[str],
    keep: set[str],
    req: dict[str, Any],
    contested: Contested | None = None,
) -> bool:
    """Bind the names the tests take from the candidate into the runner's namespace ``ns``.

    Returns False when the tests call names, the candidate defines none of them, and none is
    the task's: nothing of the program would be tested. Rules, so that no test helper is ever
    the candidate's:

    - ``keep`` names (a declared entry point) are the candidate's, even when named like a builtin;
    - a name that is a module (``math``, ``collections``; ``np``) is the runner's own import;
    - a builtin or helper-library name (``sorted``, ``Counter``, ``reduce``) is the runner's
      when the candidate also defines a name the tests use that is no such name; when everything
      the candidate defines is so named, each statement takes from the candidate only the one it
      tests (`tested_names`), the others stay the runner's (``contested``);
    - names the task's trusted code defines are the task's; names it imports (the prelude's
      ``gcd``) count as library names;
    - a ``keep`` name the program does not define is removed (the task's stub never stands in).
    """
    wanted = [n for n in (req.get("exports") or ()) if type(n) is str]
    given = {n: v for n, v in exports.items() if type(n) is str and isinstance(v, dict)}
    modules = {
        n for n in wanted if n not in trusted and n not in keep and _is_module_name(n, given.get(n))
    }
    for name in modules:
        ns[name] = _runner_module(name)
    helpers = helper_names()
    # trusted names that are library imports (the prelude's ``gcd``), not the task's own code
    imported = {n for n in trusted if n in ns and _imported(ns[n], ns)}
    own = [n for n in given if (n not in trusted or n in imported) and n not in modules]
    plain = [n for n in own if n not in helpers and n not in imported]
    for name in own:
        if name not in keep and plain and (name in helpers or name in imported):
            if name not in imported and helpers[name] is not None:  # a helper the test uses:
                ns[name] = helpers[name]  # the library's (a builtin needs no binding)
            continue
        theirs = ns.get(name, helpers.get(name) if name not in imported else None)
        try:
            ns[name] = conn.result(given[name])
        except Exception:  # noqa: BLE001 (a malformed export is just missing)
            continue
        if contested is not None and name not in keep and not plain:
            contested.mine[name] = ns[name]
            contested.theirs[name] = theirs
    for name in keep - set(given):  # the entry point the program does not define: never the
        ns.pop(name, None)  # task's own stub or reference in its place (a NameError)
    tested = [n for n in wanted if (n not in trusted or n in imported) and n not in modules]
    return not tested or bool(own) or bool(keep)


class Contested:
    """Builtin-named functions of a candidate that defines nothing else the tests use (``max``
    and ``sorted``): one may be under test, the rest are the test's helpers. Before each
    statement `bind` gives the candidate's the one that statement tests, the runner's the rest:
    a program defining ``sorted`` beside ``max`` cannot judge ``assert max(xs) == sorted(xs)[-1]``.
    """

    def __init__(self) -> None:
        self.mine: dict[str, Any] = {}  # name -> the candidate's proxy
        self.theirs: dict[str, Any] = {}  # name -> the runner's object (None: the builtin)

    def bind(self, ns: dict[str, Any], source: str) -> None:
        tested = tested_names(source, set(self.mine))
        for name, proxy in self.mine.items():
            theirs = self.theirs.get(name)
            if name in tested:
                ns[name] = proxy
            elif theirs is None:
                ns.pop(name, None)  # the builtin
            else:
                ns[name] = theirs


def _names_in(node: ast.AST, names: set[str]) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in names}


def tested_names(source: str, names: set[str]) -> set[str]:
    """Which of ``names`` one statement tests: of those it reads, the ones whose calls wrap none
    of the others (``all(sum(xs) == s ...)``, ``abs(sum(xs))`` test ``sum``; ``len(sorted(x))``
    tests ``sorted``); of several such, the leftmost (``max(xs) == sorted(xs)[-1]``: ``max``)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()  # it does not compile: it fails whatever is bound
    refs = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in names
    ]
    wrappers = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
            inner: set[str] = set()
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                inner |= _names_in(arg, names)
            if inner - {node.func.id}:
                wrappers.add(node.func.id)
    candidates = [r for r in refs if r.id not in wrappers] or refs
    if not candidates:
        return set()
    first = min(candidates, key=lambda r: (r.lineno, r.col_offset))
    return {first.id}


def _imported(value: Any, ns: dict[str, Any]) -> bool:
    """Whether a trusted name's value came from a library rather than the task's code."""
    if type(value).__name__ == "module":
        return True
    module = getattr(value, "__module__", None)
    return isinstance(module, str) and module != ns.get("__name__")


def _is_module_name(name: str, export: dict[str, Any] | None) -> bool:
    """A name the tests use as a module: a library module or alias whatever the candidate made
    of it, or another standard module the candidate imported (or did not define)."""
    if name in _LIBRARY_MODULES or name in _ALIASES:
        return True
    if name not in getattr(sys, "stdlib_module_names", ()):
        return False
    return export is None or export.get("type") == "module"
