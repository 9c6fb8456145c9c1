"""Plugin discovery from real distribution metadata (dist-info on sys.path), failures, strict
mode, block lists, duplicates, check_pending, and the error for a reward whose plugin failed."""

from __future__ import annotations

import pytest

import assay
from assay.errors import DuplicateNameError, PluginLoadError, UnknownNameError
from assay.registry import get_registry

GOOD = """
import assay

def hello(sample):
    return 1.0

class Loud(assay.Reward):
    name = "loud"
    def score(self, samples):
        return [1.0 for _ in samples]

@assay.hookimpl
def assay_register_rewards(register):
    register(hello)
    register(Loud)
"""

BROKEN = """
raise ImportError("missing dependency: frobnicate")
"""

DUP = """
import assay

def hello(sample):
    return 0.0

@assay.hookimpl
def assay_register_rewards(register):
    register(hello)
"""

MISSPELT = """
import assay

@assay.hookimpl
def assay_register_reward(register):  # missing 's'
    pass
"""

RAISING_HOOK = """
import assay

@assay.hookimpl
def assay_register_rewards(register):
    raise RuntimeError("hook blew up")
"""


def block_all_but(monkeypatch, *keep: str, extra: str = "") -> None:
    """Strict-mode tests must not depend on the other plugins installed here: block them."""
    import importlib.metadata as md

    others = [ep.name for ep in md.entry_points(group="assay") if ep.name not in keep]
    monkeypatch.setenv("ASSAY_DISABLE_PLUGINS", ",".join(others + ([extra] if extra else [])))


def test_entry_point_plugin_is_discovered(fake_dists):
    fake_dists("good-plugin", "good_plugin", GOOD)
    reg = get_registry()
    assert {"hello", "loud"} <= set(reg.names("reward"))
    entry = reg.get("reward", "hello")
    assert (entry.plugin, entry.distribution, entry.version) == (
        "good_plugin",
        "good-plugin",
        "0.1",
    )
    assert reg.plugins["good_plugin"].provides == {"reward": ["hello", "loud"]}
    assert assay.get_reward("loud").score([assay.Sample(completion="x")]) == [1.0]


def test_builtins_come_through_the_same_entry_point_group():
    entry = get_registry().get("reward", "exact_match")
    assert entry.plugin == "builtins" and entry.distribution == "assay"


def test_broken_plugin_is_reported_and_skipped(fake_dists):
    fake_dists("good-plugin", "good_plugin", GOOD)
    fake_dists("broken-plugin", "broken_plugin", BROKEN)
    with pytest.warns(RuntimeWarning, match="broken_plugin"):
        reg = get_registry()
    failure = next(f for f in reg.failures if f.plugin == "broken_plugin")
    assert failure.distribution == "broken-plugin"
    assert "frobnicate" in failure.reason and failure.stage == "import"
    assert "hello" in reg.names("reward")  # the others still load


