"""Calibration: the agreement figures against worked values, and ``assay judge calibrate``
end to end against the loopback server (scripted verdicts, see conftest)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assay.cli import main
from assay_judge.calibration import agreement, cohen_kappa, ranks, spearman
from assay_judge.testing import graded_text


def test_cohen_kappa_worked_example() -> None:
    # 50 items: both yes 20, both no 15, human yes/judge no 5, human no/judge yes 10.
    labels = [True] * 25 + [False] * 25
    preds = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    # p_o = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.4
    assert cohen_kappa(labels, preds) == pytest.approx(0.4)
    res = agreement(labels, preds)
    assert res["accuracy"] == pytest.approx(0.7)
    assert res["confusion"] == {
        "labels": [False, True],
        "rows_human_columns_judge": [[15, 10], [5, 20]],
    }


def test_quadratic_kappa_weights_near_misses_less() -> None:
    labels = [1, 2, 3, 4, 5] * 4
    near = [min(5, v + 1) for v in labels]
    far = [1 if v > 3 else 5 for v in labels]
    assert cohen_kappa(labels, near, "quadratic") > cohen_kappa(labels, far, "quadratic")
    assert cohen_kappa(labels, labels, "quadratic") == 1.0
    assert "quadratic_kappa" in agreement(labels, near)


def test_spearman_and_ranks() -> None:
    assert ranks([10, 20, 20, 5]) == [2.0, 3.5, 3.5, 1.0]
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None


def _write(path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    return str(path)


def likert_from_text(body: dict[str, Any]) -> str:
    text = graded_text(body)
    return json.dumps({"reasoning": "", "score": int(text.split("grade ")[1][0])})


def test_calibrate_cli_likert(serve, tmp_path, capsys) -> None:
    server = serve(likert_from_text)
    rubric = tmp_path / "r.yaml"
    rubric.write_text("likert: 5\n")
    # The judge says the digit after "grade"; humans agree except on two rows.
    rows = [
        {"prompt": "q", "completion": f"answer {i} grade {g}", "label": g}
        for i, g in enumerate([1, 2, 3, 4, 5] * 4)
    ]
    rows[0]["label"], rows[1]["label"] = 2, 3
    data = _write(tmp_path / "d.jsonl", rows)
    out_rows = tmp_path / "rows.jsonl"
    code = main(
        [
            "judge",
            "calibrate",
            "--rubric",
            str(rubric),
            "--data",
            data,
            "--base-url",
            server.url,
            "--model",
            "m",
            "--set",
            f"cache_path={tmp_path / 'c.sqlite'}",
            "--output",
            str(out_rows),
        ]
    )
    out = capsys.readouterr()
    assert code == 1  # a malformed line was skipped
    assert "line 21" in out.err
    result = json.loads(out.out.strip().splitlines()[-1])
    assert result["n"] == 20 and result["accuracy"] == pytest.approx(18 / 20)
    assert result["malformed_lines"] == 1 and result["judged_errors"] == 0
    assert result["quadratic_kappa"] > 0.9
    assert "human \\ judge" in out.out
    assert len(out_rows.read_text().splitlines()) == 20


def test_calibrate_cli_boolean_labels_and_min_kappa(serve, judge_options, tmp_path, capsys) -> None:
    server = serve()  # conftest's script: "good" -> 5, else 2; "junk" -> unparsable
    rubric = tmp_path / "r.json"
    rubric.write_text(json.dumps({"likert": 5}))
    rows = [
        {"completion": "good one", "label": True},
        {"completion": "meh", "label": False},
        {"completion": "good too", "label": "fail"},
        {"completion": "junk", "label": True},
    ]
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = main(
        [
            "judge",
            "calibrate",
            "--rubric",
            str(rubric),
            "--data",
            str(path),
            "--base-url",
            server.url,
            "--model",
            "m",
            "--set",
            "cache=false",
            "--min-kappa",
            "0.9",
        ]
    )
    out = capsys.readouterr()
    result = json.loads(out.out.strip().splitlines()[-1])
    assert result["n"] == 3 and result["judged_errors"] == 1
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert code == 1 and "min-kappa" in out.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rubric", "missing.yaml", "--data", "{data}"], "cannot read rubric"),
        (["--rubric", "{rubric}", "--data", "missing.jsonl"], "missing.jsonl"),
        (["--rubric", "{rubric}", "--data", "{data}", "--set", "concurency=3"], "concurency"),
    ],
)
def test_calibrate_usage_errors(tmp_path, capsys, args, message) -> None:
    rubric = tmp_path / "r.yaml"
    rubric.write_text("likert: 5\n")
    data = tmp_path / "d.jsonl"
    data.write_text('{"completion": "x", "label": 1}\n')
    argv = [a.format(rubric=rubric, data=data) for a in args]
    code = main(
        ["judge", "calibrate", *argv, "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
    )
    assert code == 2
    assert message in capsys.readouterr().err
