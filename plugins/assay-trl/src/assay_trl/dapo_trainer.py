"""DAPO's dynamic sampling on top of TRL's GRPOTrainer (TRL has clip-higher, token-level loss and
overlong filtering, not this).

A group whose completions all got the same reward has zero advantage and teaches nothing, but it
still dilutes the batch. Dynamic sampling drops such groups and draws more prompts until the batch
is full again (Yu et al., 2025, "DAPO", eq. 11: ``0 < |{o_i : correct}| < G``). After
``max_num_gen_batches`` draws the batch is topped up with dropped groups (their advantage is 0, so
they add no policy gradient) rather than stall training. Logged per step: ``dapo/drop_rate``
(dropped / drawn groups) and ``dapo/gen_batches`` (draws per step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from trl import GRPOConfig

from .advantages import zero_std_groups
from .batching import concat_rows, count_loss_tokens, num_rows, select_rows
from .grpo_base import ScoredGRPOTrainer


@dataclass
class DAPOConfig(GRPOConfig):
    """GRPOConfig plus DAPO's dynamic sampling switches."""

    dynamic_sampling: bool = field(default=True, metadata={"help": "Drop zero-variance groups."})
    max_num_gen_batches: int = field(
        default=8, metadata={"help": "Most generation batches drawn per step (1 = no resampling)."}
    )


class DAPOTrainer(ScoredGRPOTrainer):
    """GRPOTrainer with DAPO dynamic sampling; configure with `DAPOConfig`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._extra_batches: Any = None

    def _next_generation_batch(self) -> list[dict[str, Any]]:
        """Another generation batch from a private pass over the training data."""
        if self._extra_batches is None:
            self._extra_batches = iter(self.get_train_dataloader())
        try:
            return next(self._extra_batches)
        except StopIteration:
            self._extra_batches = iter(self.get_train_dataloader())
            return next(self._extra_batches)

    def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
        args = self.args
        if not self.model.training or not getattr(args, "dynamic_sampling", False):
            return super()._generate_and_score_completions(inputs)
        g = self.num_generations
        needed = len(inputs)
        kept: list[dict[str, Any]] = []
        spare: list[dict[str, Any]] = []
        have = drawn = dropped = draws = 0
        batch = inputs
        while True:
            out = super()._generate_and_score_completions(batch)
            draws += 1
            n_local = num_rows(out)
            rewards = self.combined_rewards()
            flat = zero_std_groups(rewards, g)  # per gathered group
            row_zero = flat.repeat_interleave(g)[self.local_slice(n_local)].to(
                out["completion_ids"].device
            )
            drawn += flat.numel()
            dropped += int(flat.sum())
            keep_idx = (~row_zero).nonzero(as_tuple=True)[0]
            drop_idx = row_zero.nonzero(as_tuple=True)[0]
            if keep_idx.numel():
                kept.append(select_rows(out, keep_idx))
                have += keep_idx.numel()
            if drop_idx.numel() and sum(num_rows(s) for s in spare) < needed:
                spare.append(select_rows(out, drop_idx))
            if have >= needed or draws >= args.max_num_gen_batches:
                break
            batch = self._next_generation_batch()
        if have < needed:  # budget spent: top up with zero-advantage groups
            kept.extend(spare)
        merged = concat_rows(kept, self._tokenizer.pad_token_id)
        merged = select_rows(merged, torch.arange(needed))
        merged["num_items_in_batch"] = self.accelerator.gather(count_loss_tokens(merged)).sum()
        self.metric("dapo/drop_rate", dropped / max(drawn, 1))
        self.metric("dapo/gen_batches", draws)
        self.metric("dapo/filled_with_zero_std", float(have < needed))
        return merged
