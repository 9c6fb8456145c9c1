"""The typed contract of a sandbox backend, and how a backend is found (only the registry).

A backend starts workers that speak the fork-server protocol (`assay_sandbox.protocol`): the
pool asks it for one `Transport` per worker, asks which of its processes are still running
(monitoring, tests) and closes it. Backends are registered with the ``assay`` plugin hook
``assay_register_sandboxes`` (``process`` and ``docker`` by `assay_sandbox.plugin`), so a
third-party backend is used by name exactly like the built-in ones.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .protocol import Transport


@runtime_checkable
class SandboxBackend(Protocol):
    """What `SandboxPool` needs from a backend."""

    name: str

    def start_worker(self, index: int) -> Transport:
        """Start worker ``index`` and return its transport once it said ``ready``."""
        ...

    def stray_processes(self, transports: list[Transport]) -> list[tuple[int, int, str]]:
        """(pid, uid, name) of processes these workers' executions left running (none expected)."""
        ...

    def close(self) -> None:
        """Release what the backend holds beyond its workers (idempotent)."""
        ...


def resolve_backend(
    backend: str | type | SandboxBackend, options: dict[str, Any]
) -> SandboxBackend:
    """A backend instance from a registered name, a backend class or an instance.

    Names are looked up in the assay registry (kind ``sandbox``) and nowhere else.
    """
    if isinstance(backend, str):
        import assay

        factory = assay.get_registry().get("sandbox", backend).obj
        made = factory(**options)
    elif isinstance(backend, type):
        made = backend(**options)
    else:
        if options:
            raise TypeError("backend options go with a backend name or class, not an instance")
        made = backend
    if not isinstance(made, SandboxBackend):
        raise TypeError(f"{type(made).__name__} is not a sandbox backend (see SandboxBackend)")
    return made
