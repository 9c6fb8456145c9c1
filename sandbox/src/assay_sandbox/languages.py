"""Toolchains of the compiled and non-Python languages: how to find, compile and run each.

One `LanguageSpec` per language: the fence tags that name it, the host tools it needs, the
compile and run command lines (documented standard and flags), the environment, and the limits
its compiler and its runtime need on top of the program's own budget. `find_toolchain` resolves
a spec against this machine's Debian toolchains (``/usr/bin``, ``/usr/lib/jvm``,
``/usr/lib/go-*``); the paths resolved must be visible inside the sandbox's read-only root
(``/usr`` is), otherwise their toolchain root is listed in `Toolchain.binds`.

| language | compile | run |
|---|---|---|
| ``c`` | ``gcc -std=gnu17 -O2 -pipe -o main main.c -lm`` | ``./main`` |
| ``cpp`` | ``g++ -std=gnu++17 -O2 -pipe -o main main.cpp`` | ``./main`` |
| ``java`` | ``javac -encoding UTF-8 -d classes Main.java`` (JVM flags below) | ``java -Xmx<memory>m ... -cp classes Main`` |
| ``javascript`` | ``node --check main.js`` (syntax only) | ``node --max-old-space-size=<memory> main.js`` |
| ``rust`` | ``rustc -C linker=gcc --edition 2021 -O -C strip=symbols -o main main.rs`` | ``./main`` |
| ``go`` | ``go build -o main main.go`` (``CGO_ENABLED=0``) | ``./main`` (``GOMAXPROCS=1``) |
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "LANGUAGES",
    "LanguageSpec",
    "Toolchain",
    "ToolchainMissing",
    "find_toolchain",
    "language_of_tag",
]

# Where Debian puts toolchains; searched before PATH so that a user-level proxy (rustup's
# ``~/.cargo/bin/rustc``) is never picked over the distribution's compiler.
SEARCH_DIRS = ("/usr/bin", "/bin", "/usr/local/bin")
JAIL_VISIBLE = ("/usr/", "/lib/", "/lib64/", "/bin/", "/sbin/", "/etc/")
_JAVA_CLASS = re.compile(r"public\s+(?:final\s+|abstract\s+)*class\s+([A-Za-z_$][\w$]*)")
_JAVA_MAIN = re.compile(r"static\s+void\s+main\s*\(")
_JAVA_ANY_CLASS = re.compile(r"\bclass\s+([A-Za-z_$][\w$]*)")


class ToolchainMissing(RuntimeError):
    """A language's compiler or runtime is not installed here (the reason says which tool)."""


@dataclass(frozen=True)
class LanguageSpec:
    """How one language is built and run. Limits are *extra* to the program's own budget.

    ``as_extra_mb``: address space the runtime reserves beyond the heap (``RLIMIT_AS`` is
    ``memory_mb + as_extra_mb``); ``processes``: threads and processes the runtime needs
    (``RLIMIT_NPROC`` counts threads); ``compile_memory_mb`` / ``compile_processes``: for the
    compiler, which runs with its own limits.
    """

    name: str
    tags: tuple[str, ...]
    tools: tuple[str, ...]
    source_name: Callable[[str], str]
    compile: Callable[[dict[str, str], str], list[str]] | None
    run: Callable[[dict[str, str], str, int], list[str]]
    collect: tuple[str, ...] = ("main",)
    env: dict[str, str] = field(default_factory=dict)
    run_env: Callable[[int], dict[str, str]] = lambda _mb: {}
    as_extra_mb: int = 0
    processes: int = 32
    compile_memory_mb: int = 2048
    compile_processes: int = 64
    memory_markers: tuple[str, ...] = ()
    keeps_source: bool = False  # interpreted: the source itself is what runs


