"""Error classes, each with a message that tells the user what to do next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class AssayError(Exception):
    """Base class of Assay's own errors."""


class PluginLoadError(AssayError):
    """A plugin failed to load (raised only in strict mode; otherwise reported and skipped)."""

    def __init__(self, plugin: str, distribution: str | None, reason: str) -> None:
        self.plugin, self.distribution, self.reason = plugin, distribution, reason
        super().__init__(
            f"plugin {plugin!r} (distribution {distribution or '?'}) failed to load: {reason}"
        )


class DuplicateNameError(AssayError):
    """Two plugins registered the same name for the same kind."""

    def __init__(self, kind: str, name: str, first: str, second: str) -> None:
        self.kind, self.name, self.first, self.second = kind, name, first, second
        super().__init__(
            f"{kind} {name!r} is registered by both plugin {first!r} and plugin {second!r}; "
            f"uninstall one, or block one with ASSAY_DISABLE_PLUGINS={second}"
        )


class UnknownNameError(AssayError, KeyError):
    """A name that no loaded plugin registered; says which plugins failed and why."""

    def __init__(self, kind: str, name: str, known: Sequence[str], failures: Sequence[Any]) -> None:
        self.kind, self.name = kind, name
        msg = f"no {kind} named {name!r}."
        if known:
            msg += f" Known {kind}s: {', '.join(known)}."
        if failures:
            lines = [
                f"  - plugin {f.plugin!r} (distribution {f.distribution or '?'}) failed at "
                f"{f.stage}: {f.reason.splitlines()[0] if f.reason else ''}"
                for f in failures
            ]
            msg += " It may come from a plugin that failed to load:\n" + "\n".join(lines)
        else:
            msg += " Install the plugin that provides it, or register it with @assay.reward."
        self.message = msg
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class SpecError(AssayError, ValueError):
    """A pipeline spec is invalid; the message names the offending key."""

    def __init__(self, path: str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(
            f"pipeline spec: {path}: {problem}" if path else f"pipeline spec: {problem}"
        )


class DeadlineExceeded(AssayError):
    """Work ran past its deadline and its worker process was killed."""


class WorkerCrashed(AssayError):
    """A worker process died (out of memory, a crash in C code) while doing the work."""
