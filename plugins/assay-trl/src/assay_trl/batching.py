"""Select and concatenate rows of the batch dicts GRPOTrainer passes between generation and loss.

Tensors of one batch are padded to that batch's widest row, so two batches differ in width:
prompt tensors are left-padded, completion tensors right-padded (as TRL pads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

LEFT_PADDED = frozenset({"prompt_ids", "prompt_mask"})
ROW_COUNT_KEYS = ("prompt_ids", "completion_ids")


def num_rows(batch: dict[str, Any]) -> int:
    return int(batch["completion_ids"].size(0))


def select_rows(batch: dict[str, Any], index: torch.Tensor) -> dict[str, Any]:
    """The rows ``index`` of every per-row entry; scalars and other entries are kept as they are."""
    import torch

    n = num_rows(batch)
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.dim() >= 1 and value.size(0) == n:
            out[key] = value[index.to(value.device)]
        elif isinstance(value, list) and len(value) == n:
            out[key] = [value[i] for i in index.tolist()]
        else:
            out[key] = value
    return out


def _pad_value(key: str, pad_token_id: int) -> float:
    if key in ("prompt_ids", "completion_ids"):
        return pad_token_id
    if key == "tool_mask":
        return 1
    return 0


def concat_rows(batches: Sequence[dict[str, Any]], pad_token_id: int) -> dict[str, Any]:
    """Stack per-row entries of several batches, re-padding 2-D tensors to a common width."""
    import torch

    if len(batches) == 1:
        return dict(batches[0])
    first = batches[0]
    out: dict[str, Any] = {}
    for key, value in first.items():
        parts = [b[key] for b in batches]
        if isinstance(value, torch.Tensor) and value.dim() >= 1:
            if value.dim() >= 2:
                width = max(p.size(1) for p in parts)
                fill = _pad_value(key, pad_token_id)
                padded = []
                for p in parts:
                    extra = width - p.size(1)
                    if extra:
                        pad = p.new_full((p.size(0), extra, *p.shape[2:]), fill)
                        p = torch.cat([pad, p] if key in LEFT_PADDED else [p, pad], dim=1)
                    padded.append(p)
                parts = padded
            out[key] = torch.cat(parts, dim=0)
        elif isinstance(value, list):
            out[key] = [x for p in parts for x in p]
        else:
            out[key] = value
    return out


def count_loss_tokens(batch: dict[str, Any]) -> torch.Tensor:
    """``num_items_in_batch`` as GRPOTrainer computes it: completion tokens under the loss mask."""
    mask = batch["completion_mask"]
    if "tool_mask" in batch:
        mask = mask * batch["tool_mask"]
    return mask.sum()
