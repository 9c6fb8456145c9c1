"""Batched scoring with a sequence-classification reward model.

`RewardModelScorer` encodes samples (text or chat, see `assay_rm.encoding`), sorts them by
length so each batch pads little, runs the model under ``torch.inference_mode`` and returns the
scalar head output (``logits[:, 0]``) in input order. Why batched: a forward pass over many
rows pays the per-call overhead once (and fills a GPU); why sorted: padding a short row to a
long one wastes the difference. On a CPU only the overhead is saved (see docs/rm.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assay.models import Sample

from .encoding import encode_samples, length_batches, truncate_left
from .loading import load_model, load_tokenizer, pick_device, pick_dtype


@dataclass
class Encoded:
    """One sample's ids, or why it could not be encoded."""

    ids: list[int] | None
    truncated: bool = False
    error: str | None = None


# On a CPU a batch much larger than the caches is slower per token than a small one (measured
# by bench/rm_scoring.py: 64 rows of up to 1k tokens ran 3x slower than one row at a time);
# about a thousand padded tokens per forward pass keeps the activations in cache.
CPU_MAX_TOKENS = 1024


def is_causal_model(model: Any) -> bool:
    """True when every attention layer that declares ``is_causal`` is causal (decoder-only
    models: Llama, Qwen, Mistral, ...); False for encoders (BERT, DeBERTa) or when unsure."""
    flags = [
        m.is_causal for m in model.modules() if isinstance(getattr(m, "is_causal", None), bool)
    ]
    return bool(flags) and all(flags)


def as_sample(x: Sample | dict[str, Any] | str) -> Sample:
    """Accept a Sample, a dict with Sample fields, or a bare completion text."""
    if isinstance(x, Sample):
        return x
    if isinstance(x, str):
        return Sample(completion=x)
    if isinstance(x, dict) and (x.get("prompt", "") is None or x.get("completion", "") is None):
        x = {**x, "prompt": x.get("prompt") or "", "completion": x.get("completion") or ""}
    return Sample.model_validate(x)


