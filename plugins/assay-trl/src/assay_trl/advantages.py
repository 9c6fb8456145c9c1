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
- `entropy_weighted_advantages`: GTPO / GRPO-S (Tan et al., 2025) token or sequence rewards
  shaped by the policy entropy, normalised over the group.
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


def entropy_weighted_advantages(
    rewards: torch.Tensor,
    entropies: torch.Tensor,
    mask: torch.Tensor,
    group_size: int,
    alpha1: float = 1.0,
    alpha2: float = 0.1,
    level: str = "token",
    eps: float = 1e-6,
) -> torch.Tensor:
    """GTPO's entropy-weighted advantages (Tan et al., 2025; seed 002, section 6.5), shape (B, T).

    In each group, O+ are the completions above the group's mean reward, O- those below. With
    ``d_t`` (``h_t``) the number of O+ (O-) completions that still have a token at position t:

        O+:  r_it = alpha1 R_i + alpha2 * d_t * H_it / sum_{k in O+} H_kt
        O-:  r_jt = alpha1 R_j - alpha2 * h_t * (1/H_jt) / sum_{k in O-} (1/H_kt)

    so a confident (low-entropy) token of a failure is punished most and an uncertain
    (high-entropy) token of a success rewarded most. ``level="sequence"`` (GRPO-S) uses each
    completion's mean entropy instead of ``H_it`` (``d``, ``h`` = set sizes). The shaped rewards
    are normalised by the mean and std over every valid token (sequence) of the group; groups
    without spread and rows with NaN reward get 0.
    """
    import torch

    b, t = entropies.shape
    g = group_size
    maskf = mask.to(entropies.dtype)
    r = rewards.to(entropies.dtype)
    scored = ~torch.isnan(r)
    r0 = torch.nan_to_num(r, nan=0.0).view(-1, g)
    sc = scored.view(-1, g).to(entropies.dtype)
    mean = (r0 * sc).sum(1, keepdim=True) / sc.sum(1, keepdim=True).clamp(min=1.0)
    pos = ((r0 > mean + eps) & (sc > 0)).to(entropies.dtype)  # (n, g)
    neg = ((r0 < mean - eps) & (sc > 0)).to(entropies.dtype)
    if level == "sequence":
        ent = (entropies * maskf).sum(1) / maskf.sum(1).clamp(min=1.0)
        h = ent.view(-1, g).clamp(min=eps)
        w_pos = pos * h
        w_neg = neg / h
        share_pos = pos.sum(1, keepdim=True) * w_pos / w_pos.sum(1, keepdim=True).clamp(min=eps)
        share_neg = neg.sum(1, keepdim=True) * w_neg / w_neg.sum(1, keepdim=True).clamp(min=eps)
        shaped = alpha1 * r0 + alpha2 * (share_pos - share_neg)
        valid = sc
        n = valid.sum(1, keepdim=True).clamp(min=1.0)
        mu = (shaped * valid).sum(1, keepdim=True) / n
        var = (((shaped - mu) ** 2) * valid).sum(1, keepdim=True) / (n - 1).clamp(min=1.0)
        adv = (shaped - mu) / (var.sqrt() + eps) * valid
        adv = torch.where(var > eps**2, adv, torch.zeros_like(adv))
        return adv.view(-1, 1).expand(b, t) * maskf
    h = entropies.view(-1, g, t).clamp(min=eps)
    m = maskf.view(-1, g, t) * sc.unsqueeze(-1)
    pos_t = pos.unsqueeze(-1) * m
    neg_t = neg.unsqueeze(-1) * m
    w_pos = pos_t * h
    w_neg = neg_t / h
    share_pos = pos_t.sum(1, keepdim=True) * w_pos / w_pos.sum(1, keepdim=True).clamp(min=eps)
    share_neg = neg_t.sum(1, keepdim=True) * w_neg / w_neg.sum(1, keepdim=True).clamp(min=eps)
    shaped = alpha1 * r0.unsqueeze(-1) + alpha2 * (share_pos - share_neg)
    n = m.sum((1, 2), keepdim=True).clamp(min=1.0)
    mu = (shaped * m).sum((1, 2), keepdim=True) / n
    var = (((shaped - mu) ** 2) * m).sum((1, 2), keepdim=True) / (n - 1).clamp(min=1.0)
    adv = (shaped - mu) / (var.sqrt() + eps) * m
    spread = (pos.sum(1) > 0) & (neg.sum(1) > 0)  # a group with no O+ or no O- teaches nothing
    adv = adv * spread.view(-1, 1, 1).to(adv.dtype)
    return adv.reshape(b, t)
