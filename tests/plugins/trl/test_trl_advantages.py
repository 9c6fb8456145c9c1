"""Advantage estimators, against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from assay_trl.advantages import (
    discounted_returns,
    gae,
    group_mean_baseline,
    kl_token_rewards,
    last_token_index,
    whiten,
    zero_std_groups,
)


def T(data):
    """``torch.tensor``; torch is imported on first use, not when pytest collects this file."""
    import torch

    return torch.tensor(data)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        ([[1, 1, 1, 0]], [2]),
        ([[1, 0, 0, 0]], [0]),
        ([[1, 1, 1, 1]], [3]),
        ([[0, 0, 0, 0]], [0]),
    ],
)
def test_last_token_index(mask, expected) -> None:
    assert last_token_index(T(mask)).tolist() == expected


def test_kl_token_rewards_puts_score_on_last_token_and_kl_everywhere() -> None:
    logps = T([[-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0]])
    ref = T([[-1.5, -2.0, -2.0], [-1.0, -1.0, -1.0]])
    mask = T([[1, 1, 0], [1, 1, 1]])
    r = kl_token_rewards(T([1.0, 2.0]), logps, ref, mask, beta=0.1)
    # row 0: -0.1*(0.5), -0.1*0 + 1.0 (last valid), padding 0
    assert r[0].tolist() == pytest.approx([-0.05, 1.0, 0.0])
    assert r[1].tolist() == pytest.approx([0.0, 0.0, 2.0])


def test_kl_token_rewards_without_reference_and_empty_row() -> None:
    import torch

    r = kl_token_rewards(T([3.0, 5.0]), torch.zeros(2, 2), None, T([[1, 1], [0, 0]]), beta=0.5)
    assert r.tolist() == [[0.0, 3.0], [0.0, 0.0]]


@pytest.mark.parametrize(
    ("rewards", "mask", "gamma", "expected"),
    [
        ([[0.0, 0.0, 1.0]], [[1, 1, 1]], 1.0, [[1.0, 1.0, 1.0]]),
        ([[0.0, 0.0, 1.0]], [[1, 1, 1]], 0.5, [[0.25, 0.5, 1.0]]),
        ([[-0.1, -0.1, 2.0, 9.0]], [[1, 1, 1, 0]], 1.0, [[1.8, 1.9, 2.0, 0.0]]),
        ([[1.0, 1.0]], [[0, 0]], 1.0, [[0.0, 0.0]]),
    ],
)
def test_discounted_returns(rewards, mask, gamma, expected) -> None:
    out = discounted_returns(T(rewards), T(mask), gamma)
    assert out.tolist() == [pytest.approx(row) for row in expected]


def _gae_by_hand(r, v, gamma, lam):
    """Textbook GAE for one unpadded trajectory, terminal after the last step."""
    n = len(r)
    adv = [0.0] * n
    last = 0.0
    for t in reversed(range(n)):
        nxt = v[t + 1] if t + 1 < n else 0.0
        delta = r[t] + gamma * nxt - v[t]
        last = delta + gamma * lam * last
        adv[t] = last
    return adv, [a + b for a, b in zip(adv, v, strict=True)]


@pytest.mark.parametrize(("gamma", "lam"), [(1.0, 1.0), (1.0, 0.95), (0.9, 0.8), (1.0, 0.0)])
def test_gae_matches_textbook_and_ignores_padding(gamma, lam) -> None:
    r = [0.0, -0.1, 1.0]
    v = [0.3, 0.5, 0.7]
    exp_adv, exp_ret = _gae_by_hand(r, v, gamma, lam)
    # the same trajectory followed by padding that holds garbage
    rewards = T([[*r, 5.0]])
    values = T([[*v, 9.0]])
    mask = T([[1, 1, 1, 0]])
    adv, ret = gae(rewards, values, mask, gamma, lam)
    assert adv[0, :3].tolist() == pytest.approx(exp_adv)
    assert ret[0, :3].tolist() == pytest.approx(exp_ret)
    assert adv[0, 3].item() == 0.0 and ret[0, 3].item() == 0.0


def test_gae_with_lambda_one_and_zero_values_is_the_return() -> None:
    import torch

    rewards = T([[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    mask = T([[1, 1, 1], [1, 1, 0]])
    adv, _ = gae(rewards, torch.zeros(2, 3), mask, 1.0, 1.0)
    assert torch.allclose(adv, discounted_returns(rewards, mask, 1.0))


def test_whiten_normalises_valid_entries_only() -> None:
    x = T([[1.0, 2.0, 100.0], [3.0, 4.0, -50.0]])
    mask = T([[1, 1, 0], [1, 1, 0]])
    out = whiten(x, mask)
    valid = out[mask.bool()]
    assert valid.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert valid.std().item() == pytest.approx(1.0, abs=1e-4)
    assert out[:, 2].tolist() == [0.0, 0.0]


def test_whiten_single_entry_is_left_alone() -> None:
    assert whiten(T([[2.0, 7.0]]), T([[1, 0]])).tolist() == [[2.0, 0.0]]


@pytest.mark.parametrize(
    ("rewards", "g", "expected"),
    [
        ([1.0, 1.0, 0.0, 1.0], 2, [True, False]),
        ([0.5, 0.5, 0.5, 0.5], 4, [True]),
        ([0.0, 1.0, 0.0, 0.0], 4, [False]),
        ([math.nan, 1.0, math.nan, math.nan], 2, [True, True]),  # fewer than 2 scored
        ([math.nan, 1.0, 1.0, 2.0], 4, [False]),
        ([1.0, 1.0 + 1e-9, 3.0, 3.0], 2, [True, True]),
    ],
)
def test_zero_std_groups(rewards, g, expected) -> None:
    assert zero_std_groups(T(rewards), g).tolist() == expected


def test_group_mean_baseline() -> None:
    out = group_mean_baseline(T([1.0, 3.0, 0.0, math.nan]), 2)
    assert out[:3].tolist() == pytest.approx([-1.0, 1.0, 0.0])
    assert math.isnan(out[3].item())
