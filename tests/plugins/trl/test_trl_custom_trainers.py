"""What TRL lacks, built on its GRPOTrainer: DAPO dynamic sampling, REINFORCE++, ReMax, PPO.

Each test runs the trainer's real generation + scoring step on the tiny model and checks the
batch it hands to the loss against the algorithm's definition.
"""

from __future__ import annotations

import pytest

import assay
from assay_trl import get_algorithm
from assay_trl.toy import toy_prompts

G = 4


@pytest.fixture
def half_constant(assay_registry):
    """A reward that is constant (zero variance) for prompts starting with a-d, else the 'a' share."""

    @assay.reward(name="trl_test_half_constant")
    def half_constant(sample):
        if sample.prompt_text[0] in "abcd":
            return 0.5
        text = sample.completion_text
        return text.count("a") / len(text) if text else 0.0

    return "trl_test_half_constant"


def _first_batch(trainer):
    trainer.model.train()
    return next(iter(trainer.get_train_dataloader()))


def test_dapo_dynamic_sampling_keeps_only_informative_groups(
    half_constant, tiny, toy_data, online_settings
) -> None:
    model, tok = tiny
    settings = online_settings(num_generations=G, per_device_train_batch_size=32)
    trainer = get_algorithm("dapo", settings).build(model, tok, toy_data, half_constant)
    batch = _first_batch(trainer)
    out = trainer._generate_and_score_completions(batch)
    assert out["completion_ids"].size(0) == len(batch)  # the batch is full again
    spread = out["advantages"].view(-1, G).std(dim=1)
    assert bool((spread > 0).all()), "a zero-variance group survived"
    metrics = trainer._metrics["train"]
    assert metrics["dapo/drop_rate"][-1] >= 0.25  # about half the prompts are constant
    assert metrics["dapo/gen_batches"][-1] >= 2
    assert metrics["dapo/filled_with_zero_std"][-1] == 0.0
    assert out["num_items_in_batch"].item() == out["completion_mask"].sum().item()


def test_dapo_tops_up_with_dropped_groups_when_the_budget_is_spent(
    assay_registry, tiny, toy_data, online_settings
) -> None:
    import torch

    model, tok = tiny
    trainer = get_algorithm(
        "dapo", online_settings(num_generations=G, max_num_gen_batches=2)
    ).build(model, tok, toy_data, {"rewards": [{"use": "constant", "with": {"value": 1.0}}]})
    batch = _first_batch(trainer)
    out = trainer._generate_and_score_completions(batch)
    assert out["completion_ids"].size(0) == len(batch)
    assert torch.count_nonzero(out["advantages"]) == 0
    metrics = trainer._metrics["train"]
    assert metrics["dapo/drop_rate"][-1] == 1.0
    assert metrics["dapo/gen_batches"][-1] == 2
    assert metrics["dapo/filled_with_zero_std"][-1] == 1.0


def test_dapo_without_dynamic_sampling_is_plain_grpo_batching(
    half_constant, tiny, toy_data, online_settings
) -> None:
    model, tok = tiny
    trainer = get_algorithm(
        "dapo", online_settings(num_generations=G, dynamic_sampling=False)
    ).build(model, tok, toy_data, half_constant)
    out = trainer._generate_and_score_completions(_first_batch(trainer))
    assert (out["advantages"].view(-1, G).abs().sum(dim=1) == 0).any()
    assert "dapo/drop_rate" not in trainer._metrics["train"]


def _rewards_of_last_batch(trainer, n):
    import torch

    return torch.tensor(list(trainer._logs["rewards"]["pipeline"])[-n:])


