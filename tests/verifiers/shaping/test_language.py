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
