"""Compiled and non-Python languages on the real process sandbox: build once, run, contain.

Each language's test program (`tests/data/multilang/`) picks a behaviour from the first word on
stdin, so it compiles once per session (rustc and javac are slow): ``add`` (correct output),
``crash`` (runtime error), ``loop`` (time limit), ``fork`` (fork bomb), ``net`` (connect to a
loopback server the test opens), ``write`` (a file outside the work dir), ``mem`` (memory
bomb). After the hostile runs: no process left, nothing written, nothing received, no worker
lost. A language whose toolchain is missing here is skipped with the reason (the Debian
packages are in scripts/debian-packages.txt).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay_sandbox import (
    CompileCache,
    Limits,
    NativeRunner,
    SandboxPool,
    ToolchainMissing,
    find_toolchain,
)
from assay_sandbox.languages import java_class, language_of_tag

DATA = Path(__file__).resolve().parents[1] / "data" / "multilang"
SOURCES = {
    "c": "main.c",
    "cpp": "main.cpp",
    "java": "Main.java",
    "javascript": "main.js",
    "rust": "main.rs",
    "go": "main.go",
}
BROKEN = {
    "c": "int main(void) { return undefined_name; }",
    "cpp": "int main() { std::vector<int> v; }",
    "java": 'public class Main { public static void main(String[] a) { int x = "s"; } }',
    "javascript": "function f( { return 1 }",
    "rust": 'fn main() { let x: i32 = "s"; }',
    "go": 'package main\nfunc main() { var x int = "s" }',
}
RUN = Limits(wall_s=20, cpu_s=20, memory_mb=256)


class Server:
    """A loopback TCP server that records whatever reaches it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.received.append(b"<connection>")
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._t.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def native_pool() -> Iterator[SandboxPool]:
    with SandboxPool("process", workers=2, limits=RUN) as pool:
        yield pool


@pytest.fixture(scope="module")
def runner(native_pool: SandboxPool) -> NativeRunner:
    return NativeRunner(native_pool, cache=CompileCache())


@pytest.fixture(scope="module")
def built(runner: NativeRunner) -> dict[str, object]:
    """Each language's test program, compiled once for the module (None: toolchain missing)."""
    out: dict[str, object] = {}
    for lang, name in SOURCES.items():
        res = runner.compile(lang, (DATA / name).read_text())
        assert res.status in ("ok", "unavailable"), (lang, res.status, res.message[:2000])
        out[lang] = res
    return out


def _program(built: dict[str, Any], lang: str) -> Any:
    res = built[lang]
    if res.status == "unavailable":  # type: ignore[attr-defined]
        pytest.skip(res.reason)  # type: ignore[attr-defined]
    return res.program  # type: ignore[attr-defined]


LANGS = list(SOURCES)


@pytest.mark.parametrize("lang", LANGS)
def test_correct_program_runs_every_case(
    runner: NativeRunner, built: dict[str, object], lang: str
) -> None:
    program = _program(built, lang)
    results = runner.run_cases(program, ["add 1 2\n", "add 40 2", "add -5 5\n"])
    assert [(r.status, r.exit_code, r.stdout) for r in results] == [
        ("ok", 0, "3\n"),
        ("ok", 0, "42\n"),
        ("ok", 0, "0\n"),
    ], results
    assert all(r.isolation == runner.pool.isolation for r in results)


@pytest.mark.parametrize("lang", LANGS)
def test_compile_once_per_source(runner: NativeRunner, built: dict[str, object], lang: str) -> None:
    _program(built, lang)
    again = runner.compile(lang, (DATA / SOURCES[lang]).read_text())
    assert again.ok and again.cached
    assert again.program is built[lang].program  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", LANGS)
def test_compile_error_is_reported_with_the_compiler_message(
    runner: NativeRunner, built: dict[str, object], lang: str
) -> None:
    _program(built, lang)
    res = runner.compile(lang, BROKEN[lang])
    assert res.status == "compile_error", res
    assert res.program is None
    assert res.message.strip()  # the compiler's own words
    assert runner.compile(lang, BROKEN[lang]).cached  # a compile error is cached too


