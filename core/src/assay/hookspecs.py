"""Hook specifications: what an Assay plugin can provide.

Every hook is called once per plugin when the registry is built (lazily, on first use), never on
the scoring hot path: hooks resolve objects, scoring calls them directly. Each is documented in
``docs/hooks.md`` with its signature, arguments and an example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    from .registry import Register, Registry

hookspec = pluggy.HookspecMarker("assay")
hookimpl = pluggy.HookimplMarker("assay")


@hookspec
def assay_register_rewards(register: Register) -> None:
    """Register rewards: ``register(obj, name=None)``.

    ``obj`` is an `assay.Reward` subclass (its ``name`` is the key, its ``Options`` model the
    options) or a plain function (per-sample or TRL batch signature). Called once per plugin;
    results are ignored. A name registered twice is an error naming both plugins.
    """


@hookspec
def assay_register_samplers(register: Register) -> None:
    """Register samplers (things that draw k completions per prompt): ``register(cls, name=None)``.

    ``cls`` follows `assay.Sampler`: ``cls(**options).sample(prompts, k) -> list[list[str]]``.
    """


@hookspec
def assay_register_algorithms(register: Register) -> None:
    """Register training backends (GRPO, DAPO, DPO, ...): ``register(cls, name=None)``.

    ``cls`` follows `assay.Algorithm`: a ``Config`` pydantic model and
    ``cls(config).train(model, tokenizer, dataset, pipeline)``.
    """


@hookspec
def assay_register_sandboxes(register: Register) -> None:
    """Register code-execution backends: ``register(cls, name=None)``.

    ``cls`` is a sandbox backend class; ``assay_sandbox`` documents the protocol it speaks.
    """


@hookspec
def assay_add_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add subcommands to the ``assay`` CLI.

    ``subparsers`` is the argparse sub-parser collection of the top-level parser. Add a parser
    and ``set_defaults(func=handler)``; ``handler(args) -> int`` returns the exit code.
    """


@hookspec
def assay_configure(registry: Registry) -> None:
    """Called once after every plugin has registered its objects.

    Use it to check the environment, wrap or alias registered objects, or read settings.
    Exceptions here are reported against the plugin and do not stop the others.
    """
