"""The ``code`` reward: unit tests run in the sandbox, verdicts the candidate cannot forge.

Modules: `specs` (the four test forms), `extract` (finding the program in a completion),
`compare` (trusted comparisons of values and outputs), `plan` (how asserts/check tests run),
`prelude` (the LeetCode import prelude),
`reward` (the `CodeReward` itself), `plugin` (registration).
"""

from __future__ import annotations

from .compare import outputs_match, values_equal
from .extract import Extracted, extract_program
from .specs import (
    AssertsTests,
    CallCase,
    CallTests,
    CheckTests,
    StdioCase,
    StdioTests,
    TestSpecError,
    parse_tests,
)

__all__ = [
    "AssertsTests",
    "CallCase",
    "CallTests",
    "CheckTests",
    "Extracted",
    "StdioCase",
    "StdioTests",
    "TestSpecError",
    "extract_program",
    "outputs_match",
    "parse_tests",
    "values_equal",
]
