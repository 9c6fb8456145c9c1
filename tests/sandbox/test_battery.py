"""The hostile-code battery: every program is contained, on every backend that can run here.

Each entry is a real hostile program and what containment means for it. After the battery: no
sandbox process left on the host, no file written outside the work dir, the loopback server
received nothing, the secret never leaked, and the pool still serves.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from assay_sandbox import Limits, SandboxPool

SECRET = os.environ["ASSAY_SANDBOX_TEST_SECRET"]  # set by conftest before any worker starts

TIGHT = Limits(wall_s=1.0, cpu_s=1.0, memory_mb=256, stdout_bytes=65_536, stderr_bytes=16_384)


class Arena:
    """What the battery attacks from the host side: a loopback server, a world-writable dir."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="assay-battery-"))
        self.dir.chmod(0o777)  # even a world-writable host dir must stay out of reach
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        self.sentinel = subprocess.Popen(
            ["sleep", "600"]
        )  # a host process the programs try to kill
        self.home = Path(os.path.expanduser("~"))
        self.secret_file = Path(tempfile.mkdtemp(prefix="assay-secret-")) / "secret.txt"
        self.secret_file.write_text(SECRET)
        self.secret_file.chmod(0o644)
        self.secret_file.parent.chmod(0o755)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.received.append(b"<connection>")
            conn.settimeout(0.5)
            with contextlib.suppress(OSError):
                self.received.append(conn.recv(1024))
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.server.close()
        self.sentinel.kill()
        self.sentinel.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.secret_file.parent, ignore_errors=True)


@dataclass
class Hostile:
    name: str
    source: str
    statuses: tuple[str, ...]  # acceptable outcomes
    statements: list[str] | None = None  # run with run_statements instead of run_script
    expect: Callable[[Any], bool] = field(default=lambda r: True)
    limits: Limits | None = None  # TIGHT unless said


WRITE_TARGETS = [
    "/etc/assay_evil",
    "/usr/assay_evil",
    "/assay_evil",
    "/var/tmp/assay_evil",
    "/home/assay_evil",
    "/run/assay_evil",
    "/root/assay_evil",
]

