"""The SandboxPool contract on the process backend, with real workers (no mocks)."""

from __future__ import annotations

import asyncio
import math

import pytest

import assay
from assay_sandbox import (
    CallCase,
    CallRequest,
    Limits,
    SandboxPool,
    ScriptRequest,
    StatementsRequest,
    StdioCase,
    open_sandbox,
)
from assay_sandbox.process_backend import HOST_UID_BASE

FAST = Limits(wall_s=2, cpu_s=2)


@pytest.mark.parametrize(
    ("source", "stdin", "status", "stdout", "exit_code"),
    [
        ("print(input()[::-1])", "abc\n", "ok", "cba\n", 0),
        ("import sys; print(sys.stdin.read().split())", "1 2\n3", "ok", "['1', '2', '3']\n", 0),
        ("import sys; sys.exit(3)", "", "ok", "", 3),
        ("raise SystemExit('bye')", "", "ok", "", 1),
        ("print('x', end='')\nraise ValueError('bad')", "", "exception", "x", 1),
        ("def f(:\n", "", "exception", "", None),
        ("print(__name__)", "", "ok", "__main__\n", 0),
        ("print('é' * 3)", "", "ok", "ééé\n", 0),
        ("input()", "", "exception", "", 1),  # EOFError
    ],
)
def test_run_script(
    process_pool: SandboxPool,
    source: str,
    stdin: str,
    status: str,
    stdout: str,
    exit_code: int | None,
) -> None:
    res = process_pool.run_script(source, stdin=stdin, limits=FAST)
    assert (res.status, res.stdout, res.exit_code) == (status, stdout, exit_code), res
    assert res.isolation == process_pool.isolation
    assert res.duration_s > 0


def test_exception_fields(process_pool: SandboxPool) -> None:
    res = process_pool.run_script("raise KeyError('k')")
    assert res.status == "exception" and res.error == "KeyError: 'k'"
    assert "Traceback" in res.stderr and "server.py" not in res.stderr


def test_large_stdin_and_stdout(process_pool: SandboxPool) -> None:
    data = "x" * 500_000 + "\n"
    res = process_pool.run_script(
        "import sys; d = sys.stdin.read(); print(len(d)); print(d, end='')", stdin=data
    )
    assert res.status == "ok" and res.stdout == f"{len(data)}\n{data}"


@pytest.mark.parametrize(
    ("source", "fn", "args", "kwargs", "value"),
    [
        ("def f(a, b): return a + b", "f", [1, 2], {}, 3),
        ("def f(): return True", "f", [], {}, True),
        ("def f(): return 1.0", "f", [], {}, 1.0),
        ("def f(x): return x", "f", [(1, [2, (3,)])], {}, (1, [2, (3,)])),
        (
            "def f(): return {1: {2}, (3, 4): frozenset({5})}",
            "f",
            [],
            {},
            {1: {2}, (3, 4): frozenset({5})},
        ),
        ("def f(): return None", "f", [], {}, None),
        ("def f(): return b'\\x00\\xff'", "f", [], {}, b"\x00\xff"),
        ("def f(*, k=0): return k * 2", "f", [], {"k": 21}, 42),
        ("def f(): return 10 ** 50", "f", [], {}, 10**50),
        (
            "class Solution:\n    def twoSum(self, a, t):\n        return [0, 1]",
            "Solution.twoSum",
            [[1, 2], 3],
            {},
            [0, 1],
        ),
    ],
)
def test_call_exact_types(
    process_pool: SandboxPool, source: str, fn: str, args: list, kwargs: dict, value: object
) -> None:
    res = process_pool.call(source, fn, args, kwargs, limits=FAST)
    assert res.status == "ok", res
    assert res.value == value and type(res.value) is type(value)
    if isinstance(value, tuple):
        assert type(res.value[1][1]) is tuple


def test_call_non_finite_floats(process_pool: SandboxPool) -> None:
    res = process_pool.call("def f(): return [float('nan'), float('inf'), -float('inf')]", "f")
    assert res.status == "ok"
    assert math.isnan(res.value[0]) and res.value[1:] == [math.inf, -math.inf]


@pytest.mark.parametrize(
    ("source", "fn", "status", "reason"),
    [
        ("class C: pass\ndef f(): return C()", "f", "error", "unencodable return value: C"),
        (
            "def f(): return [print]",
            "f",
            "error",
            "unencodable return value: builtin_function_or_method",
        ),
        ("def f(): raise ValueError('no')", "f", "exception", "ValueError: no"),
        ("def g(): pass", "f", "exception", "KeyError: 'f'"),
        ("import os\ndef f(): os._exit(0)", "f", "error", "before returning"),
        ("def f(): return bytearray(10 ** 11)", "f", "memory", "MemoryError"),
    ],
)
def test_call_failures(
    process_pool: SandboxPool, source: str, fn: str, status: str, reason: str
) -> None:
    res = process_pool.call(source, fn, limits=FAST)
    assert res.status == status and reason in (res.reason or ""), res


