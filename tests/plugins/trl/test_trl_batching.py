"""Row selection and re-padding of GRPOTrainer batch dicts (DAPO dynamic sampling)."""

from __future__ import annotations

from assay_trl.batching import concat_rows, count_loss_tokens, select_rows

PAD = 0


def _batch(prompt_w: int, comp_w: int, n: int, start: int) -> dict:
    import torch

    return {
        "prompt_ids": torch.arange(start, start + n * prompt_w).view(n, prompt_w) + 10,
        "prompt_mask": torch.ones(n, prompt_w, dtype=torch.long),
        "completion_ids": torch.arange(start, start + n * comp_w).view(n, comp_w) + 100,
        "completion_mask": torch.ones(n, comp_w, dtype=torch.long),
        "advantages": torch.arange(n, dtype=torch.float) + start,
        "num_items_in_batch": torch.tensor(n * comp_w),
    }


def test_select_rows_keeps_scalars() -> None:
    import torch

    b = _batch(2, 3, 4, 0)
    out = select_rows(b, torch.tensor([3, 1]))
    assert out["advantages"].tolist() == [3.0, 1.0]
    assert out["completion_ids"].shape == (2, 3)
    assert out["num_items_in_batch"] is b["num_items_in_batch"]


def test_concat_rows_pads_prompts_left_and_completions_right() -> None:
    a = _batch(2, 3, 1, 0)
    b = _batch(3, 1, 1, 50)
    out = concat_rows([a, b], PAD)
    assert out["prompt_ids"].shape == (2, 3) and out["completion_ids"].shape == (2, 3)
    assert out["prompt_ids"][0].tolist() == [PAD, 10, 11]  # left-padded
    assert out["prompt_mask"][0].tolist() == [0, 1, 1]
    assert out["completion_ids"][1].tolist() == [150, PAD, PAD]  # right-padded
    assert out["completion_mask"][1].tolist() == [1, 0, 0]
    assert out["advantages"].tolist() == [0.0, 50.0]
    assert count_loss_tokens(out).item() == 4


def test_count_loss_tokens_honours_tool_mask() -> None:
    import torch

    b = _batch(1, 3, 2, 0)
    b["tool_mask"] = torch.tensor([[1, 0, 1], [0, 0, 1]])
    assert count_loss_tokens(b).item() == 3
