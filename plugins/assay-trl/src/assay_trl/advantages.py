"""Advantage estimators the TRL trainers lack, as pure tensor functions (B rows, T tokens).

- `kl_token_rewards`: per-token rewards with the KL penalty folded in, the sequence score added at
  the last valid token: ``r_t = -beta * (log pi(y_t) - log pi_ref(y_t)) + [t = last] * R``
  (REINFORCE++ and PPO put the KL in the reward, not in the loss).
- `discounted_returns`: ``G_t = r_t + gamma * G_{t+1}`` over valid tokens (REINFORCE++).
- `gae`: generalised advantage estimation, ``delta_t = r_t + gamma V_{t+1} - V_t``,
  ``A_t = delta_t + gamma lambda A_{t+1}``, returns ``A_t + V_t`` (PPO).
- `whiten`: masked normalisation over the whole batch, ``(x - mean) / (std + eps)`` (REINFORCE++'s
  batch-normalised advantages; PPO's advantage whitening).
- `zero_std_groups`: groups whose rewards all agree, which carry no signal (DAPO dynamic sampling).
- `group_mean_baseline`: ``R - mean(R of the group)`` (REINFORCE++-baseline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def last_token_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of the last valid token of each row (0 for a row without any)."""
    import torch

    positions = torch.arange(mask.size(1), device=mask.device).expand_as(mask)
    return (positions * mask.long()).amax(dim=1)


def kl_token_rewards(
    scores: torch.Tensor,
    logps: torch.Tensor,
    ref_logps: torch.Tensor | None,
    mask: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """Per-token rewards: ``-beta * (logps - ref_logps)`` on valid tokens, plus ``scores`` at the
    last valid token of each row. Rows without valid tokens get zeros."""
    import torch

    maskf = mask.to(logps.dtype)
    rewards = torch.zeros_like(logps)
    if ref_logps is not None and beta != 0.0:
        rewards = -beta * (logps - ref_logps) * maskf
    has_tokens = maskf.sum(dim=1) > 0
    last = last_token_index(mask)
    bonus = torch.where(
        has_tokens, scores.to(logps.dtype), torch.zeros_like(scores, dtype=logps.dtype)
    )
    rewards[torch.arange(rewards.size(0), device=rewards.device), last] += bonus
    return rewards


def discounted_returns(
    rewards: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0
) -> torch.Tensor:
    """Reverse discounted sums over valid tokens; zero on padding."""
    import torch

    maskf = mask.to(rewards.dtype)
    out = torch.zeros_like(rewards)
    running = torch.zeros(rewards.size(0), dtype=rewards.dtype, device=rewards.device)
    for t in range(rewards.size(1) - 1, -1, -1):
        running = rewards[:, t] + gamma * running * maskf[:, t]
        running = running * maskf[:, t]
        out[:, t] = running
    return out


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(advantages, returns)`` by GAE; the state after the last valid token is terminal (V=0)."""
    import torch

    maskf = mask.to(rewards.dtype)
    values = values * maskf
    advantages = torch.zeros_like(rewards)
    last_gae = torch.zeros(rewards.size(0), dtype=rewards.dtype, device=rewards.device)
    next_value = torch.zeros_like(last_gae)
    for t in range(rewards.size(1) - 1, -1, -1):
        valid = maskf[:, t]
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last_gae = (delta + gamma * lam * last_gae) * valid
        advantages[:, t] = last_gae
        # Padding keeps the running values of the token after it (zero past the end).
        next_value = torch.where(valid > 0, values[:, t], next_value)
    returns = (advantages + values) * maskf
    return advantages, returns


def whiten(
    x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """Normalise ``x`` with the mean and (unbiased) std of its valid entries; padding stays 0."""
    import torch

    maskf = mask.to(x.dtype)
    n = maskf.sum()
    if n < 2:
        return x * maskf
    mean = (x * maskf).sum() / n
    var = (((x - mean) ** 2) * maskf).sum() / (n - 1)
    out = (x - mean) * torch.rsqrt(var + eps) if shift_mean else x * torch.rsqrt(var + eps)
    return out * maskf


def zero_std_groups(rewards: torch.Tensor, group_size: int, atol: float = 1e-6) -> torch.Tensor:
    """True for each group (consecutive ``group_size`` rows) whose rewards all agree.

    NaN rewards (no reward applied) are ignored; a group with fewer than two scored rows has no
    spread and counts as zero-std.
    """
    import torch

    groups = rewards.view(-1, group_size)
    valid = ~torch.isnan(groups)
    big, small = torch.finfo(groups.dtype).max, torch.finfo(groups.dtype).min
    hi = torch.where(valid, groups, torch.full_like(groups, small)).amax(dim=1)
    lo = torch.where(valid, groups, torch.full_like(groups, big)).amin(dim=1)
    few = valid.sum(dim=1) < 2
    return few | ((hi - lo).abs() <= atol)


def group_mean_baseline(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """``R - mean of its group`` (NaN-aware; NaN rows stay NaN)."""
    import torch

    groups = rewards.view(-1, group_size)
    mean = torch.nanmean(groups, dim=1, keepdim=True)
    return (groups - mean).view(-1)
