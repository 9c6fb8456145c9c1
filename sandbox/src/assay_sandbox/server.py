"""The fork server that runs inside the sandbox: one per worker, one fork per execution.

Stdlib-only. The parent starts ``python -I -S -c BOOTSTRAP`` (or a container does) and sends one
frame holding the sources of `codec`, `jail` and this module plus a config; see
`assay_sandbox.protocol`. The server then

1. (``namespaces`` mode) unshares user/pid/net/mount/ipc/uts namespaces, asks the parent to write
   the uid/gid maps, forks the zygote that is pid 1 of the new pid namespace, and builds the
   read-only root (`jail.build_root`);
2. mounts the private work tmpfs, preloads common modules, ``gc.freeze()``s them, installs
   ``no_new_privs`` and the seccomp filter on itself (inherited by every fork), says ``ready``
   with the isolation level in force;
3. serves requests: for each, pipes for stdin/stdout/stderr plus a separate channel pipe, one
   ``fork``; the child drops to the sandbox uid, sets rlimits, runs the program; the zygote enforces the wall clock and output caps with ``poll``,
   then kills every process left in the namespace (``kill(-1)`` from pid 1, so setsid daemons go
   too), empties the work dir, and answers with one frame.

Frames are a 4-byte big-endian length and UTF-8 JSON. A request names a ``language`` (only
``python`` today) and a ``mode`` (``script``, ``call``, ``cases``, ``statements``); another language
would add a child runner that ``exec``s a compiled program in place of running a code object.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import random
import resource
import select
import signal
import sys
import time
from typing import Any

from assay_sandbox import codec, jail

MAX_FRAME = 256 * 1024 * 1024
PRELOAD = (
    "math cmath collections itertools functools heapq bisect re string json random decimal "
    "fractions typing dataclasses operator copy statistics array enum io traceback"
).split()


# -- framing --------------------------------------------------------------------------------
def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame(fd: int) -> Any:
    head = _read_exact(fd, 4)
    if head is None:
        return None
    n = int.from_bytes(head, "big")
    if n > MAX_FRAME:
        raise ValueError(f"frame of {n} bytes is too large")
    body = _read_exact(fd, n)
    if body is None:
        return None
    return json.loads(body)


def write_frame(fd: int, obj: Any) -> None:
    data = json.dumps(obj, separators=(",", ":")).encode()
    data = len(data).to_bytes(4, "big") + data
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


# -- supervision ----------------------------------------------------------------------------
class Sink:
    """Bytes read from one pipe, up to a cap (past it, ``overflow`` is set and reading stops)."""

    def __init__(self, name: str, cap: int) -> None:
        self.name, self.cap, self.data, self.overflow = name, cap, bytearray(), False

    def feed(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if len(chunk) > room:
            self.data += chunk[: max(room, 0)]
            self.overflow = True
        else:
            self.data += chunk


def _nonblock(fd: int) -> None:
    os.set_blocking(fd, False)


TICK_S = 0.02  # how often a running program's pipes are emptied
F_SETPIPE_SZ = 1031


def _pipe_max() -> int:
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            return min(int(f.read()), 1 << 20)
    except (OSError, ValueError):
        return 0


PIPE_SIZE = _pipe_max()


def big_pipe() -> tuple[int, int]:
    """A pipe with a large buffer (up to 1 MiB), so a program rarely waits for the zygote."""
    r, w = os.pipe()
    if PIPE_SIZE:
        try:
            fcntl.fcntl(r, F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass
    return r, w


def supervise(
    pid: int, sinks: dict[int, Sink], stdin_fd: int | None, stdin_data: bytes, deadline: float
) -> tuple[int | None, str | None, Any]:
    """Wait until ``pid`` exits, the deadline passes or a sink overflows; feed stdin meanwhile.

    The zygote sleeps on the child's pidfd only, not on its output pipes: a program's every
    write would otherwise wake the zygote (on a loaded machine each wake-up is a trip through
    the scheduler). The pipes are large and emptied every `TICK_S`, and once more at the end.
    Returns (wait status, why it was stopped, rusage); the caller closes the reader fds.
    """
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    for fd in sinks:
        _nonblock(fd)
    pending = memoryview(stdin_data)
    if stdin_fd is not None:
        _nonblock(stdin_fd)
        pending = _feed(stdin_fd, pending)
        if pending:
            poller.register(stdin_fd, select.POLLOUT)
        else:
            os.close(stdin_fd)
            stdin_fd = None
    stopped: str | None = None
    status: int | None = None
    rusage = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                stopped = "timeout"
                break
            events = poller.poll(max(1, int(min(left, TICK_S) * 1000)))
            if any(fd == pidfd for fd, _ in events):
                _, status, rusage = os.wait4(pid, 0)
                break
            if stdin_fd is not None and events:
                pending = _feed(stdin_fd, pending)
                if not pending:
                    poller.unregister(stdin_fd)
                    os.close(stdin_fd)
                    stdin_fd = None
            drain(sinks)
            if any(sink.overflow for sink in sinks.values()):
                stopped = "output_limit"
                break
    finally:
        os.close(pidfd)
        if stdin_fd is not None:
            os.close(stdin_fd)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        _, status, rusage = os.wait4(pid, 0)
    return status, stopped, rusage


def _feed(fd: int, pending: memoryview) -> memoryview:
    """Write as much of ``pending`` as the pipe takes now; the rest is returned."""
    while pending:
        try:
            n = os.write(fd, pending[: 1 << 20])
        except (BlockingIOError, InterruptedError):
            return pending
        except OSError:  # the program closed its stdin: the rest is dropped
            return pending[:0]
        pending = pending[n:]
    return pending


def drain(sinks: dict[int, Sink]) -> None:
    """Read what is left in each pipe without blocking (writers are dead or killed)."""
    for fd, sink in sinks.items():
        while not sink.overflow:
            try:
                chunk = os.read(fd, 65536)
            except (BlockingIOError, InterruptedError, OSError):
                break
            if not chunk:
                break
            sink.feed(chunk)


def _text(b: bytes | bytearray) -> str:
    return bytes(b).decode("utf-8", "replace")


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


# -- the child side: runs in the forked process, after the drop ----------------------------
class Channel:
    """Messages from the child to the zygote, tagged with the per-run nonce.

    The write end sits at a random high fd; the zygote accepts only lines that start with the
    nonce it generated, so text the program prints (on stdout/stderr, a different pipe) or
    writes blindly can never count as a verdict.
    """

    def __init__(self, fd: int, nonce: str) -> None:
        self._fd, self._nonce = fd, nonce
        self.send = _sender(fd, nonce + " ")

    def send(self, **msg: Any) -> None:  # replaced per instance by `_sender` (for type checkers)
        raise NotImplementedError


# The C string escaper, bound when the zygote loads this module, before any program runs.
_ESCAPE = json.encoder.c_encode_basestring_ascii or json.encoder.py_encode_basestring_ascii


def _sender(fd: int, prefix: str) -> Any:
    """``send(**msg)`` for a channel, built only from functions bound now, before the program
    runs: a program that rebinds ``json.dumps``, ``os.write``, ``memoryview`` or this module's
    globals (all reachable from it) cannot rewrite its messages, e.g. a failed statement into
    a passed one. Messages hold scalars (str, bool, int, float, None); anything else is null."""
    write, mv, esc, kind = os.write, memoryview, _ESCAPE, type
    t_str, t_bool, t_int, t_float = str, bool, int, float
    int_repr, float_repr, join = int.__repr__, float.__repr__, ",".join
    inf = float("inf")

    def encode(msg: dict[str, Any]) -> str:
        parts = []
        for k, v in msg.items():
            t = kind(v)
            if t is t_str:
                s = esc(v)
            elif t is t_bool:
                s = "true" if v else "false"
            elif t is t_int:
                s = int_repr(v)
            elif t is t_float and v == v and v != inf and v != -inf:
                s = float_repr(v)
            else:
                s = "null"
            parts.append(esc(k) + ":" + s)
        return "{" + join(parts) + "}"

    def send(**msg: Any) -> None:
        view = mv((prefix + encode(msg) + "\n").encode())
        while view:
            view = view[write(fd, view) :]

    return send


def _error_text(exc: BaseException) -> str:
    msg = str(exc)
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except Exception:
        pass
    return 1


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _print_exc(exc: BaseException) -> None:
    import traceback

    tb = exc.__traceback__
    tb = tb.tb_next if tb is not None else None  # drop the server's own frame
    try:
        traceback.print_exception(type(exc), exc, tb)
    except BaseException:
        pass


def _namespace(name: str) -> dict[str, Any]:
    """A fresh module registered as ``sys.modules[name]`` (dataclasses, pickle, typing need it)."""
    import builtins
    import types

    module = types.ModuleType(name)
    module.__file__ = "/sandbox/main.py"
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules[name] = module  # in the child only: the zygote's own modules stay as they are
    return module.__dict__


def _resolve(ns: dict[str, Any], fn_name: str) -> Any:
    """``f`` or ``Class.method`` (LeetCode style: the class is instantiated without arguments)."""
    head, _, tail = fn_name.partition(".")
    obj = ns[head]
    if tail:
        obj = getattr(obj(), tail)
    return obj


def child_script(req: dict[str, Any], chan: Channel) -> int:
    ns = _namespace("__main__")
    try:
        exec(req["_code"], ns)
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException as exc:
        _print_exc(exc)
        chan.send(t="exc", error=_error_text(exc), memory=isinstance(exc, MemoryError))
        return 1
    return 0


def child_call(req: dict[str, Any], chan: Channel) -> int:
    ns = _namespace("solution")
    try:
        exec(req["_code"], ns)
        fn = _resolve(ns, req["fn_name"])
        args = codec.decode(req["args"])
        kwargs = codec.decode(req["kwargs"])
        value = fn(*args, **kwargs)
    except BaseException as exc:
        chan.send(t="exc", error=_error_text(exc), memory=isinstance(exc, MemoryError))
        return 1
    try:
        text = codec.encode(value)
    except codec.Unencodable as exc:
        chan.send(t="unencodable", error=str(exc))
        return 1
    except RecursionError:
        chan.send(t="unencodable", error="unencodable return value: structure nested too deep")
        return 1
    chan.send(t="value", value=text)
    return 0


def child_statements(req: dict[str, Any], chan: Channel) -> int:
    # Everything the loop calls is bound here, before the program runs: a program that rebinds
    # ``builtins.exec`` (or ``isinstance``, ``enumerate``, this module's globals) must not make
    # a statement that never ran report that it completed.
    run, is_a, error_text, base, exc_type = exec, isinstance, _error_text, BaseException, Exception
    statements = list(req["_statements"])
    ns = _namespace("solution")
    send = chan.send
    del chan
    for what, code in (("setup", req["_setup"]), ("source", req["_code"])):
        try:
            if is_a(code, base):
                raise code
            run(code, ns)
        except exc_type as exc:
            send(t="load_error", error=f"{what}: {error_text(exc)}")
            return 1
        except base:
            return 0  # an exit at load time: nothing completed
    i = -1
    for code in statements:
        i += 1
        try:
            if is_a(code, base):
                raise code
            run(code, ns)
        except exc_type as exc:
            send(t="stmt", i=i, ok=False, error=error_text(exc))
            continue
        except base:
            return 0  # SystemExit / KeyboardInterrupt inside a statement: stop counting
        send(t="stmt", i=i, ok=True)
    send(t="done")
    return 0


def child_call_cases(req: dict[str, Any], chan: Channel, cfg: dict[str, Any]) -> int:
    """Load the program once, then fork per case so that a case cannot poison the next."""
    ns = _namespace("solution")
    try:
        exec(req["_code"], ns)
    except BaseException as exc:
        chan.send(t="load_error", error=_error_text(exc))
        return 1
    case_wall = float(req["case_wall_s"])
    cap = int(req["value_bytes"])
    for i, case in enumerate(req["cases"]):
        r, w = big_pipe()
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            sub = Channel(w, "")
            try:
                fn = _resolve(ns, case["fn_name"])
                value = fn(*codec.decode(case["args"]), **codec.decode(case["kwargs"]))
            except BaseException as exc:
                sub.send(t="exc", error=_error_text(exc), memory=isinstance(exc, MemoryError))
                _flush()
                os._exit(1)
            try:
                sub.send(t="value", value=codec.encode(value))
            except (codec.Unencodable, RecursionError) as exc:
                sub.send(t="unencodable", error=str(exc))
            _flush()
            os._exit(0)
        os.close(w)
        sink = Sink("value", cap)
        status, stopped, _ = supervise(pid, {r: sink}, None, b"", t0 + case_wall)
        drain({r: sink})
        os.close(r)
        out = _case_outcome(status, stopped, sink, case_wall)
        out["duration_s"] = time.monotonic() - t0
        chan.send(t="case", i=i, **out)
    chan.send(t="done")
    return 0


def _case_outcome(status: int, stopped: str | None, sink: Sink, wall: float) -> dict[str, Any]:
    if stopped == "timeout":
        return {"status": "timeout", "reason": f"case ran past {wall:g} s"}
    if stopped == "output_limit" or sink.overflow:
        return {"status": "output_limit", "reason": "return value too large"}
    msg: dict[str, Any] = {}
    line = bytes(sink.data).split(b"\n", 1)[0]
    if line.startswith(b" "):
        try:
            msg = json.loads(line[1:])
        except ValueError:
            msg = {}
    if msg.get("t") == "value":
        return {"status": "ok", "value": msg.get("value")}
    if msg.get("t") == "exc":
        st = "memory" if msg.get("memory") else "exception"
        return {"status": st, "error": msg.get("error"), "reason": msg.get("error")}
    if msg.get("t") == "unencodable":
        return {"status": "error", "reason": msg.get("error")}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        st = "timeout" if sig == signal.SIGXCPU else "crash"
        return {"status": st, "reason": f"killed by {_signame(sig)}", "signal": sig}
    return {
        "status": "error",
        "reason": f"exited with status {os.WEXITSTATUS(status)} before returning",
    }


# -- the zygote -----------------------------------------------------------------------------
_RLIMITS = ("CPU", "AS", "FSIZE", "NOFILE", "CORE")


class Zygote:
    """Serves requests on ``in_fd``/``out_fd``; see the module docstring."""

    def __init__(
        self, cfg: dict[str, Any], in_fd: int, out_fd: int, layers: list[str], notes: list[str]
    ) -> None:
        self.cfg, self.in_fd, self.out_fd = cfg, in_fd, out_fd
        self.layers, self.notes = layers, notes
        self.pid_ns = os.getpid() == 1
        self.uid = cfg.get("run_uid")
        self.gid = cfg.get("run_gid")
        self.work = cfg.get("work", "/sandbox")
        # One private work dir for the life of the worker, emptied after every execution.
        self.shared_work = "namespaces" in layers or bool(cfg.get("container"))
        if "namespaces" in layers:
            size = int(cfg.get("work_mb", 64))
            opts = f"size={size}m,nr_inodes=4096,mode=0700,uid={self.uid},gid={self.gid}"
            jail.mount("tmpfs", self.work, "tmpfs", jail.MS_NOSUID | jail.MS_NODEV, opts)
        if not self.pid_ns:
            try:
                jail.prctl(jail.PR_SET_CHILD_SUBREAPER, 1)
            except OSError:
                notes.append("no child subreaper: orphans may escape cleanup")
        sys.path.extend(cfg.get("sys_path") or ())
        for name in PRELOAD:
            try:
                __import__(name)
            except ImportError:
                pass
        # Python's SIGINT handler is the only one installed; a program sharing our uid (docker)
        # could otherwise interrupt the zygote. Executions get the default handler back.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        gc.freeze()  # children's collections skip (and do not copy-on-write) the zygote's objects
        if "namespaces" in layers and not jail.drop_bounding_set():
            notes.append("the capability bounding set could not be emptied")
        # no_new_privs, then the seccomp filter, on the zygote itself: every execution inherits
        # both through fork for free. The zygote needs nothing the filter denies from here on.
        jail.prctl(jail.PR_SET_NO_NEW_PRIVS, 1)
        if cfg.get("seccomp", True) and jail.seccomp_supported():
            try:
                jail.SeccompFilter(deny_kill_all=not self.pid_ns).install()
                layers.append("seccomp")
            except OSError as exc:
                notes.append(f"seccomp unavailable: {exc}")
        elif cfg.get("seccomp", True):
            notes.append("seccomp unavailable on this architecture")
        if not ({"namespaces", "docker"} & set(layers)):
            layers.insert(0, "rlimits")
        self.isolation = "+".join(layers)

    # -- main loop ---------------------------------------------------------------------------
    def serve(self) -> None:
        write_frame(self.out_fd, {"op": "ready", "isolation": self.isolation, "notes": self.notes})
        while True:
            try:
                req = read_frame(self.in_fd)
            except (OSError, ValueError):
                return
            if req is None or req.get("op") == "exit":
                return
            t0 = time.monotonic()
            try:
                resp = self.handle(req)
            except Exception as exc:  # the sandbox itself failed: say so, keep serving
                resp = {"status": "error", "reason": f"sandbox server: {_error_text(exc)}"}
                self.cleanup()
            resp.setdefault("duration_s", time.monotonic() - t0)
            resp["id"] = req.get("id")
            resp["isolation"] = self.isolation
            write_frame(self.out_fd, resp)

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        if req.get("op") == "ping":
            return {"status": "ok", "reason": "pong"}
        if req.get("language", "python") != "python":
            return {"status": "error", "reason": f"unsupported language {req.get('language')!r}"}
        mode = req.get("mode")
        if mode == "cases" and req.get("case_kind") == "stdio":
            return self.stdio_cases(req)
        if mode not in ("script", "call", "cases", "statements"):
            return {"status": "error", "reason": f"unknown mode {mode!r}"}
        # Compile here, once: the child inherits the code objects through fork (and for stdio
        # cases every case reuses them). Compiling runs none of the program's code.
        try:
            req["_code"] = compile(
                req["source"], "main.py" if mode == "script" else "solution.py", "exec"
            )
        except (
            SyntaxError,
            ValueError,
            RecursionError,
            MemoryError,
        ) as exc:  # ValueError: NUL bytes
            if mode == "statements":
                return {
                    "status": "failed",
                    "reason": "source does not compile",
                    "load_error": f"source: {_error_text(exc)}",
                    "completed": 0,
                    "results": [],
                }
            return {
                "status": "exception",
                "reason": "source does not compile",
                "error": _error_text(exc),
            }
        if mode == "statements":
            req["_setup"] = _try_compile(req.get("setup") or "", "setup.py")
            req["_statements"] = [
                _try_compile(stmt, f"statement_{i}.py") for i, stmt in enumerate(req["statements"])
            ]
        return self.execute(req, req["limits"])

    def stdio_cases(self, req: dict[str, Any]) -> dict[str, Any]:
        limits = req["limits"]
        try:
            req["_code"] = compile(req["source"], "main.py", "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            err = _error_text(exc)
            cases = [
                {"status": "exception", "error": err, "reason": "source does not compile"}
                for _ in req["cases"]
            ]
            return {
                "status": "exception",
                "reason": "source does not compile",
                "error": err,
                "cases": cases,
            }
        t_end = time.monotonic() + float(limits["wall_s"])
        case_wall = float(req["case_wall_s"])
        out = []
        for case in req["cases"]:
            left = t_end - time.monotonic()
            if left <= 0:
                out.append(
                    {"status": "timeout", "reason": "total deadline passed before this case"}
                )
                continue
            one = dict(req, mode="script", stdin=case.get("stdin", ""))
            lim = dict(limits, wall_s=min(case_wall, left))
            res = self.execute(one, lim)
            out.append(res)
        statuses = {c["status"] for c in out}
        status = "ok" if statuses <= {"ok"} else sorted(statuses - {"ok"})[0]
        return {
            "status": status,
            "reason": f"{sum(c['status'] == 'ok' for c in out)}/{len(out)} cases ran",
            "cases": out,
        }

    # -- one execution -----------------------------------------------------------------------
    def execute(self, req: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
        nonce = os.urandom(16).hex()
        work = self.prepare_work()
        in_r, in_w = big_pipe()
        out_r, out_w = big_pipe()
        err_r, err_w = big_pipe()
        ch_r, ch_w = big_pipe()
        wall = float(limits["wall_s"])
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 70
            try:
                for fd in (in_w, out_r, err_r, ch_r, self.in_fd, self.out_fd):
                    os.close(fd)
                ch = self.enter_child(work, limits, in_r, out_w, err_w, ch_w)
                code = self.run_child(req, Channel(ch, nonce))
            except BaseException as exc:  # report the setup failure on stderr, not as a verdict
                try:
                    os.write(2, f"sandbox child setup failed: {_error_text(exc)}\n".encode())
                except OSError:
                    pass
            finally:
                _flush()
                os._exit(code)
        for fd in (in_r, out_w, err_w, ch_w):
            os.close(fd)
        cap_out, cap_err = int(limits["stdout_bytes"]), int(limits["stderr_bytes"])
        chan_cap = max(4 * cap_out, 8 * 1024 * 1024)
        sinks = {
            out_r: Sink("stdout", cap_out),
            err_r: Sink("stderr", cap_err),
            ch_r: Sink("channel", chan_cap),
        }
        try:
            status, stopped, rusage = supervise(
                pid, sinks, in_w, req.get("stdin", "").encode(), t0 + wall
            )
            duration = time.monotonic() - t0
            self.cleanup()
            drain(sinks)
        finally:
            for fd in sinks:
                os.close(fd)
            self.release_work(work)
        msgs = _messages(bytes(sinks[ch_r].data), nonce)
        res: dict[str, Any] = {
            "duration_s": duration,
            "stdout": _text(sinks[out_r].data),
            "stderr": _text(sinks[err_r].data),
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu_s": (rusage.ru_utime + rusage.ru_stime) if rusage else None,
        }
        if any(s.overflow for s in sinks.values()):  # also what arrived while draining
            stopped = stopped or "output_limit"
        res.update(_verdict(req, limits, status, stopped, msgs, sinks, res))
        return res

    def enter_child(
        self, work: str, limits: dict[str, Any], in_r: int, out_w: int, err_w: int, ch_w: int
    ) -> int:
        """Set up the forked child: stdio, the hidden channel fd, rlimits, uid, seccomp, env."""
        os.setsid()
        os.dup2(in_r, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        hidden = 200 + int.from_bytes(os.urandom(2), "big") % 800
        ch = fcntl.fcntl(ch_w, fcntl.F_DUPFD_CLOEXEC, hidden)
        os.closerange(3, ch)
        os.closerange(ch + 1, 65536)
        os.chdir(work)
        mb = 1024 * 1024
        cpu = max(1, int(float(limits["cpu_s"]) + 0.999))
        values = {
            "CPU": (cpu, cpu + 1),
            "AS": (int(limits["memory_mb"]) * mb,) * 2,
            "FSIZE": (int(limits["file_size_mb"]) * mb,) * 2,
            "NOFILE": (int(limits["open_files"]),) * 2,
            "CORE": (0, 0),
        }
        for name in _RLIMITS:
            resource.setrlimit(getattr(resource, "RLIMIT_" + name), values[name])
        if self.uid is not None and os.geteuid() != self.uid:
            os.setgroups([])
            os.setresgid(self.gid, self.gid, self.gid)
            os.setresuid(self.uid, self.uid, self.uid)
        procs = int(limits["processes"])
        resource.setrlimit(resource.RLIMIT_NPROC, (procs, procs))  # after the uid switch
        os.environ.clear()
        os.environ.update(
            {
                "HOME": work,
                "TMPDIR": work,
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "LANG": "C.UTF-8",
            }
        )
        # The interpreter's own std streams are bound to fds 0-2, which now are the pipes; the
        # zygote never used them, so their buffers are empty.
        for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
            stream = getattr(sys, "__" + name + "__")
            if stream is None:
                stream = open(fd, mode, encoding="utf-8", closefd=False)
            setattr(sys, name, stream)
        sys.argv = ["main.py"]
        sys.path.insert(0, work)
        random.seed(os.urandom(32))
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return ch

    def run_child(self, req: dict[str, Any], chan: Channel) -> int:
        mode = req["mode"]
        if mode == "script":
            return child_script(req, chan)
        if mode == "call":
            return child_call(req, chan)
        if mode == "statements":
            return child_statements(req, chan)
        return child_call_cases(req, chan, self.cfg)

    # -- work dir and cleanup ----------------------------------------------------------------
    def prepare_work(self) -> str:
        if self.shared_work:
            return self.work
        import tempfile

        path = tempfile.mkdtemp(prefix="assay-work-", dir=self.cfg.get("work_parent"))
        if self.uid is not None:
            os.chown(path, self.uid, self.gid)
        return path

    def release_work(self, work: str) -> None:
        _empty_dir(work)
        for extra in self.cfg.get("wipe") or ():  # e.g. the container's /dev/shm
            _empty_dir(extra)
        if not self.shared_work:
            os.rmdir(work)

    def cleanup(self) -> None:
        """Kill every process the execution left behind and reap it."""
        if self.pid_ns:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
            while True:
                try:
                    os.waitpid(-1, 0)
                except ChildProcessError:
                    return
        # No pid namespace: we are a child subreaper; kill our children (orphans land here).
        for _ in range(1000):
            kids = _children()
            if not kids:
                break
            for kid in kids:
                for target in (-kid, kid):
                    try:
                        os.kill(target, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            _reap()
        _reap()


def _empty_dir(path: str) -> None:
    """Delete everything in ``path``, also what a program made unreadable (``chmod 000``)."""
    import shutil

    try:
        os.chmod(path, 0o700)  # a program may have locked its own work dir
    except OSError:
        pass
    for _ in range(64):
        entries = os.listdir(path)
        if not entries:
            return
        failed: list[str] = []
        for name in entries:
            p = os.path.join(path, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, onerror=lambda _f, where, _e, sink=failed: sink.append(where))
            else:
                try:
                    os.unlink(p)
                except OSError:
                    failed.append(p)
        for p in failed:
            for q in (os.path.dirname(p), p):
                try:
                    if not os.path.islink(q):
                        os.chmod(q, 0o700)
                except OSError:
                    pass


def _try_compile(source: str, filename: str) -> Any:
    """A code object, or the exception compiling raised (raised again when the child gets there)."""
    try:
        return compile(source, filename, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return exc


def _children() -> list[int]:
    pid = os.getpid()
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.001)
            if not _children():
                return


def _messages(data: bytes, nonce: str) -> list[dict[str, Any]]:
    prefix = nonce.encode() + b" "
    out = []
    for line in data.split(b"\n"):
        if line.startswith(prefix):
            try:
                msg = json.loads(line[len(prefix) :])
            except ValueError:
                continue
            if isinstance(msg, dict):
                out.append(msg)
    return out


def _verdict(
    req: dict[str, Any],
    limits: dict[str, Any],
    status: int,
    stopped: str | None,
    msgs: list[dict[str, Any]],
    sinks: dict[int, Sink],
    res: dict[str, Any],
) -> dict[str, Any]:
    """Status, reason and mode-specific fields from how the child ended and what it said."""
    mode = req["mode"]
    out: dict[str, Any] = {}
    exc = next((m for m in msgs if m.get("t") == "exc"), None)
    if stopped == "timeout":
        out.update(status="timeout", reason=f"wall-clock limit of {float(limits['wall_s']):g} s")
    elif stopped == "output_limit":
        which = [s.name for s in sinks.values() if s.overflow]
        out.update(
            status="output_limit", reason=f"{'/'.join(which) or 'output'} over its limit; killed"
        )
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU or (
            sig == signal.SIGKILL and (res.get("cpu_s") or 0) >= float(limits["cpu_s"])
        ):
            out.update(status="timeout", reason=f"CPU time limit of {float(limits['cpu_s']):g} s")
        else:
            out.update(status="crash", reason=f"killed by {_signame(sig)}")
    elif exc is not None:
        out.update(
            status="memory" if exc.get("memory") else "exception",
            reason=exc.get("error"),
            error=exc.get("error"),
        )
    else:
        out.update(status="ok", reason=f"exited with status {os.WEXITSTATUS(status)}")
    if mode == "call" and out["status"] == "ok":
        value = next((m for m in msgs if m.get("t") in ("value", "unencodable")), None)
        if value is None:
            out.update(
                status="error",
                reason=f"the program exited (status {os.WEXITSTATUS(status)}) before returning",
            )
        elif value["t"] == "unencodable":
            out.update(status="error", reason=value.get("error"))
        else:
            out["value"] = value.get("value")
    elif mode == "call" and out["status"] == "ok" and exc is None:
        pass
    if mode == "statements":
        _statements_verdict(req, msgs, out)
    if mode == "cases":
        _cases_verdict(req, msgs, out)
    return out


def _statements_verdict(
    req: dict[str, Any], msgs: list[dict[str, Any]], out: dict[str, Any]
) -> None:
    results: list[dict[str, Any]] = []
    done = False
    load_error = None
    for m in msgs:
        if m.get("t") == "stmt" and m.get("i") == len(results):
            results.append({"ok": bool(m.get("ok")), "error": m.get("error")})
        elif m.get("t") == "load_error":
            load_error = m.get("error")
        elif m.get("t") == "done":
            done = True
    completed = sum(r["ok"] for r in results)
    out.update(completed=completed, results=results, load_error=load_error)
    total = len(req["statements"])
    base = out["status"]
    if base in ("timeout", "memory", "crash", "output_limit"):
        return
    if any(r["error"] and r["error"].startswith("MemoryError") for r in results):
        out.update(status="memory", reason="a statement ran out of memory")
    elif load_error is not None:
        out.update(status="failed", reason=load_error)
    elif not done:
        out.update(
            status="exit", reason=f"the process ended after {len(results)} of {total} statements"
        )
    elif completed == total:
        out.update(status="ok", reason=f"{completed}/{total} statements completed")
    else:
        out.update(status="failed", reason=f"{completed}/{total} statements completed")


def _cases_verdict(req: dict[str, Any], msgs: list[dict[str, Any]], out: dict[str, Any]) -> None:
    n = len(req["cases"])
    cases: list[dict[str, Any] | None] = [None] * n
    load_error = next((m.get("error") for m in msgs if m.get("t") == "load_error"), None)
    for m in msgs:
        i = m.get("i")
        if m.get("t") == "case" and isinstance(i, int) and 0 <= i < n and cases[i] is None:
            cases[i] = {
                k: m.get(k) for k in ("status", "reason", "value", "error", "signal", "duration_s")
            }
    base = out["status"]
    for i in range(n):
        if cases[i] is None:
            if load_error is not None:
                cases[i] = {
                    "status": "exception",
                    "error": load_error,
                    "reason": "the program failed to load",
                }
            else:
                st = base if base in ("timeout", "memory", "crash", "output_limit") else "error"
                cases[i] = {"status": st, "reason": f"not run: {out.get('reason')}"}
    out["cases"] = cases
    if load_error is not None:
        out.update(status="exception", error=load_error, reason=f"load: {load_error}")


# -- start-up ---------------------------------------------------------------------------------
def _ask_parent(in_fd: int, out_fd: int, msg: dict[str, Any]) -> dict[str, Any]:
    write_frame(out_fd, msg)
    reply = read_frame(in_fd)
    if reply is None:
        os._exit(0)
    return reply


def serve(cfg: dict[str, Any]) -> None:
    """Entry point: set up isolation as ``cfg`` asks, then serve on the inherited fds 0/1."""
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    layers: list[str] = []
    notes: list[str] = []
    mode = cfg.get("isolation", "auto")
    if cfg.get("container"):
        layers.append("docker")
        jail.prctl(jail.PR_SET_DUMPABLE, 0)
    elif mode in ("auto", "namespaces"):
        # No PR_SET_PDEATHSIG here: it fires when the parent *thread* that started us exits.
        # When the parent dies our input pipe closes and the zygote exits on EOF instead.
        ok = _enter_namespaces(cfg, in_fd, out_fd, notes)
        if ok:
            layers.append("namespaces")
        elif mode == "namespaces":
            write_frame(out_fd, {"op": "failed", "reason": "; ".join(notes)})
            os._exit(1)
    if not layers:
        if os.geteuid() == 0 and cfg.get("host_uid_base") is not None:  # a uid of our own
            uid = int(cfg["host_uid_base"]) + os.getpid()
            cfg["run_uid"], cfg["run_gid"] = uid, uid
    zygote = Zygote(cfg, in_fd, out_fd, layers, notes)
    zygote.serve()


def _enter_namespaces(cfg: dict[str, Any], in_fd: int, out_fd: int, notes: list[str]) -> bool:
    """Unshare, get mapped, fork the pid-1 zygote and build its root. False if unavailable.

    The process that called this becomes a waiter: it exits when the zygote does.
    """
    flags = (
        jail.CLONE_NEWNS
        | jail.CLONE_NEWPID
        | jail.CLONE_NEWNET
        | jail.CLONE_NEWIPC
        | jail.CLONE_NEWUTS
    )
    euid, egid = os.geteuid(), os.getegid()
    try:
        jail.unshare(jail.CLONE_NEWUSER | flags)
    except OSError as exc:
        notes.append(f"namespaces unavailable ({exc.strerror})")
        return False
    reply = _ask_parent(in_fd, out_fd, {"op": "map", "pid": os.getpid()})
    if reply.get("ok"):
        cfg["run_uid"], cfg["run_gid"] = 1000, 1000
    else:
        try:
            jail.deny_setgroups_and_map_self(euid, egid)
        except OSError as exc:
            notes.append(f"user namespace could not be mapped ({exc.strerror})")
            return False
        notes.append(
            "only one uid mapped: the program runs as namespace root without host privileges"
        )
    pid = os.fork()
    if pid:
        for fd in (in_fd, out_fd):
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    try:
        jail.prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)
        jail.prctl(jail.PR_SET_DUMPABLE, 0)
        os.setsid()
        jail.build_root(cfg.get("staging", "/tmp"), cfg["binds"], cfg.get("work", "/sandbox"))
        jail.sethostname("sandbox")
    except OSError as exc:
        write_frame(out_fd, {"op": "failed", "reason": f"building the sandbox root failed: {exc}"})
        os._exit(1)
    return True
