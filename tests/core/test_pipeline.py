"""Pipeline composition: weights, combine modes, gates, penalties, routing, nesting, dedupe,
dependencies, executors, bad rows and bad specs."""

from __future__ import annotations

import threading

import pytest

import assay
from assay.errors import SpecError
from assay.models import Sample, Score
from assay.pipeline import Component, Pipeline, load_pipeline
from assay.rewards import Reward, lift

CALLS: dict[str, int] = {}
_LOCK = threading.Lock()


def _count(name: str) -> None:
    with _LOCK:
        CALLS[name] = CALLS.get(name, 0) + 1


def fmt(sample):
    """1.0 when the completion starts with '<think>'."""
    _count("fmt")
    return 1.0 if sample.completion_text.startswith("<think>") else 0.0


def correct(sample):
    _count("correct")
    if sample.answer is None:
        return None
    return 1.0 if sample.completion_text.rstrip().endswith(str(sample.answer)) else 0.0


def long_penalty(sample):
    return len(sample.completion_text) / 100


def flaky(sample):
    if "boom" in sample.completion_text:
        raise RuntimeError("kaboom")
    return 0.5


def unverifiable_gold(sample):
    if sample.answer == "??":
        return Score.unverifiable("gold answer does not parse")
    return 1.0


class ScaledByCorrect(Reward):
    """Reads the `correct` component: 2x its value."""

    name = "scaled"

    def dependencies(self):
        return ["correct"]

    def score_with(self, samples, upstream):
        return [None if s.value is None else 2 * s.value for s in upstream["correct"]]

    def score(self, samples):
        return self.score_with(
            samples, {"correct": [assay.Score(value=correct(s)) for s in samples]}
        )


@pytest.fixture(autouse=True)
def rewards(assay_registry):
    for fn in (fmt, correct, long_penalty, flaky, unverifiable_gold):
        assay_registry.add("reward", fn.__name__, fn)
    assay_registry.add("reward", "scaled", ScaledByCorrect)
    CALLS.clear()


S_GOOD = {"completion": "<think>x</think> 42", "answer": "42"}
S_WRONG = {"completion": "<think>x</think> 41", "answer": "42"}
S_NOFMT = {"completion": "42", "answer": "42"}
S_NOANS = {"completion": "<think>x</think> 42"}


@pytest.mark.parametrize(
    ("combine", "sample", "expected"),
    [
        ("sum", S_GOOD, 1.0 + 0.5),
        ("sum", S_WRONG, 0.0 + 0.5),
        ("mean", S_GOOD, (1.0 + 0.5) / 2),
        ("min", S_GOOD, 0.5),
        ("max", S_NOFMT, 1.0),
        ("sum", S_NOANS, 0.5),  # correct() does not apply: left out
    ],
)
def test_weights_and_combine_modes(combine, sample, expected):
    pipe = load_pipeline(
        {"combine": combine, "rewards": [{"use": "correct"}, {"use": "fmt", "weight": 0.5}]}
    )
    r = pipe.score([sample])[0]
    assert r.reward == pytest.approx(expected)
    assert set(r.components) == {"correct", "fmt"}


def test_nothing_applies_gives_none():
    pipe = load_pipeline({"rewards": [{"use": "correct"}]})
    assert pipe.score([S_NOANS])[0].reward is None


@pytest.mark.parametrize(
    ("sample", "expected"),
    [(S_GOOD, 1.0), (S_NOFMT, 0.0), (S_WRONG, 0.0)],
)
def test_gate_must_pass_for_others_to_count(sample, expected):
    pipe = load_pipeline(
        {"rewards": [{"use": "fmt", "gate": True, "weight": 0.0}, {"use": "correct"}]}
    )
    assert pipe.score([sample])[0].reward == expected


def test_penalty_is_subtracted_after_combining():
    pipe = load_pipeline(
        {
            "combine": "max",
            "rewards": [
                {"use": "correct"},
                {"use": "fmt"},
                {"use": "long_penalty", "penalty": True, "weight": 2.0},
            ],
        }
    )
    r = pipe.score([S_GOOD])[0]
    assert r.reward == pytest.approx(1.0 - 2.0 * len(S_GOOD["completion"]) / 100)


