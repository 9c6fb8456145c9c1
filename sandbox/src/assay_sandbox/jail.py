"""Linux isolation primitives for the sandbox server: namespaces, a read-only root, seccomp.

Stdlib-only (ctypes): the server ships this module's source into the sandbox. Nothing here runs
in the caller's process except `seccomp_supported`; the server calls the rest in its own
processes:

- `unshare` + uid/gid maps: user, pid, net, mount, ipc and uts namespaces;
- `build_root`: a tmpfs root holding read-only, nosuid bind mounts of the interpreter and the
  system library folders, a fresh ``/proc`` for the pid namespace, a few device nodes, an empty
  ``/sandbox`` mount point (the server mounts its private tmpfs there), ``/tmp`` and ``/dev/shm``
  pointing to it; then
  ``pivot_root`` so the host file tree is gone;
- `SeccompFilter`: a classic-BPF deny list built by hand (no libseccomp needed): sockets other
  than AF_UNIX, ptrace and process_vm_*, mount and namespace calls, clone with namespace flags,
  keyrings, bpf, perf, io_uring, module and kexec calls, reboot, clock setting. Everything else
  is allowed. Installed once on the server's zygote; every execution inherits it via ``fork``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
from collections.abc import Iterable

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NS_FLAGS = (
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
) | CLONE_NEWNET

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2

# statvfs f_flag bits -> mount flags that are "locked" on a mount inherited into a user namespace.
_ST_TO_MS = {
    2: MS_NOSUID,
    4: MS_NODEV,
    8: MS_NOEXEC,
    1024: MS_NOATIME,
    2048: MS_NODIRATIME,
    4096: MS_RELATIME,
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]
_libc.syscall.restype = ctypes.c_long


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def prctl(option: int, arg: int = 0) -> None:
    _check(_libc.prctl(option, arg, 0, 0, 0), f"prctl({option})")


def drop_bounding_set() -> bool:
    """Empty the capability bounding set (current capabilities stay; nothing can be regained)."""
    ok = True
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            ok = False
    return ok


def sethostname(name: str) -> None:
    """Best effort (the uts namespace only); no ``socket`` import in the server for this."""
    raw = name.encode()
    _libc.sethostname(raw, len(raw))


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(
    src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    _check(_libc.mount(_b(src), _b(target), _b(fstype), flags, _b(data)), f"mount {target}")


def umount(target: str) -> None:
    _check(_libc.umount2(_b(target), MNT_DETACH), f"umount {target}")


_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}


def pivot_root(new: str, old: str) -> None:
    nr = _SYS_PIVOT_ROOT.get(platform.machine())
    if nr is None:
        raise OSError(errno.ENOSYS, "pivot_root: unknown architecture")
    _check(_libc.syscall(nr, _b(new), _b(old)), "pivot_root")


def write_id_maps(pid: int, uid_map: str, gid_map: str) -> None:
    """Write ``/proc/PID/{uid,gid}_map`` (from the parent user namespace)."""
    for name, text in (("uid_map", uid_map), ("gid_map", gid_map)):
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(text)


def deny_setgroups_and_map_self(uid: int, gid: int) -> None:
    """The unprivileged mapping: namespace root is our own uid/gid, nothing else is mapped."""
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    write_id_maps(os.getpid(), f"0 {uid} 1\n", f"0 {gid} 1\n")


def _locked_flags(path: str) -> int:
    flags = 0
    st = os.statvfs(path).f_flag
    for bit, ms in _ST_TO_MS.items():
        if st & bit:
            flags |= ms
    return flags


def bind_ro(src: str, dst: str, *, dev: bool = False) -> None:
    """Bind ``src`` on ``dst`` read-only and nosuid (nodev unless ``dev``)."""
    mount(src, dst, None, MS_BIND | MS_REC)
    extra = 0 if dev else MS_NODEV
    mount(
        None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | extra | _locked_flags(dst)
    )


def _mkdirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


DEVICES = ("null", "zero", "full", "random", "urandom")
MQUEUE = "/dev/mqueue"


def build_root(
    new_root: str, binds: Iterable[str], work: str = "/sandbox", proc: bool = True
) -> list[str]:
    """Make ``new_root`` (a fresh tmpfs) the root of this mount namespace; return what was bound.

    Must run in a new mount namespace (and pid namespace, for ``/proc``) with CAP_SYS_ADMIN there.
    """
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    done: list[str] = []
    for path in binds:
        if not os.path.lexists(path):
            continue
        target = new_root + path
        if os.path.islink(path):  # /bin -> usr/bin on merged-/usr systems
            _mkdirs(os.path.dirname(target))
            if not os.path.lexists(target):
                os.symlink(os.readlink(path), target)
            continue
        _mkdirs(target)
        bind_ro(path, target)
        done.append(path)
    _mkdirs(new_root + "/dev")
    for dev in DEVICES:
        target = f"{new_root}/dev/{dev}"
        open(target, "w").close()
        try:
            bind_ro(f"/dev/{dev}", target, dev=True)
        except OSError:
            os.unlink(target)
    _mkdirs(new_root + work)
    os.symlink(work.lstrip("/"), new_root + "/tmp")
    os.symlink(work, new_root + "/dev/shm")  # POSIX semaphores (multiprocessing) live there
    # POSIX message queues of this IPC namespace, visible so the zygote can remove them.
    _mkdirs(new_root + MQUEUE)
    try:
        mount("mqueue", new_root + MQUEUE, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        os.rmdir(new_root + MQUEUE)
    if proc:
        _mkdirs(new_root + "/proc")
        # Must happen while the host /proc is still visible (the kernel checks for it).
        mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    old = new_root + "/.old"
    os.mkdir(old)
    pivot_root(new_root, old)
    os.chdir("/")
    umount("/.old")
    os.rmdir("/.old")
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return done


# -- seccomp --------------------------------------------------------------------------------
_AUDIT_ARCH_X86_64 = 0xC000003E
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06

# x86_64 numbers only: a wrong number on another architecture could break ordinary programs, so
# elsewhere seccomp is reported unavailable instead.
_DENY_X86_64 = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "pidfd_getfd": 438, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "unshare": 272, "setns": 308, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "keyctl": 250, "add_key": 248,
    "request_key": 249, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163,
    "syslog": 103, "vhangup": 153, "quotactl": 179, "settimeofday": 164, "clock_settime": 227,
    "adjtimex": 159, "clock_adjtime": 305, "iopl": 172, "ioperm": 173, "personality": 135,
    "uselib": 134, "lookup_dcookie": 212,
    # memory files: pages written to a memfd are in no process's resident set, so no memory
    # cap sees them (shm_open and O_TMPFILE land on the work tmpfs, which has a size)
    "memfd_create": 319, "memfd_secret": 447,
}  # fmt: skip
_SOCKET, _CLONE, _CLONE3, _KILL = 41, 56, 435, 62
_AF_UNIX = 1


def seccomp_supported() -> bool:
    return platform.machine() == "x86_64" and hasattr(_libc, "prctl")


def _assemble(prog: list[tuple]) -> bytes:
    """Resolve symbolic jump labels; each item is (code, jt, jf, k) or ("label", name)."""
    labels: dict[str, int] = {}
    real: list[tuple] = []
    for ins in prog:
        if ins[0] == "label":
            labels[ins[1]] = len(real)
        else:
            real.append(ins)
    out = b""
    for i, (code, jt, jf, k) in enumerate(real):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        if not (0 <= jt < 256 and 0 <= jf < 256):
            raise ValueError("seccomp program: jump out of range")
        out += struct.pack("HBBI", code, jt, jf, k)
    return out


def seccomp_program(deny_kill_all: bool = False) -> bytes:
    """The BPF deny list (see the module docstring) for x86_64.

    ``deny_kill_all`` also denies ``kill(-1, ...)``: for servers without a pid namespace, where
    it would reach every process of the uid.
    """
    prog: list[tuple] = [
        (_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 1, 0, _AUDIT_ARCH_X86_64),
        (_RET, 0, 0, _RET_KILL_PROCESS),
        (_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        (_JGE, "eperm", 0, 0x40000000),  # the x32 ABI
        (_JEQ, "socket", 0, _SOCKET),
        (_JEQ, "clone", 0, _CLONE),
        (_JEQ, "enosys", 0, _CLONE3),  # flags live behind a pointer: glibc falls back to clone
    ]
    if deny_kill_all:
        prog.append((_JEQ, "kill", 0, _KILL))
    prog += [(_JEQ, "eperm", 0, nr) for nr in sorted(_DENY_X86_64.values())]
    prog += [
        (_RET, 0, 0, _RET_ALLOW),
        ("label", "socket"),
        (_LD_W_ABS, 0, 0, 16),  # args[0] low word: the address family
        (_JEQ, "allow", "eacces", _AF_UNIX),
        ("label", "clone"),
        (_LD_W_ABS, 0, 0, 16),  # args[0] low word: the clone flags
        (_JSET, "eperm", "allow", NS_FLAGS),
        ("label", "kill"),
        (_LD_W_ABS, 0, 0, 16),  # args[0] low word: the pid
        (_JEQ, "eperm", "allow", 0xFFFFFFFF),
        ("label", "allow"),
        (_RET, 0, 0, _RET_ALLOW),
        ("label", "eperm"),
        (_RET, 0, 0, _RET_ERRNO | errno.EPERM),
        ("label", "eacces"),
        (_RET, 0, 0, _RET_ERRNO | errno.EACCES),
        ("label", "enosys"),
        (_RET, 0, 0, _RET_ERRNO | errno.ENOSYS),
    ]
    return _assemble(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class SeccompFilter:
    """A filter built once (in the server) and installed cheaply in each forked execution."""

    def __init__(self, deny_kill_all: bool = False) -> None:
        code = seccomp_program(deny_kill_all)
        self._buf = ctypes.create_string_buffer(code, len(code))
        self._prog = _SockFprog(len(code) // 8, ctypes.addressof(self._buf))

    def install(self) -> None:
        """Install in this process (and its future children); sets no_new_privs first."""
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        _check(
            _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(self._prog), 0, 0),
            "seccomp",
        )
