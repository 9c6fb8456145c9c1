"""Pairwise judging in both orders against the loopback server (scripted verdicts, see conftest),
and the DPO pair builder of assay-trl using it through ``pair_judge``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import assay
from assay_judge import PairwiseJudge
from assay_judge.testing import Reply


def quality(text: str) -> int:
    m = re.search(r"q=(\d+)", text)
    return int(m.group(1)) if m else 0


def fair(body: dict[str, Any]) -> str:
    """Prefers the response with the higher q=N; a tie when equal."""
    user = body["messages"][-1]["content"]
    one = re.search(r"<response_1>\n(.*?)\n</response_1>", user, re.S).group(1)
    two = re.search(r"<response_2>\n(.*?)\n</response_2>", user, re.S).group(1)
    a, b = quality(one), quality(two)
    return json.dumps({"reasoning": "", "winner": "1" if a > b else "2" if b > a else "tie"})


def biased(body: dict[str, Any]) -> str:
    return json.dumps({"reasoning": "", "winner": "1"})


def _pair_opts(server, judge_options) -> dict[str, Any]:
    opts = judge_options(server)
    opts.pop("rubric")
    return opts


def test_asks_both_orders_and_prefers_the_better(serve, judge_options) -> None:
    server = serve(fair)
    judge = PairwiseJudge(**_pair_opts(server, judge_options))
    out = judge.score(
        [
            assay.Sample(prompt="p", completion="q=5", other="q=1"),
            assay.Sample(prompt="p", completion="q=1", other="q=5"),
            assay.Sample(prompt="p", completion="q=3", other="q=3"),
        ]
    )
    assert [s.value for s in out] == [1.0, 0.0, 0.5]
    assert [s.details["prefers"] for s in out] == ["completion", "other", "tie"]
    assert all(s.details["position_consistent"] for s in out)
    assert server.requests == 6
    users = [b["messages"][-1]["content"] for b in server.bodies]
    orders = [u.index("q=5") < u.index("q=1") for u in users if "q=5" in u and "q=1" in u]
    assert sorted(orders) == [False, False, True, True]


def test_position_bias_cancels_out(serve, judge_options) -> None:
    judge = PairwiseJudge(**_pair_opts(serve(biased), judge_options))
    out = judge.score([assay.Sample(prompt="p", completion="q=5", other="q=1")])[0]
    assert out.value == 0.5
    assert out.details["position_consistent"] is False


def test_one_order_failing_is_an_error(serve, judge_options) -> None:
    def script(body: dict[str, Any]) -> Reply | str:
        user = body["messages"][-1]["content"]
        if user.index("<response_1>") < user.index("A-text") < user.index("<response_2>"):
            return "no idea"
        return fair(body)

    judge = PairwiseJudge(**_pair_opts(serve(script), judge_options))
    out = judge.score([assay.Sample(prompt="p", completion="A-text q=2", other="B q=1")])[0]
    assert out.status == "error"
    assert "completion first" in out.reason and out.details["reply"] == "no idea"


def test_missing_other_is_an_error_for_that_sample_only(serve, judge_options) -> None:
    judge = PairwiseJudge(**_pair_opts(serve(fair), judge_options))
    out = judge.score(
        [
            assay.Sample(prompt="p", completion="q=1"),
            assay.Sample(prompt="p", completion="q=2", other="q=1"),
        ]
    )
    assert out[0].status == "error" and "other" in out[0].reason
    assert out[1].value == 1.0


def test_dpo_pair_builder_takes_a_pairwise_judge(serve, judge_options) -> None:
    pytest.importorskip("assay_trl")
    from assay_trl.pairs import judged_pairs, load_pair_judge

    server = serve(fair)
    judge = load_pair_judge({"use": "pairwise_judge", "with": _pair_opts(server, judge_options)})
    rows = [
        {"prompt": "p1", "answer": "x"},
        {"prompt": [{"role": "user", "content": "p2"}]},
        {"prompt": "p3"},
    ]
    completions = [["q=2", "q=9", "q=1", "q=9"], ["q=4", "q=7"], ["q=3", "q=3"]]
    pairs = judged_pairs(rows, completions, judge)
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [
        ("q=9", "q=1"),
        ([{"role": "assistant", "content": "q=7"}], [{"role": "assistant", "content": "q=4"}]),
    ]
    assert pairs[0]["chosen_reward"] == 1.0 and pairs[0]["rejected_reward"] == 0.0
    # 3 distinct completions -> 3 comparisons; 2 -> 1; identical ones -> none. Both orders each.
    assert server.requests == 2 * (3 + 1)
    assert all(
        b["messages"][-1]["content"].count("<reference_answer>")
        == (1 if "p1" in b["messages"][-1]["content"] else 0)
        for b in server.bodies
    )


def test_dpo_config_accepts_pair_judge() -> None:
    pytest.importorskip("assay_trl")
    from assay_trl import get_algorithm

    algo = get_algorithm(
        "dpo",
        pair_judge={"use": "pairwise_judge", "with": {"base_url": "http://x/v1", "model": "m"}},
    )
    assert algo.config.pair_judge["use"] == "pairwise_judge"
    assert "pair_judge" not in algo.trl_kwargs()


def test_load_pair_judge_rejects_unknown_keys() -> None:
    pytest.importorskip("assay_trl")
    from assay_trl.pairs import load_pair_judge

    with pytest.raises(ValueError, match="use"):
        load_pair_judge({"name": "pairwise_judge"})


def more_as(body: dict[str, Any]) -> str:
    """Prefers the response with more letters `a` (a scripted taste the tiny model can learn)."""
    user = body["messages"][-1]["content"]
    one = re.search(r"<response_1>\n(.*?)\n</response_1>", user, re.S).group(1)
    two = re.search(r"<response_2>\n(.*?)\n</response_2>", user, re.S).group(1)
    a, b = one.count("a"), two.count("a")
    return json.dumps({"reasoning": "", "winner": "1" if a > b else "2" if b > a else "tie"})


def test_dpo_trains_on_judge_pairs_without_a_pipeline(serve, judge_options, tmp_path) -> None:
    pytest.importorskip("trl")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model on a shared machine: more threads only contend
    server = serve(more_as)
    try:
        trainer = _train_dpo(server, judge_options, tmp_path)
    finally:
        torch.set_num_threads(threads)
    hist = trainer.assay_history[0]
    assert hist["pairs"] > 0 and hist["mean_reward"] is None
    assert server.requests > 0
    for row in trainer.train_dataset:
        assert row["chosen"].count("a") > row["rejected"].count("a")


def _train_dpo(server, judge_options, tmp_path) -> Any:
    from assay_trl import get_algorithm

    return get_algorithm(
        "dpo",
        output_dir=str(tmp_path / "out"),
        k=4,
        max_new_tokens=6,
        max_steps=1,
        save_strategy="no",
        evaluate=False,
        pair_judge={"use": "pairwise_judge", "with": _pair_opts(server, judge_options)},
        trl={"disable_tqdm": True},
    ).train("tiny:abcdefgh", dataset=["ab", "cd", "ef", "gh"], pipeline=None)