def test_strict_mode_makes_a_broken_plugin_fatal(fake_dists, monkeypatch):
    fake_dists("broken-plugin", "broken_plugin", BROKEN)
    block_all_but(monkeypatch, "broken_plugin", "builtins")
    monkeypatch.setenv("ASSAY_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match=r"broken_plugin.*frobnicate"):
        get_registry()


@pytest.mark.parametrize("blocked", ["broken_plugin", "broken-plugin"])
def test_block_list_by_entry_point_or_distribution(fake_dists, monkeypatch, blocked):
    fake_dists("broken-plugin", "broken_plugin", BROKEN)
    block_all_but(monkeypatch, "builtins", "broken_plugin", extra=f" something_else, {blocked}")
    monkeypatch.setenv("ASSAY_STRICT_PLUGINS", "1")
    with pytest.warns(RuntimeWarning, match="'something_else', which no installed plugin has"):
        reg = get_registry()  # strict, yet no failure: the plugin was never imported
    assert not any(f.plugin == "broken_plugin" for f in reg.failures)


def test_duplicate_names_name_both_plugins(fake_dists):
    fake_dists("good-plugin", "good_plugin", GOOD)
    fake_dists("dup-plugin", "dup_plugin", DUP)
    with pytest.raises(DuplicateNameError) as e:
        get_registry()
    assert {e.value.first, e.value.second} == {"good_plugin", "dup_plugin"}
    assert "good_plugin" in str(e.value) and "dup_plugin" in str(e.value)


def test_misspelt_hook_fails_loudly(fake_dists, monkeypatch):
    fake_dists("misspelt-plugin", "misspelt_plugin", MISSPELT)
    with pytest.warns(RuntimeWarning, match="misspelt_plugin.*check_pending"):
        reg = get_registry()
    assert any(
        f.plugin == "misspelt_plugin" and "assay_register_reward" in f.reason for f in reg.failures
    )
    from assay.registry import reset_registry

    reset_registry()
    block_all_but(monkeypatch, "misspelt_plugin", "builtins")
    monkeypatch.setenv("ASSAY_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match="assay_register_reward"):
        get_registry()


def test_raising_hook_is_reported_against_its_plugin(fake_dists):
    fake_dists("raising-plugin", "raising_plugin", RAISING_HOOK)
    with pytest.warns(RuntimeWarning, match="hook blew up"):
        reg = get_registry()
    f = next(f for f in reg.failures if f.plugin == "raising_plugin")
    assert f.stage == "assay_register_rewards"


def test_missing_reward_says_which_plugin_failed_and_why(fake_dists):
    fake_dists("broken-plugin", "broken_plugin", BROKEN)
    with pytest.warns(RuntimeWarning):
        get_registry()
    with pytest.raises(UnknownNameError) as e:
        assay.get_reward("frobnicated_math")
    msg = str(e.value)
    assert "frobnicated_math" in msg and "broken_plugin" in msg and "frobnicate" in msg
    assert "exact_match" in msg  # lists what is known


def test_runtime_registration_duplicates_against_a_plugin_are_errors(assay_registry):
    with pytest.raises(DuplicateNameError, match="builtins"):
        assay.register("reward", lambda s: 1.0, name="exact_match")


def test_register_plugin_fixture_registers_for_one_test(register_plugin, assay_registry):
    class Plugin:
        @assay.hookimpl
        def assay_register_rewards(self, register):
            register(lambda s: 0.5, name="half")

    register_plugin(Plugin(), name="inline_plugin")
    assert assay.get_reward("half").score([assay.Sample()]) == [0.5]


EXITING = """
import sys
sys.exit(3)
"""

BAD_HOOK_ARGS = """
import assay

@assay.hookimpl
def assay_register_rewards(registrar):  # not the hookspec's argument name
    registrar(lambda s: 1.0, name="never")
"""


def test_plugin_calling_sys_exit_at_import_is_reported_not_fatal(fake_dists):
    fake_dists("good-plugin", "good_plugin", GOOD)
    fake_dists("exiting-plugin", "exiting_plugin", EXITING)
    with pytest.warns(RuntimeWarning, match="exiting_plugin"):
        reg = get_registry()
    f = next(f for f in reg.failures if f.plugin == "exiting_plugin")
    assert f.stage == "import" and "SystemExit" in f.reason
    assert "hello" in reg.names("reward")


def test_hookimpl_with_wrong_arguments_is_reported_not_fatal(fake_dists):
    fake_dists("good-plugin", "good_plugin", GOOD)
    fake_dists("badargs-plugin", "badargs_plugin", BAD_HOOK_ARGS)
    with pytest.warns(RuntimeWarning, match="badargs_plugin"):
        reg = get_registry()
    f = next(f for f in reg.failures if f.plugin == "badargs_plugin")
    assert f.stage == "register" and "registrar" in f.reason
    assert "hello" in reg.names("reward") and "never" not in reg.names("reward")


def test_a_disable_name_no_plugin_has_is_reported(fake_dists, monkeypatch):
    """A typo in ASSAY_DISABLE_PLUGINS would silently load the plugin meant to be blocked."""
    fake_dists("good-plugin", "good_plugin", GOOD)
    monkeypatch.setenv("ASSAY_DISABLE_PLUGINS", "good_plugn")
    with pytest.warns(RuntimeWarning, match=r"names 'good_plugn', which no installed plugin has"):
        reg = get_registry()
    assert "hello" in reg.names("reward")  # nothing was blocked: the warning is the only signal


def test_a_disable_name_that_matches_is_silent(fake_dists, monkeypatch, recwarn):
    fake_dists("good-plugin", "good_plugin", GOOD)
    monkeypatch.setenv("ASSAY_DISABLE_PLUGINS", "good-plugin")  # the distribution's name
    reg = get_registry()
    assert "hello" not in reg.names("reward")
    assert not [w for w in recwarn if "ASSAY_DISABLE_PLUGINS" in str(w.message)]