def java_class(source: str) -> str:
    """The class a Java program must be saved as: the public class, else the one with main."""
    m = _JAVA_CLASS.search(source)
    if m:
        return m.group(1)
    main = _JAVA_MAIN.search(source)
    if main:  # the last class opened before ``main``
        before = list(_JAVA_ANY_CLASS.finditer(source, 0, main.start()))
        if before:
            return before[-1].group(1)
    return "Main"


_JVM_COMMON = [
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-XX:ActiveProcessorCount=1",
    "-XX:CompressedClassSpaceSize=64m",
    "-XX:ReservedCodeCacheSize=64m",
    "-Xshare:auto",
]

LANGUAGES: dict[str, LanguageSpec] = {
    "c": LanguageSpec(
        name="c",
        tags=("c", "h", "gcc"),
        tools=("gcc",),
        source_name=lambda _s: "main.c",
        compile=lambda t, f: [t["gcc"], "-std=gnu17", "-O2", "-pipe", "-o", "main", f, "-lm"],
        run=lambda _t, _f, _mb: ["./main"],
        memory_markers=(),
        compile_memory_mb=1024,
    ),
    "cpp": LanguageSpec(
        name="cpp",
        tags=("cpp", "c++", "cxx", "cc", "hpp", "g++", "cplusplus"),
        tools=("g++",),
        source_name=lambda _s: "main.cpp",
        compile=lambda t, f: [t["g++"], "-std=gnu++17", "-O2", "-pipe", "-o", "main", f],
        run=lambda _t, _f, _mb: ["./main"],
        memory_markers=("std::bad_alloc",),
        compile_memory_mb=1536,
    ),
    "java": LanguageSpec(
        name="java",
        tags=("java",),
        tools=("javac", "java"),
        source_name=lambda s: java_class(s) + ".java",
        compile=lambda t, f: [
            t["javac"],
            "-J-Xmx512m",
            *("-J" + flag for flag in _JVM_COMMON),
            "-encoding",
            "UTF-8",
            "-nowarn",
            "-d",
            "classes",
            f,
        ],
        run=lambda t, f, mb: [
            t["java"],
            f"-Xmx{mb}m",
            "-Xss64m",
            *_JVM_COMMON,
            "-cp",
            "classes",
            f.removesuffix(".java"),
        ],
        collect=("classes",),
        as_extra_mb=2048,
        processes=64,
        compile_memory_mb=3072,
        memory_markers=("java.lang.OutOfMemoryError",),
    ),
    "javascript": LanguageSpec(
        name="javascript",
        tags=("javascript", "js", "node", "nodejs", "mjs", "cjs"),
        tools=("node",),
        source_name=lambda _s: "main.js",
        compile=lambda t, f: [t["node"], "--check", f],
        run=lambda t, f, mb: [t["node"], f"--max-old-space-size={mb}", "--stack-size=65500", f],
        collect=(),
        as_extra_mb=2048,
        processes=64,
        compile_memory_mb=2048,
        memory_markers=("JavaScript heap out of memory",),
        keeps_source=True,
    ),
    "rust": LanguageSpec(
        name="rust",
        tags=("rust", "rs"),
        tools=("rustc", "gcc"),  # gcc links (named, not found through /usr/bin/cc alternatives)
        source_name=lambda _s: "main.rs",
        compile=lambda t, f: [
            t["rustc"],
            "-C",
            f"linker={t['gcc']}",
            "--edition",
            "2021",
            "-O",
            "-C",
            "strip=symbols",
            "-C",
            "debuginfo=0",
            "-o",
            "main",
            f,
        ],
        run=lambda _t, _f, _mb: ["./main"],
        compile_memory_mb=3072,
        memory_markers=("memory allocation of",),
    ),
    "go": LanguageSpec(
        name="go",
        tags=("go", "golang"),
        tools=("go",),
        source_name=lambda _s: "main.go",
        compile=lambda t, f: [t["go"], "build", "-ldflags=-s -w", "-o", "main", f],
        run=lambda _t, _f, _mb: ["./main"],
        env={"CGO_ENABLED": "0", "GO111MODULE": "off", "GOFLAGS": "-buildvcs=false"},
        run_env=lambda mb: {"GOMAXPROCS": "1", "GOMEMLIMIT": f"{mb}MiB", "GOGC": "100"},
        as_extra_mb=1024,
        processes=64,
        compile_memory_mb=3072,
        compile_processes=128,
        memory_markers=("runtime: out of memory", "fatal error: out of memory"),
    ),
    # Task-supplied checkers may be Python scripts (candidates' Python runs on the Python path).
    "python": LanguageSpec(
        name="python",
        tags=(),
        tools=("python3",),
        source_name=lambda _s: "main.py",
        compile=None,
        run=lambda t, f, _mb: [t["python3"], "-I", "-S", f],
        collect=(),
        keeps_source=True,
        processes=32,
        memory_markers=("MemoryError",),
    ),
}

