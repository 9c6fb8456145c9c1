"""Every hook is documented in docs/hooks.md (signature, arguments, example) and has a test of
its own here, named ``test_hook_<hook name>`` (datasette's discipline)."""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

import pytest

import assay
from assay import hookspecs
from assay.cli import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"
HOOKS = sorted(
    n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("assay_")
)


def test_there_are_hooks_for_every_kind():
    assert HOOKS == [
        "assay_add_commands",
        "assay_configure",
        "assay_register_algorithms",
        "assay_register_rewards",
        "assay_register_samplers",
        "assay_register_sandboxes",
    ]


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_signature_and_example(hook):
    text = DOCS.read_text()
    params = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    heading = f"## {hook}({', '.join(params)})"
    assert heading in text, f"docs/hooks.md lacks the heading {heading!r}"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    assert f"def {hook}(" in section, "the section shows the exact signature"
    for p in params:
        assert f"- `{p}" in section, f"argument {p!r} is described in a bullet"
    assert "@assay.hookimpl" in section, "the section has an example implementation"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test_of_its_own(hook):
    assert f"test_hook_{hook}" in globals(), f"write test_hook_{hook} in this file"


def test_hook_assay_register_rewards(register_plugin):
    class Plugin:
        @assay.hookimpl
        def assay_register_rewards(self, register):
            class Upper(assay.Reward):
                name = "upper_ratio"

                def score(self, samples):
                    return [
                        sum(c.isupper() for c in s.completion_text) / max(len(s.completion_text), 1)
                        for s in samples
                    ]

            register(Upper)
            register(lambda s: 1.0, name="always_one")

    register_plugin(Plugin(), name="rewards_plugin")
    assert assay.get_reward("upper_ratio").score([assay.Sample(completion="AbCd")]) == [0.5]
    assert assay.get_registry().get("reward", "always_one").plugin == "rewards_plugin"


def test_hook_assay_register_samplers(register_plugin):
    class Echo(assay.Sampler):
        name = "echo"

        def sample(self, prompts, k=1, **generation):
            return [[p] * k for p in prompts]

    class Plugin:
        @assay.hookimpl
        def assay_register_samplers(self, register):
            register(Echo)

    register_plugin(Plugin(), name="sampler_plugin")
    cls = assay.get_registry().get("sampler", "echo").obj
    assert cls().sample(["a", "b"], k=2) == [["a", "a"], ["b", "b"]]


def test_hook_assay_register_algorithms(register_plugin):
    class Noop(assay.Algorithm):
        name = "noop_algo"

        def train(self, **kwargs):
            return kwargs

    class Plugin:
        @assay.hookimpl
        def assay_register_algorithms(self, register):
            register(Noop)

    register_plugin(Plugin(), name="algo_plugin")
    assert assay.get_registry().get("algorithm", "noop_algo").obj().train(steps=1) == {"steps": 1}


def test_hook_assay_register_sandboxes(register_plugin):
    class Fake:
        """A stand-in backend class: this test checks registration only; the real backends are
        tested in tests/sandbox."""

    class Plugin:
        @assay.hookimpl
        def assay_register_sandboxes(self, register):
            register(Fake, name="fake_sandbox")

    register_plugin(Plugin(), name="sandbox_plugin")
    assert assay.get_registry().get("sandbox", "fake_sandbox").obj is Fake


def test_hook_assay_add_commands(register_plugin, capsys):
    class Plugin:
        @assay.hookimpl
        def assay_add_commands(self, subparsers: argparse._SubParsersAction):
            p = subparsers.add_parser("hello", help="say hello")
            p.add_argument("--name", default="world")
            p.set_defaults(func=lambda args: print(f"hello {args.name}") or 7)

    register_plugin(Plugin(), name="cli_plugin")
    args = build_parser().parse_args(["hello", "--name", "assay"])
    assert args.func(args) == 7
    assert capsys.readouterr().out == "hello assay\n"


def test_hook_assay_configure(register_plugin):
    seen = []

    class Plugin:
        @assay.hookimpl
        def assay_register_rewards(self, register):
            register(lambda s: 2.0, name="two")

        @assay.hookimpl
        def assay_configure(self, registry):
            seen.append(registry.names("reward"))
            registry.add(
                "reward", "deux", registry.get("reward", "two").obj, plugin="configure_plugin"
            )

    register_plugin(Plugin(), name="configure_plugin")
    assert "two" in seen[0]
    assert assay.get_reward("deux").score([assay.Sample()]) == [2.0]


def test_docs_mention_no_hook_that_does_not_exist():
    documented = re.findall(r"^## (assay_\w+)\(", DOCS.read_text(), flags=re.M)
    assert sorted(documented) == HOOKS
