"""The examiner's set for the `math` reward: fresh hand-labelled endings in the styles of
Qwen, Llama 3, GPT-style markdown, DeepSeek-R1 (`<think>`, truncated), Minerva, GSM8K few-shot,
Chinese exam answers, and Math-Verify-like bare LaTeX pairs; with units, degrees, percents,
thousands, mixed numbers, scientific notation, matrices, equations, inequalities, intervals,
sets, `\\pm`, complex numbers, infinity, bases, text answers, repeating decimals, hedges,
revisions, asides, sign-offs, multiple choice, echoes and reward hacks. Labels are what a careful
grader would say (where the policy is debatable, docs/math.md; see each case's ``note``).

Written after the red-team set (``test_redteam_cases.py``) and disjoint from it; the same cases
through Math-Verify, side by side:
``.venv/bin/python bench/math_redteam.py --data tests/verifiers/math/data/exam_cases.jsonl``.
Real reward, real sympy workers. A case the reward gets wrong is ``xfail(strict=True)`` with its
cause: three today (``needs_question-*``), each needing the question to decide.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import assay
from assay_verifiers.math.extract import extract_answer
from assay_verifiers.math.number_words import last_number_phrase, words_value
from assay_verifiers.math.phrases import labelled_parts

DATA = Path(__file__).parent / "data" / "exam_cases.jsonl"
CASES: list[dict[str, Any]] = [
    json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line
]
EXPECTED = {"correct": 1.0, "incorrect": 0.0, "unverifiable": None}
FIELDS = {"id", "category", "prompt", "completion", "gold", "label", "note", "options", "xfail"}


@pytest.fixture(scope="module")
def scores() -> dict[str, assay.Score]:
    """Every case scored in one batch per distinct set of reward options."""
    out: dict[str, assay.Score] = {}
    for options in {json.dumps(c["options"], sort_keys=True) for c in CASES}:
        group = [c for c in CASES if json.dumps(c["options"], sort_keys=True) == options]
        reward = assay.get_reward("math", **json.loads(options))
        try:
            samples = [
                assay.Sample(prompt=c["prompt"], completion=c["completion"], answer=c["gold"])
                for c in group
            ]
            out.update(zip([c["id"] for c in group], reward.score(samples)))
        finally:
            reward.close()
    return out


def test_the_set_is_big_balanced_and_apart_from_the_red_team_set() -> None:
    labels = Counter(c["label"] for c in CASES)
    assert len(CASES) >= 300
    assert labels["incorrect"] >= 150
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(set(c) == FIELDS for c in CASES)
    redteam = (Path(__file__).parent / "data" / "redteam_cases.jsonl").read_text(encoding="utf-8")
    old = {(d["completion"], str(d["gold"])) for d in map(json.loads, redteam.splitlines())}
    assert not [c["id"] for c in CASES if (c["completion"], str(c["gold"])) in old]


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


# The rules this pass added, one line each (extraction only: no worker).
@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("(a) 12, (b) 11", ["12", "11"]),
        ("(1) 3 (2) 5", ["3", "5"]),
        ("\uff081\uff093\uff1b\uff082\uff095", ["3", "5"]),
        ("(i) 4; (ii) 9", ["4", "9"]),
        ("(c) 12", []),  # one label: a choice letter, not parts
        ("(a) 1 (c) 2", []),  # labels out of order
        ("(b) 1 (c) 2", []),  # not from the first label
        ("x (a) 1 (b) 2", []),  # not at the start
    ],
)
def test_labelled_parts(text: str, parts: list[str]) -> None:
    assert labelled_parts(text) == parts


@pytest.mark.parametrize(
    ("completion", "candidates"),
    [
        ("So 41.\n\nI hope this helps! Ask me about the 3 items.", ("41",)),
        ("Thus $y$ equals 7.", ("7",)),
        ("The answer is 5. Alternatively, it could be 6.", ("5", "6")),
        ("Answer: 5 (not 6)", ("5",)),
        ("The answer is $x = 4$ (we reject $x = -1$ since it is negative).", ("x = 4",)),
        ("**Answers:** (a) 12, (b) 11", ("12, 11",)),
    ],
)
def test_extraction_rules_of_this_pass(completion: str, candidates: tuple[str, ...]) -> None:
    assert extract_answer(completion).candidates == candidates


@pytest.mark.parametrize(
    ("phrase", "value"),
    [
        ("one hundred and five", "105"),
        ("one and a half", "3/2"),
        ("two-thirds", "2/3"),
        ("half a dozen", "6"),
        ("negative three", "-3"),
        ("two thousand three hundred", "2300"),
        ("two half", None),
        ("and", None),
    ],
)
def test_numbers_in_words(phrase: str, value: str | None) -> None:
    got = words_value(phrase)
    assert (None if got is None else str(got)) == value
    assert last_number_phrase("In half an hour it was cut in half.") is None
