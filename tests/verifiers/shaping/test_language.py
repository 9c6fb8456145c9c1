"""language: the completion's script mix against the prompt's (or the configured) language."""

from __future__ import annotations

import pytest

from assay.models import Sample
from assay.rewards import score_batch
from assay_verifiers.shaping.language import Language
from assay_verifiers.shaping.scripts import detect_language, script_counts

CASES = [
    # (prompt, completion, options, value)
    ("请计算三角形的面积。", "面积是六平方厘米。", {}, 1.0),
    ("请计算三角形的面积。", "The area is 6.", {}, 0.0),
    (
        "请计算三角形的面积。",
        "面积是 $x^2 + y$，代码 `area()` 在下面。",
        {},
        1.0,
    ),  # math/code ignored
    ("Compute the area.", "The area is 6.", {}, 1.0),
    ("Compute the area.", "面积是六", {}, 0.0),
    ("三角形の面積を求めてください。", "面積は6です。", {}, 1.0),  # ja: kana + kanji
    ("삼각형의 넓이를 구하세요.", "넓이는 6입니다.", {}, 1.0),
    ("Вычислите площадь.", "Площадь равна 6.", {}, 1.0),
    ("Вычислите площадь.", "The area is 6.", {}, 0.0),
    ("Compute", "ab 猫猫", {}, 0.5),  # two Latin letters, two Han characters
    ("Compute", "ab 猫猫", {"threshold": 0.9}, 0.0),
    ("Compute", "abcdefghi 猫", {"threshold": 0.9}, 1.0),
    ("anything", "面积是六", {"expected": "zh"}, 1.0),
    ("请计算", "<think>Let me think.</think><answer>六</answer>", {"section": "answer"}, 1.0),
    ("请计算", "<think>Let me think.</think>六", {"section": "answer"}, 0.0),
]


@pytest.mark.parametrize(("prompt", "completion", "options", "value"), CASES)
def test_language_table(prompt: str, completion: str, options: dict, value: float) -> None:
    [score] = score_batch(Language(**options), [Sample(prompt=prompt, completion=completion)])
    assert score.status == "ok"
    assert score.value == pytest.approx(value), score.reason


def test_metadata_language_overrides_detection() -> None:
    s = Sample(prompt="Translate to Chinese: cat", completion="猫", metadata={"language": "zh"})
    assert score_batch(Language(), [s])[0].value == 1.0


@pytest.mark.parametrize(
    ("prompt", "completion", "status"),
    [("1 + 1 = ?", "2", "unverifiable"), ("Compute", "42", "unverifiable")],
)
def test_nothing_to_judge_is_unverifiable(prompt: str, completion: str, status: str) -> None:
    [score] = score_batch(Language(), [Sample(prompt=prompt, completion=completion)])
    assert score.status == status


def test_unknown_language_in_metadata_is_an_error_for_that_sample_only() -> None:
    rows = [
        Sample(prompt="x", completion="y", metadata={"language": "klingon"}),
        Sample(prompt="Compute", completion="done"),
    ]
    bad, good = score_batch(Language(), rows)
    assert bad.status == "error" and "klingon" in bad.reason
    assert good.value == 1.0


def test_unknown_expected_option_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        Language(expected="xx")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hello", "Latin"),
        ("你好世界", "zh"),
        ("こんにちは世界", "ja"),
        ("안녕하세요", "ko"),
        ("مرحبا", "Arabic"),
        ("", None),
        ("123", None),
    ],
)
def test_detect_language(text: str, lang: str | None) -> None:
    assert detect_language(script_counts(text)) == lang


# Regression: hostile and unusual inputs found in an audit.


@pytest.mark.parametrize(
    ("prompt", "completion", "value"),
    [
        ("Compute", "ab తల", 0.5),  # letters of an unlisted script (Telugu) count among all letters
        ("Compute", "తెలుగు", 0.0),  # ... so a Telugu answer is 0, not unverifiable
        ("请计算", "ＡＢＣ", 0.0),  # fullwidth Latin is Latin (NFKC), not Chinese
        ("Compute", "ＡＢＣ 𝐀", 1.0),
    ],
)
def test_unlisted_scripts_and_compatibility_forms(
    prompt: str, completion: str, value: float
) -> None:
    [score] = score_batch(Language(), [Sample(prompt=prompt, completion=completion)])
    assert score.status == "ok"
    assert score.value == pytest.approx(value), score.reason


def test_prompt_in_an_unlisted_script_is_unverifiable() -> None:
    assert detect_language(script_counts("తెలుగు భాష")) is None
    [score] = score_batch(Language(), [Sample(prompt="తెలుగు భాష", completion="hello")])
    assert score.status == "unverifiable"


def test_prose_matches_the_regex_definition() -> None:
    import random
    import re

    from assay_verifiers.shaping.language import prose

    rx = re.compile(
        r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|\\\[.*?\\\]|\\\(.*?\\\)", re.DOTALL
    )
    rnd = random.Random(0)
    pieces = ["`", "```", "$", "$$", "\\", "\\[", "\\]", "\\(", "\\)", "a", "\n", " ", "猫"]
    for _ in range(5000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 10)))
        assert prose(text) == rx.sub(" ", text), text


def test_unclosed_math_and_sections_stay_linear() -> None:
    # Each took about a minute before: the lazy regexes rescanned the text from every opener.
    import time

    rows = [
        Sample(prompt="Compute", completion="\\(" * 100_000 + "done"),
        Sample(prompt="Compute", completion="\\[" * 100_000 + "done"),
        Sample(prompt="Compute", completion="<answer>" * 40_000 + "done"),
    ]
    t0 = time.perf_counter()
    a, b, _ = score_batch(Language(), rows)
    c = score_batch(Language(section="answer"), rows[2:])[0]
    assert time.perf_counter() - t0 < 10.0
    assert a.value == b.value == 1.0
    assert c.value == 0.0 and "no <answer> section" in c.reason