def test_call_rejects_unencodable_arguments(process_pool: SandboxPool) -> None:
    res = process_pool.call("def f(x): return x", "f", [object()])
    assert res.status == "error" and "arguments" in (res.reason or "")


def test_stdio_cases(process_pool: SandboxPool) -> None:
    src = "n = int(input())\nif n == 3:\n    raise ValueError(n)\nif n == 4:\n    while True: pass\nprint(n * 2)"
    cases = [StdioCase(stdin=f"{i}\n") for i in range(6)]
    res = process_pool.run_cases(src, cases, limits=Limits(wall_s=10, cpu_s=5), case_wall_s=0.5)
    assert [r.status for r in res] == ["ok", "ok", "ok", "exception", "timeout", "ok"]
    assert [r.stdout for r in res[:3]] == ["0\n", "2\n", "4\n"] and res[5].stdout == "10\n"


def test_call_cases_run_in_their_own_fork(process_pool: SandboxPool) -> None:
    src = "seen = []\ndef f(x):\n    seen.append(x)\n    if x == 2: raise KeyError(x)\n    if x == 3:\n        while True: pass\n    return len(seen), x"
    cases = [CallCase(fn_name="f", args=[i]) for i in range(5)]
    res = process_pool.run_cases(src, cases, case_wall_s=0.5)
    assert [r.status for r in res] == ["ok", "ok", "exception", "timeout", "ok"]
    # every case sees the freshly loaded program: state from earlier cases never leaks in
    assert [r.value for r in res if r.status == "ok"] == [(1, 0), (1, 1), (1, 4)]


def test_cases_total_deadline(process_pool: SandboxPool) -> None:
    src = "import time\ntime.sleep(0.4)\nprint('done')"
    res = process_pool.run_cases(
        src, [{"stdin": ""}] * 6, limits=Limits(wall_s=1.0), case_wall_s=1.0
    )
    statuses = [r.status for r in res]
    assert statuses[:2] == ["ok", "ok"] and statuses[-1] == "timeout"


def test_cases_load_error(process_pool: SandboxPool) -> None:
    res = process_pool.run_cases("raise ImportError('nope')", [CallCase(fn_name="f")] * 2)
    assert [r.status for r in res] == ["exception"] * 2 and "ImportError" in (res[0].error or "")


@pytest.mark.parametrize(
    ("source", "statements", "status", "completed", "n_results"),
    [
        ("def f(x): return x + 1", ["assert f(1) == 2", "assert f(2) == 3"], "ok", 2, 2),
        (
            "def f(x): return x + 1",
            ["assert f(1) == 2", "assert f(1) == 0", "assert f(0) == 1"],
            "failed",
            2,
            3,
        ),
        (
            "import sys\ndef f(): return 1",
            ["assert f() == 1", "sys.exit(0)", "assert True"],
            "exit",
            1,
            1,
        ),
        ("import os\nos._exit(0)", ["assert True"], "exit", 0, 0),
        ("raise ValueError('load')", ["assert True"], "failed", 0, 0),
        ("x = 1", ["assert x == 1", "def f(:"], "failed", 1, 2),
        ("def f(): return [0] * 10 ** 10", ["f()"], "memory", 0, 1),
    ],
)
def test_run_statements(
    process_pool: SandboxPool,
    source: str,
    statements: list[str],
    status: str,
    completed: int,
    n_results: int,
) -> None:
    res = process_pool.run_statements(source, statements, limits=FAST)
    assert (res.status, res.completed, len(res.results)) == (status, completed, n_results), res


def test_statements_setup_and_load_error(process_pool: SandboxPool) -> None:
    res = process_pool.run_statements("y = math.sqrt(16)", ["assert y == 4.0"], setup="import math")
    assert res.status == "ok" and res.completed == 1
    bad = process_pool.run_statements("raise RuntimeError('boom')", ["assert True"])
    assert bad.load_error == "source: RuntimeError: boom" and bad.completed == 0


def test_statements_humaneval_check(process_pool: SandboxPool) -> None:
    check = (
        "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(2, 2) == 4"
    )
    res = process_pool.run_statements("def add(a, b):\n    return a + b", [check, "check(add)"])
    assert res.status == "ok" and res.completed == 2


