"""Compiled languages on the docker backend: an image built offline with the Debian toolchains.

Uses the private dockerd of `conftest.docker_engine` (skipped with the reason where none can
start). The image holds this Python plus the packages of the languages asked for
(`assay_sandbox.toolchain_image`); the same test program as `test_native.py` is compiled inside
a worker container, run, and its hostile modes stay contained there.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay_sandbox import Limits, NativeRunner, SandboxPool, ToolchainMissing, find_toolchain
from assay_sandbox.toolchain_image import toolchain_packages, write_rootfs

DATA = Path(__file__).resolve().parents[1] / "data" / "multilang"
DOCKER_LANGS = {
    "c": "main.c",
    "cpp": "main.cpp",
    "java": "Main.java",
    "javascript": "main.js",
    "rust": "main.rs",
    "go": "main.go",
}


def _installed() -> list[str]:
    out = []
    for lang in DOCKER_LANGS:
        try:
            find_toolchain(lang)
            out.append(lang)
        except ToolchainMissing:
            pass
    return out


def test_toolchain_packages_include_what_compilers_only_recommend() -> None:
    if "c" not in _installed():
        pytest.skip("gcc is not installed")
    pkgs = toolchain_packages(["c"])
    assert {"libc6-dev", "libc6", "binutils"} <= set(pkgs)
    assert "dpkg" not in pkgs  # package plumbing stays out


@pytest.fixture(scope="module")
def docker_native(docker_engine: str) -> Iterator[NativeRunner]:
    langs = _installed()
    if not langs:
        pytest.skip("no toolchain installed here")
    limits = Limits(wall_s=20, cpu_s=20, memory_mb=256)
    with SandboxPool(
        "docker", workers=1, limits=limits, base_url=docker_engine, languages=langs,
        memory_mb=2048, pids=256,
    ) as pool:  # fmt: skip
        yield NativeRunner(pool)


@pytest.mark.docker
@pytest.mark.parametrize("lang", list(DOCKER_LANGS))
def test_compile_and_run_in_a_container(docker_native: NativeRunner, lang: str) -> None:
    if lang not in _installed():
        pytest.skip(f"{lang} toolchain is not installed")
    built = docker_native.compile(lang, (DATA / DOCKER_LANGS[lang]).read_text())
    assert built.ok, (built.status, built.reason, built.message[:1500])
    assert built.isolation.startswith("docker")
    ok, crash, loop, fork, net, write = docker_native.run_cases(
        built.program,
        ["add 1 2\n", "crash\n", "loop\n", "fork\n", "net 9\n", "write /etc/evil\n"],
        limits=Limits(wall_s=30, cpu_s=5, memory_mb=256),
        case_wall_s=3,
    )
    assert (ok.status, ok.stdout) == ("ok", "3\n"), ok
    assert crash.status == "crash" or crash.exit_code != 0, crash
    assert loop.status == "timeout", loop
    assert fork.duration_s < 4.5, fork
    assert "connected" not in net.stdout, net
    assert "written" not in write.stdout, write
    assert docker_native.pool.stray_processes() == []
    broken = docker_native.compile(lang, "this is not a program {")
    assert broken.status == "compile_error", broken


def test_rootfs_recreates_directory_links() -> None:
    """Merged /usr: files listed under /lib land in usr/lib and /lib becomes a symlink."""
    if "c" not in _installed():
        pytest.skip("gcc is not installed")
    buf = io.BytesIO()
    n = write_rootfs(buf, ["c"])
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        names = {m.name: m for m in tar.getmembers()}
    assert n > 100
    gcc = find_toolchain("c").tools["gcc"].lstrip("/")
    assert gcc in names
    assert all(not (m.mode & 0o6000) for m in names.values())  # no setuid/setgid
    if Path("/lib").is_symlink():
        assert names["lib"].issym()
