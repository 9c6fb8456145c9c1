"""Adapters: TRL reward_funcs, verl compute_score, OpenRLHF reward_func (HTTP: test_serve.py)."""

from __future__ import annotations

import pickle

import pytest

from assay.adapters import trl_weights
from assay.pipeline import load_pipeline


def right(sample):
    if sample.answer is None:
        return None
    return 1.0 if sample.completion_text.strip() == str(sample.answer) else 0.0


def brief(sample):
    return 1.0 if len(sample.completion_text) <= 3 else 0.0


@pytest.fixture
def pipe(assay_registry):
    assay_registry.add("reward", "right", right)
    assay_registry.add("reward", "brief", brief)
    return load_pipeline(
        {"name": "toy", "rewards": [{"use": "right"}, {"use": "brief", "weight": 0.5}]}
    )


def test_as_trl_combined_reward_with_trl_signature(pipe):
    (fn,) = pipe.as_trl()
    assert fn.__name__ == "toy"
    out = fn(
        prompts=["q1", "q2", "q3"],
        completions=["42", "a long answer", "7"],
        completion_ids=[[1, 2], [3], [4]],
        answer=["42", "41", None],
        trainer_state=object(),  # not a column: ignored
    )
    assert out == [1.5, 0.0, 0.5]


def test_as_trl_returns_none_where_nothing_applies(assay_registry):
    assay_registry.add("reward", "right", right)
    (fn,) = load_pipeline({"rewards": [{"use": "right"}]}).as_trl()
    assert fn(prompts=["q"], completions=["x"]) == [None]


def test_as_trl_accepts_chat_messages_and_answer_aliases(pipe):
    (fn,) = pipe.as_trl()
    completions = [[{"role": "assistant", "content": "42"}]]
    prompts = [[{"role": "user", "content": "6*7?"}]]
    assert fn(prompts=prompts, completions=completions, solution=["42"]) == [1.5]


def test_as_trl_components_are_logged_at_weight_zero_and_computed_once(pipe, assay_registry):
    calls = []

    def counted(sample):
        calls.append(sample.completion_text)
        return 1.0

    assay_registry.add("reward", "counted", counted)
    p = load_pipeline({"name": "p", "rewards": [{"use": "counted"}, {"use": "brief"}]})
    funcs = p.as_trl(components=True)
    assert [f.__name__ for f in funcs] == ["p", "p/counted", "p/brief"]
    assert trl_weights(funcs) == [1.0, 0.0, 0.0]
    completions = ["a", "bbbbb"]
    outs = [f(prompts=["q", "q"], completions=completions) for f in funcs]  # as TRL calls them
    assert outs == [[2.0, 1.0], [1.0, 1.0], [1.0, 0.0]]
    assert calls == ["a", "bbbbb"]  # the component loggers reused the combined call


def test_as_trl_component_loggers_never_reuse_another_batchs_results(assay_registry):
    np = pytest.importorskip("numpy")
    calls = []

    def gold(sample):
        calls.append(sample.completion_text)
        return 1.0 if sample.completion_text == str(sample.answer) else 0.0

    assay_registry.add("reward", "gold", gold)
    combined, logger = load_pipeline({"name": "p", "rewards": [{"use": "gold"}]}).as_trl(True)
    long_a = np.array(["7"] * 2000, dtype=object)  # numpy elides the middle of long reprs
    long_b = long_a.copy()
    long_b[1000] = "x"
    done = ["7"] * 2000
    assert combined(prompts=["q"] * 2000, completions=done, answer=long_a)[1000] == 1.0
    assert logger(prompts=["q"] * 2000, completions=done, answer=long_b)[1000] == 0.0
    calls.clear()
    combined(prompts=["q"] * 2, completions=["7", "7"], answer=["7", "7"])
    combined(prompts=["q"] * 2, completions=["7", "7"], answer=["7", "7"])  # a later step
    assert len(calls) == 2  # the combined reward scores every step (duplicates once per call)


def test_as_trl_functions_pickle(pipe):
    funcs = pipe.as_trl(components=True)
    again = pickle.loads(pickle.dumps(funcs))
    assert [f.__name__ for f in again] == [f.__name__ for f in funcs]
    assert again[0](prompts=["q"], completions=["42"], answer=["42"]) == [1.5]


