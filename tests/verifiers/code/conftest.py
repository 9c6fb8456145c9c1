from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay_verifiers.code.reward import CodeReward


@pytest.fixture(scope="session")
def code_reward() -> Iterator[CodeReward]:
    """One all-or-nothing reward (and its sandbox pool) shared by the tests: short limits."""
    reward = CodeReward(case_timeout=2.0, total_timeout=6.0, memory_mb=512, workers=2)
    yield reward
    reward.close()


@pytest.fixture(scope="session")
def partial_reward() -> Iterator[CodeReward]:
    reward = CodeReward(partial_credit=True, case_timeout=2.0, total_timeout=6.0, workers=2)
    yield reward
    reward.close()