@pytest.mark.parametrize(
    ("sample", "expected"),
    # correct (1.0) + fmt as `penalty: below` (weight 0.5, threshold 1.0): a failed format costs
    # 0.5, a good one nothing; `penalty: true` on the same good-is-high reward costs the good one.
    [(S_GOOD, 1.0), (S_NOFMT, 0.5), (S_WRONG, 0.0)],
)
def test_penalty_below_punishes_low_values(sample, expected):
    below = load_pipeline(
        {"rewards": [{"use": "correct"}, {"use": "fmt", "penalty": "below", "weight": 0.5}]}
    )
    assert below.score([sample])[0].reward == pytest.approx(expected)
    plain = load_pipeline(
        {"rewards": [{"use": "correct"}, {"use": "fmt", "penalty": True, "weight": 0.5}]}
    )
    if sample is S_GOOD:
        assert plain.score([sample])[0].reward == pytest.approx(0.5)  # the good sample pays


def test_penalty_below_respects_the_threshold_and_rejects_other_words():
    pipe = load_pipeline(
        {
            "rewards": [
                {"use": "correct"},
                {"use": "long_penalty", "penalty": "below", "weight": -2.0, "threshold": 0.5},
            ]
        }
    )
    short = dict(S_GOOD, completion="42")  # correct 1.0; long_penalty 0.02 < 0.5: pays 2 * 0.48
    assert pipe.score([short])[0].reward == pytest.approx(1.0 - 2.0 * 0.48)
    long = dict(S_GOOD, completion="x" * 98 + "42")  # long_penalty 1.0 >= 0.5: pays nothing
    assert pipe.score([long])[0].reward == pytest.approx(1.0)
    with pytest.raises(SpecError):
        load_pipeline({"rewards": [{"use": "correct", "penalty": "above"}]})


def test_routing_by_metadata_with_default():
    pipe = load_pipeline(
        {
            "route": {
                "by": "metadata.task",
                "routes": {"math": {"use": "correct"}, "style": {"use": "fmt"}},
                "default": {"rewards": [{"use": "fmt", "weight": 3.0}]},
            }
        }
    )
    rows = [
        {**S_WRONG, "metadata": {"task": "math"}},
        {**S_GOOD, "metadata": {"task": "style"}},
        {**S_GOOD, "metadata": {"task": "other"}},
        {**S_GOOD},
    ]
    res = pipe.score(rows)
    assert res.rewards == [0.0, 1.0, 3.0, 3.0]
    assert set(res[0].components) == {"correct"}
    assert set(res[1].components) == {"fmt"}


def test_routing_without_default_is_unverifiable_not_a_crash():
    pipe = load_pipeline({"route": {"by": "metadata.task", "routes": {"math": "correct"}}})
    res = pipe.score(
        [{**S_GOOD, "metadata": {"task": "poetry"}}, {**S_GOOD, "metadata": {"task": "math"}}]
    )
    assert res[0].status == "unverifiable" and "poetry" in res[0].reason
    assert res[1].reward == 1.0


def test_nested_pipeline_is_one_component_with_its_parts_in_details():
    pipe = load_pipeline(
        {
            "rewards": [
                {
                    "pipeline": {
                        "name": "inner",
                        "combine": "min",
                        "rewards": [{"use": "correct"}, {"use": "fmt"}],
                    },
                    "weight": 2.0,
                },
                {"use": "fmt", "name": "style", "weight": 0.1},
            ]
        }
    )
    r = pipe.score([S_NOFMT])[0]
    assert r.reward == pytest.approx(2.0 * 0.0 + 0.1 * 0.0)
    assert r.components["inner"].details["components"] == {"correct": 1.0, "fmt": 0.0}
    r = pipe.score([S_GOOD])[0]
    assert r.reward == pytest.approx(2.0 + 0.1)


def test_error_on_one_sample_marks_it_and_scores_the_rest():
    pipe = load_pipeline({"rewards": [{"use": "flaky"}, {"use": "fmt"}]})
    res = pipe.score([S_GOOD, {"completion": "boom"}, S_WRONG])
    assert [r.status for r in res] == ["ok", "error", "ok"]
    assert res[1].components["flaky"].status == "error"
    assert "kaboom" in res[1].components["flaky"].reason and "flaky" in res[1].reason
    assert res[1].reward == 0.0  # the error counts as 0, never as a success
    assert res.rewards[0] == 1.5 and res.rewards[2] == 1.5


