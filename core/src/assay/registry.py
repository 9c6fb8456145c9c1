"""The plugin manager and the registry of rewards, samplers, algorithms and sandboxes.

Built lazily by `get_registry()` (never at import time, once even when several threads ask at
the same moment): the pluggy manager loads every entry point of the ``assay`` group (first-party
packages use the same group as third parties, loaded in entry-point name order), then calls each
registration hook through pluggy's own list of implementations (``get_hookimpls()``), so
``specname=``, ``tryfirst`` and ``trylast`` are honoured and the order is stable. Each
implementation is called on its own with a `Register` bound to its plugin, so every registered
name is attributed to its plugin, a duplicate names both, and a plugin whose hook raises is
reported and skipped without stopping the others.

Environment:
- ``ASSAY_DISABLE_PLUGINS=a,b``: entry-point names (or distribution names) not to load.
- ``ASSAY_STRICT_PLUGINS=1``: a plugin that fails to load is fatal instead of reported and skipped.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pluggy

from . import hookspecs
from .errors import DuplicateNameError, PluginLoadError, UnknownNameError
from .interfaces import Algorithm, Sampler
from .plugin_env import blocked_plugins, strict_plugins, warn_unmatched
from .rewards import as_reward_class, lift

Kind = Literal["reward", "sampler", "algorithm", "sandbox"]
KINDS: tuple[Kind, ...] = ("reward", "sampler", "algorithm", "sandbox")
ENTRY_POINT_GROUP = "assay"
RUNTIME = "__runtime__"


class Register(Protocol):
    """What a registration hook receives: ``register(obj, name=None)``.

    Annotate hook implementations with it::

        @assay.hookimpl
        def assay_register_rewards(register: assay.Register) -> None:
            register(MyReward)              # the key is MyReward.name
            register(my_function, name="my_fn")

    The name defaults to ``obj.name`` and then ``obj.__name__``; a name another plugin
    registered for the same kind raises `DuplicateNameError` naming both plugins.
    """

    def __call__(self, obj: Any, name: str | None = None) -> None: ...


RegisterFn = Register  # the former name, kept for plugins that annotate with it


@dataclass(frozen=True)
class Entry:
    """One registered object and where it came from."""

    kind: Kind
    name: str
    obj: Any
    plugin: str
    distribution: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not load or whose hook raised: reported, then skipped."""

    plugin: str
    distribution: str | None
    reason: str
    stage: str  # "import", "register" (bad hook signatures) or the hook name


@dataclass
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    module: str
    provides: dict[str, list[str]] = field(default_factory=dict)


