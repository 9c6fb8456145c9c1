"""Entry point of the ``math`` verifier (``[project.entry-points.assay] math = ...``).

Cheap to import: the reward module imports neither sympy nor the parser; they load in the
first call that needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import assay


@assay.hookimpl
def assay_register_rewards(register: Callable[..., Any]) -> None:
    from .reward import MathReward

    register(MathReward)