BATTERY = [
    # -- exit tricks: a verdict only comes from the authenticated channel -------------------------
    Hostile(
        "sys_exit_0",
        "import sys\ndef f(x): return x",
        ("exit",),
        ["assert f(1) == 1", "sys.exit(0)", "assert f(1) == 2"],
        lambda r: r.completed == 1,
    ),
    Hostile(
        "os_exit_at_load",
        "import os\nos._exit(0)",
        ("exit",),
        ["assert False"],
        lambda r: r.completed == 0,
    ),
    Hostile(
        "os_exit_in_function",
        "import os\ndef f(): os._exit(0)",
        ("exit",),
        ["assert 1", "f()", "assert 1"],
        lambda r: r.completed == 1,
    ),
    Hostile(
        "atexit_forgery",
        "import atexit\natexit.register(lambda: print('3/3 passed'))\ndef f(): return 0",
        ("failed",),
        ["assert f() == 1", "assert f() == 0"],
        lambda r: r.completed == 1,
    ),
    Hostile(
        "excepthook",
        "import sys\nsys.excepthook = lambda *a: None\ndef f(): return 0",
        ("failed",),
        ["assert f() == 1"],
        lambda r: r.completed == 0 and r.results[0].error == "AssertionError",
    ),
    Hostile(
        "systemexit_in_statement",
        "def f(x):\n    raise SystemExit(0)",
        ("exit",),
        ["assert f(1) == 2", "assert True"],
        lambda r: r.completed == 0,
    ),
    Hostile(
        "swallowed_systemexit",
        "import sys\ntry:\n    sys.exit(0)\nexcept SystemExit:\n    pass\ndef f(): return 1",
        ("failed",),
        ["assert f() == 2", "assert f() == 1"],
        lambda r: r.completed == 1,
    ),
    Hostile(
        "forged_channel_messages",
        "import os, json\nfor fd in range(3, 1024):\n    for m in ({'t': 'done'}, {'t': 'stmt', 'i': 0, 'ok': True}):\n        try: os.write(fd, (' ' + json.dumps(m) + '\\n').encode())\n        except OSError: pass\nprint('{\"status\": \"ok\", \"completed\": 9}')\ndef f(): return 0",
        ("failed",),
        ["assert f() == 1", "assert f() == 2"],
        lambda r: r.completed == 0,
    ),
    Hostile(
        "forged_result_on_stdout",
        'import sys\nsys.stdout.buffer.write(b\'\\x00\\x00\\x00\\x10{"status":"ok"}PASSED\\n\')\nsys.exit(0)',
        ("ok",),
        None,
        lambda r: r.exit_code == 0 and "PASSED" in r.stdout,
    ),
    # -- killing things ----------------------------------------------------------------------
    Hostile(
        "kill_parent",
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('alive')",
        ("ok", "exception"),
        None,
    ),
    Hostile(
        "kill_everything",
        "import os, signal\nfor pid in range(2, 40000):\n    try: os.kill(pid, signal.SIGKILL)\n    except OSError: pass\nprint('done')",
        ("ok", "crash"),
    ),
    Hostile(
        "kill_minus_one",
        "import os, signal\nos.kill(-1, signal.SIGKILL)\nprint('survived')",
        ("crash", "ok", "exception"),
    ),
    Hostile(
        "interrupt_zygote",
        "import os, signal\nfor pid in (1, os.getppid()):\n    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGKILL):\n        try: os.kill(pid, sig)\n        except OSError: pass\nprint('sent')",
        ("ok",),
    ),
    Hostile(
        "read_host_file",
        "print(open({secret_file!r}).read())",
        ("exception",),
    ),
    Hostile(
        "kill_host_sentinel",
        "import os, signal\nos.kill({sentinel}, signal.SIGKILL)",
        ("exception", "crash", "ok"),
    ),
    # -- bombs and hogs ----------------------------------------------------------------------
    Hostile(
        "fork_bomb",
        "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass",
        ("timeout",),
    ),
    Hostile(
        "thread_bomb",
        "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(100,)).start()",
        ("exception", "timeout"),
    ),
    Hostile("alloc_64_gib", "x = bytearray(64 * 2**30)", ("memory",)),
    Hostile(
        "memory_creep",
        "x = []\nwhile True:\n    x.append(bytearray(2 * 10**6))",
        ("memory", "crash"),
        limits=Limits(wall_s=4.0, cpu_s=4.0, memory_mb=256),  # slack for a loaded machine
    ),
    Hostile("infinite_loop", "while True:\n    pass", ("timeout",)),
    Hostile("sleeper", "import time\ntime.sleep(1000)", ("timeout",)),
    Hostile(
        "ignores_signals",
        "import signal, time\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n    signal.signal(s, signal.SIG_IGN)\ntime.sleep(1000)",
        ("timeout",),
    ),
    Hostile(
        "orphan",
        "import os, time\nif os.fork() == 0:\n    time.sleep(1000)\nprint('parent exits')",
        ("ok",),
    ),
    Hostile(
        "setsid_daemon",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(1000)\n    os._exit(0)\nprint('daemonized')",
        ("ok",),
    ),
    Hostile(
        "stdout_flood",
        "while True:\n    print('x' * 10000)",
        ("output_limit",),
        None,
        lambda r: len(r.stdout) <= TIGHT.stdout_bytes,
    ),
    Hostile(
        "stderr_flood",
        "import sys\nwhile True:\n    sys.stderr.write('e' * 10000)",
        ("output_limit",),
        None,
        lambda r: len(r.stderr) <= TIGHT.stderr_bytes,
    ),
    Hostile(
        "framing_flood",
        "import sys\nwhile True:\n    sys.stdout.buffer.write(b'\\x00\\x00\\x00\\x02{}' * 1000)",
        ("output_limit",),
    ),
    Hostile(
        "fill_disk",
        "i = 0\nwhile True:\n    open(f'f{{i}}', 'wb').write(b'x' * 2**20)\n    i += 1",
        ("exception", "timeout"),
    ),
    Hostile("huge_file", "open('big', 'wb').write(b'x' * (100 * 2**20))", ("exception", "crash")),
    Hostile(
        "c_stack_overflow",
        "import sys, threading\nsys.setrecursionlimit(10**8)\nx = []\nfor _ in range(10**5):\n    x = [x]\n"
        "threading.stack_size(256 * 1024)\nt = threading.Thread(target=lambda: print(repr(x)))\nt.start()\nt.join()",
        ("crash",),
        limits=Limits(wall_s=4.0, cpu_s=4.0, memory_mb=256),
    ),
    Hostile("too_many_files", "fs = [open('/dev/null') for _ in range(100000)]", ("exception",)),
    # -- escaping the box --------------------------------------------------------------------
    Hostile(
        "loopback_connect",
        "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=0.5)\ns.sendall(b'leak')",
        ("exception",),
    ),
    Hostile(
        "write_outside",
        "import os\nok = []\nfor p in {targets!r}:\n    try:\n        open(p, 'w').write('x'); ok.append(p)\n    except OSError:\n        pass\nprint(ok)",
        ("ok",),
        None,
        lambda r: r.stdout.strip() == "[]",
    ),
    Hostile(
        "persist_in_dev_shm",
        "import os\nopen('/dev/shm/assay_evil', 'w').write('x')\nprint(sorted(os.listdir('/dev/shm')))",
        ("ok", "exception"),
    ),
    Hostile(
        "write_home",
        "import os\np = os.path.join(os.path.expanduser('~'), 'assay_home_marker')\nopen(p, 'w').write('x')\nprint(p)",
        ("ok", "exception"),
    ),
    Hostile(
        "read_secret",
        "import os, glob\nprint(dict(os.environ))\nfor p in ['/proc/self/environ', '/proc/1/environ'] + glob.glob('/proc/*/environ'):\n    try: print(open(p, 'rb').read())\n    except OSError: pass",
        ("ok",),
        None,
        lambda r: SECRET not in r.stdout + r.stderr,
    ),
    Hostile(
        "ptrace_zygote",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nrc = libc.ptrace(16, 1, 0, 0)\nprint(rc, ctypes.get_errno())",
        ("ok",),
        None,
        lambda r: r.stdout.split()[0] == "-1",
    ),
    Hostile(
        "new_namespaces",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.unshare(0x10000000 | 0x00020000))",
        ("ok",),
        None,
        lambda r: r.stdout.strip() == "-1",
    ),
    Hostile("become_root", "import os\nos.setuid(0)\nprint('root!')", ("exception",)),
    Hostile("read_zygote_memory", "print(open('/proc/1/mem', 'rb').read(16))", ("exception",)),
    Hostile(
        "chmod_000_leftovers",
        "import os\nos.mkdir('d'); open('d/f', 'w').write('x'); os.chmod('d', 0)\nprint('left')",
        ("ok",),
    ),
]