@pytest.mark.parametrize("lang", LANGS)
def test_runtime_error_and_time_limit(
    runner: NativeRunner, built: dict[str, object], lang: str
) -> None:
    program = _program(built, lang)
    crash, loop = runner.run_cases(
        program, ["crash\n", "loop\n"], limits=Limits(wall_s=8, cpu_s=8, memory_mb=256),
        case_wall_s=1.5,
    )  # fmt: skip
    assert crash.status in ("ok", "crash"), crash
    assert crash.status == "crash" or crash.exit_code != 0, crash
    assert loop.status == "timeout", loop
    assert loop.duration_s < 3.5


@pytest.fixture(scope="module")
def arena() -> Iterator[tuple[Server, Path]]:
    server = Server()
    outside = Path(tempfile.mkdtemp(prefix="assay-native-"))
    outside.chmod(0o777)  # even a world-writable host dir stays out of reach
    yield server, outside
    server.close()
    for p in outside.iterdir():
        p.unlink()
    outside.rmdir()


@pytest.mark.parametrize("lang", LANGS)
def test_hostile_program_is_contained(
    runner: NativeRunner,
    built: dict[str, object],
    arena: tuple[Server, Path],
    lang: str,
) -> None:
    program = _program(built, lang)
    server, outside = arena
    target = outside / f"evil-{lang}"
    home = Path(os.path.expanduser("~")) / f"assay-evil-{lang}"
    stdins = ["fork\n", f"net {server.port}\n", f"write {target}\n", f"write {home}\n", "mem\n"]
    limits = Limits(wall_s=30, cpu_s=5, memory_mb=256, processes=32)
    results = runner.run_cases(program, stdins, limits=limits, case_wall_s=4)
    fork, net, write, write_home, mem = results
    assert fork.status in ("ok", "timeout", "crash", "memory"), fork
    assert fork.duration_s < 5.5
    assert "connected" not in net.stdout, net
    assert "written" not in write.stdout + write_home.stdout, (write, write_home)
    assert not target.exists() and not home.exists()
    assert mem.status in ("ok", "crash", "memory", "timeout"), mem
    assert mem.status != "ok" or mem.exit_code != 0, mem
    assert server.received == []
    assert runner.pool.stray_processes() == []
    assert runner.pool.restarts == 0
    # the pool still serves this language
    assert runner.run(program, "add 2 2\n").stdout == "4\n"


def test_missing_toolchain_is_a_reason_not_a_crash(runner: NativeRunner) -> None:
    res = runner.compile("cobol", "IDENTIFICATION DIVISION.")
    assert res.status == "unavailable"
    assert "cobol" in res.reason
    with pytest.raises(ToolchainMissing):
        find_toolchain("cobol")


def test_group_of_identical_programs_compiles_once(native_pool: SandboxPool) -> None:
    """Eight threads asking for the same program at once: one compile, seven cache hits."""
    from concurrent.futures import ThreadPoolExecutor

    runner = NativeRunner(native_pool, cache=CompileCache())
    try:
        find_toolchain("c")
    except ToolchainMissing as exc:
        pytest.skip(str(exc))
    src = '#include <stdio.h>\nint main(void){puts("group");return 0;}\n'
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda _: runner.compile("c", src), range(8)))
    assert all(r.ok for r in results)
    assert sum(not r.cached for r in results) == 1
    assert runner.cache.misses == 1
    assert len({id(r.program) for r in results}) == 1


@pytest.mark.parametrize(
    ("tag", "lang"),
    [("C++", "cpp"), ("cc", "cpp"), ("golang", "go"), ("js", "javascript"), ("rs", "rust"),
     ("Java", "java"), ("c", "c"), ("py", "python"), ("text", None), ("", None)],
)  # fmt: skip
def test_fence_tags(tag: str, lang: str | None) -> None:
    assert language_of_tag(tag) == lang


