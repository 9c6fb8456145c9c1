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
