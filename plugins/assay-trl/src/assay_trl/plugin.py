"""The ``trl`` entry point of the ``assay`` group: backends, samplers, the toy reward, ``assay train``.

Importing this module is cheap (no torch, no TRL, no datasets): the heavy imports happen when a
backend trains or a sampler samples.
"""

from __future__ import annotations

from typing import Any

import assay

from .cli import add_train_command
from .online import ONLINE_ALGORITHMS
from .online_trpo_gtpo import TRPO_GTPO_ALGORITHMS
from .plackett_luce import PlackettLuce
from .preference import PREFERENCE_ALGORITHMS
from .samplers import samplers
from .self_training import SELF_TRAINING_ALGORITHMS
from .toy import CharFraction


@assay.hookimpl
def assay_register_algorithms(register: Any) -> None:
    for cls in (
        *ONLINE_ALGORITHMS,
        *TRPO_GTPO_ALGORITHMS,
        *PREFERENCE_ALGORITHMS,
        PlackettLuce,
        *SELF_TRAINING_ALGORITHMS,
    ):
        register(cls)


@assay.hookimpl
def assay_register_samplers(register: Any) -> None:
    for cls in samplers():
        register(cls)


@assay.hookimpl
def assay_register_rewards(register: Any) -> None:
    register(CharFraction)


@assay.hookimpl
def assay_add_commands(subparsers: Any) -> None:
    add_train_command(subparsers)
