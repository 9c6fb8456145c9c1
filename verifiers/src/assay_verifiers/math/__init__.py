"""The ``math`` verifier: final-answer extraction and equivalence checking for math RL.

Modules: `extract` (find the answer), `normalize` (clean its text), `fastpath` (decide plain
numbers in-process), `latex_parse` and `equivalence` (sympy, run in a guarded worker by
`check`), `reward` (the batched ``math`` reward), `plugin` (the entry point).
"""

from __future__ import annotations

__all__ = ["MathOptions", "MathReward"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from . import reward

        return getattr(reward, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