def test_as_trl_with_a_real_trl_reward_call_convention(pipe):
    trl = pytest.importorskip("trl")  # the core does not need TRL; when present, match its API
    from trl.trainer.utils import print_prompt_completions_sample  # noqa: F401  (exists in 1.x)

    (fn,) = pipe.as_trl()
    kwargs = {"answer": ["42"], "completion_ids": [[5, 6]], "trainer_state": None}
    assert fn(["q"], ["42"], **kwargs) == [1.5]  # positional prompts/completions, as TRL passes
    assert trl.__version__


def test_verl_compute_score_single_and_batched(pipe):
    cs = pipe.as_verl()
    single = cs("gsm8k", "42", "42", {"index": 3})
    assert {k: single[k] for k in ("score", "right", "brief")} == {
        "score": 1.5,
        "right": 1.0,
        "brief": 1.0,
    }
    assert single["assay/right/unverifiable"] == 0.0  # non-ok flags: same keys every sample
    batched = cs(["a", "b"], ["42", "nope"], ["42", "42"], [None, None])
    assert [r["score"] for r in batched] == [1.5, 0.0]


def test_verl_routes_by_data_source(assay_registry):
    assay_registry.add("reward", "right", right)
    assay_registry.add("reward", "brief", brief)
    cs = load_pipeline(
        {
            "route": {
                "by": "metadata.data_source",
                "routes": {"math": "right"},
                "default": {"use": "brief"},
            }
        }
    ).as_verl()
    assert cs("math", "42", "42")["score"] == 1.0
    assert cs("chat", "a long reply", "42")["score"] == 0.0


def test_openrlhf_reward_func_strips_the_prompt(pipe):
    torch = pytest.importorskip("torch")
    fn = pipe.as_openrlhf()
    out = fn(
        queries=["Q: 6*7? 42", "Q: 1+1? 3"], prompts=["Q: 6*7? ", "Q: 1+1? "], labels=["42", "2"]
    )
    assert isinstance(out["rewards"], torch.Tensor)
    assert out["rewards"].tolist() == [1.5, 0.5]
    assert {"right", "brief"} <= set(out["extra_logs"])
    assert out["extra_logs"]["assay/right/error"].tolist() == [0.0, 0.0]


def test_as_trl_bad_rows_do_not_sink_the_batch(pipe):
    (fn,) = pipe.as_trl()
    # None completion is an empty completion; a prompt of the wrong type is an error (None)
    # for its row only; every other row is scored.
    out = fn(prompts=["q", {"not": "text"}, "q"], completions=[None, "42", "42"], answer=["42"] * 3)
    assert out == [0.5, None, 1.5]
    with pytest.raises(ValueError, match="differ in length"):
        fn(prompts=["q"], completions=["42", "42"])


def test_verl_batch_reward_manager_keywords_and_numpy_arrays(pipe):
    np = pytest.importorskip("numpy")
    from assay.adapters import VerlComputeScore
    from assay.entrypoints import verl_compute_score

    cs = pipe.as_verl()
    kwargs = {  # how verl's BatchRewardManager calls compute_score
        "data_sources": np.array(["gsm8k", "gsm8k"], dtype=object),
        "solution_strs": ["42", "nope"],
        "ground_truths": np.array(["42", "42"], dtype=object),
        "extra_infos": np.array([None, {"index": 1}], dtype=object),
    }
    assert [r["score"] for r in cs(**kwargs)] == [1.5, 0.0]
    assert [r["score"] for r in cs(*kwargs.values())] == [1.5, 0.0]  # positional arrays
    assert cs(["a", "b"], ["42", "42"], ["42", "41"], None)[1]["score"] == 0.5
    assert cs("gsm8k", None, "42", None)["score"] == 0.5  # None solution: scored as ""
    with pytest.raises(ValueError, match="differ in length"):
        cs(["a"], ["42", "42"], ["42"], None)
    import inspect

    assert all(  # the file-path entry point accepts the batch keywords too
        p.default is not inspect.Parameter.empty or p.kind is p.VAR_KEYWORD
        for p in inspect.signature(verl_compute_score).parameters.values()
    )
    assert isinstance(cs, VerlComputeScore)


def test_openrlhf_reward_func_tolerates_none_and_rejects_mismatched_lengths(pipe):
    from assay.adapters import OpenRLHFRewardFunc

    fn = OpenRLHFRewardFunc(pipe)
    rewards, logs = fn.scores(["p42", None, 7], None, ["p42", "42", "42"])
    assert rewards == [1.5, 0.5, 0.0] and len(logs["right"]) == 3
    with pytest.raises(ValueError, match="differ in length"):
        fn.scores(["p42", "x"], ["p"], ["42"])
