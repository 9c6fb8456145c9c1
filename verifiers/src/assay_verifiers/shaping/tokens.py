"""Token ids of completions: the trainer's ``completion_ids`` when the sample carries them, else a
tokenizer named in the options (loaded lazily, once per name).

TRL passes ``completion_ids`` to reward functions; Assay's TRL adapter keeps them as the extra
field ``Sample.completion_ids``. Counting those is exact and free; re-tokenising text is not
(special tokens, decode/encode round trips), so the trainer's ids win when both exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from assay.models import Sample

NO_TOKENS = "no completion_ids on the sample and no `tokenizer` option"


def completion_ids(sample: Sample) -> list[int] | str | None:
    """The sample's ``completion_ids`` as a list, None when absent, or a reason when it is no list.

    Elements are not checked one by one (that would cost more than the rewards that only count
    them); rewards that hash them (``repetition``) report unhashable ones per sample.
    """
    ids = (sample.model_extra or {}).get("completion_ids")
    if ids is None:
        return None
    if hasattr(ids, "tolist"):  # torch tensor / numpy array
        ids = ids.tolist()
    if not isinstance(ids, (list, tuple)):
        return f"completion_ids is a {type(ids).__name__}, not a list of token ids"
    return ids if isinstance(ids, list) else list(ids)


@lru_cache(maxsize=8)
def load_tokenizer(name: str) -> Any:
    """``transformers.AutoTokenizer.from_pretrained(name)``, cached per name."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)


def encode_batch(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Token ids of ``texts`` without special tokens, in one batched call where possible."""
    if not texts:
        return []
    if hasattr(tokenizer, "encode_batch"):  # a `tokenizers.Tokenizer`
        return [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    if callable(tokenizer):  # a transformers tokenizer: batched (Rust, parallel) when fast
        return list(tokenizer(texts, add_special_tokens=False)["input_ids"])
    return [list(tokenizer.encode(t)) for t in texts]


class TokenSource:
    """Token ids per sample from ``completion_ids`` or a lazily loaded tokenizer."""

    def __init__(self, tokenizer: Any = None) -> None:
        self._spec = tokenizer
        self._tok: Any = None if isinstance(tokenizer, str) else tokenizer

    @property
    def tokenizer(self) -> Any:
        if self._tok is None and isinstance(self._spec, str):
            self._tok = load_tokenizer(self._spec)
        return self._tok

    def ids(self, samples: Sequence[Sample]) -> list[list[int] | str]:
        """One entry per sample: its token ids, or the reason there are none."""
        out: list[list[int] | str] = []
        todo: list[int] = []
        for i, s in enumerate(samples):
            got = completion_ids(s)
            if got is None:
                todo.append(i)
                out.append(NO_TOKENS)
            else:
                out.append(got)
        if todo and self._spec is not None:
            try:
                encoded = encode_batch(self.tokenizer, [samples[i].completion_text for i in todo])
            except Exception as exc:  # noqa: BLE001 - a broken tokenizer fails these samples, not the batch
                for i in todo:
                    out[i] = f"tokenizer failed: {type(exc).__name__}: {exc}"
            else:
                for i, ids in zip(todo, encoded, strict=True):
                    out[i] = list(ids)
        return out

    def __getstate__(self) -> dict[str, Any]:
        # A tokenizer loaded by name is reloaded after pickling (to a worker) rather than copied.
        state = dict(self.__dict__)
        if isinstance(self._spec, str):
            state["_tok"] = None
        return state
