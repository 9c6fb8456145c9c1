"""Hooks are called through pluggy: ``specname``, ``tryfirst``/``trylast`` and a stable order,
each implementation isolated and attributed to its plugin; the registry is built once even
when several threads ask for it at the same moment."""

from __future__ import annotations

import threading
from typing import Any

import assay
from assay.registry import Registry, get_registry, reset_registry


class Plugin:
    """A plugin object whose registration hook records that it ran, under any function name."""

    def __init__(self, tag: str, calls: list[str], **opts: Any) -> None:
        self.tag = tag

        @assay.hookimpl(specname="assay_register_rewards", **opts)
        def register_my_rewards(register: assay.Register) -> None:
            calls.append(tag)

            def fn(sample: assay.Sample) -> float:
                return 1.0

            register(fn, name=f"r_{tag}")

        self.register_my_rewards = register_my_rewards


def fresh() -> Registry:
    return Registry().load(entry_points=False)


def test_an_implementation_registered_with_specname_is_called() -> None:
    reg = fresh()
    calls: list[str] = []
    reg.register_plugin(Plugin("a", calls), name="a")
    reg.check_pending()
    assert calls == ["a"]
    assert reg.get("reward", "r_a").plugin == "a"


def test_hook_order_is_stable_and_honours_tryfirst_and_trylast() -> None:
    orders = []
    for _ in range(3):
        calls: list[str] = []
        reg = Registry()
        for tag, opts in [
            ("late", {"trylast": True}),
            ("p1", {}),
            ("p2", {}),
            ("first", {"tryfirst": True}),
        ]:
            reg.pm.register(Plugin(tag, calls, **opts), name=tag)
        reg.load(entry_points=False)
        orders.append(calls)
    assert orders[0] == orders[1] == orders[2]
    # pluggy's call order: tryfirst, then the later registered first, trylast last
    assert orders[0] == ["first", "p2", "p1", "late"]


def test_a_raising_implementation_is_attributed_and_the_others_still_run() -> None:
    calls: list[str] = []

    class Bad:
        @assay.hookimpl(tryfirst=True)
        def assay_register_rewards(self, register: assay.Register) -> None:
            raise RuntimeError("boom")

    reg = Registry()
    reg.pm.register(Bad(), name="bad")
    reg.pm.register(Plugin("good", calls), name="good")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reg.load(entry_points=False)
    assert calls == ["good"]
    assert [(f.plugin, f.stage) for f in reg.failures] == [("bad", "assay_register_rewards")]
    assert "boom" in reg.failures[0].reason


def test_configure_and_add_commands_go_through_pluggy_too() -> None:
    seen: list[str] = []

    class P:
        @assay.hookimpl(specname="assay_configure")
        def after_all(self, registry: Registry) -> None:
            seen.append("configure")

        @assay.hookimpl(specname="assay_add_commands")
        def cmds(self, subparsers: Any) -> None:
            seen.append("commands")

    reg = Registry()
    reg.pm.register(P(), name="p")
    reg.load(entry_points=False)
    reg.add_commands(None)
    assert seen == ["configure", "commands"]


def test_registry_is_built_once_when_threads_race_for_it() -> None:
    reset_registry()
    try:
        barrier = threading.Barrier(8)
        got: list[Registry] = []
        sizes: list[int] = []

        def ask() -> None:
            barrier.wait()
            reg = get_registry()
            sizes.append(len(reg.names("reward")))  # what this thread saw when it got it
            got.append(reg)

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(got) == 8
        assert len({id(r) for r in got}) == 1
        assert sizes == [len(got[0].names("reward"))] * 8  # fully loaded, never half-built
        assert "exact_match" in got[0].names("reward")
    finally:
        reset_registry()


def test_registry_add_checks_each_kind_against_its_base_class() -> None:
    import pytest

    reg = Registry()

    class NotASampler:
        name = "nope"

    with pytest.raises(TypeError, match=r"must subclass assay\.Sampler"):
        reg.add("sampler", "nope", NotASampler)
    with pytest.raises(TypeError, match=r"must subclass assay\.Algorithm"):
        reg.add("algorithm", "nope", NotASampler)
    with pytest.raises(TypeError, match="register a class"):
        reg.add("sandbox", "nope", object())

    class Echo(assay.Sampler):
        name = "echo"

        def sample(self, prompts: Any, k: int = 1, **generation: Any) -> list[list[str]]:
            return [[p] * k for p in prompts]

    assert reg.add("sampler", "echo", Echo).obj is Echo
