"""Host damage that must not outlive an execution, and a worker that must not stay broken.

Real programs on the process backend: SysV shared memory, queues and semaphores, POSIX message
queues, memory spread over forked children, directory chains too deep for recursion or for a
path, forged verdicts from forked children. After each, the next execution on the same worker
must see a clean sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay_sandbox import Limits, SandboxPool
from assay_sandbox.cleanup import empty_dir

TIGHT = Limits(wall_s=5, cpu_s=5, memory_mb=256)

SYSV = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
ids = []
for key in range(1, 5):
    shm = libc.shmget(0x5A00 + key, 32 << 20, 0o1666)  # IPC_CREAT | 0666, 32 MiB each
    addr = libc.shmat(shm, None, 0)
    ctypes.memset(addr, 7, 32 << 20)  # touch it: the memory is really taken
    ids.append(shm)
ids.append(libc.msgget(0x5B00, 0o1666))
ids.append(libc.semget(0x5C00, 4, 0o1666))
print(all(i >= 0 for i in ids))
"""
POSIX_MQ = """
import ctypes, ctypes.util, os
rt = ctypes.CDLL(ctypes.util.find_library("rt") or None, use_errno=True)
fds = [rt.mq_open(f"/assay_leak_{i}".encode(), os.O_CREAT | os.O_RDWR, 0o666, None) for i in range(3)]
print(all(fd >= 0 for fd in fds), ctypes.get_errno())
"""
SEEN_IPC = """
import os
def rows(name):
    with open('/proc/sysvipc/' + name) as f:
        return len(f.read().splitlines()) - 1
mq = sorted(os.listdir('/dev/mqueue')) if os.path.isdir('/dev/mqueue') else []
print(rows('shm'), rows('msg'), rows('sem'), mq)
"""


@pytest.fixture(scope="module")
def one_worker() -> Iterator[SandboxPool]:
    with SandboxPool("process", workers=1, limits=TIGHT) as pool:
        yield pool


def test_ipc_objects_never_reach_the_next_execution(one_worker: SandboxPool) -> None:
    assert one_worker.run_script(SEEN_IPC).stdout == "0 0 0 []\n"
    made = one_worker.run_script(SYSV)
    assert made.stdout == "True\n", made
    mq = one_worker.run_script(POSIX_MQ)
    assert mq.stdout.startswith("True"), mq
    assert one_worker.run_script(SEEN_IPC).stdout == "0 0 0 []\n"


def test_memory_is_capped_over_a_program_and_its_children(one_worker: SandboxPool) -> None:
    # each child stays under the per-process cap (256 MiB of address space); together they do not
    src = (
        "import os, time\n"
        "for _ in range(6):\n"
        "    if os.fork() == 0:\n"
        "        b = b'x' * (120 << 20)\n"
        "        time.sleep(30)\n"
        "        os._exit(0)\n"
        "time.sleep(30)\n"
    )
    res = one_worker.run_script(src, limits=Limits(wall_s=10, cpu_s=10, memory_mb=256))
    assert res.status == "memory", res
    assert one_worker.run_script("print(6 * 7)").stdout == "42\n"
    assert one_worker.stray_processes() == []


@pytest.mark.parametrize("depth", [1500, 4000])  # the work tmpfs holds 4096 inodes
def test_deep_directory_chains_are_removed(one_worker: SandboxPool, depth: int) -> None:
    src = (
        "import os\n"
        "fd = os.open('.', os.O_RDONLY)\n"
        f"for i in range({depth}):\n"
        "    os.mkdir('d', dir_fd=fd)\n"
        "    new = os.open('d', os.O_RDONLY, dir_fd=fd)\n"
        "    os.close(fd)\n"
        "    fd = new\n"
        "    if i % 700 == 0:\n"
        "        os.chmod('.', 0o100)\n"  # some levels locked against listing
        "print('deep')\n"
    )
    res = one_worker.run_script(src, limits=Limits(wall_s=20, cpu_s=20))
    assert res.stdout == "deep\n", res
    after = one_worker.run_script("import os\nprint(os.listdir('.'))")
    assert after.stdout == "[]\n", after
    assert one_worker.restarts == 0


