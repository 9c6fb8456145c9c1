"""Worker processes that run calls under a hard deadline and a memory cap.

Signal-based timeouts (``signal.alarm``) only work on the main thread and cannot interrupt C
code (sympy's ``10**10**10`` sits inside GMP). Here the work runs in a forked worker process;
the caller waits on a pipe with a timeout and, when the deadline passes, the worker is killed
(SIGKILL) and replaced. That works from any thread and any asyncio task, and it really stops
the work. The memory cap is ``RLIMIT_AS`` in the worker: an allocation past it raises
``MemoryError`` there (or kills the worker, reported as `WorkerCrashed`).

The fast path costs one pickle round trip over a pipe (tens of microseconds), so callers keep
cheap checks in-process and send only the expensive part here.

>>> pool = GuardedPool(size=1, memory_mb=1024)
>>> pool.call(pow, 2, 10, timeout=1.0)
1024
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from .errors import DeadlineExceeded, WorkerCrashed
from .inherited import SERVER_PORTS, close_server_sockets

_MB = 1024 * 1024


def _mp_context() -> Any:
    """The multiprocessing context for process executors (``ASSAY_MP_START``, fork by default)."""
    method = os.environ.get("ASSAY_MP_START", "fork" if hasattr(os, "fork") else "spawn")
    return mp.get_context(method)


def _vm_size() -> int:
    """This process's virtual size in bytes (a forked worker starts with the same)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _watch_parent(ppid: int) -> None:
    """Exit as soon as the parent is gone (no orphaned workers, even mid-computation).

    PR_SET_PDEATHSIG would fire when the *thread* that forked us exits, which kills workers
    started from short-lived threads; polling the parent pid has no such trap.
    """
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(1)


