"""A fresh red-team set for the `math` reward: realistic endings of current models (R1-style
`<think>`, Minerva, GSM8K, Chinese, multiple choice, multi-part golds, revisions, hedges,
notation, the numeric policy, echo, prose golds, reward hacks, long outputs), hand-labelled by
what a careful grader would say (where the policy is debatable, by docs/math.md; see each case's
``note``). A case's ``options`` are passed to ``assay.get_reward("math", **options)``. Cases the reward gets wrong today are ``xfail(strict=True)`` with the cause, so a fix
turns them into a failure that asks for the mark to be removed. Real reward, real sympy workers.

The same cases through Math-Verify, side by side: ``bench/math_redteam.py``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import assay

DATA = Path(__file__).parent / "data" / "redteam_cases.jsonl"
CASES: list[dict[str, Any]] = [
    json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line
]
EXPECTED = {"correct": 1.0, "incorrect": 0.0, "unverifiable": None}


def _sample(case: dict[str, Any]) -> assay.Sample:
    return assay.Sample(prompt=case["prompt"], completion=case["completion"], answer=case["gold"])


@pytest.fixture(scope="module")
def scores() -> dict[str, assay.Score]:
    """Every case scored in one batch per distinct set of reward options (most use the defaults)."""
    out: dict[str, assay.Score] = {}
    for options in {json.dumps(c["options"], sort_keys=True) for c in CASES}:
        group = [c for c in CASES if json.dumps(c["options"], sort_keys=True) == options]
        reward = assay.get_reward("math", **json.loads(options))
        try:
            out.update(zip([c["id"] for c in group], reward.score([_sample(c) for c in group])))
        finally:
            reward.close()
    return out


def test_the_set_is_big_and_balanced() -> None:
    labels = Counter(c["label"] for c in CASES)
    assert len(CASES) >= 300
    assert labels["incorrect"] >= 100
    assert labels["unverifiable"] >= 5
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(
        set(c)
        == {"id", "category", "prompt", "completion", "gold", "label", "note", "options", "xfail"}
        for c in CASES
    )


def _param(case: dict[str, Any]) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if case["xfail"] else []
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: dict[str, Any], scores: dict[str, assay.Score]) -> None:
    score = scores[case["id"]]
    where = (
        f"completion={case['completion'][:300]!r} gold={case['gold']!r}: "
        f"{score.status} {score.value} {score.reason} {score.details.get('extracted')}"
    )
    want = EXPECTED[case["label"]]
    if want is None:
        assert score.status == "unverifiable", where
        assert score.value is None, where
    else:
        assert score.status == "ok", where
        assert score.value == want, where


# Issue 14: a prose gold is `unverifiable`, never 0, "in the reward and in every adapter". Each
# adapter's row for a prose gold must be told apart from its row for a wrong answer.
PROSE = "The proof is complete."


@pytest.fixture(scope="module")
def pipe():
    p = assay.load_pipeline({"rewards": [{"use": "math"}]})
    yield p
    p.close()


def test_trl_adapter_passes_none_for_a_prose_gold(pipe) -> None:
    [fn] = pipe.as_trl()
    values = fn(prompts=["", ""], completions=[r"\boxed{5}"] * 2, answer=[PROSE, "6"])
    assert values == [None, 0.0]


# verl's row now carries `assay/math/unverifiable` (core/verl_adapter.py on main): passes.
def test_verl_adapter_tells_a_prose_gold_from_a_wrong_answer(pipe) -> None:
    verl = pipe.as_verl()
    prose = verl(data_source="d", solution_str=r"\boxed{5}", ground_truth=PROSE)
    wrong = verl(data_source="d", solution_str=r"\boxed{5}", ground_truth="6")
    assert prose != wrong


def test_openrlhf_adapter_tells_a_prose_gold_from_a_wrong_answer(pipe) -> None:
    # OpenRLHF needs a number per sample, so both rewards are 0.0; what tells them apart is the
    # per-sample record beside it (extra_logs), as the verl dict above does.
    rewards, logs = pipe.as_openrlhf().scores([r"\boxed{5}"] * 2, ["", ""], [PROSE, "6"])
    record = [(rewards[i], {k: v[i] for k, v in logs.items()}) for i in range(2)]
    assert record[0] != record[1]
    assert logs["assay/math/unverifiable"] == [1.0, 0.0]
