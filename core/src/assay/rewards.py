"""The reward contract and the lifting of plain functions into rewards.

A reward scores a *batch*: ``score(samples) -> list[Score | float | None]`` in input order, so
verifiers can cache, dedupe within a GRPO group and parallelise. Options arrive as keyword
arguments and are validated by the reward's ``Options`` pydantic model, so a typo in a pipeline
spec names the bad key.

Plain functions become rewards through `FunctionReward`:

- per-sample: ``fn(sample) -> float | None | Score`` (``sample`` is an `assay.Sample`);
- TRL batch signature: ``fn(prompts, completions, **columns) -> list[float | None]``;

either may be ``async def``. Options: for a per-sample function, its parameters with defaults;
for a batch function, its keyword-only parameters (``def f(prompts, completions, *, k=3, **kw)``),
since its other parameters receive dataset columns. A batch function without ``**kwargs`` gets
only the columns it names.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic

from pydantic import BaseModel, ConfigDict, create_model
from typing_extensions import TypeVar

from .models import NoOptions, Sample, Score, ScoreLike
from .samples import validate_rows

#: The options model of a reward; `Reward[MyOptions]` types ``self.options`` as ``MyOptions``.
OptionsT = TypeVar("OptionsT", bound=BaseModel, default=BaseModel)

#: `Reward.split_by` values: any split is safe / never split the batch.
ROW = "row"
WHOLE = "batch"


class Reward(abc.ABC, Generic[OptionsT]):
    """Base class of every reward.

    Subclasses set ``name`` (the registry key), optionally an ``Options`` model, and implement
    `score`. Parametrise with the options model so ``self.options`` is typed without casts::

        class Shout(Reward[ShoutOptions]):
            name = "shout"
            Options = ShoutOptions

     ``timeout`` / ``memory_mb`` are defaults for the hard deadline the pipeline applies
    when the reward is marked ``expensive`` (or when a pipeline component asks for one).
    """

    name: ClassVar[str] = ""
    Options: type[OptionsT]  # NoOptions unless a subclass sets it (assigned below the class)
    options: OptionsT
    expensive: ClassVar[bool] = False
    timeout: ClassVar[float | None] = None
    memory_mb: ClassVar[int | None] = None
    #: Scores each sample on its own, with no per-batch set-up worth sharing, so a pipeline may
    #: call it on cache-sized slices of a large batch (plain per-sample functions are).
    rowwise: ClassVar[bool] = False
    #: What an executor may split a batch along without changing any score (see `split_by`).
    split: ClassVar[str] = ROW

    def __init__(self, **options: Any) -> None:
        self.options = self.Options.model_validate(options)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's `score` also takes plain mappings (``{"completion": ..., "answer": ...}``),
        as `Pipeline.score` does: they are validated into Samples before the reward sees them."""
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("score")
        if fn is not None and not getattr(fn, "_takes_mappings", False):
            setattr(cls, "score", _taking_mappings(fn))  # noqa: B010 - mypy rejects a plain assignment to a method

    @abc.abstractmethod
    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        """Score a batch; one entry per sample, in order."""

    def split_by(self) -> str:
        """What a batch may be split along for parallel scoring without changing any score.

        `ROW` (``"row"``): each sample is scored on its own, any split is safe (the default);
        `WHOLE` (``"batch"``): the scores depend on the whole batch, never split it; otherwise a
        dotted sample path (``"prompt"``, ``"metadata.group"``): samples sharing its value are
        scored together (e.g. a GRPO group normalised within itself). Override it when the answer
        depends on the options (``length`` is per group in ``kimi`` mode only).
        """
        return type(self).split

    def dependencies(self) -> list[str]:
        """Names of pipeline components whose scores this reward reads (e.g. cosine length
        scaling reads a correctness reward). The pipeline scores those first and calls
        `score_with`."""
        return []

    def score_with(
        self, samples: Sequence[Sample], upstream: dict[str, list[Score]]
    ) -> list[ScoreLike]:
        """Score with the scores of the components named by `dependencies` at hand.

        Outside a pipeline `score` is called instead; a reward with dependencies then computes
        them itself (typically through ``assay.get_reward``).
        """
        return self.score(samples)

    async def ascore(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        """Async scoring; the default runs `score` on a thread so the event loop stays free."""
        return await asyncio.to_thread(self.score, samples)

    def close(self) -> None:
        """Release workers, models, sandboxes. Idempotent."""

    def __repr__(self) -> str:
        opts = self.options.model_dump(exclude_defaults=True) if self.options else {}
        return f"<reward {self.name} {opts}>" if opts else f"<reward {self.name}>"


Reward.Options = NoOptions  # type: ignore[misc]  # the default of a generic class attribute


def _taking_mappings(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (a reward's `score`) taking mappings too: valid rows become Samples and are scored
    together; a row that is not a valid sample gets an ``error`` Score naming why, in its place."""

    @functools.wraps(fn)
    def score(self: Reward[Any], samples: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        if all(type(s) is Sample for s in samples):
            return fn(self, samples, *args, **kwargs)
        good, where, bad = validate_rows(list(samples))
        if not bad:
            return fn(self, good, *args, **kwargs)
        out: list[Any] = [Score.error(why) for why in (bad.get(i, "") for i in range(len(samples)))]
        if good:
            for i, got in zip(where, fn(self, good, *args, **kwargs), strict=True):
                out[i] = got
        return out

    score._takes_mappings = True  # type: ignore[attr-defined]  # marks the wrapper: never twice
    return score


_BATCH_FIRST_PARAMS = ("prompts", "completions")


def is_batch_signature(fn: Callable[..., Any]) -> bool:
    """True for TRL-style ``fn(prompts, completions, **kwargs)`` functions."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] in _BATCH_FIRST_PARAMS


def _options_model(
    fn: Callable[..., Any], skip: set[str], name: str, keyword_only: bool
) -> type[BaseModel]:
    """A pydantic model of the function's options: parameters with defaults (for a batch
    function only keyword-only ones, since its other parameters are dataset columns)."""
    fields: dict[str, Any] = {}
    for p in inspect.signature(fn).parameters.values():
        if p.name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if keyword_only and p.kind is not p.KEYWORD_ONLY:
            continue
        if p.default is inspect.Parameter.empty:
            continue
        ann = p.annotation if p.annotation is not inspect.Parameter.empty else Any
        if isinstance(ann, str):  # postponed annotations: keep validation permissive
            ann = Any
        fields[p.name] = (ann, p.default)
    return create_model(f"{name}_options", __config__=ConfigDict(extra="forbid"), **fields)


def _run_sync(coro: Any) -> Any:
    """Run a coroutine from sync code, also when called from inside a running loop's thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from a thread that already runs a loop: run on a fresh loop in another thread.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, coro).result()


class FunctionReward(Reward):
    """A reward lifted from a plain function (see module docstring)."""

    fn: ClassVar[Callable[..., Any]]
    batch: ClassVar[bool]
    is_async: ClassVar[bool]
    columns: ClassVar[frozenset[str] | None]  # the columns a batch function names; None: **kwargs

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        opts = self.options.model_dump() if type(self.options).model_fields else {}
        fn = type(self).fn
        if type(self).batch:
            out = fn(
                prompts=[s.prompt for s in samples],
                completions=[s.completion for s in samples],
                **self._columns(samples),
                **opts,
            )
            if inspect.isawaitable(out):
                out = _run_sync(out)
            out = list(out)
            if len(out) != len(samples):
                raise ValueError(
                    f"reward {self.name!r} returned {len(out)} values for {len(samples)} samples"
                )
            return out
        if type(self).is_async:
            gathered: list[ScoreLike] = _run_sync(self._gather(samples, opts))
            return gathered
        if opts:
            return [fn(s, **opts) for s in samples]
        return list(map(fn, samples))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as (function, how it was lifted, options): the class itself is made at runtime."""
        cls = type(self)
        lifted = (cls.name, cls.batch, cls.expensive, cls.timeout, cls.memory_mb, cls.split)
        return (_rebuild, (cls.fn, lifted, self.options.model_dump()))

    def _columns(self, samples: Sequence[Sample]) -> dict[str, list[Any]]:
        cls = type(self)
        options = type(self.options).model_fields
        return {
            k: v
            for k, v in _batch_columns(samples).items()
            if k not in options and (cls.columns is None or k in cls.columns)
        }

    async def _gather(self, samples: Sequence[Sample], opts: dict[str, Any]) -> list[ScoreLike]:
        fn = type(self).fn
        return list(await asyncio.gather(*(fn(s, **opts) for s in samples)))

    async def ascore(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        cls = type(self)
        if cls.is_async and not cls.batch:
            return await self._gather(samples, self.options.model_dump())
        if cls.is_async and cls.batch:
            opts = self.options.model_dump()
            out = await cls.fn(
                prompts=[s.prompt for s in samples],
                completions=[s.completion for s in samples],
                **self._columns(samples),
                **opts,
            )
            return list(out)
        return await super().ascore(samples)


def _named_columns(fn: Callable[..., Any]) -> frozenset[str] | None:
    """Parameter names a batch function accepts, or None when it takes ``**kwargs`` (all)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return frozenset(params)


def _batch_columns(samples: Sequence[Sample]) -> dict[str, list[Any]]:
    """Columns as TRL passes them: one list per column name, None where a sample lacks it."""
    per_sample = [s.columns() for s in samples]
    names: dict[str, None] = {}
    for cols in per_sample:
        names.update(dict.fromkeys(cols))
    return {n: [cols.get(n) for cols in per_sample] for n in names}


def lift(
    fn: Callable[..., Any],
    name: str | None = None,
    *,
    batch: bool | None = None,
    expensive: bool = False,
    timeout: float | None = None,
    memory_mb: int | None = None,
    split: str | None = None,
) -> type[FunctionReward]:
    """Make a `Reward` class out of a function; its keyword parameters become options.

    ``split`` (see `Reward.split_by`) defaults to ``"row"`` for a per-sample function and to
    ``"batch"`` for a batch function, which sees the whole batch and may depend on all of it.
    """
    reward_name = name or getattr(fn, "__name__", None)
    if not reward_name or reward_name == "<lambda>":
        raise ValueError("a lambda needs an explicit name: assay.reward(name='...')")
    is_batch = is_batch_signature(fn) if batch is None else batch
    skip = {"prompts", "completions", "kwargs"} if is_batch else set()
    if not is_batch:
        params = list(inspect.signature(fn).parameters)
        if not params:
            raise TypeError(f"reward function {reward_name!r} must take the sample as argument")
        skip.add(params[0])
    options = _options_model(fn, skip, reward_name, keyword_only=is_batch)
    attrs = {
        "name": reward_name,
        "Options": options,
        "fn": staticmethod(fn),
        "batch": is_batch,
        "is_async": inspect.iscoroutinefunction(fn),
        "rowwise": not is_batch and not inspect.iscoroutinefunction(fn),
        "columns": _named_columns(fn),
        "split": split or (WHOLE if is_batch else ROW),
        "expensive": expensive,
        "timeout": timeout,
        "memory_mb": memory_mb,
        "__doc__": inspect.getdoc(fn) or f"Reward lifted from {reward_name}.",
        "__module__": getattr(fn, "__module__", __name__),
    }
    cls = type(f"{reward_name}_reward", (FunctionReward,), attrs)
    cls.__qualname__ = cls.__name__
    return cls


def _rebuild(fn: Callable[..., Any], lifted: tuple[Any, ...], options: dict[str, Any]) -> Reward:
    name, batch, expensive, timeout, memory_mb, split = lifted
    cls = lift(
        fn,
        name,
        batch=batch,
        expensive=expensive,
        timeout=timeout,
        memory_mb=memory_mb,
        split=split,
    )
    return cls(**options)


def score_batch(reward: Reward, samples: Sequence[Sample]) -> list[Score]:
    """Call a reward on a batch and normalise its output to `Score` objects."""
    from .models import as_score

    return [as_score(v, reward.name) for v in reward.score(samples)]


def as_reward_class(obj: Any, name: str | None = None) -> type[Reward]:
    """Accept a `Reward` subclass or a plain function, as plugins register them."""
    if isinstance(obj, type) and issubclass(obj, Reward):
        cls: type[Reward] = obj
        if name and name != cls.name:
            cls = type(cls.__name__, (cls,), {"name": name, "__module__": cls.__module__})
        if not cls.name:
            raise ValueError(f"reward class {cls.__name__} has no `name`")
        return cls
    if callable(obj):
        return lift(obj, name)
    raise TypeError(f"cannot register {obj!r} as a reward: give a Reward subclass or a function")
