"""Error classes, each with a message that tells the user what to do next.

Every error Assay and its first-party packages raise on purpose derives from `AssayError`
(``assay_sandbox.SandboxError``, the verifiers' and ``assay_rm``'s errors included), and also
from the builtin a caller would expect (``ValueError`` for bad input, ``KeyError`` for an
unknown name, ``TimeoutError`` for a deadline), so ``except AssayError`` and
``except ValueError`` both keep working. See ``docs/pipelines.md`` for the tree.
"""

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
    """A pipeline is composed wrongly (a bad spec key, duplicate names, a dependency cycle):
    the same error whether the pipeline comes from a spec or is built in Python; the message
    names the offending key."""

    def __init__(self, path: str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(
            f"pipeline spec: {path}: {problem}" if path else f"pipeline spec: {problem}"
        )


class OptionsError(SpecError):
    """A reward was given options its ``Options`` model rejects (an unknown or ill-typed key).

    Raised by ``Reward(**options)`` and by a spec's ``with:`` block alike; ``problems`` holds
    ``(location, message)`` pairs and ``known`` the reward's option names.
    """

    def __init__(
        self, reward: str, problems: Sequence[tuple[str, str]], known: Sequence[str], where: str
    ) -> None:
        self.reward, self.problems, self.known = reward, list(problems), list(known)
        parts = [f"{where}.{loc}: {msg}" if loc else f"{where}: {msg}" for loc, msg in problems]
        names = ", ".join(known) or "none"
        super().__init__("", "; ".join(parts) + f" (options of {reward!r}: {names})")

    def at(self, where: str) -> OptionsError:
        """The same problems, located under ``where`` (a spec key such as ``rewards[1].with``)."""
        return OptionsError(self.reward, self.problems, self.known, where)


class UnknownComponentError(SpecError, UnknownNameError):
    """A spec names a reward no plugin registered: a `SpecError` (it names the spec key) and an
    `UnknownNameError` (as the same mistake made in Python raises)."""

    def __init__(self, path: str, cause: UnknownNameError) -> None:
        self.kind, self.name = cause.kind, cause.name
        self.path, self.problem = path, cause.message
        self.message = f"pipeline spec: {path}: {cause.message}"
        Exception.__init__(self, self.message)  # both bases' __init__ would format again

    def __str__(self) -> str:
        return self.message


class DeadlineExceeded(AssayError, TimeoutError):
    """Work ran past its deadline and its worker process was killed."""


class WorkerCrashed(AssayError):
    """A worker process died (out of memory, a crash in C code) while doing the work."""


class NonOkRateExceeded(AssayError, RuntimeError):
    """Too many recent samples could not be scored ``ok`` by a trainer adapter (its
    ``max_non_ok_rate``): stop the run rather than train on rewards that measure nothing."""