# Programs that rebind what the sandbox's statement loop and channel call after the program
# loaded: none may make a failing statement report that it completed.
REBIND_THE_RUNNER = {
    "builtins.exec": "import builtins\nbuiltins.exec = lambda *a, **k: None\n",
    "json.dumps": (
        "import json\n_d = json.dumps\n"
        "def _fake(o, *a, **k):\n"
        "    if isinstance(o, dict) and o.get('t') == 'stmt':\n"
        "        o = {'t': 'stmt', 'i': o['i'], 'ok': True}\n"
        "    return _d(o, *a, **k)\n"
        "json.dumps = _fake\n"
    ),
    "os.write": (
        "import os\n_w = os.write\n"
        "os.write = lambda fd, d: _w(fd, bytes(d).replace(b'\"ok\":false', b'\"ok\":true'))\n"
    ),
    "builtins.memoryview": (
        "import builtins\n_m = builtins.memoryview\n"
        "builtins.memoryview = lambda d: _m(bytes(d).replace(b'\"ok\":false', b'\"ok\":true'))\n"
    ),
    "the sandbox modules' globals": (
        "import sys, builtins\n"
        "for _n in ('server', 'runners', 'zygote', 'verdicts'):\n"
        "    _srv = sys.modules['assay_sandbox.' + _n]\n"
        "    _srv.exec = lambda *a, **k: None\n    _srv.isinstance = lambda *a: False\n"
    ),
}


@pytest.mark.parametrize("name", list(REBIND_THE_RUNNER))
def test_statements_cannot_be_forged_by_rebinding_the_runner(
    process_pool: SandboxPool, name: str
) -> None:
    source = REBIND_THE_RUNNER[name] + "def f():\n    return 0\n"
    res = process_pool.run_statements(source, ["assert f() == 1", "assert f() == 2"], limits=FAST)
    assert (res.status, res.completed) == ("failed", 0), res
    assert [r.ok for r in res.results] == [False, False], res


def test_async_twins_do_not_block_the_loop(process_pool: SandboxPool) -> None:
    async def main() -> tuple[list[object], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        t = asyncio.create_task(ticker())
        results = await asyncio.gather(
            process_pool.arun_script("import time; time.sleep(0.3); print(1)"),
            process_pool.acall("def f(): return (1,)", "f"),
            process_pool.arun_cases("print(input())", [StdioCase(stdin="z")]),
            process_pool.arun_statements("x = 2", ["assert x == 2"]),
        )
        t.cancel()
        return list(results), ticks

    results, ticks = asyncio.run(main())
    assert results[0].stdout == "1\n" and results[1].value == (1,)
    assert results[2][0].stdout == "z\n" and results[3].completed == 1
    assert ticks >= 10  # the loop kept running while the sandbox worked


def test_batch_keeps_order_and_kinds(process_pool: SandboxPool) -> None:
    reqs = [ScriptRequest(source=f"print({i})") for i in range(6)]
    reqs += [CallRequest(source="def f(x): return -x", fn_name="f", args=[5])]
    reqs += [StatementsRequest(source="", statements=["assert 1"])]
    reqs += [{"kind": "cases", "source": "print(input())", "cases": [{"stdin": "q"}]}]
    out = process_pool.batch(reqs)
    assert [r.stdout for r in out[:6]] == [f"{i}\n" for i in range(6)]
    assert out[6].value == -5 and out[7].completed == 1 and out[8][0].stdout == "q\n"


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        Limits(wall_s=0)
    with pytest.raises(ValueError, match="wal_s"):
        Limits(wal_s=1)  # type: ignore[call-arg]


def test_work_dir_is_private_and_fresh(process_pool: SandboxPool) -> None:
    w = process_pool.run_script(
        "import os; open('f.txt', 'w').write('x'); print(os.getcwd(), os.environ['HOME'])"
    )
    assert w.status == "ok"
    cwd, home = w.stdout.split()
    assert home.startswith(cwd) or cwd.startswith(home)
    for _ in range(3):  # any worker: the file is gone
        r = process_pool.run_script("import os; print(sorted(os.listdir('.')))")
        assert r.stdout == "[]\n"


def test_registry_and_open_sandbox() -> None:
    reg = assay.get_registry()
    assert {"process", "docker"} <= set(reg.names("sandbox"))
    with open_sandbox("process", workers=1) as pool:
        assert pool.call("def f(): return 7", "f").value == 7


def test_isolation_level_is_namespaces_with_seccomp_here(process_pool: SandboxPool) -> None:
    # This machine supports user namespaces and seccomp; CI runs here, so expect the full level.
    assert process_pool.isolation == "namespaces+seccomp"


def test_rlimits_fallback_still_isolates_processes() -> None:
    with SandboxPool("process", workers=1, isolation="rlimits") as pool:
        assert pool.isolation == "rlimits+seccomp"
        res = pool.run_script(
            "import os, time\nif os.fork() == 0:\n    os.setsid(); time.sleep(60)\nprint(os.getuid())"
        )
        assert res.status == "ok" and int(res.stdout) >= HOST_UID_BASE  # not root, not us
        assert pool.stray_processes() == []  # the setsid daemon is gone
        assert pool.run_script("print(2)").stdout == "2\n"


def test_closed_pool_refuses() -> None:
    pool = SandboxPool("process", workers=1)
    pool.close()
    pool.close()
    with pytest.raises(Exception, match="closed"):
        pool.run_script("print(1)")


def test_lost_worker_is_replaced() -> None:
    with SandboxPool("process", workers=1) as pool:
        (w,) = list(pool._all)
        w.t.proc.kill()  # by PID: the worker we started
        w.t.proc.wait()
        res = pool.run_script("print(1)")
        assert res.status == "error" and "replaced" in (res.reason or "")
        assert pool.run_script("print(2)").stdout == "2\n" and pool.restarts == 1


@pytest.mark.parametrize("n", [65_536, 65_537, 200_000])
def test_output_limit_is_exact(process_pool: SandboxPool, n: int) -> None:
    lim = Limits(stdout_bytes=65_536)
    res = process_pool.run_script(f"import sys; sys.stdout.write('x' * {n})", limits=lim)
    assert len(res.stdout) == min(n, 65_536)
    assert res.status == ("ok" if n <= 65_536 else "output_limit"), res


def test_worker_start_failure_raises() -> None:
    # A real failure, no mock: an interpreter path that does not exist cannot start a worker.
    from assay_sandbox import SandboxUnavailable

    with pytest.raises((SandboxUnavailable, OSError)):
        SandboxPool("process", workers=2, python="/nonexistent/python3")


def test_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="process"):
        open_sandbox("no-such-backend")


