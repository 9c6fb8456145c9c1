"""The docker backend's image with compilers: this machine's Python plus its Debian toolchains.

Built offline like the Python image (`assay_sandbox.image`): no registry, no Dockerfile, no
network. For each language asked for, the Debian packages that own its tools (``dpkg -S``) and
their installed dependencies (``Depends`` and ``Pre-Depends``, transitively, the alternatives
that are installed) contribute their files (``dpkg -L``; documentation, manuals and locales
left out). Paths are stored under their real directories, and the host's directory symlinks
(merged ``/usr``: ``/lib -> usr/lib``) are recreated, so every alias a toolchain uses resolves.
The tag hashes the interpreter, the languages and the package versions, so a rebuild happens
only when one of them changes. ``docker import`` turns the tar into the image.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from typing import Any

from .image import python_paths, rootfs_files
from .languages import find_toolchain

__all__ = ["ensure_toolchain_image", "toolchain_image_tag", "toolchain_packages", "write_rootfs"]

REPOSITORY = "assay-sandbox-toolchains"
SKIP_PREFIXES = (
    "/usr/share/doc/",
    "/usr/share/man/",
    "/usr/share/info/",
    "/usr/share/locale/",
    "/usr/share/lintian/",
    "/usr/share/bug/",
)
# Package-management plumbing that dependencies name but nothing in a sandbox runs.
SKIP_PACKAGES = {
    "debconf",
    "dpkg",
    "perl-base",
    "adduser",
    "init-system-helpers",
    "lsb-base",
    "sensible-utils",
    "passwd",
    "login",
    "ucf",
}
# What the compilers need but only recommend: C headers and start files for gcc, g++ and rustc's
# linker.
EXTRA_ROOTS = {"c": ("libc6-dev",), "cpp": ("libc6-dev",), "rust": ("libc6-dev",)}
_DEP = re.compile(r"^\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9]+)?")


def _installed(pkg: str) -> str | None:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}\t${Version}\t${Depends}, ${Pre-Depends}", pkg],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0 or "install ok installed" not in out.stdout:
        return None
    return out.stdout


def toolchain_packages(languages: Iterable[str]) -> dict[str, str]:
    """Installed Debian packages (name -> version) the languages' tools need, transitively."""
    roots: list[str] = []
    for lang in languages:
        roots += EXTRA_ROOTS.get(lang, ())
        for path in find_toolchain(lang).tools.values():
            out = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            if out.returncode == 0:
                roots += [p.split(":")[0].strip() for p in out.stdout.split(": ")[0].split(",")]
    seen: dict[str, str] = {}
    todo = list(dict.fromkeys(roots))
    while todo:
        pkg = todo.pop()
        if pkg in seen or pkg in SKIP_PACKAGES:
            continue
        info = _installed(pkg)
        if info is None:
            continue
        _, version, deps = info.split("\t", 2)
        seen[pkg] = version
        for clause in deps.split(","):
            for alt in clause.split("|"):
                m = _DEP.match(alt)
                if m and _installed(m.group(1)) is not None:
                    todo.append(m.group(1))
                    break
    return seen


def _package_files(packages: Iterable[str]) -> list[str]:
    files: list[str] = []
    for pkg in sorted(packages):
        out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
        for line in out.stdout.splitlines():
            wanted = line.startswith("/") and not line.startswith(SKIP_PREFIXES)
            if wanted and (os.path.islink(line) or os.path.isfile(line)):
                files.append(line)
    return files


def toolchain_image_tag(languages: Iterable[str], python: str | None = None) -> str:
    langs = sorted(set(languages))
    exe, stdlib, _ = python_paths(python)
    pkgs = toolchain_packages(langs)
    text = "\n".join([exe, stdlib, *langs, *(f"{k}={v}" for k, v in sorted(pkgs.items()))])
    return f"{REPOSITORY}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _with_link_targets(paths: Iterable[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for f in paths:
        while f not in seen and os.path.lexists(f):
            seen.add(f)
            out.append(f)
            if not os.path.islink(f):
                break
            f = os.path.normpath(os.path.join(os.path.dirname(f), os.readlink(f)))
    return out


def _real_dir_name(path: str, dir_links: dict[str, str]) -> str:
    """``path`` with its directory resolved (the file itself may stay a symlink)."""
    parent = os.path.dirname(path)
    real = os.path.realpath(parent)
    # remember every symlinked directory on the way (e.g. /lib -> usr/lib)
    cur = "/"
    for part in parent.strip("/").split("/"):
        cur = os.path.join(cur, part)
        if os.path.islink(cur) and cur not in dir_links:
            dir_links[cur] = os.readlink(cur)
    return os.path.join(real, os.path.basename(path))


def write_rootfs(fileobj: Any, languages: Iterable[str], python: str | None = None) -> int:
    """Write the image's rootfs tar (Python + the languages' packages); returns the file count."""
    langs = sorted(set(languages))
    files = _with_link_targets([*rootfs_files(python), *_package_files(toolchain_packages(langs))])
    dir_links: dict[str, str] = {}
    entries: dict[str, str] = {}
    for f in files:
        entries.setdefault(_real_dir_name(f, dir_links).lstrip("/"), f)
    dirs: set[str] = set()
    with tarfile.open(fileobj=fileobj, mode="w") as tar:

        def add_dirs(arc: str) -> None:
            parts = arc.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs and "/" + d not in dir_links:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)

        for d, mode in (("etc", 0o755), ("tmp", 0o1777), ("proc", 0o755), ("dev", 0o755)):
            dirs.add(d)
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        for name, text in (
            ("etc/passwd", "root:x:0:0:root:/root:/bin/false\nsandbox:x:65534:65534::/sandbox:/bin/false\n"),
            ("etc/group", "root:x:0:\nsandbox:x:65534:\n"),
        ):  # fmt: skip
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        links = {k.lstrip("/"): v for k, v in dir_links.items()}
        for arc, src in sorted(entries.items()):
            if arc in ("etc/passwd", "etc/group") or arc in links or arc in dirs:
                continue
            add_dirs(arc)
            info = tar.gettarinfo(src, arcname=arc)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if info.isdir():
                continue
            dirs.add(arc)  # written: never again, as a file, a directory or a link
            info.mode &= 0o755  # no setuid bits, nothing writable by others
            if info.isreg():
                with open(src, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
        for link, target in sorted(links.items()):
            if link in dirs:
                continue
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
        exe = python_paths(python)[0]
        if "usr/bin/python3" not in dirs:
            info = tarfile.TarInfo("usr/bin/python3")
            info.type, info.linkname = tarfile.SYMTYPE, exe
            tar.addfile(info)
    return len(entries)


def ensure_toolchain_image(client: Any, languages: Iterable[str], python: str | None = None) -> str:
    """The tag of the toolchain image in ``client``'s engine, importing it first if missing."""
    import docker.errors

    langs = sorted(set(languages))
    tag = toolchain_image_tag(langs, python)
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    repo, _, version = tag.partition(":")
    with tempfile.TemporaryFile(prefix="assay-toolchain-rootfs-") as tmp:
        write_rootfs(tmp, langs, python)
        tmp.seek(0)
        chunks = iter(lambda: tmp.read(1 << 20), b"")
        client.api.import_image_from_stream(chunks, repository=repo, tag=version)
    client.images.get(tag)  # raises if the import failed
    return tag
