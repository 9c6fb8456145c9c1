"""The `reward_model` reward: batched scoring, normalisation, bad input, loading, pipelines."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import assay
from assay import Sample
from assay_rm.loading import ModelLoadError
from assay_rm.rewards import RewardModelReward, normalize_value
from assay_rm.scoring import RewardModelScorer
from assay_rm.synthetic import random_texts


@pytest.fixture(scope="module")
def model(tok: Any) -> Any:
    from assay_rm.tiny import tiny_reward_model

    return tiny_reward_model(tok, seed=3)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, model: Any, tok: Any) -> Path:
    path = tmp_path_factory.mktemp("rm")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_batched_scores_equal_one_by_one_in_input_order(model: Any, tok: Any) -> None:
    texts = random_texts(40, seed=5, min_len=1, max_len=120)
    samples = [Sample(prompt="p: ", completion=t) for t in texts]
    batched = RewardModelScorer(model, tok, batch_size=16).score(samples)
    capped = RewardModelScorer(model, tok, batch_size=16, max_tokens=300).score(samples)
    single = RewardModelScorer(model, tok, batch_size=1).score(samples)
    assert batched == pytest.approx(single, abs=1e-4)
    assert capped == pytest.approx(single, abs=1e-4)
    assert len(set(round(v, 6) for v in single)) > 30  # really different inputs, not a constant


def test_scorer_reads_the_same_ids_as_reward_trainer(model: Any, tok: Any) -> None:
    """RewardTrainer trains on tokenizer(prompt + completion + eos): the scorer scores that.
    On the CPU in float32 both (``auto`` would take bf16 on a GPU: a different number)."""
    import torch

    ids = tok("ab" + "cd" + tok.eos_token, return_tensors="pt")
    with torch.inference_mode():
        direct = model(**ids).logits[0, 0].item()
    scorer = RewardModelScorer(model, tok, device="cpu")
    assert scorer.score([Sample(prompt="ab", completion="cd")])[0] == (
        pytest.approx(direct, abs=1e-5)
    )


@pytest.mark.parametrize(
    ("raw", "how", "mean", "std", "clip", "expected"),
    [
        (2.0, "none", 0.0, 1.0, None, 2.0),
        (2.0, "none", 5.0, 2.0, None, 2.0),  # mean/std only used by standard/sigmoid
        (3.0, "standard", 1.0, 2.0, None, 1.0),
        (0.0, "sigmoid", 0.0, 1.0, None, 0.5),
        (1.0, "sigmoid", 1.0, 3.0, None, 0.5),
        (2.0, "sigmoid", 0.0, 1.0, None, 1 / (1 + math.exp(-2.0))),
        (-1e6, "sigmoid", 0.0, 1.0, None, 0.0),  # no overflow
        (10.0, "none", 0.0, 1.0, 3.0, 3.0),
        (-10.0, "standard", 0.0, 1.0, 3.0, -3.0),
    ],
)
def test_normalize(
    raw: float, how: Any, mean: float, std: float, clip: float | None, expected: float
) -> None:
    assert normalize_value(raw, how, mean, std, clip) == pytest.approx(expected)


def test_bad_samples_get_error_scores_and_the_rest_is_scored(model: Any, tok: Any) -> None:
    reward = RewardModelReward(model=model, tokenizer=tok)
    good = Sample(prompt="a", completion="bc")
    samples = [
        good,
        Sample(prompt=[{"role": "user"}], completion="x"),  # message without content
        Sample(prompt=[{"role": "user", "content": "hi"}], completion="yo"),
        Sample(prompt="a", completion="bc" * 300),
    ]
    scores = reward.score(samples)
    assert [s.status for s in scores] == ["ok", "error", "ok", "ok"]
    assert "role' and 'content" in scores[1].reason
    alone = reward.score([good])[0]
    assert scores[0].value == pytest.approx(alone.value, abs=1e-5)
    assert scores[0].details["tokens"] == 5  # <bos> a b c <eos>


def test_max_length_truncates_and_says_so(model: Any, tok: Any) -> None:
    reward = RewardModelReward(model=model, tokenizer=tok, max_length=16)
    s = reward.score([Sample(prompt="a", completion="bcdefg" * 20), Sample(completion="ab")])
    assert s[0].details["truncated"] is True and s[0].details["tokens"] == 16
    assert s[1].details["truncated"] is False


def test_registered_through_the_entry_point_and_loads_a_local_path(
    saved: Path, model: Any, tok: Any
) -> None:
    entry = assay.get_registry().get("reward", "reward_model")
    assert entry.plugin == "rm" and entry.distribution == "assay-rm"
    by_path = assay.get_reward("reward_model", model=str(saved), normalize="standard", mean=0.5)
    by_obj = RewardModelReward(model=model, tokenizer=tok, normalize="standard", mean=0.5)
    samples = [Sample(prompt="q", completion=t) for t in ("abc", "hello there", "x")]
    assert [s.value for s in by_path.score(samples)] == pytest.approx(
        [s.value for s in by_obj.score(samples)], abs=1e-5
    )


@pytest.mark.parametrize(
    ("options", "error", "needle"),
    [
        ({"model": "/no/such/dir"}, ModelLoadError, "does not exist"),
        ({"model": object()}, ModelLoadError, "expected a transformers model"),
        (
            {"model": "x", "normalise": "sigmoid"},
            ValidationError,
            "normalise",
        ),  # typo names the key
        ({"model": "x", "std": 0}, ValidationError, "std"),
        ({"model": "x", "dtype": "int3"}, ModelLoadError, "unknown dtype"),
    ],
)
def test_bad_options_fail_with_a_clear_message(
    options: dict[str, Any], error: type, needle: str
) -> None:
    with pytest.raises(error, match=needle):
        RewardModelReward(**options).score([Sample(completion="a")])


def test_model_object_without_tokenizer_is_refused(model: Any) -> None:
    with pytest.raises(ModelLoadError, match="tokenizer"):
        RewardModelReward(model=model).score([Sample(completion="a")])


def test_in_a_pipeline_next_to_a_verifier(saved: Path) -> None:
    pipe = assay.load_pipeline(
        {
            "rewards": [
                {"use": "regex", "with": {"pattern": "a"}, "weight": 1.0},
                {
                    "use": "reward_model",
                    "with": {"model": str(saved), "normalize": "sigmoid"},
                    "weight": 0.5,
                },
            ]
        }
    )
    results = pipe.score(
        [{"prompt": "q", "completion": "abc"}, {"prompt": "q", "completion": "xyz"}]
    )
    rm = RewardModelReward(model=str(saved), normalize="sigmoid")
    expect = [s.value for s in rm.score([Sample(prompt="q", completion=c) for c in ("abc", "xyz")])]
    assert results[0].components["reward_model"].value == pytest.approx(expect[0], abs=1e-5)
    assert results.rewards == pytest.approx([1.0 + 0.5 * expect[0], 0.5 * expect[1]], abs=1e-5)
    funcs = pipe.as_trl()
    assert funcs[0](prompts=["q"], completions=["abc"]) == pytest.approx(
        [results.rewards[0]], abs=1e-5
    )


def test_plugin_import_does_not_load_torch() -> None:
    code = (
        "import sys, assay_rm.plugin; print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_causal_models_skip_the_padding_mask_and_encoders_keep_it(tok: Any, model: Any) -> None:
    """A decoder never attends to the pads on its right, so the mask can go; a bidirectional
    encoder (BERT) needs it. Either way batched scores equal one-by-one scores."""
    from transformers import BertConfig, BertForSequenceClassification

    from assay_rm.scoring import is_causal_model

    bert = BertForSequenceClassification(
        BertConfig(
            vocab_size=len(tok),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            num_labels=1,
            pad_token_id=tok.pad_token_id,
        )
    )
    assert is_causal_model(model) is True
    assert is_causal_model(bert) is False
    samples = [Sample(prompt="q", completion=t) for t in random_texts(12, seed=2, max_len=60)]
    for m in (model, bert):
        scorer = RewardModelScorer(m, tok, batch_size=12)
        assert scorer.skip_mask is is_causal_model(m)
        single = RewardModelScorer(m, tok, batch_size=1).score(samples)
        assert scorer.score(samples) == pytest.approx(single, abs=1e-5)
    unmasked = RewardModelScorer(bert, tok, batch_size=12)
    unmasked.skip_mask = True  # what dropping the mask would do to an encoder: wrong scores
    single = RewardModelScorer(bert, tok, batch_size=1).score(samples)
    assert unmasked.score(samples) != pytest.approx(single, abs=1e-5)


def test_hostile_long_completion_is_cut_to_the_models_positions(tok: Any) -> None:
    from assay_rm.tiny import tiny_reward_model

    model = tiny_reward_model(tok, max_positions=64)
    reward = RewardModelReward(model=model, tokenizer=tok)
    huge, short = reward.score([Sample(completion="ab" * 50_000), Sample(completion="ab")])
    assert huge.status == "ok" and huge.details == {
        "raw": huge.details["raw"],
        "tokens": 64,
        "truncated": True,
    }
    assert short.details["truncated"] is False


def test_rewards_pickle_and_score_the_same_after(model: Any, tok: Any) -> None:
    import pickle

    from assay_rm.online import OnlineRewardModel
    from assay_rm.process import ProcessReward
    from assay_rm.tiny import tiny_process_model

    samples = [Sample(prompt="q", completion="ab\ncd"), Sample(prompt="q", completion="xyz")]
    for reward in (
        RewardModelReward(model=model, tokenizer=tok),
        ProcessReward(model=tiny_process_model(tok), tokenizer=tok),
        OnlineRewardModel(
            model=model,
            tokenizer=tok,
            verifier="regex",
            verifier_options={"pattern": "a"},
            update_every=99,
        ),
    ):
        first = reward.score(samples)
        copy = pickle.loads(pickle.dumps(reward))
        again = copy.score(samples)
        assert [s.value for s in again] == pytest.approx([s.value for s in first], abs=1e-6)


def test_pads_with_the_models_pad_id_so_batching_never_moves_the_score(tok: Any) -> None:
    """A sequence classifier reads its score at the last token that is not
    config.pad_token_id: padding with the tokenizer's (different) pad id made a row's score
    depend on the longer rows batched with it."""
    from assay_rm.tiny import tiny_reward_model

    model = tiny_reward_model(tok, seed=3)
    model.config.pad_token_id = tok.unk_token_id  # model and tokenizer disagree on padding
    samples = [Sample(completion="abc"), Sample(completion="abcdefghij" * 3)]
    batched = RewardModelScorer(model, tok, batch_size=8).score(samples)
    single = RewardModelScorer(model, tok, batch_size=1).score(samples)
    assert batched == pytest.approx(single, abs=1e-5)


def test_tokenizer_without_pad_or_eos_token_still_scores(model: Any) -> None:
    from assay_rm.tiny import char_tokenizer, tiny_reward_model

    tok = char_tokenizer()
    tok.pad_token = None
    tok.eos_token = None
    m = tiny_reward_model(tok, seed=3)
    m.config.pad_token_id = None
    scores = RewardModelReward(model=m, tokenizer=tok).score(
        [Sample(completion="abc"), Sample(completion="abcdef")]
    )
    assert [s.status for s in scores] == ["ok", "ok"]
    alone = RewardModelReward(model=m, tokenizer=tok, batch_size=1).score(
        [Sample(completion="abc")]
    )
    assert scores[0].value == pytest.approx(alone[0].value, abs=1e-5)


CHAT = [{"role": "user", "content": "q"}]


def test_hostile_samples_get_error_scores_and_the_rest_is_scored(model: Any, tok: Any) -> None:
    reward = RewardModelReward(model=model, tokenizer=tok)
    good = Sample(prompt="q", completion="ab")
    scores = reward.score(
        [
            Sample(prompt="q", completion="a\ud800b"),  # the tokenizer refuses it
            good,
            Sample(prompt=CHAT, completion=[{"role": "assistant", "content": [{"text": "ab"}]}]),
            Sample(prompt=CHAT, completion=[{"role": "assistant", "content": None}]),
        ]
    )
    assert [s.status for s in scores] == ["error", "ok", "ok", "ok"]
    assert "cannot encode" in scores[0].reason
    assert scores[1].value == pytest.approx(reward.score([good])[0].value, abs=1e-5)
    as_text = reward.score(
        [Sample(prompt=CHAT, completion=[{"role": "assistant", "content": "ab"}])]
    )
    assert scores[2].value == pytest.approx(as_text[0].value, abs=1e-5)
    by_dict = reward.scorer.score([{"prompt": None, "completion": "ab"}, {"completion": "ab"}])
    assert by_dict[0] is not None and by_dict[0] == pytest.approx(by_dict[1], abs=1e-6)


class _NanModel:
    """Wraps a model so that its head outputs NaN."""

    def __init__(self, model: Any) -> None:
        self.inner, self.config = model, model.config

    def modules(self) -> Any:
        return self.inner.modules()

    def to(self, **kw: Any) -> _NanModel:
        self.inner.to(**kw)  # on a GPU machine the scorer moves the model there
        return self

    def eval(self) -> _NanModel:
        return self

    def __call__(self, **kw: Any) -> Any:
        out = self.inner(**kw)
        out.logits = out.logits * float("nan")
        return out


def test_nan_model_output_is_an_error_score_in_every_learned_reward(tok: Any, model: Any) -> None:
    from assay_rm.online import OnlineRewardModel
    from assay_rm.process import ProcessReward
    from assay_rm.tiny import tiny_process_model

    samples = [Sample(prompt="q", completion="ab\ncd")]
    online = OnlineRewardModel(
        model=_NanModel(model), tokenizer=tok, verifier="regex", verifier_options={"pattern": "a"}
    )
    for reward in (
        RewardModelReward(model=_NanModel(model), tokenizer=tok),
        ProcessReward(model=_NanModel(tiny_process_model(tok)), tokenizer=tok),
        online,
    ):
        [s] = reward.score(samples)
        assert s.status == "error" and s.value is None and "nan" in s.reason, reward
    assert online.history == [] and online.updates == 0  # a NaN score is nothing to learn from


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"model": "/no/such/dir"}, "'/no/such/dir' does not exist"),
        ({"model": "{file}"}, "is not a directory"),
        ({"model": "{dir}"}, "holds no config.json"),
        ({"model": "{saved}", "tokenizer": "/no/tok"}, "tokenizer path '/no/tok' does not exist"),
        ({"model": "{saved}", "device": "gpu"}, "unknown device 'gpu'"),
        ({"model": "{saved}", "dtype": "int3"}, "unknown dtype 'int3'"),
    ],
)
def test_bad_paths_and_strings_fail_at_construction(
    options: dict[str, Any], needle: str, saved: Path, tmp_path: Path
) -> None:
    (tmp_path / "f.txt").write_text("not a model")
    places = {"{file}": str(tmp_path / "f.txt"), "{dir}": str(tmp_path), "{saved}": str(saved)}
    options = {k: places.get(v, v) for k, v in options.items()}
    with pytest.raises(ModelLoadError, match=needle):
        RewardModelReward(**options)  # no score call: the error comes before any model loads


def test_unavailable_cuda_device_is_a_clear_error(model: Any, tok: Any) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ModelLoadError, match="device 'cuda'"):
        RewardModelScorer(model, tok, device="cuda")


def test_scorer_refuses_out_of_range_sizes(model: Any, tok: Any) -> None:
    for kw, needle in (({"batch_size": 0}, "batch_size"), ({"max_length": 0}, "max_length")):
        with pytest.raises(ValueError, match=needle):
            RewardModelScorer(model, tok, **kw)


def _grpo_batch(seed: int, system: str = "") -> list[Sample]:
    """Groups of 6 completions per prompt (one empty), plus rows that share nothing, shuffled;
    every grouped prompt starts with ``system``."""
    import random

    rng = random.Random(seed)
    texts = iter(random_texts(200, seed=seed, min_len=1, max_len=50))
    prompts = [f"{system}Q{g}: " + next(texts) + next(texts) for g in range(5)]
    out = [
        Sample(prompt=prompts[g], completion=next(texts) if k else "")
        for g in range(5)
        for k in range(6)
    ]
    out += [Sample(prompt="x", completion="y"), Sample(prompt=next(texts), completion="z")]
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("system", ["", "You are a careful grader. Think step by step. "])
def test_shared_prefix_scores_equal_whole_row_scores(model: Any, tok: Any, system: str) -> None:
    from assay_rm.prefix import prefix_groups

    samples = _grpo_batch(seed=4, system=system)
    whole = RewardModelScorer(model, tok, batch_size=4)
    shared = RewardModelScorer(model, tok, batch_size=4, share_prefix=True, min_prefix=4)
    rows = [e.ids for e in whole.encode(samples)]
    groups, rest = prefix_groups(rows, 4, shared.pad_id)
    whole_prompts = [
        len(whole.encode([Sample(prompt=p, completion="")])[0].ids) - 1
        for p in sorted({s.prompt for s in samples if s.prompt.startswith(system + "Q")})
    ]
    assert sorted(n for n, _ in groups) == sorted(whole_prompts)  # each prompt shared whole
    assert sorted(rest + [i for _, idx in groups for i in idx]) == list(range(len(rows)))
    assert shared.score(samples) == pytest.approx(whole.score(samples), abs=1e-5)
    single = RewardModelScorer(model, tok, batch_size=1).score(samples)
    assert shared.score(samples) == pytest.approx(single, abs=1e-5)
    assert shared.share_prefix  # the cached path ran: no fallback to whole rows


def test_prefix_groups_leave_rows_whose_tail_is_only_padding_whole() -> None:
    from assay_rm.prefix import prefix_groups

    pad = 0
    rows = [[1, 2, 3, 4, 0], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 7], [9, 9, 9, 9, 9]]
    groups, rest = prefix_groups(rows, 2, pad)
    assert groups == [(4, [1, 2])]  # row 0 would be read at a pad: scored whole
    assert rest == [0, 3]
    assert prefix_groups([[1, 2], [1, 2]], 2, pad) == ([], [0, 1])  # nothing left to continue
    system = [7] * 20  # shared by every row; each question by some
    rows = [system + [1] * 6 + [k] for k in (3, 4, 5)] + [system + [2] * 6 + [k] for k in (3, 4)]
    rows += [[*system, 8, 8, 8, 8, 8], [*system, 9]]
    groups, rest = prefix_groups(rows, 4, pad)
    assert sorted(groups) == [(20, [5, 6]), (26, [0, 1, 2]), (26, [3, 4])] and rest == []


def test_share_prefix_is_off_for_encoders_and_through_the_reward(tok: Any, model: Any) -> None:
    from transformers import BertConfig, BertForSequenceClassification

    bert = BertForSequenceClassification(
        BertConfig(
            vocab_size=len(tok),
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=4,
            intermediate_size=64,
            num_labels=1,
            pad_token_id=tok.pad_token_id,
        )
    )
    assert RewardModelScorer(bert, tok, share_prefix=True).share_prefix is False
    samples = _grpo_batch(seed=7)
    on = RewardModelReward(model=model, tokenizer=tok, share_prefix=True, min_prefix=4)
    off = RewardModelReward(model=model, tokenizer=tok)
    assert on.scorer.share_prefix is True
    assert [s.value for s in on.score(samples)] == pytest.approx(
        [s.value for s in off.score(samples)], abs=1e-5
    )
