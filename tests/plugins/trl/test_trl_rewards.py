"""Every accepted form of "the rewards" becomes TRL reward functions and weights."""

from __future__ import annotations

import pickle

import pytest

import assay
from assay_trl.errors import PipelineError
from assay_trl.rewards import normalise_spec, trl_reward_funcs

PROMPTS = ["p", "p", "q"]
COMPLETIONS = ["aab", "bbb", ""]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("math", {"rewards": [{"use": "math"}]}),
        ("math, think_format", {"rewards": [{"use": "math"}, {"use": "think_format"}]}),
        (["a", "b"], {"rewards": [{"use": "a"}, {"use": "b"}]}),
        ({"rewards": [{"use": "x"}]}, {"rewards": [{"use": "x"}]}),
        ("spec.yaml", "spec.yaml"),
    ],
)
def test_normalise_spec(given, expected) -> None:
    assert normalise_spec(given) == expected


@pytest.mark.parametrize(
    "pipeline",
    [
        "char_fraction",
        ["char_fraction"],
        {"rewards": [{"use": "char_fraction", "with": {"chars": "a"}}]},
    ],
)
def test_pipeline_forms_give_combined_then_components(pipeline) -> None:
    funcs, weights = trl_reward_funcs(pipeline, components=True)
    assert weights == [1.0, 0.0]
    values = [f(prompts=PROMPTS, completions=COMPLETIONS) for f in funcs]
    assert values[0] == pytest.approx([2 / 3, 0.0, 0.0])
    assert values[1] == values[0]
    assert "char_fraction" in funcs[1].__name__


def test_yaml_path_and_pipeline_object(tmp_path) -> None:
    spec = tmp_path / "pipe.yaml"
    spec.write_text(
        "rewards:\n  - use: char_fraction\n    weight: 2.0\n  - use: constant\n    with: {value: 1.0}\n"
    )
    funcs, weights = trl_reward_funcs(str(spec), components=False)
    assert weights == [1.0]
    assert funcs[0](prompts=["x"], completions=["ab"]) == pytest.approx([2.0])
    pipe = assay.load_pipeline(spec)
    funcs2, _ = trl_reward_funcs(pipe, components=True)
    assert len(funcs2) == 3
    assert funcs2[0](prompts=["x"], completions=["ab"]) == pytest.approx([2.0])


def test_callables_pass_through_with_their_weights() -> None:
    def short(prompts, completions, **kw):
        return [1.0 if len(c) < 3 else 0.0 for c in completions]

    def weighted(prompts, completions, **kw):
        return [0.5] * len(completions)

    weighted.weight = 0.25  # type: ignore[attr-defined]
    funcs, weights = trl_reward_funcs([short, weighted])
    assert funcs == [short, weighted] and weights == [1.0, 0.25]
    assert trl_reward_funcs(short) == ([short], [1.0])


def test_funcs_are_picklable() -> None:
    funcs, _ = trl_reward_funcs("char_fraction", components=True)
    clones = pickle.loads(pickle.dumps(funcs))
    assert clones[0](prompts=["x"], completions=["aa"]) == [1.0]


def test_a_crashing_sample_gives_none_and_the_rest_is_scored(assay_registry) -> None:
    @assay.reward(name="trl_test_fragile")
    def fragile(sample):
        if "boom" in sample.completion_text:
            raise RuntimeError("hostile input")
        return 1.0

    funcs, _ = trl_reward_funcs("trl_test_fragile", components=True)
    batch = {"prompts": ["a", "b", "c"], "completions": ["ok", "boom", "fine"]}
    # the pipeline counts an error as 0 in the combined reward (never as a success) ...
    assert funcs[0](**batch) == [1.0, 0.0, 1.0]
    # ... and the component logger shows it as missing
    assert funcs[1](**batch) == [1.0, None, 1.0]


@pytest.mark.parametrize(
    ("pipeline", "error"),
    [
        (None, PipelineError),
        ("no_such_reward_anywhere", ValueError),
        ({"rewards": [{"use": "char_fraction", "with": {"charz": "a"}}]}, ValueError),
    ],
)
def test_bad_rewards_fail_with_a_named_error(pipeline, error) -> None:
    with pytest.raises(error) as info:
        trl_reward_funcs(pipeline)
    if pipeline:
        assert "no_such_reward_anywhere" in str(info.value) or "charz" in str(info.value)
