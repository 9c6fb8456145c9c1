"""overlong: DAPO soft overlong punishment; equal to TRL's get_soft_overlong_punishment."""

from __future__ import annotations

import random

import pytest

from assay.models import Sample
from assay.rewards import score_batch
from assay_verifiers.shaping.overlong import Overlong, soft_overlong

# (length, L_max, L_cache, value)
CASES = [
    (0, 100, 20, 0.0),
    (80, 100, 20, 0.0),
    (81, 100, 20, -0.05),
    (90, 100, 20, -0.5),
    (100, 100, 20, -1.0),
    (101, 100, 20, -1.0),
    (100, 100, 0, 0.0),  # no cache: a hard cut after L_max
    (101, 100, 0, -1.0),
    (16384, 20480, 4096, 0.0),  # the DAPO paper's interval (the defaults)
    (18432, 20480, 4096, -0.5),
    (20481, 20480, 4096, -1.0),
]


@pytest.mark.parametrize(("n", "max_len", "cache", "value"), CASES)
def test_soft_overlong_table(n: int, max_len: int, cache: int, value: float) -> None:
    assert soft_overlong(n, max_len, cache) == pytest.approx(value)
    reward = Overlong(max_completion_len=max_len, soft_punish_cache=cache)
    [score] = score_batch(reward, [Sample(completion="x", completion_ids=[7] * n)])
    assert score.value == pytest.approx(value)


def test_defaults_are_the_dapo_interval() -> None:
    o = Overlong().options
    assert (o.max_completion_len, o.soft_punish_cache) == (20480, 4096)


def test_equals_trl_soft_overlong_punishment() -> None:
    trl_rewards = pytest.importorskip("trl.rewards")
    rng = random.Random(0)
    for max_len, cache in [(100, 20), (512, 128), (64, 0), (30, 30)]:
        ids = [[1] * rng.randint(0, max_len + 40) for _ in range(300)]
        trl = trl_rewards.get_soft_overlong_punishment(max_len, cache)(ids)
        ours = Overlong(max_completion_len=max_len, soft_punish_cache=cache).score(
            [Sample(completion="", completion_ids=i) for i in ids]
        )
        assert ours == pytest.approx(trl)


def test_tokenizer_option_when_the_trainer_gives_no_ids(tokenizer_dir: str) -> None:
    reward = Overlong(max_completion_len=4, soft_punish_cache=2, tokenizer=tokenizer_dir)
    rows = [
        Sample(completion="the cat sat"),  # 3 tokens -> (2 - 3) / 2
        Sample(completion="the cat sat on the mat"),  # 6 tokens -> -1
        Sample(completion="ignored text", completion_ids=[1]),  # trainer ids win
    ]
    assert [s.value for s in score_batch(reward, rows)] == [-0.5, -1.0, 0.0]


def test_missing_or_bad_ids_are_unverifiable_per_sample() -> None:
    torch = pytest.importorskip("torch")
    rows = [
        Sample(completion="a"),
        Sample(completion="a", completion_ids="1 2 3"),
        Sample(completion="a", completion_ids={"ids": [1, 2]}),
        Sample(completion="a", completion_ids=torch.tensor([1, 2, 3])),
    ]
    scores = score_batch(Overlong(max_completion_len=3, soft_punish_cache=1), rows)
    assert [s.status for s in scores] == ["unverifiable", "unverifiable", "unverifiable", "ok"]
    assert "no completion_ids" in scores[0].reason
    assert scores[3].value == -1.0


def test_cache_larger_than_max_is_rejected() -> None:
    with pytest.raises(ValueError, match="soft_punish_cache"):
        Overlong(max_completion_len=10, soft_punish_cache=11)