def test_forked_children_cannot_forge_the_verdict(one_worker: SandboxPool) -> None:
    # The child finds the channel and its nonce (gc), reports every statement complete and dies;
    # the parent's failure is then never sent. The zygote keeps only bytes its own child wrote.
    src = (
        "import gc, os\n"
        "def f():\n"
        "    return 0\n"
        "chan = next(o for o in gc.get_objects() if type(o).__name__ == 'Channel')\n"
        "if os.fork() == 0:\n"
        "    for i in range(2):\n"
        "        chan.send(t='stmt', i=i, ok=True)\n"
        "    chan.send(t='done')\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        "os._exit(0)\n"
    )
    res = one_worker.run_statements(src, ["assert f() == 1", "assert f() == 2"])
    assert res.completed == 0, res


def test_cleanup_never_walks_out_of_the_work_dir(tmp_path: Path) -> None:
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("x")
    (tmp_path / "sibling.txt").write_text("x")
    d = work
    for i in range(300):
        d = d / "d"
        d.mkdir()
        if i % 50 == 0:
            (d / "f").write_text("x")
            os.symlink(outside, d / "link")
    (work / "d").chmod(0)
    assert empty_dir(str(work)) is True
    assert list(work.iterdir()) == []
    assert (outside / "keep.txt").exists() and (tmp_path / "sibling.txt").exists()


def test_a_path_longer_than_path_max_is_removed(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    name = "n" * 200
    for _ in range(40):  # 40 * 201 > PATH_MAX (4096)
        os.mkdir(name, dir_fd=fd)
        new = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = new
    os.close(fd)
    assert empty_dir(str(tmp_path)) is True


def test_a_worker_whose_server_fails_is_replaced() -> None:
    # A request the server cannot handle (stdin that is not text) makes the server itself fail:
    # it answers `error` with fault `sandbox`, reports itself unhealthy and exits; the pool starts
    # a fresh worker, and the next sample is served normally.
    with SandboxPool("process", workers=1, limits=TIGHT) as pool:
        resp = pool._run({"mode": "script", "source": "print(1)", "stdin": 5}, pool.limits)
        assert (resp["status"], resp["fault"]) == ("error", "sandbox"), resp
        assert resp.get("health"), resp
        assert pool.restarts == 1
        for _ in range(3):
            assert pool.run_script("print(6 * 7)").stdout == "42\n"
        assert pool.restarts == 1


def test_forged_channel_lines_nested_deep_are_the_programs_failure(one_worker: SandboxPool) -> None:
    # The call-cases loader is the program's own process and owns the channel: a line nested
    # past the JSON parser's recursion limit must not break the zygote.
    src = (
        "import gc, os\n"
        "chan = next(o for o in gc.get_objects() if type(o).__name__ == 'Channel')\n"
        "os.write(chan._fd, (chan._nonce + ' ' + '[' * 200000 + '\\n').encode())\n"
        "def f(x):\n    return x\n"
    )
    from assay_sandbox import CallCase

    [case] = one_worker.run_cases(src, [CallCase(fn_name="f", args=[1])])
    assert (case.status, case.value, case.fault) == ("ok", 1, None), case
    assert one_worker.restarts == 0


@pytest.mark.docker
def test_docker_workers_clean_ipc_and_run_tests(docker_pool: SandboxPool) -> None:
    assert docker_pool.run_script(SYSV).stdout == "True\n"
    seen = docker_pool.run_script(SEEN_IPC).stdout.split()[:3]
    assert seen == ["0", "0", "0"], seen
    res = docker_pool.run_tests(
        "def f(x):\n    return x + 1\n", ["assert f(1) == 2", "assert f(1) == 3"], exports=["f"]
    )
    assert [r.ok for r in res.results] == [True, False], res
