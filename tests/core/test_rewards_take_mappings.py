"""A reward's own `score` takes plain mappings as `Pipeline.score` does (they used to reach the
reward as dicts and come back as ``error`` scores reading "'dict' object has no attribute")."""

from __future__ import annotations

from collections.abc import Sequence

import assay


class Echo(assay.Reward):
    name = "echo_answer_test"

    def score(self, samples: Sequence[assay.Sample]) -> list[assay.ScoreLike]:
        return [float(s.answer == s.completion_text) for s in samples]


class Louder(Echo):  # a subclass that calls super(): converted once, still a Sample inside
    def score(self, samples: Sequence[assay.Sample]) -> list[assay.ScoreLike]:
        assert all(isinstance(s, assay.Sample) for s in samples)
        return [2 * float(v) for v in super().score(samples)]  # type: ignore[arg-type]


def test_mappings_are_validated_into_samples():
    rows = [{"completion": "7", "answer": "7"}, assay.Sample(completion="8", answer="7")]
    assert Echo().score(rows) == [1.0, 0.0]
    assert Louder().score(rows) == [2.0, 0.0]


def test_a_row_that_is_no_sample_is_an_error_and_the_rest_is_scored():
    got = Echo().score([{"completion": "7", "answer": "7"}, {"completion": 5}, 3])
    assert got[0] == 1.0
    for bad, needle in ((got[1], "completion"), (got[2], "int")):
        assert isinstance(bad, assay.Score) and (bad.status, bad.value) == ("error", None)
        assert needle in bad.reason


def test_samples_pass_through_untouched():
    rows = [assay.Sample(completion="7", answer="7")]
    seen = []

    class Spy(assay.Reward):
        name = "spy_test"

        def score(self, samples):
            seen.append(samples)
            return [1.0]

    Spy().score(rows)
    assert seen[0] is rows  # no copy on the hot path


def test_first_party_rewards_take_mappings():
    [got] = assay.get_reward("math").score([{"completion": "\\boxed{3}", "answer": "3"}])
    assert isinstance(got, assay.Score) and (got.status, got.value) == ("ok", 1.0)