class RewardModelScorer:
    """Score samples with a ``*ForSequenceClassification`` model whose head has one output.

    ``model`` / ``tokenizer``: objects or local paths (the tokenizer defaults to the model's
    directory). ``batch_size`` rows and at most ``max_tokens`` padded tokens per forward pass
    (default: `CPU_MAX_TOKENS` on a CPU, no limit on a GPU);
    ``max_length`` (default: the model's ``max_position_embeddings``) cuts long inputs from the
    left. ``chat``: None = chat template when the sample is chat messages; True/False force it.
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
        share_prefix: bool = False,
        min_prefix: int = 16,
    ) -> None:
        if min_prefix < 1:
            raise ValueError(f"min_prefix must be at least 1, got {min_prefix}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1 or None, got {max_tokens}")
        if max_length is not None and max_length < 2:
            raise ValueError(f"max_length must be at least 2 or None, got {max_length}")
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.model = load_model(model, self.auto_class, self.device, self.dtype)
        self.tokenizer = load_tokenizer(tokenizer, self.model, model)
        self.batch_size = batch_size
        if max_tokens is None:
            max_tokens = CPU_MAX_TOKENS if self.device.type == "cpu" else None
        self.max_tokens = max_tokens
        if max_length is None:  # beyond its positions a model's score means nothing; and a
            # hostile megabyte completion must not reach the forward pass whole
            max_length = getattr(self.model.config, "max_position_embeddings", None)
            tok_max = getattr(self.tokenizer, "model_max_length", None)
            if max_length is None and isinstance(tok_max, int) and 1 < tok_max < 10**8:
                max_length = tok_max  # no positions in the config: the tokenizer's limit
        self.max_length = max_length
        self.chat = chat
        self.add_eos = add_eos
        self.skip_mask = is_causal_model(self.model)
        # only a causal model's prefix states are independent of what follows
        self.share_prefix = share_prefix and self.skip_mask
        self.min_prefix = min_prefix

    # -- encoding --------------------------------------------------------------------------
    def encode(self, samples: Sequence[Sample | dict[str, Any] | str]) -> list[Encoded]:
        """Token ids per sample (one tokenizer call for all text samples), or why not."""
        out: list[Encoded] = [Encoded(None)] * len(samples)
        valid: list[Sample] = []
        where: list[int] = []
        for i, raw in enumerate(samples):
            try:
                valid.append(as_sample(raw))
                where.append(i)
            except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
                out[i] = Encoded(None, error=f"{type(exc).__name__}: {exc}")
        bos = getattr(self.tokenizer, "bos_token_id", None)
        if bos is None:  # encoders (BERT) start with CLS instead, and read their score there
            bos = getattr(self.tokenizer, "cls_token_id", None)
        encoded = encode_samples(self.tokenizer, valid, chat=self.chat, add_eos=self.add_eos)
        for i, ids in zip(where, encoded, strict=True):
            if isinstance(ids, Exception):
                out[i] = Encoded(None, error=f"{type(ids).__name__}: {ids}")
            elif not ids:
                out[i] = Encoded(None, error="empty input")
            else:
                cut = truncate_left(ids, self.max_length, bos)
                out[i] = Encoded(cut, truncated=len(cut) < len(ids))
        return out

    # -- forward ---------------------------------------------------------------------------
    @property
    def pad_id(self) -> Any:
        """The model's own pad id: a sequence classifier reads its score at the last token that
        is not ``config.pad_token_id``, so padding with another id would move where it reads."""
        pad = getattr(self.model.config, "pad_token_id", None)
        return self.tokenizer.pad_token_id if pad is None else pad

    def _pad(self, rows: list[list[int]]) -> dict[str, Any]:
        import torch

        width = max(len(r) for r in rows)
        pad = self.pad_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            attn[i, : len(r)] = 1
        return {"input_ids": ids.to(self.device), "attention_mask": attn.to(self.device)}

    def _inputs(self, rows: list[list[int]]) -> dict[str, Any]:
        """Right-padded model inputs; without the padding mask for a causal model, where a
        real token never attends to the pads on its right, so the fast causal kernel runs."""
        inputs = self._pad(rows)
        if self.skip_mask:
            del inputs["attention_mask"]
        return inputs

    def forward(self, rows: list[list[int]]) -> list[float]:
        """Head outputs for already-encoded rows, batched by length, in input order (rows that
        share a prompt run against one pass over it when ``share_prefix`` is on)."""
        import torch

        values: list[float] = [0.0] * len(rows)
        whole = list(range(len(rows)))
        with torch.inference_mode():
            if self.share_prefix and len(rows) > 1:
                from .prefix import prefix_groups

                groups, whole = prefix_groups(rows, self.min_prefix, self.pad_id)
                for n, idx in groups:
                    if not self.share_prefix:  # the model turned out to have no usable cache
                        whole.extend(idx)
                        continue
                    for i, v in zip(idx, self._forward_shared(rows, n, idx), strict=True):
                        values[i] = v
            lengths = [len(rows[i]) for i in whole]
            for batch in length_batches(lengths, self.batch_size, self.max_tokens):
                picked = [whole[k] for k in batch]
                logits = self.model(**self._inputs([rows[i] for i in picked])).logits
                flat = logits[:, 0].float().cpu().tolist()
                for i, v in zip(picked, flat, strict=True):
                    values[i] = v
        return values

    def _forward_shared(self, rows: list[list[int]], n: int, idx: list[int]) -> list[float]:
        """Scores of rows ``idx``, which share their first ``n`` ids: the prefix runs once and
        the continuations, batched by length, run against copies of its key/value cache."""
        import copy

        import torch

        out = [0.0] * len(idx)
        try:
            prefix = torch.tensor([rows[idx[0]][:n]], dtype=torch.long, device=self.device)
            cache = self.model(input_ids=prefix, use_cache=True).past_key_values
            if cache is None or not hasattr(cache, "batch_repeat_interleave"):
                raise TypeError("the model returns no key/value cache")
            tails = [rows[i][n:] for i in idx]
            for batch in length_batches([len(t) for t in tails], self.batch_size, self.max_tokens):
                past = copy.deepcopy(cache)
                past.batch_repeat_interleave(len(batch))
                ids = self._pad([tails[k] for k in batch])["input_ids"]
                logits = self.model(input_ids=ids, past_key_values=past).logits
                for k, v in zip(batch, logits[:, 0].float().cpu().tolist(), strict=True):
                    out[k] = v
        except (TypeError, ValueError, AttributeError, NotImplementedError, RuntimeError) as exc:
            # an architecture without a usable cache: score whole from now on, and say so once
            import warnings

            warnings.warn(
                f"share_prefix turned off: {type(exc).__name__}: {exc}", RuntimeWarning, 2
            )
            self.share_prefix = False
            return self.forward([rows[i] for i in idx])
        return out

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
