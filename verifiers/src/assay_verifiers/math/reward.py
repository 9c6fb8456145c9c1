"""The ``math`` reward: 1.0 when the completion's final answer equals the gold answer, else 0.0.

Per sample: extract the answer candidates (`extract`), normalise them and the gold answer
(`normalize`), reject reward hacks, decide in-process when the text or plain numbers settle it
(`fastpath`), and send the rest to sympy in a guarded worker process (`check`) with a hard
deadline and a memory cap. A batch parses each gold answer once per worker and scores
identical (gold, answer) pairs once (a GRPO group often repeats answers).

Tri-state: ``1.0`` correct, ``0.0`` incorrect (also: no answer, an answer that does not parse,
several different answers), ``None`` with status ``unverifiable`` (no gold answer, or one that
does not parse) / ``timeout`` / ``error``. Every score carries a reason and, in ``details``,
the extracted answer and the path that decided it.

>>> import assay
>>> r = assay.get_reward("math")
>>> r.score([assay.Sample(completion=r"... so \\boxed{\\frac{1}{2}}", answer="0.5")])[0].value
1.0
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.errors import DeadlineExceeded, WorkerCrashed
from assay.models import Sample, Score, ScoreLike
from assay.rewards import Reward

from .choice import fallback_choice, letters_of, option_named_by_value, option_text
from .echo import echoes
from .extract import DEFAULT_METHODS, METHODS, answer_region, extract_answer
from .fastpath import decimals, quick
from .gold import alternatives, gold_parts, gold_text, is_prose, missing
from .normalize import Normalized, leading_variable, normalize_full

__all__ = ["MathOptions", "MathReward"]


class MathOptions(BaseModel):
    """Options of the ``math`` reward (a pipeline spec's ``with:``)."""

    model_config = ConfigDict(extra="forbid")

    extract: list[str] = Field(
        default_factory=lambda: list(DEFAULT_METHODS),
        description="extraction methods in the order tried: " + ", ".join(DEFAULT_METHODS),
    )
    last_number_fallback: bool = Field(True, description="fall back to the last number in the text")
    choices: bool = Field(True, description="a gold answer 'A'..'J' is a multiple-choice letter")
    numeric: Literal["rounded", "exact"] = Field(
        "rounded",
        description="numeric policy: 'rounded' (a decimal stands for an exact non-terminating "
        "value it rounds: as many places as a decimal gold shows; 6 places and 6 significant "
        "digits for an answer) or 'exact' (decimals are exact values, no rounding anywhere)",
    )
    strict: bool = Field(
        False, description="expressions must simplify to equal, not just agree at points"
    )
    answer_after: str | None = Field(
        None,
        description="score only what follows the last occurrence of this delimiter (e.g. "
        "'</think>'); a completion without it has no answer",
    )
    reject_echo: bool = Field(
        True, description="an expression copied from the prompt is not an answer"
    )
    timeout: float = Field(3.0, gt=0, description="seconds per (gold, answer) pair in the worker")
    memory_mb: int = Field(1024, ge=64, description="memory a worker may add to the parent's image")
    workers: int = Field(0, ge=0, description="worker processes; 0 = min(2, CPUs)")
    max_completion_chars: int = Field(
        20_000, ge=100, description="only the tail this long is searched"
    )
    max_answer_chars: int = Field(1_000, ge=10, description="a longer extracted answer is rejected")
    cache_size: int = Field(65_536, ge=0, description="verdicts remembered across batches")


_OUT_OF_MEMORY = 75  # exit status of a worker that ran out of memory
_CHOICE_GOLD = re.compile(r"^\(?([A-J])\)?$")
_PERCENT_QUESTION = re.compile(r"percent|\\?%|百分", re.I)


class MathReward(Reward):
    """Math answer equivalence, safe and fast (docs/math.md)."""

    name = "math"
    Options = MathOptions
    expensive = False  # it runs its own guarded workers; the pipeline need not wrap it
    timeout = 3.0
    memory_mb = 1024

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o: MathOptions = self.options  # type: ignore[assignment]
        unknown = set(o.extract) - METHODS
        if unknown:
            raise ValueError(
                f"unknown extraction method(s) {sorted(unknown)}; known: {sorted(METHODS)}"
            )
        self._methods = tuple(m for m in o.extract if o.last_number_fallback or m != "last_number")
        self._reset()

    def _reset(self) -> None:
        self._pool: Any = None
        self._threads: ThreadPoolExecutor | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], tuple[bool | None, str, str]] = OrderedDict()
        self._tol: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the options only: workers, threads and caches are rebuilt where it lands."""
        return {"options": self.options, "_methods": self._methods}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    # -- workers -------------------------------------------------------------------------------
    def _get_pool(self) -> Any:
        if self._pid != os.getpid():  # forked since: the parent's workers and threads are not ours
            self._reset()
        with self._lock:
            if self._pool is None:
                from assay.workers import GuardedPool

                from . import check  # import sympy here, once, so forked workers start warm
                from .equivalence import Tolerance

                check.warm()
                o: MathOptions = self.options  # type: ignore[assignment]
                self._tol = Tolerance(strict=o.strict, numeric=o.numeric)
                size = o.workers or min(2, os.cpu_count() or 1)
                self._pool = GuardedPool(size, memory_mb=o.memory_mb)  # on top of the image
                # Distinct pending pairs of a batch run side by side, one thread per worker.
                self._threads = ThreadPoolExecutor(size, thread_name_prefix="assay-math")
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
            if self._threads is not None:
                self._threads.shutdown(wait=False)
                self._threads = None

    # -- scoring -------------------------------------------------------------------------------
    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        """Score a batch; a list gold is a set of alternatives, any one of which counts."""
        flat: list[Sample] = []
        owner: list[int] = []
        for i, s in enumerate(samples):
            golds = _alternative_golds(s)
            for g in golds:
                flat.append(g)
                owner.append(i)
        scored = self._score_flat(flat)
        out: list[Score | None] = [None] * len(samples)
        for i, sc in zip(owner, scored, strict=True):
            out[i] = _better(out[i], sc)  # type: ignore[arg-type]
        return out  # type: ignore[return-value]

    def _score_flat(self, samples: Sequence[Sample]) -> list[Score]:
        o: MathOptions = self.options  # type: ignore[assignment]
        out: list[Score | None] = [None] * len(samples)
        pending: dict[tuple[Any, ...], list[tuple[int, dict[str, Any]]]] = {}
        for i, s in enumerate(samples):
            try:
                res = self._prepare(s, o)
            except Exception as exc:  # noqa: BLE001 - a malformed sample must not sink the batch
                out[i] = Score.error(f"cannot read sample: {type(exc).__name__}: {exc}")
                continue
            if isinstance(res, Score):
                out[i] = res
                continue
            key, details = res
            cached = self._cache.get(key)
            if cached is not None:
                out[i] = _verdict_score(cached, details, "cache")
                continue
            pending.setdefault(key, []).append((i, details))
        if pending:
            self._run_pending(pending, out)
        return out  # type: ignore[return-value]

    def _run_pending(
        self, pending: dict[tuple[Any, ...], list[tuple[int, dict[str, Any]]]], out: list[Any]
    ) -> None:
        o: MathOptions = self.options  # type: ignore[assignment]
        pool = self._get_pool()
        keys = list(pending)
        assert self._threads is not None
        futures = [
            self._threads.submit(pool.outcome, _call_check, (k, self._tol), timeout=o.timeout)
            for k in keys
        ]
        outcomes = [f.result() for f in futures]
        for key, oc in zip(keys, outcomes, strict=True):
            for i, details in pending[key]:
                if oc.ok:
                    verdict, reason = oc.value
                    self._remember(key, (verdict, reason, "sympy"))
                    out[i] = _verdict_score((verdict, reason, "sympy"), details, "sympy")
                elif isinstance(oc.error, DeadlineExceeded):
                    out[i] = Score.timeout(
                        f"no verdict within {o.timeout:g} s; worker killed", **details
                    )
                elif isinstance(oc.error, WorkerCrashed):
                    why = str(oc.error)
                    if why.endswith(f"status {_OUT_OF_MEMORY}"):
                        why = f"out of memory (cap: {o.memory_mb} MiB over the parent's image)"
                    out[i] = Score.error(f"worker failed: {why}; worker replaced", **details)
                else:
                    err = oc.error
                    out[i] = Score.error(f"{type(err).__name__}: {str(err)[:200]}", **details)

    def _remember(self, key: tuple[Any, ...], value: tuple[bool | None, str, str]) -> None:
        size = self.options.cache_size  # type: ignore[attr-defined]
        if not size:
            return
        self._cache[key] = value
        while len(self._cache) > size:
            self._cache.popitem(last=False)

    def _prepare(self, s: Sample, o: MathOptions) -> Score | tuple[tuple[Any, ...], dict[str, Any]]:
        """A finished Score, or the key of the sympy work still to do plus the details."""
        if missing(s.answer):
            return Score.unverifiable("sample has no gold answer")
        gold_raw = gold_text(s.answer)
        if len(gold_raw) > o.max_answer_chars:
            return Score.unverifiable(f"gold answer longer than {o.max_answer_chars} characters")
        gold = normalize_full(gold_raw)
        if not gold.text:
            return Score.unverifiable("gold answer is empty after normalisation")
        completion = answer_region(s.completion_text, o.answer_after)
        if completion is None:
            return Score.ok(0.0, f"no {o.answer_after!r} in the completion: no final answer")
        m = _CHOICE_GOLD.match(gold.text) if o.choices else None
        if m:
            return _score_choice(m.group(1), completion, self._methods, o, s.prompt_text or "")
        if is_prose(gold.text, gold_raw):
            return Score.unverifiable("gold answer is prose, not a checkable answer")
        ex = extract_answer(completion, self._methods, o.max_completion_chars)
        details: dict[str, Any] = {
            "extracted": list(ex.candidates),
            "method": ex.method,
            "gold": gold.text,
        }
        if not ex.candidates:
            return Score.ok(0.0, "no answer found in the completion", **details)
        candidates = ex.candidates
        if o.choices and len(candidates) == 1 and s.prompt:
            # a letter for a gold written as the option's value: "\boxed{B}" for "(B) 12"
            letter = next(iter(letters_of(candidates)))
            text = option_text(letter, s.prompt_text or "") if letter else None
            candidates = (text,) if text else candidates
        parts = gold_parts(gold.text)
        # the parts boxed in separate sentences; a final list "2 and 3": all of it, or nothing
        whole = ex.method not in ("last_number", "last_math") or len(ex.boxes) == parts
        if parts > 1 and len(candidates) < parts <= len(ex.boxes) and whole:
            candidates = ex.boxes[-parts:]
        if len(candidates) > 1 and parts > 1:
            candidates = (", ".join(candidates),)  # \boxed{2} and \boxed{3} for gold "2, 3"
        preds: list[Normalized] = []
        for c in candidates:
            if len(c) > o.max_answer_chars:
                return Score.ok(
                    0.0, f"answer longer than {o.max_answer_chars} characters", **details
                )
            n = normalize_full(c)
            if n.text and n.text not in (p.text for p in preds):
                preds.append(n)
        if not preds:
            return Score.ok(0.0, "empty answer", **details)
        details["extracted"] = [p.text for p in preds]
        prompt_text = s.prompt_text[-o.max_completion_chars :] if s.prompt else ""
        if o.reject_echo and prompt_text:
            prompt = normalize_full(prompt_text).text
            for p in preds:
                if echoes(p.text, prompt, gold.text):
                    return Score.ok(
                        0.0, "the answer repeats an expression from the question", **details
                    )
        # p% is p/100; it is also p when the question asks for a percentage, or when there is
        # no question to tell (the sign is then read as a unit, as Math-Verify reads it)
        percent_q = not prompt_text.strip() or bool(_PERCENT_QUESTION.search(prompt_text))
        # Equations keep their left side ("y = 2x + 1") only when the gold one is an equation.
        eq = "=" in gold.full
        gvar = leading_variable(gold) if eq else None
        verdicts = [
            None  # x = 1 against y = 1: the texts after "=" agree, the variables do not
            if gvar and leading_variable(p) not in (None, gvar)
            # two clock times are times, not ratios: 1:15 is not 2:30
            else gold.clock == p.clock
            if gold.clock and p.clock
            else quick(gold.text, p.text, gold.percent, p.percent, o.numeric, percent_q)
            for p in preds
        ]
        if any(v is False for v in verdicts):
            why = "different answers" if len(preds) > 1 else "not equal to the gold answer"
            return Score.ok(0.0, why, path="fast", **details)
        if all(v is True for v in verdicts):
            return Score.ok(1.0, "equal to the gold answer", path="fast", **details)
        todo = tuple(
            (p.full if eq else p.text, p.percent, decimals(p.text))
            for p, v in zip(preds, verdicts, strict=True)
            if v is not True
        )
        places = decimals(gold.text)
        key = (gold.full if eq else gold.text, gold.percent, percent_q, places, todo)
        return key, details


def _call_check(item: tuple[tuple[Any, ...], Any]) -> tuple[bool | None, str]:
    """Worker entry point (module level, picklable)."""
    from dataclasses import replace

    from .check import check

    (gold, gold_percent, percent_q, places, todo), tol = item
    try:
        return check(gold, gold_percent, todo, replace(tol, gold_decimals=places), percent_q)
    except MemoryError:
        # The heap of a worker that hit its cap stays fragmented and near the cap; exit so
        # that the pool replaces it with a fresh one (the caller sees WorkerCrashed).
        os._exit(_OUT_OF_MEMORY)


def _verdict_score(v: tuple[bool | None, str, str], details: dict[str, Any], path: str) -> Score:
    verdict, reason, _ = v
    if verdict is None:
        return Score.unverifiable(reason, path=path, **details)
    return Score.ok(1.0 if verdict else 0.0, reason, path=path, **details)


def _score_choice(
    letter: str, completion: str, methods: tuple[str, ...], o: MathOptions, prompt: str = ""
) -> Score:
    ex = extract_answer(
        completion,
        [m for m in methods if m not in ("last_number", "last_math")],
        o.max_completion_chars,
    )
    letters = letters_of(ex.candidates) if ex.candidates else set()
    method = ex.method
    if letters == {None} and len(ex.candidates) == 1:
        named = option_named_by_value(ex.candidates[0], prompt)
        if named:
            letters, method = {named}, f"{method}+option_value"
    if not letters or None in letters:
        alt = fallback_choice(completion, o.max_completion_chars)
        if alt and (not ex.candidates or ex.method in ("bare", "bold")):
            letters, method = {alt}, "choice"
    details = {"extracted": sorted(x for x in letters if x), "method": method, "gold": letter}
    if not letters or letters == {None}:
        return Score.ok(0.0, "no choice letter found in the completion", **details)
    if letters != {letter}:
        return Score.ok(
            0.0, "a different choice" if len(letters) == 1 else "several choices", **details
        )
    return Score.ok(1.0, "the gold choice", path="fast", **details)


def _alternative_golds(s: Sample) -> list[Sample]:
    """One sample per alternative gold (a list gold); the sample itself otherwise."""
    try:
        if not isinstance(s.answer, (list, tuple)):
            return [s]
    except Exception:  # noqa: BLE001 - not a sample: _prepare reports it for this one only
        return [s]
    golds = alternatives(s.answer)
    if len(golds) <= 1:
        return [s.model_copy(update={"answer": golds[0] if golds else None})]
    return [s.model_copy(update={"answer": g}) for g in golds]


_RANK = {"ok1": 4, "ok0": 1, "timeout": 3, "error": 2, "unverifiable": 0}


def _better(a: Score | None, b: Score) -> Score:
    """Of two verdicts on alternative golds: a match wins, then a timeout or an error (the match
    may be hidden there), then a mismatch; unverifiable only when nothing else is known."""
    if a is None:
        return b

    def rank(x: Score) -> int:
        if x.status == "ok":
            return _RANK["ok1"] if x.value == 1.0 else _RANK["ok0"]
        return _RANK.get(x.status, 0)

    return b if rank(b) > rank(a) else a
