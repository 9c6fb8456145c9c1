"""Batched scoring with a sequence-classification reward model.

`RewardModelScorer` encodes samples (text or chat, see `assay_rm.encoding`), sorts them by
length so each batch pads little, runs the model under ``torch.inference_mode`` and returns the
scalar head output (``logits[:, 0]``) in input order. Why batched and sorted: one forward pass
over 16 similar-length rows costs little more than one row on a CPU or GPU, while padding a
short row to a long one wastes the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assay.models import Sample

from .encoding import EncodingError, encode_sample, length_batches, truncate_left
from .loading import load_model, load_tokenizer, pick_device, pick_dtype


@dataclass
class Encoded:
    """One sample's ids, or why it could not be encoded."""

    ids: list[int] | None
    truncated: bool = False
    error: str | None = None


def as_sample(x: Sample | dict[str, Any] | str) -> Sample:
    """Accept a Sample, a dict with Sample fields, or a bare completion text."""
    if isinstance(x, Sample):
        return x
    if isinstance(x, str):
        return Sample(completion=x)
    return Sample.model_validate(x)


class RewardModelScorer:
    """Score samples with a ``*ForSequenceClassification`` model whose head has one output.

    ``model`` / ``tokenizer``: objects or local paths (the tokenizer defaults to the model's
    directory). ``batch_size`` rows and at most ``max_tokens`` padded tokens per forward pass;
    ``max_length`` cuts long inputs from the left. ``chat``: None = chat template when the sample
    is chat messages; True/False force it.
    """

    auto_class = "SequenceClassification"

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        max_tokens: int | None = None,
        max_length: int | None = None,
        chat: bool | None = None,
        add_eos: bool = True,
    ) -> None:
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.model = load_model(model, self.auto_class, self.device, self.dtype)
        self.tokenizer = load_tokenizer(tokenizer, self.model, model)
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.max_length = max_length
        self.chat = chat
        self.add_eos = add_eos

    # -- encoding --------------------------------------------------------------------------
    def encode(self, samples: Sequence[Sample | dict[str, Any] | str]) -> list[Encoded]:
        out = []
        bos = getattr(self.tokenizer, "bos_token_id", None)
        for raw in samples:
            try:
                s = as_sample(raw)
                ids = encode_sample(self.tokenizer, s, chat=self.chat, add_eos=self.add_eos)
            except (EncodingError, ValueError, TypeError, KeyError) as exc:
                out.append(Encoded(None, error=f"{type(exc).__name__}: {exc}"))
                continue
            if not ids:
                out.append(Encoded(None, error="empty input"))
                continue
            cut = truncate_left(ids, self.max_length, bos)
            out.append(Encoded(cut, truncated=len(cut) < len(ids)))
        return out

    # -- forward ---------------------------------------------------------------------------
    def _pad(self, rows: list[list[int]]) -> dict[str, Any]:
        import torch

        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
        return {"input_ids": ids.to(self.device), "attention_mask": mask.to(self.device)}

    def forward(self, rows: list[list[int]]) -> list[float]:
        """Head outputs for already-encoded rows, batched by length, in input order."""
        import torch

        values: list[float] = [0.0] * len(rows)
        batches = length_batches([len(r) for r in rows], self.batch_size, self.max_tokens)
        with torch.inference_mode():
            for batch in batches:
                logits = self.model(**self._pad([rows[i] for i in batch])).logits
                flat = logits[:, 0].float().cpu().tolist()
                for i, v in zip(batch, flat, strict=True):
                    values[i] = v
        return values

    def score_ids(self, rows: Sequence[list[int]]) -> list[float]:
        return self.forward(list(rows))

    def score(self, samples: Sequence[Sample | dict[str, Any] | str]) -> list[float | None]:
        """Raw scores in input order; None where a sample could not be encoded."""
        enc = self.encode(samples)
        ok = [i for i, e in enumerate(enc) if e.ids is not None]
        vals = self.forward([enc[i].ids for i in ok])  # type: ignore[misc]
        out: list[float | None] = [None] * len(enc)
        for i, v in zip(ok, vals, strict=True):
            out[i] = v
        return out

    def score_texts(self, texts: Sequence[str]) -> list[float | None]:
        """Score bare texts (each taken as a completion with an empty prompt)."""
        return self.score([Sample(completion=t) for t in texts])
