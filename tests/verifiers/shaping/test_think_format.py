"""think_format: layouts, strict/lenient, prefilled templates, gaming cases, TRL equality."""

from __future__ import annotations

import pytest

from assay.models import Sample
from assay.rewards import score_batch
from assay_verifiers.shaping.think_format import ThinkFormat

OK = "<think>\nreason\n</think>\n<answer>\n42\n</answer>"

# (completion, options, expected value, expected reason fragment)
CASES = [
    (OK, {}, 1.0, "format ok"),
    ("<think>r</think><answer>42</answer>", {}, 1.0, "format ok"),
    ("  <think>r</think>\n\n<answer>42</answer>\n", {}, 1.0, "format ok"),
    # open-r1 #359: several think blocks that still start with <think> and end with </answer>
    ("<think>a</think>\n<think>b</think>\n<answer>42</answer>", {}, 0.0, "repeated <think>"),
    ("<think>a</think><answer>1</answer><answer>2</answer>", {}, 0.0, "repeated <answer>"),
    ("<think>a</think><answer>1</answer></answer>", {}, 0.0, "repeated </answer>"),
    ("<think>a<answer>42</answer></think>", {}, 0.0, "<answer> nested inside <think>"),
    ("<think>a<think>b</think></think><answer>1</answer>", {}, 0.0, "repeated"),
    ("<think>  </think><answer>42</answer>", {}, 0.0, "empty <think> section"),
    ("<think>r</think><answer></answer>", {}, 0.0, "empty <answer> section"),
    ("<think>r</think><answer></answer>", {"allow_empty": True}, 1.0, "format ok"),
    ("<answer>42</answer><think>r</think>", {}, 0.0, "out of order"),
    ("<think>r</think>", {}, 0.0, "missing <answer> section"),
    ("<think>r<answer>42</answer>", {}, 0.0, "nested inside <think>"),
    ("<think>r</think><answer>42", {}, 0.0, "unclosed <answer>"),
    ("Sure! <think>r</think><answer>42</answer>", {}, 0.0, "text before <think>"),
    ("<think>r</think> so <answer>42</answer>", {}, 0.0, "text between </think> and <answer>"),
    ("<think>r</think><answer>42</answer> bye", {}, 0.0, "text after </answer>"),
    ("Sure! <think>r</think> so <answer>42</answer> bye", {"mode": "lenient"}, 1.0, "ok"),
    (
        "Sure! <think>r</think><think>s</think><answer>4</answer>",
        {"mode": "lenient"},
        0.0,
        "repeated",
    ),
    ("</think>r<think><answer>42</answer>", {"mode": "lenient"}, 0.0, "</think> without"),
    # custom layouts
    ("<reasoning>r</reasoning><code>x</code>", {"sections": ["reasoning", "code"]}, 1.0, "ok"),
    ("<think>r</think>\nThe answer is 4.", {"sections": ["think"], "text_after": True}, 1.0, "ok"),
    ("<think>r</think>\nThe answer is 4.", {"sections": ["think"]}, 0.0, "text after </think>"),
    # other markup inside a section is just text
    ("<think>a <b>bold</b> x</think><answer>4</answer>", {}, 1.0, "ok"),
]


@pytest.mark.parametrize(("completion", "options", "value", "reason"), CASES)
def test_layout_table(completion: str, options: dict, value: float, reason: str) -> None:
    [score] = score_batch(ThinkFormat(**options), [Sample(completion=completion)])
    assert score.status == "ok"
    assert score.value == value
    assert reason in score.reason


# open-r1 #560: DeepSeek-R1 distills' chat template writes "<think>\n" into the prompt.
PREFILL_CASES = [
    # (prompt, completion, prefill option, value)
    ("", "reason\n</think>\n<answer>4</answer>", "auto", 1.0),
    ("", "reason\n</think>\n<answer>4</answer>", "never", 0.0),
    ("", "reason\n</think>\n<answer>4</answer>", "always", 1.0),
    ("", "<think>reason</think><answer>4</answer>", "always", 0.0),  # opened twice
    ("<|Assistant|><think>\n", "reason</think><answer>4</answer>", "auto", 1.0),
    # the prompt visibly opens <think>: a second <think> in the completion is a nested one
    ("<|Assistant|><think>\n", "<think>reason</think><answer>4</answer>", "auto", 0.0),
    ("", "<think>reason</think><answer>4</answer>", "auto", 1.0),
    ("", "   \n</think><answer>4</answer>", "auto", 0.0),  # prefilled but empty
    ("", "reason\n<answer>4</answer>", "auto", 0.0),  # never closed the prefilled section
]


