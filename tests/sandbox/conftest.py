"""Fixtures for the sandbox tests: a shared process pool, and a private Docker engine.

The Docker fixture installs Debian's ``docker.io`` when ``dockerd`` is missing and we are root
with apt, starts a private ``dockerd`` (its own data-root, exec-root, socket and pidfile under a
temp dir; ``--iptables=false --bridge=none``), builds the sandbox image offline (``docker
import`` of a rootfs made from this Python), and stops dockerd by PID at teardown. Tests that
need it are skipped with the reason only where dockerd cannot start.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay_sandbox import Limits, SandboxPool

SECRET_ENV = "ASSAY_SANDBOX_TEST_SECRET"
SECRET = "s3cr3t-" + os.urandom(8).hex()
os.environ[SECRET_ENV] = SECRET  # set before any worker starts: it must never reach a program


@pytest.fixture(scope="session")
def process_pool() -> Iterator[SandboxPool]:
    with SandboxPool("process", workers=2, limits=Limits(wall_s=5)) as pool:
        yield pool


def _dockerd_binary() -> str | None:
    found = shutil.which("dockerd")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "docker.io"]):
        if subprocess.run(cmd, env=env, capture_output=True, timeout=600).returncode != 0:
            return None
    return shutil.which("dockerd")


class PrivateDockerd:
    """A dockerd of our own under a temp dir, stopped by PID."""

    def __init__(self, binary: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="assay-dockerd-"))
        self.sock = self.dir / "docker.sock"
        self.url = f"unix://{self.sock}"
        self.log = open(self.dir / "dockerd.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                binary,
                f"--data-root={self.dir / 'data'}",
                f"--exec-root={self.dir / 'exec'}",
                f"--pidfile={self.dir / 'dockerd.pid'}",
                f"--host={self.url}",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--storage-driver=vfs"
                if os.environ.get("ASSAY_DOCKER_VFS")
                else "--log-level=error",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> str | None:
        import docker

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return f"dockerd exited with {self.proc.returncode}: {self.tail()}"
            try:
                docker.DockerClient(base_url=self.url, timeout=5).ping()
                return None
            except Exception:  # noqa: BLE001 - not up yet, whatever the client says
                time.sleep(0.3)
        return f"dockerd did not answer in {timeout:g} s: {self.tail()}"

    def tail(self) -> str:
        try:
            return (self.dir / "dockerd.log").read_text(errors="replace")[-600:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # by PID
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        subprocess.run(["umount", "-R", str(self.dir / "data")], capture_output=True)
        subprocess.run(["umount", "-R", str(self.dir / "exec")], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """The URL of a running private dockerd, or skip saying why none can run here."""
    try:
        import docker  # noqa: F401
    except ImportError:
        pytest.skip("the docker SDK is not installed (pip install 'assay-sandbox[docker]')")
    binary = _dockerd_binary()
    if binary is None:
        pytest.skip("no dockerd, and it cannot be installed here (needs root and apt-get)")
    engine = PrivateDockerd(binary)
    problem = engine.wait_ready()
    if problem:
        engine.stop()
        pytest.skip(f"a private dockerd cannot start here: {problem}")
    try:
        yield engine.url
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def docker_pool(docker_engine: str) -> Iterator[SandboxPool]:
    with SandboxPool("docker", workers=2, limits=Limits(wall_s=5), base_url=docker_engine) as pool:
        yield pool