def test_isolation_level_names_what_is_in_force() -> None:
    probe = "import socket\ntry:\n    socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n    print('socket')\nexcept OSError as e:\n    print(e.errno)"
    with SandboxPool("process", workers=1, seccomp=False) as pool:
        assert pool.isolation == "namespaces"
        assert pool.run_script(probe).stdout == "socket\n"  # no filter, the net namespace remains
    with SandboxPool("process", workers=1) as pool:
        assert pool.isolation == "namespaces+seccomp"
        assert pool.run_script(probe).stdout == "13\n"  # EACCES from the filter


def test_no_capabilities_and_no_privileges(process_pool: SandboxPool) -> None:
    src = (
        "status = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)\n"
        "for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'Uid'):\n"
        "    print(k, status[k].split()[0])"
    )
    res = process_pool.run_script(src)
    fields = dict(line.split() for line in res.stdout.splitlines())
    assert res.status == "ok", res
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[cap], 16) == 0, (cap, fields)
    assert fields["NoNewPrivs"] == "1" and fields["Seccomp"] == "2" and fields["Uid"] == "1000"


DATACLASS = (
    "import dataclasses, pickle\n"
    "@dataclasses.dataclass(frozen=True)\nclass Pair:\n    a: 'int'\n    b: int\n"
    "def add(a, b):\n    p = pickle.loads(pickle.dumps(Pair(a, b)))\n    return p.a + p.b\n"
)


def test_program_is_a_real_module(process_pool: SandboxPool) -> None:
    # dataclasses and pickle look the program's module up in sys.modules
    assert process_pool.call(DATACLASS, "add", [1, 2]).value == 3
    assert (
        process_pool.run_script(DATACLASS + "print(add(2, 2), __name__)").stdout == "4 __main__\n"
    )
    assert process_pool.run_statements(DATACLASS, ["assert add(1, 1) == 2"]).completed == 1
    cases = process_pool.run_cases(DATACLASS, [CallCase(fn_name="add", args=[3, 4])])
    assert cases[0].value == 7


def test_multiprocessing_and_subprocess_work_inside(process_pool: SandboxPool) -> None:
    src = (
        "import multiprocessing as mp, subprocess, sys\n"
        "def sq(x):\n    return x * x\n"
        "if __name__ == '__main__':\n"
        "    with mp.Pool(2) as pool:\n        print(pool.map(sq, range(4)))\n"
        "    print(subprocess.run([sys.executable, '-c', 'print(7)'], capture_output=True, text=True).stdout.strip())"
    )
    res = process_pool.run_script(src, limits=Limits(wall_s=20))
    assert (res.status, res.stdout) == ("ok", "[0, 1, 4, 9]\n7\n"), res


def test_backends_resolve_only_through_the_registry() -> None:
    from assay_sandbox.backend import SandboxBackend, resolve_backend
    from assay_sandbox.process_backend import ProcessBackend

    assert isinstance(resolve_backend("process", {}), ProcessBackend)
    assert isinstance(resolve_backend(ProcessBackend, {}), SandboxBackend)
    with pytest.raises(KeyError):  # assay.errors.UnknownNameError
        resolve_backend("no-such-backend", {})
    with pytest.raises(TypeError, match="not a sandbox backend"):
        resolve_backend(object(), {})