def test_unverifiable_component_propagates_status():
    pipe = load_pipeline({"rewards": [{"use": "unverifiable_gold"}, {"use": "fmt"}]})
    r = pipe.score([{**S_GOOD, "answer": "??"}])[0]
    assert r.status == "unverifiable" and r.reward == 1.0
    assert r.components["unverifiable_gold"].value is None


def test_invalid_rows_get_error_results_and_the_rest_are_scored():
    pipe = load_pipeline({"rewards": [{"use": "fmt"}]})
    res = pipe.score([S_GOOD, {"completion": 12}, "not a mapping", S_NOFMT])
    assert [r.status for r in res] == ["ok", "error", "error", "ok"]
    assert "completion" in res[1].reason
    assert res.rewards == [1.0, None, None, 0.0]


def test_identical_samples_are_scored_once():
    pipe = load_pipeline({"rewards": [{"use": "correct"}, {"use": "fmt"}]})
    group = [S_GOOD] * 6 + [S_WRONG] * 2  # a GRPO group repeats answers
    res = pipe.score(group)
    assert CALLS == {"correct": 2, "fmt": 2}
    assert res.rewards == [2.0] * 6 + [1.0] * 2


def test_dedupe_off_scores_every_sample_and_gives_the_same_rewards():
    group = [S_GOOD] * 6 + [S_WRONG] * 2
    on = load_pipeline({"rewards": [{"use": "correct"}, {"use": "fmt"}]}).score(group)
    CALLS.clear()
    off = load_pipeline({"rewards": [{"use": "correct"}, {"use": "fmt"}], "dedupe": False})
    assert off.score(group).rewards == on.rewards
    assert CALLS == {"correct": 8, "fmt": 8}


def test_large_batches_of_rowwise_rewards_are_scored_in_slices_with_the_same_results():
    from assay.pipeline import ROW_CHUNK

    n = 2 * ROW_CHUNK + 17
    rows = [
        {"completion": f"<think>{i}</think> {i % 7}" if i % 3 else f"boom {i}", "answer": "3"}
        for i in range(n)
    ]
    spec = {"rewards": [{"use": "correct"}, {"use": "fmt", "weight": 0.5}, {"use": "flaky"}]}
    pipe = load_pipeline(spec)
    assert pipe._rowwise
    sliced = pipe.score(rows)
    whole = [pipe.score([r])[0] for r in rows]  # one sample at a time: never sliced
    assert sliced.rewards == [r.reward for r in whole]
    assert sliced.statuses == [r.status for r in whole]
    assert sliced.statuses.count("error") == n - sum(1 for i in range(n) if i % 3)
    assert CALLS["correct"] == 2 * n  # every slice scored once (plus the one-by-one pass)


def test_a_batch_reward_in_the_pipeline_sees_the_whole_batch():
    seen: list[int] = []

    def batchy(prompts, completions, **kw):
        seen.append(len(completions))
        return [1.0] * len(completions)

    from assay.pipeline import ROW_CHUNK

    pipe = Pipeline([Component(lift(batchy)()), Component(lift(fmt)())])
    assert not pipe._rowwise
    n = ROW_CHUNK * 2 + 1
    pipe.score([{"completion": f"<think>{i}"} for i in range(n)])
    assert seen == [n]


def test_dependencies_read_upstream_components_and_order_is_resolved():
    pipe = load_pipeline({"rewards": [{"use": "scaled"}, {"use": "correct", "weight": 0.0}]})
    assert [r.reward for r in pipe.score([S_GOOD, S_WRONG])] == [2.0, 0.0]
    assert CALLS["correct"] == 2  # computed once per sample, shared with `scaled`


