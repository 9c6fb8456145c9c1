"""Training data in every accepted form, and the errors that name what is wrong."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset

from assay_trl.data import load_prompts
from assay_trl.errors import DatasetError


def test_forms(tmp_path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps({"prompt": f"q{i}", "answer": str(i)}) for i in range(3)))
    cases = [
        (["a", "b"], 2, ["prompt"]),
        ([{"prompt": "a", "answer": "1"}], 1, ["prompt", "answer"]),
        (str(path), 3, ["prompt", "answer"]),
        ({"path": str(path), "limit": 2}, 2, ["prompt", "answer"]),
        ({"prompts": ["x", "y"], "repeat": 3, "answer": "a"}, 6, ["prompt", "answer"]),
        (Dataset.from_dict({"prompt": ["z"]}), 1, ["prompt"]),
    ]
    for given, n, columns in cases:
        ds = load_prompts(given)
        assert len(ds) == n, given
        assert set(columns) <= set(ds.column_names), given


def test_relative_path_resolves_against_base(tmp_path) -> None:
    (tmp_path / "d.jsonl").write_text('{"prompt": "p"}\n')
    assert len(load_prompts("d.jsonl", base=tmp_path)) == 1


def test_prompt_column_rename(tmp_path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"question": "2+2?", "answer": "4"}\n')
    ds = load_prompts({"path": str(path), "prompt_column": "question"})
    assert ds[0]["prompt"] == "2+2?"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (None, "no training data"),
        ([{"question": "x"}], "no `prompt` column"),
        ("missing.jsonl", "not a readable"),
        ({"prompts": []}, "non-empty"),
        ({"what": 1}, "needs `path:`"),
        (42, "cannot load"),
        ({"prompts": ["a"], "prompt_column": "q"}, "no column 'q'"),
    ],
)
def test_errors_name_the_problem(given, message) -> None:
    with pytest.raises(DatasetError, match=message):
        load_prompts(given)