class Registry:
    """Named objects by kind, the plugins that provided them, and the plugins that failed."""

    def __init__(self, pm: pluggy.PluginManager | None = None) -> None:
        self.pm = pm or make_plugin_manager()
        self._entries: dict[Kind, dict[str, Entry]] = {k: {} for k in KINDS}
        self.plugins: dict[str, PluginInfo] = {}
        self.failures: list[PluginFailure] = []
        self._lock = threading.RLock()

    # -- adding ---------------------------------------------------------------------------
    def add(
        self,
        kind: Kind,
        name: str,
        obj: Any,
        *,
        plugin: str = RUNTIME,
        distribution: str | None = None,
        version: str | None = None,
        replace: bool = False,
    ) -> Entry:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        if kind == "reward":
            obj = as_reward_class(obj, name)
        else:
            _check_kind(kind, name, obj)
        with self._lock:
            old = self._entries[kind].get(name)
            # Re-running a notebook cell re-registers the same function: allow that.
            rerun = plugin == RUNTIME and old is not None and old.plugin == RUNTIME
            if old is not None and not replace and old.obj is not obj and not rerun:
                raise DuplicateNameError(kind, name, old.plugin, plugin)
            entry = Entry(kind, name, obj, plugin, distribution, version)
            self._entries[kind][name] = entry
            if plugin in self.plugins:
                self.plugins[plugin].provides.setdefault(kind, []).append(name)
            return entry

    def remove(self, kind: Kind, name: str) -> None:
        with self._lock:
            self._entries[kind].pop(name, None)

    # -- reading --------------------------------------------------------------------------
    def get(self, kind: Kind, name: str) -> Entry:
        try:
            return self._entries[kind][name]
        except KeyError:
            raise UnknownNameError(kind, name, sorted(self._entries[kind]), self.failures) from None

    def names(self, kind: Kind) -> list[str]:
        return sorted(self._entries[kind])

    def entries(self, kind: Kind) -> Iterator[Entry]:
        for name in sorted(self._entries[kind]):
            yield self._entries[kind][name]

    # -- loading --------------------------------------------------------------------------
    def load(self, entry_points: bool = True) -> Registry:
        """Load entry-point plugins and run every plugin's registration hooks."""
        if entry_points:
            self._load_entry_points()
        self._register_from(None)
        self._call_hook("assay_configure", None, registry=self)
        return self

    def register_plugin(self, module: Any, name: str | None = None) -> str:
        """Register a plugin object (module or instance) now, e.g. from a test or a notebook."""
        pname = self.pm.register(module, name=name)
        if pname is None:
            raise PluginLoadError(name or repr(module), None, "already registered or blocked")
        self.plugins.setdefault(
            pname, PluginInfo(pname, None, None, getattr(module, "__name__", repr(module)))
        )
        self._register_from(module)
        self._call_hook("assay_configure", module, registry=self)
        return pname

    def unregister_plugin(self, name: str) -> None:
        """Remove a plugin and everything it registered."""
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        with self._lock:
            for kind in KINDS:
                for n in [n for n, e in self._entries[kind].items() if e.plugin == name]:
                    del self._entries[kind][n]
        self.plugins.pop(name, None)

    def _load_entry_points(self) -> None:
        blocked = blocked_plugins()
        # Name order: pluggy calls later registrations first, so a stable load order is a stable
        # hook order whatever order the installer wrote the distributions in.
        eps = sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, ep.value))
        warn_unmatched(blocked, eps)
        for ep in eps:
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            if ep.name in blocked or (dist and dist in blocked):
                self.pm.set_blocked(ep.name)
                continue
            if self.pm.get_plugin(ep.name) is not None or self.pm.is_blocked(ep.name):
                continue
            try:
                module = ep.load()
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken plugin must not break the host
                reason = f"{type(exc).__name__}: {exc}"
                self._fail(ep.name, dist, reason, "import", exc)
                continue
            try:  # pluggy checks the hook signatures here (a hookimpl with a wrong argument)
                self.pm.register(module, name=ep.name)
            except Exception as exc:  # noqa: BLE001 - reported against the plugin, then skipped
                self._fail(ep.name, dist, f"{type(exc).__name__}: {exc}", "register", exc)
                continue
            self.plugins[ep.name] = PluginInfo(ep.name, dist, version, ep.value)

    def _fail(
        self, plugin: str, dist: str | None, reason: str, stage: str, exc: BaseException
    ) -> None:
        failure = PluginFailure(plugin, dist, reason, stage)
        self.failures.append(failure)
        if strict_plugins():
            raise PluginLoadError(plugin, dist, reason) from exc
        warnings.warn(
            f"assay: plugin {plugin!r} (distribution {dist or '?'}) failed at {stage}: {reason}; "
            "skipped (set ASSAY_STRICT_PLUGINS=1 to make this fatal)",
            RuntimeWarning,
            stacklevel=3,
        )

    def _register_from(self, only: Any | None) -> None:
        """Run the registration hooks (of every plugin, or of ``only``), each implementation
        with a `Register` bound to its plugin."""
        for hook, kind in _REGISTRATION_HOOKS.items():
            for impl in self._impls(hook, only):
                self._call_impl(hook, impl, register=self._register_for(impl.plugin_name, kind))

    def _register_for(self, pname: str, kind: Kind) -> Register:
        info = self.plugins.get(pname)
        dist = info.distribution if info else None
        version = info.version if info else None

        def register(obj: Any, name: str | None = None) -> None:
            key = name or getattr(obj, "name", None) or getattr(obj, "__name__", None)
            if not key:
                raise ValueError(f"cannot tell the name of {obj!r}: pass name=...")
            self.add(kind, key, obj, plugin=pname, distribution=dist, version=version)

        return register

    def _impls(self, hook: str, only: Any | None) -> list[pluggy.HookImpl]:
        """A hook's implementations in pluggy's call order (tryfirst first, trylast last, then
        the later-registered first), optionally of one plugin only."""
        caller = getattr(self.pm.hook, hook)
        impls = list(reversed(caller.get_hookimpls()))
        # Wrappers wrap a call chain; registration hooks have none to wrap, so they are skipped.
        return [
            i
            for i in impls
            if (only is None or i.plugin is only) and not (i.hookwrapper or i.wrapper)
        ]

    def _call_hook(self, hook: str, only: Any | None, **kwargs: Any) -> None:
        for impl in self._impls(hook, only):
            self._call_impl(hook, impl, **kwargs)

    def _call_impl(self, hook: str, impl: pluggy.HookImpl, **kwargs: Any) -> None:
        """Call one implementation of a hook; failures are reported against its plugin."""
        pname = impl.plugin_name
        try:
            impl.function(*(kwargs[a] for a in impl.argnames))
        except DuplicateNameError:
            raise
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a plugin must not end the host
            info = self.plugins.get(pname)
            reason = f"{type(exc).__name__}: {exc}"
            if os.environ.get("ASSAY_DEBUG"):
                reason += "\n" + traceback.format_exc()
            self._fail(pname, info.distribution if info else None, reason, hook, exc)

    def check_pending(self) -> None:
        """Fail loudly on hook implementations that match no spec (a misspelt hook name).

        The offending plugin is reported and unregistered, or the error raised in strict mode.
        """
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                pname = self.pm.get_name(exc.plugin) or repr(exc.plugin)
                info = self.plugins.get(pname)
                self._fail(
                    pname, info.distribution if info else None, str(exc), "check_pending", exc
                )
                self.unregister_plugin(pname)

    # -- typed hook calls (pluggy's own calls are untyped) ---------------------------------
    def add_commands(self, subparsers: Any) -> None:
        self._call_hook("assay_add_commands", None, subparsers=subparsers)