def test_missing_dependency_is_a_spec_error():
    with pytest.raises(SpecError, match="reads component 'correct'"):
        load_pipeline({"rewards": [{"use": "scaled"}]})


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"rewards": [{"use": "fmt", "wieght": 1}]}, "rewards[0].wieght"),
        ({"rewards": [{"use": "fmt", "weight": "heavy"}]}, "rewards[0].weight"),
        ({"rewards": [{"use": "nope"}]}, "rewards[0].use"),
        ({"rewards": [{"use": "fmt"}, {"use": "fmt"}]}, "rewards[1].name"),
        ({"rewards": [{"use": "fmt"}], "combine": "product"}, "combine"),
        ({"rewards": [{"use": "regex", "with": {"patern": "x"}}]}, "rewards[0].with.patern"),
        ({"rewards": [{"use": "regex", "with": {}}]}, "rewards[0].with.pattern"),
        ({"rewards": [{"use": "fmt", "timeout": -1}]}, "rewards[0].timeout"),
        ({"rewards": []}, "exactly one of"),
        ({"rewards": [{"weight": 1}]}, "exactly one of `use`"),
        (
            {"route": {"by": "metadata.task", "routes": {"a": {"use": "nope"}}}},
            "route.routes.a.use",
        ),
        (
            {"rewards": [{"pipeline": {"rewards": [{"use": "fmt", "bad": 1}]}}]},
            "rewards[0].pipeline.rewards[0].bad",
        ),
        ({"rewardz": [{"use": "fmt"}]}, "rewardz"),
    ],
)
def test_bad_specs_name_the_offending_key(spec, key):
    with pytest.raises(SpecError) as e:
        load_pipeline(spec)
    assert key in str(e.value)


def test_spec_from_yaml_file_and_string(tmp_path):
    text = "name: y\nrewards:\n  - use: fmt\n    weight: 2\n"
    f = tmp_path / "p.yaml"
    f.write_text(text)
    assert load_pipeline(f).score([S_GOOD]).rewards == [2.0]
    assert load_pipeline(str(f)).name == "y"
    assert load_pipeline(text).score([S_GOOD]).rewards == [2.0]
    j = tmp_path / "p.json"
    j.write_text('{"rewards": [{"use": "fmt"}]}')
    assert load_pipeline(j).score([S_NOFMT]).rewards == [0.0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("rewards: [use: fmt\n")
    with pytest.raises(SpecError, match="cannot parse"):
        load_pipeline(bad)
    with pytest.raises(SpecError, match="file not found"):
        load_pipeline(tmp_path / "missing.yaml")


def test_python_built_pipeline():
    pipe = Pipeline([Component(lift(correct)(), weight=2.0), "fmt"], combine="sum", name="py")
    assert pipe.score([S_GOOD]).rewards == [3.0]
    assert repr(pipe) == "<Pipeline py sum(correct*2, fmt*1)>"


def _rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        base = [S_GOOD, S_WRONG, S_NOFMT, S_NOANS, {"completion": "boom"}][i % 5]
        rows.append({**base, "prompt": f"q{i % 7}"})
    return rows


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_executors_give_identical_results_in_order(executor):
    pipe = load_pipeline(
        {"rewards": [{"use": "correct"}, {"use": "fmt", "weight": 0.3}, {"use": "flaky"}]}
    )
    rows = _rows(200)
    inline = pipe.score(rows)
    other = pipe.score(rows, executor=executor, workers=2, chunk_size=17)
    assert [r.model_dump() for r in other] == [r.model_dump() for r in inline]
    pipe.close()


def test_results_are_lazy_views_with_component_columns():
    pipe = load_pipeline({"rewards": [{"use": "correct"}, {"use": "fmt"}]})
    res = pipe.score([S_GOOD, S_NOANS])
    assert len(res) == 2 and res.component_names == ["correct", "fmt"]
    assert res.component("correct") == [1.0, None]
    assert res[-1].components["fmt"].plugin == "__runtime__"
    assert [r.reward for r in res[0:2]] == res.rewards


def test_async_score():
    import asyncio

    pipe = load_pipeline({"rewards": [{"use": "fmt"}]})
    assert asyncio.run(pipe.ascore([S_GOOD])).rewards == [1.0]


def test_sample_objects_and_dicts_mix():
    pipe = load_pipeline({"rewards": [{"use": "fmt"}]})
    assert pipe.score([Sample(**S_GOOD), S_NOFMT]).rewards == [1.0, 0.0]


class Unstartable(Reward):
    name = "unstartable"

    def __init__(self, **options):
        super().__init__(**options)
        raise RuntimeError("model file not found: rm.safetensors")

    def score(self, samples):
        return []


def test_a_reward_that_cannot_start_is_a_spec_error_naming_it(assay_registry):
    assay_registry.add("reward", "unstartable", Unstartable)
    with pytest.raises(
        SpecError,
        match=r"rewards\[0\].use: 'unstartable' failed to start: RuntimeError: model file not found",
    ):
        load_pipeline({"rewards": [{"use": "unstartable"}]})