def test_reinforce_pp_advantages_are_batch_normalised_returns(
    tiny, toy_data, online_settings
) -> None:
    import torch

    model, tok = tiny
    trainer = get_algorithm("reinforce_pp", online_settings(num_generations=G)).build(
        model, tok, toy_data, "char_fraction"
    )
    out = trainer._generate_and_score_completions(_first_batch(trainer))
    adv, mask = out["advantages"], out["completion_mask"].bool()
    assert adv.shape == out["completion_ids"].shape  # token-level
    assert adv[mask].mean().item() == pytest.approx(0.0, abs=1e-5)
    assert adv[mask].std().item() == pytest.approx(1.0, abs=1e-3)
    assert float(adv[~mask].abs().sum()) == 0.0
    # At step 0 the policy is the reference: no KL, so the return is R at every token and the
    # advantage ranks rows exactly as their rewards do.
    rewards = _rewards_of_last_batch(trainer, adv.size(0))
    first_tok = adv[:, 0]
    order_r = torch.argsort(rewards, stable=True)
    assert torch.all(first_tok[order_r][1:] >= first_tok[order_r][:-1] - 1e-4)
    for row in range(adv.size(0)):
        vals = adv[row][mask[row]]
        assert torch.allclose(vals, vals[0].expand_as(vals), atol=1e-3)


def test_reinforce_pp_group_baseline_centres_each_group(tiny, toy_data, online_settings) -> None:
    import torch

    model, tok = tiny
    trainer = get_algorithm(
        "reinforce_pp", online_settings(num_generations=G, baseline="group", beta=0.0)
    ).build(model, tok, toy_data, "char_fraction")
    out = trainer._generate_and_score_completions(_first_batch(trainer))
    rewards = _rewards_of_last_batch(trainer, out["advantages"].size(0))
    centred = rewards.view(-1, G) - rewards.view(-1, G).mean(dim=1, keepdim=True)
    # with beta 0 the token advantage is the whitened centred reward
    first = out["advantages"][:, 0].view(-1, G).to(centred.device)  # on the GPU where one is
    zero = centred.abs().sum(dim=1) == 0
    assert torch.all(first[zero].abs() < 1e-5)
    assert torch.all(torch.sign(first[~zero]) == torch.sign(centred[~zero]))


def test_remax_baseline_is_the_greedy_reward(tiny, online_settings) -> None:
    model, tok = tiny
    prompts = toy_prompts(16, "abcdefgh")
    trainer = get_algorithm("remax", online_settings(num_generations=G)).build(
        model, tok, prompts, "char_fraction"
    )
    batch = _first_batch(trainer)
    out = trainer._generate_and_score_completions(batch)
    rewards = _rewards_of_last_batch(trainer, len(batch))
    # the greedy completion of each prompt, decoded and scored independently here
    for g in range(len(batch) // G):
        enc = tok(batch[g * G]["prompt"], return_tensors="pt")
        ids = model.generate(
            **enc, do_sample=False, max_new_tokens=8, pad_token_id=tok.pad_token_id
        )
        text = tok.decode(ids[0, enc["input_ids"].size(1) :], skip_special_tokens=True)
        greedy = text.count("a") / len(text) if text else 0.0
        expected = rewards[g * G : (g + 1) * G] - greedy
        assert out["advantages"][g * G : (g + 1) * G].tolist() == pytest.approx(
            expected.tolist(), abs=1e-5
        )


def test_ppo_gae_with_a_fresh_critic(tiny, toy_data, online_settings) -> None:
    model, tok = tiny
    lam = 0.9
    trainer = get_algorithm(
        "ppo", online_settings(num_generations=G, lam=lam, whiten_advantages=False, beta=0.0)
    ).build(model, tok, toy_data, "char_fraction")
    out = trainer._generate_and_score_completions(_first_batch(trainer))
    mask = out["completion_mask"]
    assert float(out["old_values"].abs().sum()) == 0.0  # zero-initialised value head
    rewards = _rewards_of_last_batch(trainer, mask.size(0))
    # V = 0 and no KL: A_t = lam^(T-1-t) * R, returns = A
    for row in range(mask.size(0)):
        n = int(mask[row].sum())
        expected = [lam ** (n - 1 - t) * rewards[row].item() for t in range(n)]
        assert out["advantages"][row, :n].tolist() == pytest.approx(expected, abs=1e-5)
        assert out["returns"][row, :n].tolist() == pytest.approx(expected, abs=1e-5)
