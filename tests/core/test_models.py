from __future__ import annotations

import pytest
from pydantic import ValidationError

from assay.models import Result, Sample, Score, as_score, text_of


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "a"),
        (
            [{"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "image"}]}],
            "x",
        ),
        ([{"role": "assistant", "content": None}], ""),
        ([{"role": "assistant", "content": [{"type": "text", "text": None}, {"text": "y"}]}], "y"),
        ([], ""),
        (None, ""),
    ],
)
def test_text_of(value, text):
    assert text_of(value) == text


def test_sample_keeps_unknown_fields_and_columns():
    s = Sample(prompt="p", completion="c", answer="42", metadata={"task": "math"}, difficulty=3)
    assert s.model_extra == {"difficulty": 3}
    assert s.columns() == {"answer": "42", "metadata": {"task": "math"}, "difficulty": 3}
    assert Sample.model_validate(s.model_dump()).difficulty == 3


def test_sample_rejects_wrong_types_naming_the_field():
    with pytest.raises(ValidationError) as e:
        Sample(completion=3.5)
    assert "completion" in str(e.value)


@pytest.mark.parametrize(
    ("raw", "value", "status"),
    [
        (1, 1.0, "ok"),
        (True, 1.0, "ok"),
        (0.25, 0.25, "ok"),
        (None, None, "ok"),
        (Score.timeout("slow"), None, "timeout"),
        (Score.unverifiable("bad gold"), None, "unverifiable"),
    ],
)
def test_as_score(raw, value, status):
    s = as_score(raw, "r")
    assert (s.value, s.status, s.reward) == (value, status, "r")


def test_as_score_rejects_other_types():
    with pytest.raises(TypeError, match=r"expected a float, None or assay\.Score"):
        as_score("1.0", "r")


def test_score_status_is_validated():
    with pytest.raises(ValidationError):
        Score(value=1.0, status="great")


def test_result_rewards_property():
    r = Result(reward=1.0, components={"a": Score(value=1.0), "b": Score(value=None)})
    assert r.rewards == {"a": 1.0, "b": None}
