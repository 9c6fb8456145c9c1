"""`online_reward_model`: a reward model that keeps learning from the verifier during RL.

The GRPO paper (DeepSeekMath, "Iterative RL with GRPO") keeps training its reward model on
the policy's new samples, with a replay of historical data, so the reward keeps up with the
policy's changing outputs and is harder to game. Here:

1. each call of `score` is one policy step (one generation batch, as TRL calls reward
   functions); the batch is scored with the current weights and kept;
2. every ``update_every`` steps the kept samples are labelled by the ``verifier`` (a registered
   reward name, a pipeline spec, or a reward object), added to a replay buffer of the last
   ``buffer_size`` labelled samples, and the model takes ``steps_per_update`` AdamW steps of
   the Bradley-Terry loss ``-log sigmoid(r_better - r_worse)`` on pairs of completions of the
   same prompt with different verifier values (drawn from the new samples and, with share
   ``replay``, from the buffer);
3. `history` records, per update, the ranking accuracy on the new samples *before* the update
   (an honest, prequential measure: the model had not seen them) and after it.

The optimizer state lives across updates, so the model learns as one continuous run.
"""

from __future__ import annotations

import math
import random
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

from pydantic import Field, model_validator

from assay.models import Sample, Score
from assay.rewards import Reward

from .evaluation import outcome_ranking_accuracy
from .rewards import RewardModelOptions, RewardModelReward, normalize_value
from .scoring import as_sample
from .training import label_outcomes