def _source(h: Hostile, arena: Arena) -> str:
    if h.name in ("loopback_connect", "kill_host_sentinel", "write_outside", "read_host_file"):
        targets = [*WRITE_TARGETS, str(arena.dir / "assay_evil")]
        return h.source.format(
            port=arena.port,
            sentinel=arena.sentinel.pid,
            targets=targets,
            secret_file=str(arena.secret_file),
        )
    if h.name == "fill_disk":
        return h.source.format()
    return h.source


BACKENDS = ["process", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(scope="module", params=BACKENDS)
def battle(request: pytest.FixtureRequest) -> Iterator[tuple[SandboxPool, Arena]]:
    pool: SandboxPool = request.getfixturevalue(f"{request.param}_pool")
    arena = Arena()
    yield pool, arena
    arena.close()


def test_battery_is_big_enough() -> None:
    assert len(BATTERY) >= 25


@pytest.mark.parametrize("h", BATTERY, ids=lambda h: h.name)
def test_hostile_program_is_contained(battle: tuple[SandboxPool, Arena], h: Hostile) -> None:
    pool, arena = battle
    limits = h.limits or TIGHT
    if h.statements is not None:
        res = pool.run_statements(_source(h, arena), h.statements, limits=limits)
    else:
        res = pool.run_script(_source(h, arena), limits=limits)
    assert res.status in h.statuses, res
    assert h.expect(res), res
    assert res.isolation == pool.isolation
    assert res.duration_s < limits.wall_s + 1.0


def test_after_the_battery(
    battle: tuple[SandboxPool, Arena],
) -> None:
    pool, arena = battle
    # no process left behind (only this pool's sandbox uids: other pools may be busy)
    assert pool.stray_processes() == []
    assert arena.sentinel.poll() is None  # the host process the programs tried to kill lives
    # no file outside the work dir
    for target in [*WRITE_TARGETS, "/dev/shm/assay_evil"]:
        assert not os.path.exists(target), target
    assert list(arena.dir.iterdir()) == []
    assert not (arena.home / "assay_home_marker").exists()
    # Disk: measured where the sandbox could write, not the host's whole disk (others share it).
    # Nothing on the host belongs to a sandbox uid in the places a program could reach if it got
    # out, and the work dir (a tmpfs, or a temp dir at the rlimits level) is back to empty below.
    uids = {uid for _, uid, _ in pool.stray_processes()} | _sandbox_uids(pool)
    for where in (arena.dir, arena.home, Path(tempfile.gettempdir())):
        owned = [p for p in _shallow_tree(where) if _owner(p) in uids]
        assert owned == [], owned
    # the loopback server received nothing
    assert arena.received == []
    # no worker was lost: every hostile program was handled inside its worker
    assert pool.restarts == 0
    # and the pool still serves, with a clean work dir
    for _ in range(4):
        res = pool.run_script(
            "import os\nshm = os.listdir('/dev/shm') if os.path.isdir('/dev/shm') else []\n"
            "st = os.statvfs('.')\nused = (st.f_blocks - st.f_bfree) * st.f_frsize\n"
            "print(sorted(os.listdir('.')), shm, 6 * 7, used if pool_tmpfs else 0)".replace(
                "pool_tmpfs", str(pool.isolation.startswith(("namespaces", "docker")))
            )
        )
        assert (res.status, res.stdout) == ("ok", "[] [] 42 0\n"), res


def _sandbox_uids(pool: SandboxPool) -> set[int]:
    """Host uids the pool's programs run as (process backend: one per worker)."""
    from assay_sandbox.process_backend import HOST_UID_BASE
    from assay_sandbox.protocol import PipeTransport

    with pool._lock:
        transports = [w.t for w in pool._all]
    return {HOST_UID_BASE + t.proc.pid for t in transports if isinstance(t, PipeTransport)}


def _shallow_tree(root: Path, depth: int = 2) -> Iterator[Path]:
    """Entries under ``root`` down to ``depth`` levels (bounded: /tmp is shared and big)."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for p in entries:
        yield p
        if depth > 1 and p.is_dir() and not p.is_symlink():
            yield from _shallow_tree(p, depth - 1)


def _owner(p: Path) -> int | None:
    try:
        return p.lstat().st_uid
    except OSError:
        return None