@pytest.mark.parametrize(("prompt", "completion", "prefill", "value"), PREFILL_CASES)
def test_prefilled_templates(prompt: str, completion: str, prefill: str, value: float) -> None:
    [score] = score_batch(
        ThinkFormat(prefill=prefill), [Sample(prompt=prompt, completion=completion)]
    )
    assert score.value == value, score.reason


def test_chat_messages_are_read() -> None:
    s = Sample(
        prompt=[{"role": "user", "content": "2+2?"}],
        completion=[{"role": "assistant", "content": "<think>r</think><answer>4</answer>"}],
    )
    assert score_batch(ThinkFormat(), [s])[0].value == 1.0


def test_bad_options_name_the_key() -> None:
    with pytest.raises(ValueError, match="mode"):
        ThinkFormat(mode="loose")
    with pytest.raises(ValueError, match="sectoins"):
        ThinkFormat(sectoins=["think"])
    with pytest.raises(ValueError, match="bad section name"):
        ThinkFormat(sections=["th ink"])


# --- equality with TRL's think_format_reward (test-only dependency) ---------------------------
# TRL: r"^<think>(?!.*<think>)(.*?)</think>.*$" = our layout ["think"], text after allowed,
# opening tag required. Cases where both define the same thing:
TRL_AGREE = [
    "<think>\nThis is my reasoning.\n</think>\nThis is my answer.",
    "<think>\nThis is my reasoning.\nThis is my answer.",
    "<think>a</think>",
    "<think>a</think>b<think>c</think>",
    "<think>a<think>b</think></think>",
    "Here <think>a</think> b",
    "no tags at all",
    "a</think> b",
    "<think>a</think>\n\n<answer>x</answer>",
    "<think>multi\nline\nreasoning</think>ok",
]
# Where we deliberately differ (documented in docs/shaping.md): TRL accepts an empty section and
# a repeated closing tag.
TRL_DIFFER = ["<think></think>answer", "<think>a</think></think>answer"]


def _trl_think_format(texts: list[str]) -> list[float]:
    trl_rewards = pytest.importorskip("trl.rewards")
    return trl_rewards.think_format_reward([[{"content": t}] for t in texts])


def test_equals_trl_think_format_reward() -> None:
    ours = ThinkFormat(sections=["think"], text_after=True, prefill="never")
    got = [s.value for s in score_batch(ours, [Sample(completion=t) for t in TRL_AGREE])]
    assert got == _trl_think_format(TRL_AGREE)
    assert 0.0 in got and 1.0 in got


def test_documented_differences_from_trl() -> None:
    ours = ThinkFormat(sections=["think"], text_after=True, prefill="never")
    got = [s.value for s in score_batch(ours, [Sample(completion=t) for t in TRL_DIFFER])]
    assert got == [0.0, 0.0]
    assert _trl_think_format(TRL_DIFFER) == [1.0, 1.0]


def test_equals_trl_on_random_strings_in_the_shared_domain() -> None:
    """Fuzz: random tag soups, minus the three documented differences, score as TRL does."""
    import random

    rng = random.Random(5)
    fragments = ["<think>", "</think>", "<answer>", "</answer>", "a", "b c", " ", "\n"]
    texts = []
    while len(texts) < 2000:
        t = "".join(rng.choice(fragments) for _ in range(rng.randint(0, 8)))
        if rng.random() < 0.6:  # most well-formed candidates start with the tag
            t = "<think>" + rng.choice(["a", "b c", " "]) + t
        if t[:1].isspace() or t.count("</think>") > 1:
            continue
        if t.startswith("<think>") and "</think>" in t and not t[7 : t.index("</think>")].strip():
            continue
        texts.append(t)
    ours = ThinkFormat(sections=["think"], text_after=True, prefill="never")
    got = [s.value for s in score_batch(ours, [Sample(completion=t) for t in texts])]
    assert got == _trl_think_format(texts)
    assert 100 < sum(got) < len(got) - 100  # both outcomes are well represented


@pytest.mark.parametrize(
    "completion",
    ["", "   ", "just an answer", [{"role": "assistant", "content": None}], "<THINK>r</THINK>"],
)
def test_no_first_section_at_all_is_missing_not_unclosed(completion: object) -> None:
    # "auto" without a prefilling prompt: nothing suggests the template opened <think>.
    [score] = score_batch(ThinkFormat(), [Sample(prompt="2+2?", completion=completion)])  # type: ignore[arg-type]
    assert (score.status, score.value) == ("ok", 0.0)
    assert score.reason == "missing <think>"
