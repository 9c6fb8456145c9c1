from __future__ import annotations

import asyncio
import pickle

import pytest
from pydantic import ValidationError

import assay
from assay.models import Sample
from assay.rewards import is_batch_signature, lift


def per_sample(sample, bonus: float = 0.0):
    return len(sample.completion_text) + bonus


def trl_style(prompts, completions, answer=None, **kwargs):
    return [1.0 if c == a else 0.0 for c, a in zip(completions, answer)]


async def async_per_sample(sample):
    await asyncio.sleep(0)
    return 2.0


async def async_batch(prompts, completions, **kwargs):
    await asyncio.sleep(0)
    return [float(len(c)) for c in completions]


SAMPLES = [
    Sample(prompt="p", completion="ab", answer="ab"),
    Sample(prompt="p", completion="x", answer="y"),
]


@pytest.mark.parametrize(
    ("fn", "batch", "expected"),
    [
        (per_sample, False, [2, 1]),
        (trl_style, True, [1.0, 0.0]),
        (async_per_sample, False, [2.0, 2.0]),
        (async_batch, True, [2.0, 1.0]),
    ],
)
def test_lifted_functions_score_batches(fn, batch, expected):
    cls = lift(fn)
    assert cls.batch is batch
    assert list(cls().score(SAMPLES)) == expected
    assert list(asyncio.run(cls().ascore(SAMPLES))) == expected


def test_async_reward_from_inside_a_running_loop():
    cls = lift(async_per_sample)

    async def main():
        return cls().score(SAMPLES)  # sync call from a thread that runs a loop

    assert asyncio.run(main()) == [2.0, 2.0]


def test_function_keyword_parameters_become_validated_options():
    cls = lift(per_sample)
    assert cls(bonus=1.5).score(SAMPLES[:1]) == [3.5]
    with pytest.raises(ValidationError, match="bonsu"):
        cls(bonsu=1)


def test_batch_signature_detection():
    assert is_batch_signature(trl_style)
    assert not is_batch_signature(per_sample)


def test_lambda_needs_a_name():
    with pytest.raises(ValueError, match="explicit name"):
        lift(lambda s: 1.0)
    assert lift(lambda s: 1.0, "one")().score(SAMPLES) == [1.0, 1.0]


def test_decorator_registers_at_runtime_and_returns_the_function(assay_registry):
    @assay.reward(name="test_len_reward")
    def f(sample):
        return float(len(sample.completion_text))

    assert f(SAMPLES[0]) == 2.0  # still the plain function
    assert assay.get_reward("test_len_reward").score(SAMPLES) == [2.0, 1.0]
    entry = assay_registry.get("reward", "test_len_reward")
    assert entry.plugin == "__runtime__"


def test_batch_function_returning_wrong_length_is_an_error():
    def bad(prompts, completions, **kw):
        return [1.0]

    with pytest.raises(ValueError, match="returned 1 values for 2 samples"):
        lift(bad)().score(SAMPLES)


def test_registered_function_stays_picklable():
    assert pickle.loads(pickle.dumps(per_sample)) is per_sample
