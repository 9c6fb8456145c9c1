"""Pytest fixtures for plugin authors and Assay's own tests (opt in with
``pytest_plugins = ["assay.testing"]``).

- ``assay_registry``: the process registry, loaded; restored after the test (runtime
  registrations made during the test are removed).
- ``register_plugin``: ``register_plugin(module_or_object, name=None)`` registers a plugin for
  one test, runs its hooks, and unregisters it afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .registry import KINDS, Registry, get_registry


def _snapshot(reg: Registry) -> dict[str, dict[str, Any]]:
    return {k: dict(reg._entries[k]) for k in KINDS}


@pytest.fixture
def assay_registry() -> Iterator[Registry]:
    """The loaded registry; entries added during the test are removed afterwards."""
    reg = get_registry()
    before = _snapshot(reg)
    plugins_before = set(reg.plugins)
    failures_before = list(reg.failures)
    try:
        yield reg
    finally:
        for name in set(reg.plugins) - plugins_before:
            reg.unregister_plugin(name)
        for k in KINDS:
            reg._entries[k].clear()
            reg._entries[k].update(before[k])
        reg.failures[:] = failures_before


@pytest.fixture
def register_plugin(assay_registry: Registry) -> Iterator[Callable[..., str]]:
    """Register a plugin (module, class instance, or namespace of hookimpls) for one test."""
    names: list[str] = []

    def _register(plugin: Any, name: str | None = None) -> str:
        pname = assay_registry.register_plugin(plugin, name=name)
        names.append(pname)
        return pname

    yield _register
    for n in names:
        assay_registry.unregister_plugin(n)
