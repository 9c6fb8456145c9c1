"""Each backend maps to TRL with the settings its paper prescribes, and builds the right trainer."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import assay_trl
from assay_trl import ALGORITHMS, get_algorithm
from assay_trl.errors import TrainerUnavailable

# (algorithm, TRL args that must hold) -- the mapping table of docs/trl.md
PAPER_SETTINGS = [
    ("grpo", {"loss_type": "grpo", "scale_rewards": "group", "beta": 0.04, "epsilon": 0.2}),
    ("dr_grpo", {"loss_type": "dr_grpo", "scale_rewards": "none", "beta": 0.0}),
    (
        "dapo",
        {
            "loss_type": "dapo",
            "epsilon": 0.2,
            "epsilon_high": 0.28,
            "beta": 0.0,
            "mask_truncated_completions": True,
            "dynamic_sampling": True,
        },
    ),
    (
        "gspo",
        {
            "importance_sampling_level": "sequence",
            "epsilon": 3e-4,
            "epsilon_high": 4e-4,
            "beta": 0.0,
            "steps_per_generation": 2,
        },
    ),
    (
        "sapo",
        {
            "loss_type": "sapo",
            "sapo_temperature_neg": 1.05,
            "sapo_temperature_pos": 1.0,
            "steps_per_generation": 2,
        },
    ),
    ("rloo", {"beta": 0.05, "num_generations": 4, "normalize_advantages": False}),
    ("remax", {"loss_type": "dr_grpo", "scale_rewards": "none"}),
    ("reinforce_pp", {"loss_type": "dapo", "beta": 0.01, "baseline": "none", "gamma": 1.0}),
    (
        "ppo",
        {"beta": 0.05, "lam": 0.95, "vf_coef": 0.1, "cliprange_value": 0.2, "num_iterations": 4},
    ),
]

PREF_SETTINGS = [
    ("dpo", {"loss_type": ["sigmoid"], "beta": 0.1}),
    ("kto", {"beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.0}),
    ("orpo", {"beta": 0.1}),
    ("simpo", {"loss_type": "simpo", "cpo_alpha": 0.0, "simpo_gamma": 0.5, "beta": 2.0}),
]


def test_every_issue_algorithm_exists() -> None:
    wanted = {
        "grpo", "dr_grpo", "dapo", "gspo", "sapo", "rloo", "remax", "reinforce_pp", "ppo",
        "dpo", "kto", "orpo", "simpo",
        # issue 19: the seeds' remaining algorithms
        "gtpo", "trpo", "plackett_luce", "star", "rft",
    }  # fmt: skip
    assert set(ALGORITHMS) == wanted


@pytest.mark.parametrize(("name", "expected"), PAPER_SETTINGS)
def test_online_paper_settings_reach_trl(name, expected, tmp_path) -> None:
    algo = get_algorithm(name, output_dir=str(tmp_path))
    args = algo.args_class()(**algo.trl_kwargs())
    for key, value in expected.items():
        assert getattr(args, key) == value, key


@pytest.mark.parametrize(("name", "expected"), PREF_SETTINGS)
def test_preference_paper_settings_reach_trl(name, expected, tmp_path) -> None:
    algo = get_algorithm(name, output_dir=str(tmp_path))
    args = algo.load_class(algo.config_path)(**algo.trl_kwargs())
    for key, value in expected.items():
        assert getattr(args, key) == value, key


def test_ipo_is_a_dpo_loss_type(tmp_path) -> None:
    algo = get_algorithm("dpo", output_dir=str(tmp_path), loss_type="ipo", beta=0.5)
    args = algo.load_class(algo.config_path)(**algo.trl_kwargs())
    assert args.loss_type == ["ipo"] and args.beta == 0.5


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_config_typos_name_the_key(name) -> None:
    with pytest.raises(ValidationError, match="learnin_rate"):
        get_algorithm(name, learnin_rate=1e-3)


def test_trl_escape_hatch_and_user_overrides(tmp_path) -> None:
    algo = get_algorithm(
        "grpo", output_dir=str(tmp_path), beta=0.0, trl={"top_entropy_quantile": 0.5}
    )
    args = algo.args_class()(**algo.trl_kwargs())
    assert args.beta == 0.0 and args.top_entropy_quantile == 0.5
    with pytest.raises(TypeError):  # TRL itself rejects an unknown field
        get_algorithm("grpo", trl={"no_such_field": 1}).args_class()(
            **get_algorithm("grpo", trl={"no_such_field": 1}).trl_kwargs()
        )


BUILT = [
    ("grpo", "GRPOTrainer"),
    ("dapo", "DAPOTrainer"),
    ("rloo", "RLOOTrainer"),
    ("remax", "ReMaxTrainer"),
    ("reinforce_pp", "ReinforcePPTrainer"),
    ("ppo", "PPOTrainer"),
]


@pytest.mark.parametrize(("name", "cls"), BUILT)
def test_build_makes_the_trainer(name, cls, tiny, toy_data, tmp_path, online_settings) -> None:
    model, tok = tiny
    trainer = get_algorithm(name, online_settings()).build(model, tok, toy_data, "char_fraction")
    assert type(trainer).__name__ == cls
    assert trainer.reward_func_names[0] == "pipeline"
    if trainer.beta != 0.0:  # the in-memory model was saved so TRL can reload the reference
        ref = Path(model.config._name_or_path)
        assert ref == tmp_path / "out" / "reference" and (ref / "config.json").is_file()


def test_dapo_overlong_buffer_adds_the_soft_penalty(tiny, toy_data, online_settings) -> None:
    model, tok = tiny
    trainer = get_algorithm("dapo", online_settings(overlong_buffer=4)).build(
        model, tok, toy_data, "char_fraction"
    )
    assert trainer.reward_func_names[-1] == "overlong_penalty"
    assert trainer.reward_weights.tolist()[-1] == 1.0


def test_ppo_critic_trains_and_is_checkpointed(
    tiny, toy_data, tmp_path, online_settings, logged
) -> None:
    import torch

    model, tok = tiny
    settings = online_settings(max_steps=2, num_iterations=1, save_strategy="steps", save_steps=2)
    trainer = get_algorithm("ppo", settings).build(model, tok, toy_data, "char_fraction")
    before = [p.detach().clone() for p in trainer.value_model.parameters()]
    trainer.train()
    after = list(trainer.value_model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
    assert (tmp_path / "out" / "checkpoint-2" / "value_model.pt").is_file()
    assert logged(trainer, "value_loss")


def test_missing_experimental_trainer_says_what_to_do(monkeypatch, tmp_path) -> None:
    algo = get_algorithm("orpo", output_dir=str(tmp_path))
    monkeypatch.setattr(type(algo), "trainer_path", "trl.experimental.gone:ORPOTrainer")
    with pytest.raises(TrainerUnavailable, match=r"tested with TRL 1\.16"):
        algo.train("tiny", dataset=["a"], pipeline="char_fraction")


def test_package_exports() -> None:
    assert assay_trl.get_algorithm("grpo").config.beta == 0.04
    with pytest.raises(KeyError, match="known"):
        assay_trl.get_algorithm("nope")


CHAT = [{"prompt": [{"role": "user", "content": p}]} for p in ["abc", "bcd", "cde", "def"] * 4]


@pytest.mark.parametrize("name", ["grpo", "remax", "reinforce_pp"])
def test_chat_datasets_train_and_score_the_assistant_message(name, online_settings, logged):
    trainer = get_algorithm(
        name, online_settings(max_steps=2, per_device_train_batch_size=8)
    ).train("tiny:abcdefgh", dataset=CHAT, pipeline="char_fraction")
    completion = next(iter(trainer._logs["completion"]))
    assert completion[0]["role"] == "assistant"
    rewards = logged(trainer, "reward")
    assert rewards and all(0.0 <= r <= 1.0 for r in rewards)


def test_chat_dataset_for_preference_pairs(tmp_path):
    trainer = get_algorithm(
        "dpo",
        output_dir=str(tmp_path),
        k=4,
        max_new_tokens=6,
        max_steps=1,
        save_strategy="no",
        trl={"disable_tqdm": True},
    ).train("tiny:abcdefgh", dataset=CHAT, pipeline="char_fraction")
    assert trainer.assay_history[0]["pairs"] > 0
    row = trainer.train_dataset[0]
    assert row["chosen"][-1]["role"] == "assistant"
