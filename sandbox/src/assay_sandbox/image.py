"""Build the docker backend's image offline: a rootfs made from this machine's Python.

No registry, no Dockerfile, no network: the interpreter, its standard library (without tests,
site-packages, IDLE, Tk and the static library), its extension modules, and the shared
libraries they link (found with ``ldd``) go into a tar stream under the same absolute paths,
with a minimal ``/etc/passwd``, and ``docker import`` turns that into an image. The tag hashes
the interpreter's version and path, so a second build is a no-op.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from collections.abc import Iterator
from typing import Any

REPOSITORY = "assay-sandbox-python"
SKIP_DIRS = {
    "site-packages",
    "test",
    "tests",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
}
_LDD_PATH = re.compile(r"(/\S+)")


def python_paths(python: str | None = None) -> tuple[str, str, str]:
    """(interpreter, stdlib dir, prefix) of ``python`` (default: this interpreter, symlinks resolved)."""
    exe = os.path.realpath(python or sys.executable)
    if python is None:
        stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
        prefix = os.path.realpath(sys.base_prefix)
    else:
        out = subprocess.run(
            [exe, "-I", "-S", "-c", "import sys, sysconfig; print(sysconfig.get_paths()['stdlib']); print(sys.base_prefix)"],
            capture_output=True, text=True, check=True,
        ).stdout.split("\n")  # fmt: skip
        stdlib, prefix = os.path.realpath(out[0]), os.path.realpath(out[1])
    return exe, stdlib, prefix


def image_tag(python: str | None = None) -> str:
    exe, stdlib, _ = python_paths(python)
    version = sys.version if python is None else exe
    digest = hashlib.sha256(f"{exe}\n{stdlib}\n{version}".encode()).hexdigest()[:12]
    return f"{REPOSITORY}:{digest}"


def _shared_libs(binaries: list[str]) -> set[str]:
    libs: set[str] = set()
    for chunk in range(0, len(binaries), 64):
        out = subprocess.run(
            ["ldd", *binaries[chunk : chunk + 64]], capture_output=True, text=True
        ).stdout
        for line in out.splitlines():
            if "=>" in line or line.strip().startswith("/"):
                m = _LDD_PATH.search(line.split("=>")[-1])
                if m and os.path.exists(m.group(1)):
                    libs.add(m.group(1))
    return libs


def _walk(root: str) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith("config-")]
        for name in filenames:
            yield os.path.join(dirpath, name)


def rootfs_files(python: str | None = None) -> list[str]:
    """Every host file the image needs (symlinks are kept as symlinks, their targets added)."""
    exe, stdlib, prefix = python_paths(python)
    files = [exe, *_walk(stdlib)]
    libdir = os.path.join(prefix, "lib")
    files += [os.path.join(libdir, f) for f in os.listdir(libdir) if f.startswith("libpython")]
    binaries = [f for f in files if f == exe or f.endswith(".so") or ".so." in f]
    files += sorted(_shared_libs(binaries))
    out: list[str] = []
    seen: set[str] = set()
    for f in files:
        while f not in seen:
            seen.add(f)
            out.append(f)
            if not os.path.islink(f):
                break
            f = os.path.normpath(os.path.join(os.path.dirname(f), os.readlink(f)))
    return out


def _add_dirs(tar: tarfile.TarFile, path: str, done: set[str]) -> None:
    parts = path.strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        d = "/".join(parts[:i])
        if d not in done:
            done.add(d)
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)


def _add_text(tar: tarfile.TarFile, name: str, text: str, mode: int = 0o644) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def write_rootfs(fileobj: Any, python: str | None = None) -> int:
    """Write the rootfs tar to ``fileobj``; returns the number of files."""
    files = rootfs_files(python)
    done: set[str] = set()
    with tarfile.open(fileobj=fileobj, mode="w") as tar:
        for d in ("etc", "tmp", "work", "proc", "dev", "usr", "usr/bin"):
            done.add(d)
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d in ("tmp", "work") else 0o755
            tar.addfile(info)
        _add_text(
            tar,
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/false\nsandbox:x:65534:65534:sandbox:/sandbox:/bin/false\n",
        )
        _add_text(tar, "etc/group", "root:x:0:\nsandbox:x:65534:\n")
        for f in files:
            _add_dirs(tar, f, done)
            info = tar.gettarinfo(f, arcname=f.lstrip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if info.isdir():
                continue
            info.mode &= 0o755  # no setuid bits, nothing writable by others
            if info.isreg():
                with open(f, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
        exe = python_paths(python)[0]
        link = tarfile.TarInfo("usr/bin/python3")
        link.type, link.linkname = tarfile.SYMTYPE, exe
        tar.addfile(link)
    return len(files)


def ensure_image(client: Any, python: str | None = None) -> str:
    """The tag of the sandbox image in ``client``'s engine, importing it first if missing."""
    import docker.errors

    tag = image_tag(python)
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    repo, _, version = tag.partition(":")
    with tempfile.TemporaryFile(prefix="assay-rootfs-") as tmp:
        write_rootfs(tmp, python)
        tmp.seek(0)
        chunks = iter(lambda: tmp.read(1 << 20), b"")  # a generator: real chunked encoding
        client.api.import_image_from_stream(chunks, repository=repo, tag=version)
    client.images.get(tag)  # raises if the import failed
    return tag
