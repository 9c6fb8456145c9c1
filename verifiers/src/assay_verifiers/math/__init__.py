"""The ``math`` verifier: final-answer extraction and equivalence checking for math RL.

Modules: `extract` (the final-answer rule) with `boxes`, `phrases` and `spans` (boxed answers,
answer phrases, math spans told from money), `choice` (multiple-choice letters), `gold` (gold
alternatives, prose golds), `normalize` and `notation` (clean the text), `echo` (the echo check
by tokens), `fastpath` (decide plain numbers in-process, the numeric policy), `latex_parse`,
`bigops`, `equivalence` and `numeric` (sympy, run in a guarded worker by `check`), `reward` (the batched
``math`` reward), `plugin` (the entry point).
"""

from __future__ import annotations

__all__ = ["MathOptions", "MathReward"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from . import reward

        return getattr(reward, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