_BASES: dict[str, type] = {"sampler": Sampler, "algorithm": Algorithm}


def _check_kind(kind: Kind, name: str, obj: Any) -> None:
    """Samplers and algorithms are subclasses of their base class; sandboxes are classes."""
    if not isinstance(obj, type):
        raise TypeError(f"{kind} {name!r}: register a class, got {type(obj).__name__} {obj!r}")
    base = _BASES.get(kind)
    if base is not None and not issubclass(obj, base):
        raise TypeError(f"{kind} {name!r}: {obj.__name__} must subclass assay.{base.__name__}")


_REGISTRATION_HOOKS: dict[str, Kind] = {
    "assay_register_rewards": "reward",
    "assay_register_samplers": "sampler",
    "assay_register_algorithms": "algorithm",
    "assay_register_sandboxes": "sandbox",
}


def make_plugin_manager() -> pluggy.PluginManager:
    """A fresh pluggy manager with Assay's hook specs (no plugins loaded)."""
    pm = pluggy.PluginManager("assay")
    pm.add_hookspecs(hookspecs)
    return pm


_registry: Registry | None = None
_building: Registry | None = None  # the registry being built, seen only by the building thread
_registry_lock = threading.RLock()


def get_registry() -> Registry:
    """The process-wide registry, built (plugins loaded, hooks run) on first use.

    Threads asking while it is being built wait for it; a plugin that registers at import
    time (``@assay.reward`` in its module) gets the registry being built, on the same thread.
    """
    global _registry, _building
    reg = _registry
    if reg is not None:
        return reg
    with _registry_lock:
        if _registry is not None:
            return _registry
        if _building is not None:  # re-entered from a plugin loading on this thread
            return _building
        reg = _building = Registry()
        try:
            reg.load()
            reg.check_pending()
        finally:
            _building = None
        _registry = reg
        return reg


def reset_registry() -> None:
    """Forget the process-wide registry (tests; after installing a plugin at runtime)."""
    global _registry
    with _registry_lock:
        _registry = None


def register(kind: Kind, obj: Any, name: str | None = None, *, replace: bool = False) -> Entry:
    """Register an object at runtime, without a package (notebooks, scripts)."""
    key = name or getattr(obj, "name", None) or getattr(obj, "__name__", None)
    if not key:
        raise ValueError(f"cannot tell the name of {obj!r}: pass name=...")
    return get_registry().add(kind, key, obj, replace=replace)


def get_reward(name: str, **options: Any) -> Any:
    """Instantiate a registered reward with its options."""
    return get_registry().get("reward", name).obj(**options)


def reward(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    batch: bool | None = None,
    expensive: bool = False,
    timeout: float | None = None,
    memory_mb: int | None = None,
    split: str | None = None,
    replace: bool = False,
) -> Any:
    """Decorator: register a function as a reward at runtime (no package needed, e.g. a notebook).

    >>> import assay
    >>> @assay.reward
    ... def short(sample, limit: int = 100):
    ...     return 1.0 if len(sample.completion_text) <= limit else 0.0

    The function is returned unchanged, so it stays callable and picklable. ``split`` says what
    an executor may split a batch along (`assay.Reward.split_by`).
    """

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        cls = lift(
            f,
            name,
            batch=batch,
            expensive=expensive,
            timeout=timeout,
            memory_mb=memory_mb,
            split=split,
        )
        get_registry().add("reward", cls.name, cls, plugin=RUNTIME, replace=replace)
        return f

    if fn is not None:
        return deco(fn)
    return deco
