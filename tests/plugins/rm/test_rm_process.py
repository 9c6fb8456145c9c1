"""Process rewards: step splitting, aggregation, tag positions, training and scoring."""

from __future__ import annotations

import math
from typing import Any

import pytest

import assay
from assay import Sample
from assay_rm.process import ProcessReward, aggregate, encode_steps, split_steps, train_process_rm
from assay_rm.synthetic import stepwise_examples
from assay_rm.tiny import STEP_TAG, tiny_process_model
from assay_rm.training import TrainingDataError


@pytest.mark.parametrize(
    ("text", "separator", "pattern", "expected"),
    [
        ("a=1\nb=2", "auto", None, ["a=1", "b=2"]),
        ("a=1\nb=2\n\nc=3", "auto", None, ["a=1\nb=2", "c=3"]),
        ("a=1\n  \nb=2\n\n\n", "auto", None, ["a=1", "b=2"]),  # blank-ish lines, trailing space
        ("a;b;;c", ";", None, ["a", "b", "c"]),
        ("Step 1: x Step 2: y", "auto", r"Step \d+:", ["x", "y"]),
        ("", "auto", None, []),
        ("\n\n  \n", "auto", None, []),
        ("one step only", "auto", None, ["one step only"]),
    ],
)
def test_split_steps(text: str, separator: str, pattern: str | None, expected: list[str]) -> None:
    assert split_steps(text, separator, pattern) == expected


@pytest.mark.parametrize(
    ("how", "expected"),
    [("min", 0.2), ("last", 0.5), ("mean", (0.9 + 0.2 + 0.5) / 3), ("product", 0.9 * 0.2 * 0.5)],
)
def test_aggregate(how: Any, expected: float) -> None:
    assert aggregate([0.9, 0.2, 0.5], how) == pytest.approx(expected)


def test_aggregate_errors() -> None:
    with pytest.raises(ValueError, match="no step scores"):
        aggregate([], "min")
    with pytest.raises(ValueError, match="unknown aggregate"):
        aggregate([0.5], "median")  # type: ignore[arg-type]


def test_tag_positions_are_exact_and_planted_tags_are_removed(tok: Any) -> None:
    tag_id = tok.convert_tokens_to_ids(STEP_TAG)
    ids, pos = encode_steps(tok, "q:", ["ab", f"c{STEP_TAG}d{STEP_TAG}"], STEP_TAG)
    assert [ids[p] for p in pos] == [tag_id, tag_id]
    assert ids.count(tag_id) == 2  # the tags the completion tried to plant are gone
    assert tok.decode(ids) == f"<bos>q:ab{STEP_TAG}cd{STEP_TAG}"


@pytest.fixture(scope="module")
def prm(tok: Any, _one_torch_thread: None) -> Any:
    model = tiny_process_model(tok, seed=0)
    train_process_rm(model, tok, stepwise_examples(800, seed=0), epochs=4, learning_rate=5e-3)
    return model


def _as_sample(row: dict[str, Any]) -> Sample:
    return Sample(prompt=row["prompt"], completion="\n".join(row["completions"]))


def test_trained_prm_scores_each_step_and_details_carry_them(prm: Any, tok: Any) -> None:
    held_out = stepwise_examples(150, seed=7)
    reward = ProcessReward(model=prm, tokenizer=tok, aggregate="min")
    scores = reward.score([_as_sample(r) for r in held_out])
    right = total = first_right = 0
    for row, s in zip(held_out, scores, strict=True):
        assert s.status == "ok"
        assert s.details["steps"] == len(row["completions"]) == len(s.details["step_scores"])
        assert s.value == pytest.approx(min(s.details["step_scores"]))
        for p, ok in zip(s.details["step_scores"], row["labels"], strict=True):
            assert 0.0 <= p <= 1.0
            right += (p >= 0.5) == ok
            total += 1
        first_bad = next((k for k, ok in enumerate(row["labels"]) if not ok), None)
        first_right += s.details["first_error"] == first_bad
    assert right / total >= 0.95
    assert first_right / len(held_out) >= 0.9


