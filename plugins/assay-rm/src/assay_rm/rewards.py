"""`reward_model`: a learned reward model as an assay reward, usable in any pipeline.

The raw head output ``r`` becomes the reward through ``normalize``:

- ``none``: ``r``;
- ``standard``: ``(r - mean) / std`` (take ``mean`` / ``std`` from `assay_rm.score_report` on a
  reference set, so rewards from different checkpoints live on one scale);
- ``sigmoid``: ``1 / (1 + exp(-(r - mean) / std))``, a value in (0, 1) comparable with a 0/1
  verifier (for a Bradley-Terry model, the probability of beating a reference scored ``mean``);

then ``clip`` bounds it to ``[-clip, clip]``. ``details`` keep the raw score.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.models import Sample, Score
from assay.rewards import Reward

Normalize = Literal["none", "standard", "sigmoid"]


class ScorerOptions(BaseModel):
    """Options shared by the learned rewards: where the model is and how to run it."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    model: Any = Field(description="local directory (save_pretrained) or a model object")
    tokenizer: Any = Field(None, description="local directory or object; default: the model's")
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = Field(16, ge=1)
    max_tokens: int | None = Field(
        None, ge=1, description="padded tokens per forward pass; default 1024 on CPU, no cap on GPU"
    )
    max_length: int | None = Field(
        None, ge=2, description="cut longer inputs from the left; default: the model's positions"
    )
    chat: bool | None = Field(None, description="None: chat template for chat samples")


class RewardModelOptions(ScorerOptions):
    share_prefix: bool = Field(
        False,
        description="run a prompt shared by several completions (a GRPO group) once and score "
        "the completions against its cached keys and values (causal models)",
    )
    min_prefix: int = Field(16, ge=1, description="shortest shared prefix (tokens) worth it")
    normalize: Normalize = "none"
    mean: float = 0.0
    std: float = Field(1.0, gt=0)
    clip: float | None = Field(None, gt=0)


def normalize_value(
    raw: float, how: Normalize, mean: float, std: float, clip: float | None
) -> float:
    """Apply the normalisation described in the module docstring."""
    z = (raw - mean) / std
    if how == "none":
        v = raw
    elif how == "standard":
        v = z
    else:
        v = 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
    if clip is not None:
        v = max(-clip, min(clip, v))
    return v


class RewardModelReward(Reward):
    """Score completions with a sequence-classification reward model (batched, sorted by length).

    >>> r = RewardModelReward(model=model, tokenizer=tok, normalize="sigmoid")  # doctest: +SKIP
    >>> r.score([Sample(prompt="2+2=", completion="4")])[0].value  # doctest: +SKIP
    """

    name = "reward_model"
    Options = RewardModelOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from .loading import check_options

        o = self.options
        check_options(o.model, o.tokenizer, o.device, o.dtype)  # fail now, not mid-run
        self._load_lock = threading.Lock()  # two threads scoring first must not load twice
        self._scorer: Any = None

    @property
    def scorer(self) -> Any:
        """The underlying `RewardModelScorer`, loaded on first use."""
        with self._load_lock:
            return self._load()

    def _load(self) -> Any:
        if self._scorer is None:
            from .scoring import RewardModelScorer

            o = self.options
            self._scorer = RewardModelScorer(
                o.model,
                o.tokenizer,
                device=o.device,
                dtype=o.dtype,
                batch_size=o.batch_size,
                max_tokens=o.max_tokens,
                max_length=o.max_length,
                chat=o.chat,
                share_prefix=o.share_prefix,
                min_prefix=o.min_prefix,
            )
        return self._scorer

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        o = self.options
        enc = self.scorer.encode(samples)
        ok = [i for i, e in enumerate(enc) if e.ids is not None]
        raws = self.scorer.forward([enc[i].ids for i in ok])
        out = [Score.error(f"cannot encode sample: {e.error}") for e in enc]
        for i, raw in zip(ok, raws, strict=True):
            if not math.isfinite(raw):
                out[i] = Score.error(f"reward model returned {raw}")
                continue
            value = normalize_value(raw, o.normalize, o.mean, o.std, o.clip)
            out[i] = Score.ok(
                value, raw=raw, tokens=len(enc[i].ids or []), truncated=enc[i].truncated
            )
        return out

    def close(self) -> None:
        self._scorer = None

    def __getstate__(self) -> dict[str, Any]:  # picklable (a lock is not)
        state = dict(self.__dict__)
        state.pop("_load_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._load_lock = threading.Lock()