def test_java_file_is_named_after_its_public_class() -> None:
    assert java_class("import x;\npublic final class Solver { }") == "Solver"
    assert java_class("class A {}\nclass B { public static void main(String[] a) {} }") == "B"
    assert java_class("class A { }") == "Main"


@pytest.mark.parametrize(
    "source",
    [
        '#include "/dev/zero"\nint main(){}',  # the compiler reads forever
        "#define A(x) x x x x x x x x\n#define B(x) A(A(A(A(x))))\n#define C(x) B(B(B(x)))\n"
        "int main(){ C(;) }",  # 8**12 tokens
        "template<int N> struct A { typedef typename A<N+1>::t t; };\nint main(){ A<0>::t x; }",
    ],
    ids=["include_dev_zero", "macro_explosion", "template_recursion"],
)
def test_compiler_bombs_stay_within_the_compile_limits(
    native_pool: SandboxPool, source: str
) -> None:
    """The candidate's code is the compiler's input: its own limits hold, the worker survives."""
    from assay_sandbox import CompileLimits

    try:
        find_toolchain("cpp")
    except ToolchainMissing as exc:
        pytest.skip(str(exc))
    runner = NativeRunner(native_pool, compile_limits=CompileLimits(wall_s=8, cpu_s=8))
    res = runner.compile("cpp", source)
    assert res.status in ("compile_error", "memory", "timeout"), res
    assert res.program is None
    assert res.duration_s < 10
    assert native_pool.stray_processes() == []
    assert native_pool.restarts == 0


@settings(max_examples=60, deadline=2000)
@given(
    st.lists(
        st.sampled_from(["public ", "final ", "abstract ", "class ", "A", "{", "}", "static void main(",
                         " ", "\n", "static ", "void "]),
        max_size=2000,
    ).map("".join)
)  # fmt: skip
def test_java_class_name_is_bounded_on_hostile_text(text: str) -> None:
    name = java_class(text)
    assert name == "Main" or name in text


def test_java_class_name_is_linear_in_length() -> None:
    import time

    def cost(n: int) -> float:
        text = "public final abstract " * n + "static void main(" * n
        t0 = time.perf_counter()
        java_class(text)
        return time.perf_counter() - t0

    small, big = cost(1000), cost(10000)
    assert big < max(small, 1e-3) * 40


@pytest.mark.parametrize("lang", ["java", "go", "javascript"])
def test_managed_runtimes_need_their_extra_limits(
    runner: NativeRunner, built: dict[str, Any], lang: str
) -> None:
    """With C's limits (address space = the program's budget, few threads) these runtimes do
    not even start; with their documented extras the same program runs."""
    import dataclasses

    from assay_sandbox.programs import CompiledProgram, run_limits

    program = _program(built, lang)
    chain = program.toolchain
    base = Limits(wall_s=10, cpu_s=10, memory_mb=256)
    lim = run_limits(chain, base)
    assert lim.memory_mb == 256 + chain.spec.as_extra_mb > 256
    assert lim.processes >= 64
    c_like = dataclasses.replace(chain, spec=dataclasses.replace(chain.spec, as_extra_mb=0))
    starved = CompiledProgram(program.language, program.key, program.source_name,
                              program.files, c_like)  # fmt: skip
    [bad] = runner.run_cases(starved, ["add 1 2\n"], limits=base, case_wall_s=3)
    assert not (bad.status == "ok" and bad.stdout == "3\n"), bad
    [good] = runner.run_cases(program, ["add 1 2\n"], limits=base, case_wall_s=5)
    assert (good.status, good.stdout) == ("ok", "3\n"), good


def test_native_runtimes_keep_the_programs_budget() -> None:
    """C, C++ and Rust get exactly the program's limits: nothing to reserve."""
    from assay_sandbox.programs import run_limits

    for lang in ("c", "cpp", "rust"):
        try:
            chain = find_toolchain(lang)
        except ToolchainMissing:
            continue
        assert run_limits(chain, Limits(memory_mb=300, processes=32)).memory_mb == 300
