"""Model resolution, and saving in-memory models so TRL can reload the reference by path."""

from __future__ import annotations

import pytest

from assay_trl import get_algorithm
from assay_trl.errors import NoPreferencePairs, TrainError
from assay_trl.loading import ensure_on_disk, has_disk_copy, load_model_and_tokenizer
from assay_trl.tiny import save_tiny


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", False),
        ("Qwen/Qwen2.5-0.5B-Instruct", True),  # a Hub id: TRL reloads it from the cache
        ("gpt2", True),
        ("/definitely/not/here", False),
        ("a/b/c", False),
    ],
)
def test_has_disk_copy(tiny, name, expected) -> None:
    model, _ = tiny
    model.config._name_or_path = name
    assert has_disk_copy(model) is expected


def test_ensure_on_disk_saves_once(tiny, tmp_path) -> None:
    model, tok = tiny
    assert not has_disk_copy(model)
    path = ensure_on_disk(model, tok, tmp_path / "ref")
    assert (path / "config.json").is_file() and has_disk_copy(model)
    again = ensure_on_disk(model, tok, tmp_path / "elsewhere")
    assert again == path and not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("spec", ["tiny", "tiny:xyz"])
def test_tiny_names(spec) -> None:
    model, tok = load_model_and_tokenizer(spec)
    assert model.config.vocab_size == len(tok)
    if spec == "tiny:xyz":
        assert len(tok) == 4 + 3


def test_local_path_and_object_without_tokenizer(tmp_path, tiny) -> None:
    path = save_tiny(tmp_path / "m", alphabet="ab")
    model, tok = load_model_and_tokenizer(str(path))
    assert tok.decode(tok("ba")["input_ids"]) == "ba"
    model, _ = tiny
    with pytest.raises(ValueError, match="tokenizer"):
        load_model_and_tokenizer(model)


def test_preference_rejects_resume(tmp_path) -> None:
    with pytest.raises(TrainError, match="online backends"):
        get_algorithm("dpo", output_dir=str(tmp_path)).train(
            "tiny", dataset=["a"], pipeline="char_fraction", resume_from_checkpoint=True
        )


def test_no_pairs_when_the_reward_cannot_separate(tmp_path) -> None:
    algo = get_algorithm(
        "dpo", output_dir=str(tmp_path), k=2, max_new_tokens=2, trl={"disable_tqdm": True}
    )
    with pytest.raises(NoPreferencePairs, match="scored alike"):
        algo.train("tiny", dataset=["ab", "cd"], pipeline="constant")