def _worker_main(
    conn: Connection,
    memory_mb: int | None,
    initializer: Callable[..., Any] | None,
    initargs: tuple[Any, ...],
    ppid: int,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if SERVER_PORTS:
        close_server_sockets(SERVER_PORTS)
    threading.Thread(target=_watch_parent, args=(ppid,), daemon=True).start()
    if memory_mb:
        import resource

        # The cap is on top of the image inherited from the parent (with torch loaded that
        # alone is gigabytes of address space).
        limit = _vm_size() + int(memory_mb) * _MB
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        fn, args, kwargs = msg
        try:
            reply: tuple[bool, Any] = (True, fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception
            conn.send(
                (False, RuntimeError(f"{type(exc).__name__}: {exc} (sending {reply[1]!r:.200})"))
            )


class _Worker:
    """One forked worker process and its pipe.

    Forked directly (not through `multiprocessing.Process`) so that pools also work inside
    daemonic processes, such as `multiprocessing.Pool` workers.
    """

    def __init__(self, memory_mb: int | None, initializer: Any, initargs: tuple[Any, ...]) -> None:
        parent, child = mp.Pipe(duplex=True)
        ppid = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                parent.close()
                _worker_main(child, memory_mb, initializer, initargs, ppid)
            except BaseException:  # noqa: BLE001 - the worker must end in os._exit
                code = 70
            finally:
                os._exit(code)
        child.close()
        self.pid = pid
        self.conn: Connection = parent
        self.exitcode: int | None = None

    def _reap(self, block: bool) -> int | None:
        if self.exitcode is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                self.exitcode = -signal.SIGKILL
            else:
                if pid:
                    self.exitcode = os.waitstatus_to_exitcode(status)
        return self.exitcode

    def exit_status(self, wait: float = 1.0) -> int | None:
        """The worker's exit code (negative: killed by that signal), waiting up to ``wait`` s."""
        end = time.monotonic() + wait
        while self._reap(block=False) is None and time.monotonic() < end:
            time.sleep(0.005)
        return self.exitcode

    def kill(self) -> None:
        if self._reap(block=False) is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap(block=True)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        if self.exit_status(wait=1.0) is None:
            self.kill()
        else:
            self.conn.close()


@dataclass
class Outcome:
    """The result of one guarded call: a value, or the exception that stopped it."""

    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class GuardedPool:
    """A pool of worker processes that run calls with a hard deadline and a memory cap.

    Thread-safe: any number of threads may `call` at once; each call takes an idle worker.
    Workers start lazily, are replaced when killed, and exit when the parent process dies.
    ``memory_mb`` caps each worker's address space *on top of* the image it inherits.
    """

    def __init__(
        self,
        size: int = 1,
        *,
        memory_mb: int | None = None,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        if size < 1:
            raise ValueError("GuardedPool size must be at least 1")
        self.size = size
        self.memory_mb = memory_mb
        self._initializer = initializer
        self._initargs = initargs
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._started = 0
        self._closed = False
        _LIVE.add(self)
        self._pid = os.getpid()
        self.kills = 0  # workers killed on deadline or crash (observability, tests)

    def _check_fork(self) -> None:
        """After a fork (e.g. inside a process executor), the inherited workers and pipes
        belong to the parent: start afresh rather than talk over the parent's pipes."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._idle = queue.LifoQueue()
            self._all = set()
            self._lock = threading.Lock()
            self._started = 0

    def _spawn(self) -> _Worker:
        return _Worker(self.memory_mb, self._initializer, self._initargs)

    def _acquire(self, timeout: float | None = None) -> _Worker:
        if self._closed:
            raise RuntimeError("GuardedPool is closed")
        self._check_fork()
        with self._lock:
            if self._idle.empty() and self._started < self.size:
                self._started += 1
                try:
                    w = self._spawn()
                except BaseException:
                    self._started -= 1
                    raise
                self._all.add(w)
                return w
        try:
            return self._idle.get(timeout=timeout)
        except queue.Empty:
            raise DeadlineExceeded(
                f"no worker became free within the {timeout:g} s deadline "
                f"({self.size} busy); not run"
            ) from None

    def _release(self, w: _Worker) -> None:
        if self._closed:
            w.stop()
        else:
            self._idle.put(w)

    def _replace(self, w: _Worker) -> None:
        w.kill()
        self.kills += 1
        with self._lock:
            self._all.discard(w)
            if self._closed:
                self._started -= 1
                return
            nw = self._spawn()
            self._all.add(nw)
        self._idle.put(nw)

    def warm(self) -> None:
        """Start every worker now (so the first calls do not pay for the fork)."""
        ws = [self._acquire() for _ in range(self.size - self._idle.qsize())]
        for w in ws:
            self._release(w)

    def call(
        self, fn: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Run ``fn(*args, **kwargs)`` in a worker; kill it if it runs past ``timeout`` seconds.

        The deadline covers the whole call, waiting for a free worker included, so a caller
        always gets an answer within ``timeout`` (plus the kill). Raises `DeadlineExceeded` on
        timeout, `WorkerCrashed` if the worker died, and re-raises whatever ``fn`` raised.
        ``fn`` must be picklable (a module-level function).
        """
        end = None if timeout is None else time.monotonic() + timeout
        for attempt in range(2):
            w = self._acquire(None if end is None else max(end - time.monotonic(), 0.0))
            try:
                w.conn.send((fn, args, kwargs))
                break
            except OSError:  # the worker died while idle (killed, OOM): nothing ran yet
                code = w.exit_status(wait=1.0)
                self._replace(w)
                if attempt:
                    raise WorkerCrashed(_describe_exit(code, self.memory_mb)) from None
            except Exception:  # the call could not be pickled: the worker is fine
                self._release(w)
                raise
        if end is not None:
            timeout = max(end - time.monotonic(), 0.0)
        try:
            ready = w.conn.poll(timeout)
        except (EOFError, OSError):
            ready = True
        if not ready:
            self._replace(w)
            raise DeadlineExceeded(f"exceeded the {timeout:g} s deadline; worker killed")
        try:
            ok, value = w.conn.recv()
        except (EOFError, OSError):
            code = w.exit_status(wait=1.0)
            self._replace(w)
            raise WorkerCrashed(_describe_exit(code, self.memory_mb)) from None
        self._release(w)
        if ok:
            return value
        raise value

    async def acall(
        self, fn: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """`call` for asyncio: waits in a thread so the event loop stays free."""
        return await asyncio.to_thread(self.call, fn, *args, timeout=timeout, **kwargs)

    def outcome(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Outcome:
        t0 = time.perf_counter()
        try:
            value = self.call(fn, *args, timeout=timeout)
        except BaseException as exc:  # noqa: BLE001 - the outcome carries it to the caller
            return Outcome(None, exc, time.perf_counter() - t0)
        return Outcome(value, None, time.perf_counter() - t0)

    def map(
        self, fn: Callable[..., Any], items: Iterable[Any], *, timeout: float | None = None
    ) -> list[Outcome]:
        """``fn(item)`` for each item across the workers, each with its own deadline; in order."""
        seq: Sequence[Any] = list(items)
        if self.size == 1 or len(seq) <= 1:
            return [self.outcome(fn, it, timeout=timeout) for it in seq]
        with ThreadPoolExecutor(self.size) as ex:
            return list(ex.map(lambda it: self.outcome(fn, it, timeout=timeout), seq))

    def close(self) -> None:
        """Stop every worker. Idempotent."""
        self._closed = True
        if self._pid != os.getpid():
            return  # the workers belong to the parent process
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.stop()

    def __enter__(self) -> GuardedPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # No module globals here: at interpreter exit they may already be None, and anything
        # raised in __del__ is printed as "Exception ignored in ...". Live pools were closed by
        # the atexit hook below before that point.
        try:  # noqa: SIM105 - contextlib may be gone at exit
            self.close()
        except BaseException:  # noqa: BLE001 - nothing is left to report a failed close to
            pass


_LIVE: weakref.WeakSet[GuardedPool] = weakref.WeakSet()


@atexit.register
def _close_live_pools() -> None:
    """Stop the workers of every pool still open at exit, while the interpreter is whole."""
    for pool in list(_LIVE):
        with contextlib.suppress(Exception):
            pool.close()


def _describe_exit(code: int | None, memory_mb: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        cap = f" (memory cap {memory_mb} MiB)" if memory_mb and name == "SIGKILL" else ""
        return f"worker died from {name}{cap}"
    return f"worker exited with status {code}"