class OnlineRewardOptions(RewardModelOptions):
    # float32 by default: AdamW steps on bfloat16 weights round small updates away
    dtype: str = "float32"
    verifier: Any = Field(
        None, description="registered reward name, pipeline spec dict, or reward object"
    )
    verifier_options: dict[str, Any] = Field(default_factory=dict)
    verifier_component: str | None = Field(
        None, description="read labels from this pipeline component instead of re-verifying"
    )
    update_every: int = Field(1, ge=1, description="policy steps (score calls) between updates")
    steps_per_update: int = Field(8, ge=1, description="optimizer steps per update")
    pairs_per_step: int = Field(32, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    replay: float = Field(0.5, ge=0, le=1, description="share of pairs drawn from older samples")
    buffer_size: int = Field(1024, ge=1, description="labelled samples kept for replay")
    seed: int = 0

    @model_validator(mode="after")
    def _one_label_source(self) -> OnlineRewardOptions:
        if (self.verifier is None) == (self.verifier_component is None):
            raise ValueError("give exactly one of `verifier` and `verifier_component`")
        return self


class OnlineRewardModel(Reward):
    """A reward model updated every N policy steps on the verifier outcomes of the policy's samples."""

    name = "online_reward_model"
    Options = OnlineRewardOptions
    split = "batch"  # one call is one policy step, and the model learns in this process

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        self.policy_step = 0
        self.updates = 0
        self.history: list[dict[str, Any]] = []
        self._rm = RewardModelReward(**{k: getattr(o, k) for k in RewardModelOptions.model_fields})
        self._pending: list[tuple[Sample, list[int], float, Any]] = []
        self._buffer: deque[tuple[list[int], float, str]] = deque(maxlen=o.buffer_size)
        self._verifier: Any = self._resolve_verifier()  # fail now on an unknown name
        self._verify_error: str | None = None
        self._optimizer: Any = None
        self._rng = random.Random(o.seed)
        self._lock = threading.RLock()

    @property
    def scorer(self) -> Any:
        return self._rm.scorer

    @property
    def model(self) -> Any:
        return self._rm.scorer.model

    # -- scoring ---------------------------------------------------------------------------
    def score(self, samples: Sequence[Sample]) -> list[Score]:
        return self._score(samples, None)

    def dependencies(self) -> list[str]:
        c = self.options.verifier_component
        return [c] if c else []

    def score_with(
        self, samples: Sequence[Sample], upstream: dict[str, list[Score]]
    ) -> list[Score]:
        """In a pipeline: the verifier component's scores of this batch are the labels."""
        c = self.options.verifier_component
        if c is None or c not in upstream:
            return self._score(samples, None)
        labels = [s.value if s.status == "ok" else None for s in upstream[c]]
        return self._score(samples, labels)

    def _score(self, samples: Sequence[Sample], labels: list[float | None] | None) -> list[Score]:
        with self._lock:
            o = self.options
            enc = self.scorer.encode(samples)
            ok = [i for i, e in enumerate(enc) if e.ids is not None]
            raws = self.scorer.forward([enc[i].ids for i in ok])
            out = [Score.error(f"cannot encode sample: {e.error}") for e in enc]
            for i, raw in zip(ok, raws, strict=True):
                if not math.isfinite(raw):  # an error score, and nothing to learn from
                    out[i] = Score.error(f"reward model returned {raw}", rm_updates=self.updates)
                    continue
                value = normalize_value(raw, o.normalize, o.mean, o.std, o.clip)
                out[i] = Score.ok(value, raw=raw, rm_updates=self.updates)
                label = _UNLABELLED if labels is None else labels[i]
                self._pending.append((as_sample(samples[i]), enc[i].ids or [], raw, label))
            self.policy_step += 1
            if self.policy_step % o.update_every == 0 and self._pending:
                self.update()
            return out

    # -- learning --------------------------------------------------------------------------
    def _label(self, pending: list[Any]) -> list[float | None]:
        """Labels given by the pipeline where known; the verifier labels the rest."""
        todo = [k for k, p in enumerate(pending) if p[3] is _UNLABELLED]
        labels = [None if p[3] is _UNLABELLED else p[3] for p in pending]
        if todo:
            for k, v in zip(todo, self._verify([pending[k][0] for k in todo]), strict=True):
                labels[k] = v
        return labels

    def _resolve_verifier(self) -> Any:
        v = self.options.verifier
        if isinstance(v, str):
            import assay

            return assay.get_reward(v, **self.options.verifier_options)
        if isinstance(v, dict):
            import assay

            return assay.load_pipeline(v)
        return v

    def _verify(self, samples: list[Sample]) -> list[float | None]:
        """The verifier's labels; a verifier crash leaves the batch unlabelled (and is logged)."""
        try:
            return label_outcomes(samples, self._verifier)
        except Exception as exc:  # noqa: BLE001 - the policy run must go on; the record says what happened
            self._verify_error = f"{type(exc).__name__}: {exc}"
            return [None] * len(samples)

    def update(self) -> dict[str, Any]:
        """Label the samples scored since the last update and train on them; returns the record."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._verify_error = None
            samples = [p[0] for p in pending]
            labels = self._label(pending) if pending else []
            # a NaN / inf verdict is no label (NaN compares unequal to itself: no pairs from it)
            labels = [y if y is not None and math.isfinite(y) else None for y in labels]
            groups = [_group(s) for s in samples]
            before = outcome_ranking_accuracy([p[2] for p in pending], labels, groups)
            fresh = [
                (p[1], y, g)
                for p, y, g in zip(pending, labels, groups, strict=True)
                if y is not None
            ]
            new_pairs = _pairs(fresh, self._rng)
            old_pairs = _pairs(list(self._buffer), self._rng)
            self._buffer.extend(fresh)
            loss = self._train(new_pairs, old_pairs) if new_pairs or old_pairs else None
            after = float("nan")
            if fresh:
                raws = self.scorer.forward([ids for ids, _, _ in fresh])
                after = outcome_ranking_accuracy(
                    raws, [y for _, y, _ in fresh], [g for *_, g in fresh]
                )
            self.updates += loss is not None
            record = {
                "policy_step": self.policy_step,
                "update": self.updates,
                "samples": len(samples),
                "labelled": len(fresh),
                "pairs": len(new_pairs),
                "loss": loss,
                "accuracy_before": before,
                "accuracy_after": after,
            }
            if self._verify_error:
                record["verifier_error"] = self._verify_error
            self.history.append(record)
            return record

    def _train(self, new_pairs: list[tuple[list[int], list[int]]], old_pairs: list[Any]) -> float:
        import torch

        o = self.options
        model = self.model
        if self._optimizer is None:
            self._optimizer = torch.optim.AdamW(
                model.parameters(), lr=o.learning_rate, weight_decay=o.weight_decay
            )
        n_old = round(o.pairs_per_step * o.replay) if old_pairs else 0
        n_new = o.pairs_per_step - n_old if new_pairs else 0
        n_old = o.pairs_per_step - n_new if old_pairs else 0
        losses = []
        # A TRL trainer may call rewards under no_grad / inference_mode: learning needs both off.
        with torch.inference_mode(False), torch.enable_grad():
            model.train()
            for _ in range(o.steps_per_update):
                batch = [self._rng.choice(new_pairs) for _ in range(n_new)]
                batch += [self._rng.choice(old_pairs) for _ in range(n_old)]
                rows = [c for c, _ in batch] + [r for _, r in batch]
                logits = model(**self.scorer._inputs(rows)).logits[:, 0].float()
                chosen, rejected = logits[: len(batch)], logits[len(batch) :]
                loss = -torch.nn.functional.logsigmoid(chosen - rejected).mean()
                self._optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self._optimizer.step()
                losses.append(float(loss.detach()))
            model.eval()
        return sum(losses) / len(losses)

    def close(self) -> None:
        self._rm.close()
        self._optimizer = None

    def __getstate__(self) -> dict[str, Any]:  # picklable (a lock is not)
        state = dict(self.__dict__)
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()


_UNLABELLED = object()  # a pending sample the verifier has yet to label


def _group(s: Sample) -> str:
    return s.prompt if isinstance(s.prompt, str) else repr(s.prompt)


def _pairs(
    items: Sequence[tuple[list[int], float, str]], rng: random.Random, cap: int = 256
) -> list[tuple[list[int], list[int]]]:
    """(better ids, worse ids) for two samples of one prompt with different values.

    Every such pair of a prompt when it has at most ``cap``; otherwise ``cap`` drawn at random
    (a replay buffer of one prompt's 1000 samples would hold half a million pairs).
    """
    by: dict[str, list[tuple[list[int], float]]] = {}
    for ids, y, g in items:
        by.setdefault(g, []).append((ids, y))
    out: list[tuple[list[int], list[int]]] = []
    for members in by.values():
        n = len(members)
        if n * (n - 1) // 2 <= cap:
            out += [(a, b) for a, ya in members for b, yb in members if ya > yb]
            continue
        if len({y for _, y in members}) < 2:
            continue
        found = 0
        for _ in range(cap * 8):  # bounded: a group with few contrasting pairs yields fewer
            (a, ya), (b, yb) = rng.sample(members, 2)
            if ya != yb:
                out.append((a, b) if ya > yb else (b, a))
                found += 1
                if found == cap:
                    break
    return out
