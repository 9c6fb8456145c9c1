"""The Plackett-Luce loss with DPO's implicit reward, and a ``transformers.Trainer`` that trains it.

With the implicit reward ``s_i = beta * (log pi(y_i|x) - log pi_ref(y_i|x))`` (token sums over
the completion) and a ranking ``y_1 > y_2 > ... > y_K`` (seed 003, "multi-answer preference"):

    loss = - sum_k log( exp(s_k) / sum_{j >= k} exp(s_j) )

Ties (same tier) do not compete: the denominator of ``y_k`` holds ``y_k`` and the completions of
strictly worse tiers, so a tier's members are each preferred to everything below them and to
nothing beside them. For K = 2 the loss is ``-log sigmoid(s_1 - s_2)``, DPO's sigmoid loss.

Tokenisation follows TRL's DPOTrainer (text: prompt + completion + EOS, completion = what follows
the common prefix with the prompt's ids; chat: the chat template), so k = 2 matches DPO exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import Trainer


def plackett_luce_loss(
    scores: torch.Tensor, tiers: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """Mean over groups of the Plackett-Luce negative log-likelihood; shapes (G, K).

    ``tiers``: 0 for the best; ``valid``: False for padding slots of groups shorter than K.
    """
    k = scores.size(1)
    eye = torch.eye(k, dtype=torch.bool, device=scores.device)
    worse = tiers.unsqueeze(1) > tiers.unsqueeze(2)  # [g, i, j]: j strictly worse than i
    members = (worse | eye) & valid.unsqueeze(1)
    expanded = scores.unsqueeze(1).expand(-1, k, -1)
    denominators = torch.logsumexp(expanded.masked_fill(~members, float("-inf")), dim=-1)  # [g, i]
    terms = (denominators - scores) * valid
    return terms.sum(dim=1).mean()


def tokenize_completion(
    tokenizer: Any, prompt: Any, completion: Any
) -> tuple[list[int], list[int]]:
    """``(prompt_ids, completion_ids)`` as TRL's DPOTrainer builds them."""
    if isinstance(prompt, list):
        comp = (
            completion
            if isinstance(completion, list)
            else [{"role": "assistant", "content": completion}]
        )
        prompt_ids = tokenizer.apply_chat_template(
            prompt, tokenize=True, add_generation_prompt=True, return_dict=True
        )["input_ids"]
        full = tokenizer.apply_chat_template(prompt + comp, tokenize=True, return_dict=True)[
            "input_ids"
        ]
    else:
        text = completion if isinstance(completion, str) else str(completion)
        eos = tokenizer.eos_token or ""
        if not text.endswith(eos):
            text += eos
        prompt_ids = tokenizer(text=prompt)["input_ids"]
        full = tokenizer(text=prompt + text)["input_ids"]
    n = 0
    for a, b in zip(prompt_ids, full):
        if a != b:
            break
        n += 1
    return list(prompt_ids[:n]), list(full[n:])


def _collate_sequences(
    prompts: Sequence[list[int]],
    completions: Sequence[list[int]],
    pad_id: int,
    max_length: int | None,
) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids``, ``attention_mask`` and ``completion_mask`` (keep-start cut)."""
    seqs, cmask = [], []
    for p, c in zip(prompts, completions, strict=True):
        ids, m = p + c, [0] * len(p) + [1] * len(c)
        if max_length is not None:
            ids, m = ids[:max_length], m[:max_length]
        seqs.append(ids)
        cmask.append(m)
    width = max(len(s) for s in seqs)
    input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(seqs), width), dtype=torch.long)
    completion = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, (s, m) in enumerate(zip(seqs, cmask, strict=True)):
        input_ids[i, : len(s)] = torch.tensor(s)
        attention[i, : len(s)] = 1
        completion[i, : len(m)] = torch.tensor(m)
    return {"input_ids": input_ids, "attention_mask": attention, "completion_mask": completion}


def sequence_logps(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum of the completion tokens' log-probs per sequence."""
    from trl.trainer.utils import selective_log_softmax

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    targets = batch["input_ids"][:, 1:]
    logps = selective_log_softmax(logits[:, :-1].float(), targets)
    return (logps * batch["completion_mask"][:, 1:]).sum(dim=1)


class PlackettLuceCollator:
    """Groups of ``{prompt_ids, completion_ids: [[...] * k], tiers, ref_logps}`` -> one batch of
    every completion sequence plus ``(G, K)`` tiers, ref log-probs and validity."""

    def __init__(self, pad_id: int, max_length: int | None) -> None:
        self.pad_id = pad_id
        self.max_length = max_length

    def __call__(self, groups: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        k = max(len(g["completion_ids"]) for g in groups)
        prompts = [g["prompt_ids"] for g in groups for _ in g["completion_ids"]]
        comps = [c for g in groups for c in g["completion_ids"]]
        batch = _collate_sequences(prompts, comps, self.pad_id, self.max_length)
        tiers = torch.zeros((len(groups), k), dtype=torch.long)
        ref = torch.zeros((len(groups), k))
        valid = torch.zeros((len(groups), k), dtype=torch.bool)
        slots: list[int] = []
        for gi, g in enumerate(groups):
            n = len(g["completion_ids"])
            tiers[gi, :n] = torch.tensor(g["tiers"])
            ref[gi, :n] = torch.tensor(g.get("ref_logps", [0.0] * n), dtype=torch.float)
            valid[gi, :n] = True
            slots.extend(gi * k + j for j in range(n))
        batch.update(tiers=tiers, ref_logps=ref, valid=valid, slots=torch.tensor(slots))
        return batch


class PlackettLuceTrainer(Trainer):
    """``transformers.Trainer`` on ranked groups with the Plackett-Luce / DPO loss (``beta``).

    The reference log-probs travel with the data (``ref_logps``; see `add_reference_logps`), so
    no reference model is kept in memory.
    """

    def __init__(self, *args: Any, beta: float = 0.1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.beta = beta

    def _group_scores(self, model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        logps = sequence_logps(model, inputs)
        g, k = inputs["valid"].shape
        flat = torch.zeros(g * k, dtype=logps.dtype, device=logps.device)
        flat = flat.index_put((inputs["slots"],), logps)
        return self.beta * (flat.view(g, k) - inputs["ref_logps"].to(logps.dtype))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # type: ignore[no-untyped-def]
        scores = self._group_scores(model, inputs)
        loss = plackett_luce_loss(scores, inputs["tiers"], inputs["valid"])
        return (loss, scores) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):  # type: ignore[no-untyped-def]
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None


@torch.no_grad()
def add_reference_logps(
    model: Any, groups: list[dict[str, Any]], collator: PlackettLuceCollator, batch_size: int = 8
) -> None:
    """Store each completion's ``log pi_ref`` (``model`` is the reference) in its group."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        for start in range(0, len(groups), batch_size):
            chunk = groups[start : start + batch_size]
            batch = collator(chunk)
            tensors = {
                k: batch[k].to(device) for k in ("input_ids", "attention_mask", "completion_mask")
            }
            logps = sequence_logps(model, tensors).float().cpu().tolist()
            i = 0
            for g in chunk:
                n = len(g["completion_ids"])
                g["ref_logps"] = logps[i : i + n]
                i += n
    finally:
        model.train(was_training)