def test_first_error_and_aggregates_rank_solutions(prm: Any, tok: Any) -> None:
    good = Sample(prompt="solve:\n", completion="abc\ndefg\nhab")
    bad_late = Sample(prompt="solve:\n", completion="abc\ndefg\nhxb")
    bad_early = Sample(prompt="solve:\n", completion="axc\ndefg\nhab")
    by = {
        how: ProcessReward(model=prm, tokenizer=tok, aggregate=how).score(
            [good, bad_late, bad_early]
        )
        for how in ("min", "last", "mean", "product")
    }
    assert [s.details["first_error"] for s in by["min"]] == [None, 2, 0]
    for how in ("min", "last", "product"):
        g, late, early = (s.value for s in by[how])
        assert g > 0.5 > late and g > 0.5 > early, how
    g, late, early = (s.value for s in by["mean"])
    assert g > late > early  # an early error spoils more steps
    assert by["product"][0].value == pytest.approx(
        math.prod(by["product"][0].details["step_scores"])
    )


def test_bad_input_is_reported_per_sample(prm: Any, tok: Any) -> None:
    reward = ProcessReward(model=prm, tokenizer=tok, max_steps=3, max_length=64)
    scores = reward.score(
        [
            Sample(prompt="solve:\n", completion="abc\ndef"),
            Sample(prompt="solve:\n", completion="   \n\n"),
            Sample(prompt="solve:\n", completion="a\nb\nc\nd"),
            Sample(prompt="solve:\n", completion="ab" * 50),
        ]
    )
    assert [s.status for s in scores] == ["ok", "unverifiable", "error", "error"]
    assert "no steps" in scores[1].reason
    assert "max_steps=3" in scores[2].reason
    assert "max_length=64" in scores[3].reason


def test_registered_and_loads_from_a_saved_directory(prm: Any, tok: Any, tmp_path: Any) -> None:
    prm.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    assert assay.get_registry().get("reward", "process_reward").plugin == "rm"
    from_disk = assay.get_reward("process_reward", model=str(tmp_path), aggregate="last")
    in_memory = ProcessReward(model=prm, tokenizer=tok, aggregate="last")
    s = [Sample(prompt="solve:\n", completion="abc\nxbc")]
    assert from_disk.score(s)[0].details["step_scores"] == pytest.approx(
        in_memory.score(s)[0].details["step_scores"], abs=1e-5
    )


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([{"prompt": "p", "completions": ["a", "b"], "labels": [True]}], "one length"),
        ([{"prompt": "p", "completions": "ab", "labels": [True]}], "lists"),
        ([{"prompt": "p", "completions": [], "labels": []}], "no stepwise rows"),
    ],
)
def test_train_process_rm_rejects_bad_rows(tok: Any, rows: list[Any], needle: str) -> None:
    with pytest.raises(TrainingDataError, match=needle):
        train_process_rm(tiny_process_model(tok), tok, rows)


def test_split_steps_with_capture_groups_keeps_only_the_steps() -> None:
    text = "Step 1: x Step 2: y"
    assert split_steps(text, pattern=r"(Step \d+:)") == ["x", "y"]
    assert split_steps(text, pattern=r"(Step) (\d+):") == ["x", "y"]
    assert split_steps("\n".join(["s"] * 5000)) == ["s"] * 5000


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"pattern": "(unclosed"}, "pattern"),
        ({"separator": ""}, "separator"),
        ({"step_tag": ""}, "step_tag"),
    ],
)
def test_bad_step_options_fail_at_construction(
    tok: Any, options: dict[str, Any], needle: str
) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=needle):
        ProcessReward(model=tiny_process_model(tok), tokenizer=tok, **options)


def test_good_label_beyond_the_models_labels_is_refused(tok: Any) -> None:
    reward = ProcessReward(model=tiny_process_model(tok), tokenizer=tok, good_label=5)
    with pytest.raises(ValueError, match="good_label=5"):
        reward.score([Sample(completion="a\nb")])


def test_unencodable_sample_is_an_error_and_the_rest_is_scored(tok: Any) -> None:
    reward = ProcessReward(model=tiny_process_model(tok), tokenizer=tok)
    good = Sample(prompt="q", completion="ab\ncd")
    scores = reward.score([Sample(prompt="q", completion="a\ud800\nb"), good])
    assert [s.status for s in scores] == ["error", "ok"]
    assert "cannot encode" in scores[0].reason
    assert scores[1].value == pytest.approx(reward.score([good])[0].value, abs=1e-6)
