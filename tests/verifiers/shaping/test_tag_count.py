"""tag_count: partial credit per well-formed tag; repeating tags can never raise the value."""

from __future__ import annotations

import random

import pytest

from assay.models import Sample
from assay.rewards import score_batch
from assay_verifiers.shaping.tag_count import TagCount, tag_credit
from assay_verifiers.shaping.tags import layout

CASES = [
    # (completion, options, value)
    ("<think>\nr\n</think>\n<answer>\n4\n</answer>", {}, 1.0),
    ("<think>r</think>", {}, 0.5),
    ("<think>r</think><answer>4", {}, 0.75),
    ("r</think><answer>4</answer>", {}, 1.0),  # <think> prefilled by the template (auto)
    ("r</think><answer>4</answer>", {"prefill": "never"}, 0.5),  # </think> needs its <think>
    ("<think>r</think><answer>4</answer>", {"prefill": "always"}, 0.5),  # opened twice
    # open-r1 #359: repeated blocks lose the credit of the repeated tags
    ("<think>a</think><think>b</think><answer>4</answer>", {}, 0.5),
    ("<think>a</think>" * 10 + "<answer>4</answer>", {}, 0.5),
    ("<think>a</think><answer>4</answer>" * 3, {}, 0.0),
    # empty tag pairs earn the opening tags only
    ("<think></think><answer></answer>", {}, 0.5),
    ("<think></think><answer></answer>", {"allow_empty": True}, 1.0),
    # nesting and order
    ("<think><answer>4</answer></think>", {}, 0.25),
    ("<answer>4</answer><think>r</think>", {}, 0.5),
    ("</think>x<think>", {"prefill": "never"}, 0.25),
    ("", {}, 0.0),  # no section at all: a possibly prefilled <think> earns nothing alone
    ("", {"prefill": "never"}, 0.0),
    ("<a>x</a><b>y</b><c>z</c>", {"sections": ["a", "b", "c"]}, 1.0),
    ("<a>x</a><b>y</b>", {"sections": ["a", "b", "c"]}, 4 / 6),
]


@pytest.mark.parametrize(("completion", "options", "value"), CASES)
def test_tag_count_table(completion: str, options: dict, value: float) -> None:
    [score] = score_batch(TagCount(**options), [Sample(completion=completion)])
    assert score.value == pytest.approx(value), score.reason


def test_reason_names_the_tags_without_credit() -> None:
    [score] = score_batch(TagCount(), [Sample(completion="<think>a</think><think>b</think>")])
    assert score.reason == "no credit: <think>, </think>, <answer>, </answer>"


SEEDS = [
    "<think>\nreason\n</think>\n<answer>\n4\n</answer>",
    "reason</think><answer>4</answer>",
    "<think>a</think>",
    "<think></think><answer>x</answer>",
    "<answer>4</answer>",
    "words only",
]
TAGS = ["<think>", "</think>", "<answer>", "</answer>"]


@pytest.mark.parametrize("prefill", ["auto", "never", "always"])
def test_inserting_a_repeated_tag_never_raises_the_value(prefill: str) -> None:
    """Fuzz: copy a tag that is already present to a random place, many times."""
    rng = random.Random(1234)
    lay = layout(("think", "answer"))
    checked = 0
    for _ in range(3000):
        text = rng.choice(SEEDS)
        for _ in range(rng.randint(0, 3)):  # random prefix of edits, then the checked insert
            pos = rng.randint(0, len(text))
            text = text[:pos] + rng.choice([*TAGS, "x", " "]) + text[pos:]
        present = [t for t in TAGS if t in text]
        if not present:
            continue
        # insert between tags, never inside one (that would destroy a tag, not repeat one)
        inside = {i for m in lay.pattern.finditer(text) for i in range(m.start() + 1, m.end())}
        pos = rng.choice([i for i in range(len(text) + 1) if i not in inside])
        gamed = text[:pos] + rng.choice(present) + text[pos:]
        pre = {"auto": None, "never": False, "always": True}[prefill]
        before, _ = tag_credit(text, lay, prefilled=pre)
        after, _ = tag_credit(gamed, lay, prefilled=pre)
        assert after <= before, (text, gamed)
        checked += 1
    assert checked > 2000
