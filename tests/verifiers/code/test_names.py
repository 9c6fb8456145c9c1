"""Which names the tests take from the candidate (``asserts`` form), through the public reward."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import assay
from assay import Sample

MAX_TASK = {
    "type": "asserts",
    "asserts": ["assert all(max(l) == m for l, m in [([3, 1, 2], 3), ([5, 9], 9)])"],
}
GCD_TASK = {"type": "asserts", "asserts": ["assert gcd(12, 8) == 4", "assert gcd(9, 6) == 3"]}
COUNTER_TASK = {
    "type": "asserts",
    "asserts": ["assert Counter(letters('abca')) == Counter('aabc')"],
}


@pytest.fixture(scope="module")
def reward() -> Iterator[Any]:
    r = assay.get_reward("code", workers=1, case_timeout=2.0, total_timeout=6.0)
    yield r
    r.close()


@pytest.mark.parametrize(
    ("program", "tests", "want"),
    [
        # a decoy global named like the comprehension's variable does not make `max` a helper
        ("l = m = 0\ndef max(xs):\n    return xs[0]\n", MAX_TASK, 0.0),
        ("l = 0\n", MAX_TASK, 0.0),  # defines nothing tested: the builtin never stands in
        (
            "def max(xs):\n    m = xs[0]\n    for x in xs:\n        m = x if x > m else m\n    return m\n",
            MAX_TASK,
            1.0,
        ),
        ("def gcd(a, b):\n    return 1\n", GCD_TASK, 0.0),
        ("def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n", GCD_TASK, 1.0),
        # a helper the test uses is the library's, beside the candidate's own function
        ("def Counter(*a):\n    return 1\ndef letters(s):\n    return []\n", COUNTER_TASK, 0.0),
        (
            "from collections import Counter\ndef letters(s):\n    return list(s)\n",
            COUNTER_TASK,
            1.0,
        ),
    ],
)
def test_the_function_under_test_is_the_candidates_and_helpers_are_not(
    reward: Any, program: str, tests: dict[str, Any], want: float
) -> None:
    [s] = reward.score([Sample(completion=program, tests=tests)])
    assert (s.value, s.status) == (want, "ok"), s


def test_a_prelude_name_is_the_entry_point_when_the_program_defines_it() -> None:
    r = assay.get_reward("code", workers=1, prelude=True)
    try:
        wrong, empty = r.score(
            [
                Sample(completion="def gcd(a, b):\n    return 1\n", tests=GCD_TASK),
                Sample(completion="x = 1\n", tests=GCD_TASK),
            ]
        )
    finally:
        r.close()
    assert (wrong.value, empty.value) == (0.0, 0.0), (wrong, empty)
