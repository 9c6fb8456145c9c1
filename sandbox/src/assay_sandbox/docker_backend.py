"""The ``docker`` backend: the same fork-server protocol in persistent worker containers.

Each worker is one long-lived container (``python -I -S -c BOOTSTRAP`` as pid 1) attached over
the Docker API; executions are forks inside it, so warm latency stays close to the process
backend's. Containers run with network ``none``, a memory limit, a pids limit, ``cap_drop ALL``,
``no-new-privileges``, a read-only root with a tmpfs work dir, and a non-root uid of their own
(so ``RLIMIT_NPROC`` is per container). The image is built offline from this machine's Python
(`assay_sandbox.image`) unless ``image=`` names one that has the same interpreter path.

Needs the docker SDK: ``pip install 'assay-sandbox[docker]'``.
"""

from __future__ import annotations

import contextlib
import itertools
import select
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .errors import SandboxUnavailable, WorkerLost
from .protocol import BOOTSTRAP, Transport, boot_frame


class DockerOptions(BaseModel):
    """Options of the docker backend (``SandboxPool(backend="docker", **options)``)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(
        None, description="engine URL; default: the environment's (DOCKER_HOST)"
    )
    image: str | None = Field(
        None, description="image to run; default: built offline from this Python"
    )
    python: str | None = Field(
        None, description="interpreter path inside the image (default: this one's)"
    )
    memory_mb: int = Field(
        1024, ge=64, description="container memory limit (all executions of a worker)"
    )
    pids: int = Field(128, ge=8, description="container pids limit")
    cpus: float | None = Field(None, gt=0, description="container CPU quota")
    work_mb: int = Field(64, ge=1, description="size of the tmpfs work dir")
    uid_base: int = Field(
        20_000, ge=1000, description="worker containers run as uid_base, uid_base+1, ..."
    )
    seccomp: bool = True
    start_timeout_s: float = 60.0
    languages: list[str] = Field(
        default_factory=list,
        description="toolchains to put in the image built offline (c, cpp, java, javascript, "
        "rust, go): their Debian packages, see assay_sandbox.toolchain_image",
    )


class DockerTransport(Transport):
    """Frames over a Docker attach socket (stdout arrives multiplexed: 8-byte headers)."""

    def __init__(self, sock: Any, container: Any) -> None:
        super().__init__()
        self.sock_obj = sock
        self.raw = getattr(sock, "_sock", sock)
        self.container = container
        self._mux = bytearray()

    def _send(self, data: bytes) -> None:
        self.raw.sendall(data)

    def _recv_some(self, timeout: float | None) -> bytes | None:
        ready, _, _ = select.select([self.raw], [], [], timeout)
        if not ready:
            return None
        chunk = self.raw.recv(1 << 20)
        if not chunk:
            return b""
        self._mux += chunk
        out = bytearray()
        while len(self._mux) >= 8:
            stream, size = self._mux[0], int.from_bytes(self._mux[4:8], "big")
            if len(self._mux) < 8 + size:
                break
            if stream == 1:  # stdout: the protocol; stderr (2) is the server's own diagnostics
                out += self._mux[8 : 8 + size]
            del self._mux[: 8 + size]
        return bytes(out)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.raw.close()
        with contextlib.suppress(Exception):  # already gone, or the engine is: nothing to free
            self.container.remove(force=True)


class DockerBackend:
    """Starts fork-server worker containers in a Docker engine."""

    name = "docker"
    Options = DockerOptions

    def __init__(self, **options: Any) -> None:
        self.options = DockerOptions(**options)
        try:
            import docker
        except ImportError:
            raise SandboxUnavailable(
                "the docker backend needs the docker SDK: pip install 'assay-sandbox[docker]'"
            ) from None
        try:
            kw: dict[str, Any] = {"timeout": 120}
            self.client = (
                docker.DockerClient(base_url=self.options.base_url, **kw)
                if self.options.base_url
                else docker.from_env(**kw)
            )
            self.client.ping()
        except Exception as exc:  # noqa: BLE001 - any failure to reach the engine means the same
            raise SandboxUnavailable(f"no Docker engine reachable: {exc}") from None
        from .image import ensure_image, python_paths

        self.python = self.options.python or python_paths()[0]
        if self.options.image:
            self.image = self.options.image
        elif self.options.languages:  # compilers too (one image per set of languages)
            from .toolchain_image import ensure_toolchain_image

            self.image = ensure_toolchain_image(self.client, self.options.languages)
        else:
            self.image = ensure_image(self.client)
        self._uids = itertools.count(self.options.uid_base)

    def start_worker(self, index: int) -> Transport:
        uid = next(self._uids)
        o = self.options
        container = self.client.containers.create(
            self.image,
            command=[self.python, "-I", "-S", "-c", BOOTSTRAP],
            stdin_open=True,
            detach=True,
            network_mode="none",
            mem_limit=f"{o.memory_mb}m",
            memswap_limit=f"{o.memory_mb}m",
            pids_limit=o.pids,
            nano_cpus=int(o.cpus * 1e9) if o.cpus else None,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            read_only=True,
            tmpfs={
                # exec only where compiled programs must run from the work dir (docker's
                # tmpfs default is noexec)
                "/sandbox": f"size={o.work_mb}m,mode=0700,uid={uid},gid={uid}"
                + (",exec" if o.languages else ""),
                "/tmp": "size=64k,mode=0755",  # root-owned: the worker uid cannot write here
                "/dev/shm": f"size={o.work_mb}m,mode=0700,uid={uid},gid={uid}",  # emptied too
            },
            user=f"{uid}:{uid}",
            working_dir="/sandbox",
            environment={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/sandbox"},
            labels={"assay-sandbox": "worker"},
            init=False,
        )
        try:
            sock = self.client.api.attach_socket(
                container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            transport = DockerTransport(sock, container)
            container.start()
        except Exception as exc:  # noqa: BLE001 - the container is removed whatever went wrong
            container.remove(force=True)
            raise SandboxUnavailable(f"docker worker did not start: {exc}") from None
        try:
            config = {
                "container": True,
                "work": "/sandbox",
                "wipe": ["/dev/shm"],
                "seccomp": o.seccomp,
            }
            transport._send(boot_frame(config))
            msg = transport.recv(time.monotonic() + o.start_timeout_s)
            if msg.get("op") != "ready":
                raise SandboxUnavailable(f"docker worker: unexpected start-up message {msg!r:.200}")
        except (TimeoutError, WorkerLost, OSError) as exc:
            logs = ""
            with contextlib.suppress(Exception):
                logs = container.logs(stdout=False, stderr=True)[-400:].decode(errors="replace")
            transport.kill()
            raise SandboxUnavailable(f"docker worker did not start: {exc} {logs}") from None
        except BaseException:
            transport.kill()
            raise
        transport.isolation = msg["isolation"]
        transport.notes = tuple(msg.get("notes") or ())
        return transport

    def stray_processes(self, transports: list[Transport]) -> list[tuple[int, int, str]]:
        """Processes in the worker containers other than each container's server (pid 1)."""
        out: list[tuple[int, int, str]] = []
        for t in transports:
            if not isinstance(t, DockerTransport):
                continue
            top = t.container.top(ps_args="-o pid,uid,comm")
            server = t.container.attrs.get("State", {}).get("Pid")
            if not server:
                t.container.reload()
                server = t.container.attrs["State"]["Pid"]
            for row in top.get("Processes") or []:
                pid, uid, comm = int(row[0]), int(row[1]), row[2]
                if pid != server:
                    out.append((pid, uid, comm))
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
