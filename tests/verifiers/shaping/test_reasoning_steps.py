"""reasoning_steps: distinct step markers in English and Chinese, capped at min_steps."""

from __future__ import annotations

import pytest

from assay.models import Sample
from assay.rewards import score_batch
from assay_verifiers.shaping.reasoning_steps import ReasoningSteps

CASES = [
    # (completion, options, steps)
    ("Step 1: add.\nStep 2: carry.\nStep 3: done.", {}, 3),
    ("1. add\n2. carry\n3. done\n4. check", {}, 4),
    ("- add\n- carry", {}, 2),
    ("First, add. Then, carry. Finally, answer.", {}, 3),
    ("首先，计算面积。\n然后，求周长。\n最后，得出答案。", {}, 3),
    ("第一步：设未知数\n第二步：列方程\n步骤3 解方程", {}, 3),
    ("The answer is 4.", {}, 0),
    ("In 2024. we", {}, 0),  # a number mid-line is not a list item
    ("IfFirst, we", {}, 0),  # a transition word starts a word
    ("1.\n2.\n3.", {}, 3),  # markers with the step text on the next line
    ("Step 1: a\n1. a", {}, 1),  # the same step text under two markers
    # gaming: the same step pasted again counts once
    ("Step 1: add.\n" * 10, {}, 1),
    ("Step 1: add.\n" * 10, {"distinct": False}, 10),
    ("Lemma A\nLemma B", {"markers": [r"^Lemma \w"]}, 2),
]


@pytest.mark.parametrize(("completion", "options", "steps"), CASES)
def test_step_count_table(completion: str, options: dict, steps: int) -> None:
    reward = ReasoningSteps(**options)
    [score] = score_batch(reward, [Sample(completion=completion)])
    assert score.details["steps"] == steps
    assert score.value == pytest.approx(min(1.0, steps / reward.options.min_steps))


def test_min_steps_scales_the_credit() -> None:
    [score] = score_batch(ReasoningSteps(min_steps=4), [Sample(completion="1. a\n2. b")])
    assert score.value == 0.5


def test_bad_marker_names_the_regex() -> None:
    with pytest.raises(ValueError, match="not a valid regex"):
        ReasoningSteps(markers=["(unclosed"])


# Regression: the same step pasted on one line, and markers without line breaks.
@pytest.mark.parametrize(
    ("completion", "steps"),
    [
        ("First, add. First, add. First, add.", 1),  # was 3: each rest-of-line differed
        ("Then, add. " * 20, 1),
        ("1. First, add\n2. First, add\n3. First, add", 1),  # adjacent markers: one step
        ("First, add. Then, carry. Finally, answer.", 3),
        ("Step 1:\nStep 2:\nStep 3:", 3),
        ("1. a\r\n2. b\r\n3. c\r\n", 3),
    ],
)
def test_steps_end_at_the_next_marker(completion: str, steps: int) -> None:
    [score] = score_batch(ReasoningSteps(), [Sample(completion=completion)])
    assert score.details["steps"] == steps


def test_many_markers_on_one_line_stay_linear() -> None:
    # ~1 minute before: every marker copied the rest of its (200k-character) line.
    import time

    rows = [Sample(completion="首先" * 100_000), Sample(completion="First," * 50_000)]
    t0 = time.perf_counter()
    scores = score_batch(ReasoningSteps(), rows)
    assert time.perf_counter() - t0 < 10.0
    assert [s.details["steps"] for s in scores] == [1, 1]
    [score] = score_batch(ReasoningSteps(distinct=False), rows[1:])
    assert score.details["steps"] == 50_000