_TAGS = {tag: spec.name for spec in LANGUAGES.values() for tag in (spec.name, *spec.tags)}
_PYTHON_TAGS = {"python", "py", "python3", "py3", "python2", "ipython", "pycon", "sage"}


def language_of_tag(tag: str | None) -> str | None:
    """The language a fence tag or a task's ``language`` names: ``"cpp"`` for ``C++``,
    ``"python"`` for ``py``, None when unknown.

    >>> language_of_tag("C++"), language_of_tag("golang"), language_of_tag("text")
    ('cpp', 'go', None)
    """
    if not tag:
        return None
    t = tag.strip().lower()
    if t in _PYTHON_TAGS:
        return "python"
    return _TAGS.get(t)


@dataclass(frozen=True)
class Toolchain:
    """A spec resolved on this machine: absolute tool paths, a version line, extra binds."""

    spec: LanguageSpec
    tools: dict[str, str]
    version: str
    binds: tuple[str, ...] = ()

    @property
    def language(self) -> str:
        return self.spec.name

    def compile_argv(self, source_file: str) -> list[str] | None:
        return None if self.spec.compile is None else self.spec.compile(self.tools, source_file)

    def run_argv(self, source_file: str, memory_mb: int) -> list[str]:
        return self.spec.run(self.tools, source_file, memory_mb)

    def identity(self) -> str:
        """What decides a compiled artifact besides the source: tools, version, flags."""
        probe = self.compile_argv(self.spec.source_name("")) or []
        return "\0".join([self.language, self.version, *sorted(self.tools.values()), *probe])


def _find_tool(name: str) -> str | None:
    for d in SEARCH_DIRS:
        path = os.path.join(d, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.realpath(path)
    found = shutil.which(name)
    return os.path.realpath(found) if found else None


def _version(path: str) -> str:
    flag = "version" if os.path.basename(path) == "go" else "--version"
    try:
        out = subprocess.run(
            [path, flag], capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"}
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({type(exc).__name__})"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def _root_of(path: str) -> str:
    """The toolchain root to bind when a tool lives outside the jail's system folders."""
    return os.path.dirname(os.path.dirname(path))


@functools.cache
def find_toolchain(language: str) -> Toolchain:
    """The toolchain of ``language`` on this machine, or raise `ToolchainMissing` with the reason.

    Cached per process: tools are looked up and asked for their version once.
    """
    spec = LANGUAGES.get(language)
    if spec is None:
        raise ToolchainMissing(f"no toolchain spec for language {language!r}")
    tools: dict[str, str] = {}
    for tool in spec.tools:
        path = _find_tool(tool)
        if path is None:
            raise ToolchainMissing(
                f"{language}: {tool!r} is not installed (Debian: see scripts/debian-packages.txt)"
            )
        tools[tool] = path
    binds = tuple(sorted({_root_of(p) for p in tools.values() if not p.startswith(JAIL_VISIBLE)}))
    version = _version(tools[spec.tools[0]])
    return Toolchain(spec=spec, tools=tools, version=version, binds=binds)
