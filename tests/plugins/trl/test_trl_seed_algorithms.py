"""The pure parts of GTPO, Plackett-Luce, STaR and RFT: entropy-weighted advantages, rankings with
ties, the Plackett-Luce loss against its definition, acceptance filtering and hinted prompts.
Hostile inputs are generated with hypothesis: every function here is one pass over its input."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay_trl.filtering import accepted_examples, with_hint
from assay_trl.ranking import rank_tiers, ranked_groups

# -- GTPO --------------------------------------------------------------------------------------


def test_gtpo_rewards_uncertain_success_tokens_and_punishes_confident_failures() -> None:
    import torch

    from assay_trl.advantages import entropy_weighted_advantages

    rewards = torch.tensor([1.0, 1.0, 0.0, 0.0])
    entropies = torch.tensor([[2.0, 0.5, 1.0], [1.0, 1.0, 1.0], [0.2, 1.5, 1.0], [1.0, 1.0, 1.0]])
    mask = torch.ones(4, 3, dtype=torch.long)
    mask[1, 2] = 0
    adv = entropy_weighted_advantages(rewards, entropies, mask, 4, alpha1=1.0, alpha2=0.5)
    assert adv.shape == (4, 3)
    assert adv[1, 2] == 0  # padding
    assert (adv[:2][mask[:2] > 0] > 0).all() and (adv[2:] < 0).all()
    assert adv[0, 0] > adv[0, 1]  # success: the high-entropy token gets more credit
    assert adv[2, 0] < adv[2, 1]  # failure: the confident token is punished harder
    seq = entropy_weighted_advantages(rewards, entropies, mask, 4, level="sequence")
    assert (seq[:2][mask[:2] > 0] > 0).all() and (seq[2:] < 0).all()
    assert torch.allclose(seq[0], seq[0, 0].expand(3))  # one advantage per sequence


def test_gtpo_gives_no_signal_without_spread_or_reward() -> None:
    import torch

    from assay_trl.advantages import entropy_weighted_advantages

    entropies = torch.rand(8, 5) + 0.1
    mask = torch.ones(8, 5, dtype=torch.long)
    rewards = torch.tensor([0.5] * 4 + [1.0, float("nan"), 0.0, 0.0])
    adv = entropy_weighted_advantages(rewards, entropies, mask, 4)
    assert (adv[:4] == 0).all()  # a group whose rewards agree
    assert (adv[5] == 0).all()  # unscored row
    assert adv[4].min() > 0 and adv[6].max() < 0
    assert torch.isfinite(adv).all()


@given(
    st.lists(st.one_of(st.just(float("nan")), st.floats(-1e3, 1e3)), min_size=8, max_size=8),
    st.lists(st.floats(0.0, 20.0), min_size=24, max_size=24),
    st.lists(st.booleans(), min_size=24, max_size=24),
    st.sampled_from(["token", "sequence"]),
)
@settings(max_examples=150, deadline=None)
def test_gtpo_advantages_stay_finite_on_hostile_input(rewards, entropies, mask, level) -> None:
    import torch

    from assay_trl.advantages import entropy_weighted_advantages

    m = torch.tensor(mask).view(8, 3)
    adv = entropy_weighted_advantages(
        torch.tensor(rewards), torch.tensor(entropies).view(8, 3), m, 4, level=level
    )
    assert torch.isfinite(adv).all()
    assert (adv[m == 0] == 0).all()
    nan_rows = torch.isnan(torch.tensor(rewards))
    assert (adv[nan_rows] == 0).all()


# -- Plackett-Luce -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([1.0, 0.0, 0.5], [(0, 0), (2, 1), (1, 2)]),
        ([None, 0.3, 0.3, 0.1], [(1, 0), (2, 0), (3, 1)]),  # tie kept as one tier
        ([0.3, 0.3], None),  # all tied: nothing to learn
        ([None, float("nan"), 1.0], None),  # one scorable completion
        ([], None),
    ],
)
def test_rank_tiers(scores, expected) -> None:
    assert rank_tiers(scores) == expected


def test_tiers_are_anchored_so_ties_do_not_chain() -> None:
    assert rank_tiers([1.0, 0.9, 0.8, 0.7], tie_tolerance=0.15) == [(0, 0), (1, 0), (2, 1), (3, 1)]
    assert rank_tiers([1.0, 0.0], min_margin=1.0) is None
    with pytest.raises(ValueError, match="tie_tolerance"):
        rank_tiers([1.0], tie_tolerance=-1)


@given(
    st.lists(
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=32)),
        max_size=200,
    ),
    st.floats(min_value=0, max_value=10),
)
@settings(max_examples=200, deadline=None)
def test_rank_tiers_on_hostile_scores(scores, tol) -> None:
    ranking = rank_tiers(scores, tie_tolerance=tol)
    if ranking is None:
        return
    values = [scores[i] for i, _ in ranking]
    assert all(v is not None and not math.isnan(v) for v in values)
    assert values == sorted(values, reverse=True)
    tiers = [t for _, t in ranking]
    assert tiers[0] == 0 and tiers[-1] >= 1 and tiers == sorted(tiers)
    assert len({i for i, _ in ranking}) == len(ranking)


def test_ranked_groups_skip_prompts_without_a_ranking() -> None:
    rows = [{"prompt": "p"}, {"prompt": "q"}]
    groups = ranked_groups(rows, [["x", "y", "z"], ["u", "v"]], [[0.1, None, 0.9], [0.5, 0.5]])
    assert groups == [
        {"prompt": "p", "completions": ["z", "x"], "tiers": [0, 1], "rewards": [0.9, 0.1]}
    ]


def _pl_by_definition(scores, tiers):
    """-sum_i log(exp(s_i) / sum over i and the strictly worse of exp(s_j))."""
    total = 0.0
    for i, s in enumerate(scores):
        den = sum(math.exp(scores[j]) for j in range(len(scores)) if j == i or tiers[j] > tiers[i])
        total -= s - math.log(den)
    return total


def test_plackett_luce_loss_matches_its_definition_and_dpo_for_two() -> None:
    import torch

    from assay_trl.pl_trainer import plackett_luce_loss

    s = torch.tensor([[0.7, -0.2]])
    loss = plackett_luce_loss(s, torch.tensor([[0, 1]]), torch.ones(1, 2, dtype=torch.bool))
    assert loss.item() == pytest.approx(-torch.nn.functional.logsigmoid(s[0, 0] - s[0, 1]).item())
    torch.manual_seed(0)
    cases = [[0, 1, 2, 3], [0, 0, 1, 2], [0, 1, 1, 1], [0, 1, 2, 2]]
    scores = torch.randn(len(cases), 4, dtype=torch.float64)
    tiers = torch.tensor(cases)
    valid = torch.ones(len(cases), 4, dtype=torch.bool)
    got = plackett_luce_loss(scores, tiers, valid).item()
    expected = sum(_pl_by_definition(scores[g].tolist(), cases[g]) for g in range(len(cases)))
    assert got == pytest.approx(expected / len(cases))
    # a padded slot changes nothing
    padded = torch.cat([scores[:1, :3], torch.full((1, 1), 99.0, dtype=torch.float64)], 1)
    mask = torch.tensor([[True, True, True, False]])
    got = plackett_luce_loss(padded, torch.tensor([[0, 1, 2, 0]]), mask).item()
    assert got == pytest.approx(_pl_by_definition(scores[0, :3].tolist(), [0, 1, 2]))


def test_plackett_luce_loss_is_the_ranking_likelihood() -> None:
    """Strict rankings: exp(-loss) summed over all orderings of 4 items is 1 (a distribution)."""
    import torch

    from assay_trl.pl_trainer import plackett_luce_loss

    s = torch.tensor([0.3, -1.0, 2.0, 0.1], dtype=torch.float64)
    total = 0.0
    for perm in itertools.permutations(range(4)):
        scores = s[list(perm)].unsqueeze(0)
        loss = plackett_luce_loss(scores, torch.arange(4).unsqueeze(0), torch.ones(1, 4).bool())
        total += math.exp(-loss.item())
    assert total == pytest.approx(1.0)


# -- STaR / RFT --------------------------------------------------------------------------------


def test_accepted_examples_keep_distinct_verified_completions() -> None:
    rows = [{"prompt": "p"}, {"prompt": [{"role": "user", "content": "q"}]}, {"prompt": "r"}]
    completions = [["a", "a", "b", "c"], ["x", "y"], ["z"]]
    rewards = [[1.0, 1.0, None, 1.0], [0.0, float("nan")], [0.99]]
    kept, failed = accepted_examples(rows, completions, rewards, 1.0)
    assert kept == [{"prompt": "p", "completion": "a"}, {"prompt": "p", "completion": "c"}]
    chat_kept, _ = accepted_examples(rows[1:2], [["x"]], [[1.0]], 1.0)
    assert chat_kept[0]["completion"] == [{"role": "assistant", "content": "x"}]
    assert failed == [1, 2]
    kept, _ = accepted_examples(rows, completions, rewards, 1.0, distinct=False, per_prompt=2)
    assert [k["completion"] for k in kept] == ["a", "a"]


@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.just(float("nan")), st.floats(-2, 2)), max_size=6),
        max_size=20,
    ),
    st.floats(-2, 2),
)
@settings(max_examples=150, deadline=None)
def test_accepted_examples_on_hostile_scores(scores, threshold) -> None:
    rows = [{"prompt": f"p{i}"} for i in range(len(scores))]
    completions = [[f"c{j % 2}" for j in range(len(group))] for group in scores]
    kept, failed = accepted_examples(rows, completions, scores, threshold)
    for i, group in enumerate(scores):
        ok = [
            c for c, v in zip(completions[i], group) if v is not None and v == v and v >= threshold
        ]
        mine = [k["completion"] for k in kept if k["prompt"] == f"p{i}"]
        assert mine == list(dict.fromkeys(ok))
        assert (i in failed) == (not ok)


@given(st.text(max_size=2000), st.text(max_size=2000))
@settings(max_examples=100, deadline=None)
def test_hints_carry_hostile_text_verbatim(prompt, answer) -> None:
    template = "{prompt}\n(Hint: {answer})"
    assert with_hint(prompt, answer, template) == f"{prompt}\n(Hint: {answer})"
    chat = [{"role": "system", "content": "s"}, {"role": "user", "content": prompt}]
    hinted = with_hint(chat, answer, template)
    assert hinted[1]["content"] == f"{prompt}\n(Hint: {answer})"
    assert chat[1]["content"] == prompt  # the original is not modified


def test_hints_reject_prompts_that_cannot_carry_them() -> None:
    with pytest.raises(ValueError, match="user message"):
        with_hint([{"role": "system", "content": "s"}], "1", "{prompt}{answer}")
    with pytest.raises(TypeError, match="chat messages"):
        with_hint(3, "1", "{prompt}{answer}")


def test_configs_reject_what_cannot_run() -> None:
    from pydantic import ValidationError

    from assay_trl import get_algorithm

    with pytest.raises(ValidationError, match="online"):
        get_algorithm("rft", rounds=2)
    with pytest.raises(ValidationError, match="answer"):
        get_algorithm("star", hint_template="{prompt}")
    with pytest.raises(ValidationError, match="hint_template"):
        get_algorithm("star", hint_template="{prompt}{answer}{other}")
    with pytest.raises(ValidationError, match="max_kl"):
        get_algorithm("trpo", max_kl=0)
    with pytest.raises(ValidationError, match="entropy_level"):
        get_algorithm("gtpo", entropy_level="word")


SEED_ALGORITHMS = ["trpo", "gtpo", "plackett_luce", "star", "rft"]


@pytest.mark.parametrize("name", SEED_ALGORITHMS)
def test_packaged_recipe_validates_with_dry_run(name, capsys, tmp_path) -> None:
    import json

    from assay_trl.cli import main

    argv = ["train", name, "--config", name, "--output-dir", str(tmp_path), "--dry-run"]
    assert main(argv) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["algorithm"] == name and shown["model"] == "tiny:abcdefgh"
    assert main(["train", name, "--config", name, "--set", "no_such_field=1", "--dry-run"]) == 2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gtpo", {"loss_type": "dapo", "scale_rewards": "none", "entropy_alpha2": 0.1}),
        (
            "trpo",
            {"num_iterations": 1, "steps_per_generation": 1, "beta": 0.0, "max_kl": 0.01},
        ),
    ],
)
def test_seed_online_settings_reach_trl(name, expected, tmp_path) -> None:
    from assay_trl import get_algorithm

    algo = get_algorithm(name, output_dir=str(tmp_path), num_iterations=3, beta=0.5)
    args = algo.args_class()(**algo.trl_kwargs())
    for key, value in expected.items():
        assert getattr(args, key) == value, key
