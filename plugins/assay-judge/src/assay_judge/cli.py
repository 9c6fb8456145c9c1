"""``assay judge calibrate --rubric R --data labelled.jsonl --base-url URL --model M``.

Each data line is a sample (``prompt``, ``completion``, optional ``answer``) with a human
``label``: a boolean (pass/fail) or an integer grade. The judge scores every line; its score is
put on the label's scale (booleans: score >= ``--threshold``; integers: the Likert grade for a
Likert rubric, else the score mapped onto the labels' range and rounded), and the agreement is
printed (`assay_judge.calibration`), last a JSON line. Exit codes: 0 done; 1 done, but kappa is
under ``--min-kappa`` or some lines were malformed; 2 bad arguments, rubric, options or data file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_BELOW, EXIT_USAGE = 0, 1, 2
_TRUE = {"true", "pass", "yes", "good"}
_FALSE = {"false", "fail", "no", "bad"}


def add_judge_command(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("judge", help="LLM-as-judge tools (calibrate a rubric)")
    sub = parser.add_subparsers(dest="judge_command", required=True)
    cal = sub.add_parser(
        "calibrate",
        help="agreement of a judge and rubric with human labels",
        description="Score labelled samples with the judge and report accuracy, Cohen's kappa, "
        "Spearman and a confusion table.",
    )
    cal.add_argument("--rubric", required=True, help="rubric YAML/JSON file")
    cal.add_argument("--data", required=True, help="JSONL: prompt, completion, [answer], label")
    cal.add_argument("--config", help="YAML/JSON of judge options (the `with:` of a pipeline)")
    cal.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    cal.add_argument("--model", help="the judge model's name on that endpoint")
    cal.add_argument("--api-key-env", help="environment variable holding the API key")
    cal.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a judge option (value parsed as JSON when it parses): --set concurrency=32",
    )
    cal.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="score at or above which a boolean label is predicted true",
    )
    cal.add_argument("--min-kappa", type=float, help="exit 1 when Cohen's kappa is below this")
    cal.add_argument(
        "--output", help="write each line's label, prediction, score and status here (JSONL)"
    )
    cal.set_defaults(func=run_calibrate)
    return parser


def _fail(message: str) -> int:
    print(f"assay judge calibrate: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def parse_label(value: Any) -> bool | int:
    """A boolean or an integer label; anything else is a ValueError."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"label {value!r} is neither a boolean nor an integer")


def judge_options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if args.config:
        import yaml

        data = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{args.config}: judge options are a mapping")
        opts.update(data)
    for flag, key in (("base_url", "base_url"), ("model", "model"), ("api_key_env", "api_key_env")):
        if getattr(args, flag):
            opts[key] = getattr(args, flag)
    for item in args.overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: use KEY=VALUE")
        try:
            opts[key.strip()] = json.loads(raw)
        except ValueError:
            opts[key.strip()] = raw
    opts["rubric"] = args.rubric
    return opts


def read_labelled(path: str) -> tuple[list[dict[str, Any]], list[bool | int], list[str]]:
    rows, labels, problems = [], [], []
    with open(path, encoding="utf-8-sig") as fh:
        for no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
                if "completion" not in row:
                    raise ValueError("no `completion`")
                label = parse_label(row.pop("label", None))
            except ValueError as exc:
                problems.append(f"line {no}: {exc}")
                continue
            rows.append(row)
            labels.append(label)
    return rows, labels, problems


def on_label_scale(
    value: float, labels: list[bool | int], rubric: Any, threshold: float
) -> bool | int:
    """The judge's score as a label: see the module docstring."""
    if all(isinstance(v, bool) for v in labels):
        return value >= threshold
    if rubric.is_likert:
        lo, hi = rubric.criteria[0].scale
    else:
        lo, hi = min(int(v) for v in labels), max(int(v) for v in labels)
    return min(hi, max(lo, math.floor(lo + value * (hi - lo) + 0.5)))


def run_calibrate(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from .calibration import agreement, format_table
    from .reward import JudgeReward
    from .rubric import RubricError

    try:
        opts = judge_options(args)
        rows, labels, problems = read_labelled(args.data)
        judge = JudgeReward(**opts)
    except (OSError, ValueError, RubricError, ValidationError) as exc:
        return _fail(str(exc))
    for p in problems:
        print(f"skipped {p}", file=sys.stderr)
    if not rows:
        return _fail(f"{args.data}: no labelled lines")
    if any(isinstance(v, bool) for v in labels) and not all(isinstance(v, bool) for v in labels):
        labels = [int(v) for v in labels]  # mixed true/false and 0/1: one integer scale
    rubric = judge.rubric
    if rubric.is_likert and not all(isinstance(v, bool) for v in labels):
        lo, hi = rubric.criteria[0].scale or (0, 0)
        off = sum(not lo <= v <= hi for v in labels)
        if off:
            print(
                f"warning: {off} labels lie outside the Likert scale [{lo}, {hi}]", file=sys.stderr
            )
    import assay

    try:
        scores = judge.score([assay.Sample.model_validate(r) for r in rows])
    except ValidationError as exc:
        return _fail(f"{args.data}: {exc}")
    finally:
        judge.close()
    kept_labels, preds, values, out_rows = [], [], [], []
    for label, s in zip(labels, scores):
        row: dict[str, Any] = {"label": label, "status": s.status, "score": s.value}
        if s.status == "ok" and s.value is not None:
            pred = on_label_scale(s.value, labels, judge.rubric, args.threshold)
            kept_labels.append(label)
            preds.append(pred)
            values.append(s.value)
            row["prediction"] = pred
        else:
            row["reason"] = s.reason
        out_rows.append(row)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            for r in out_rows:
                fh.write(json.dumps(r) + "\n")
    result = agreement(kept_labels, preds, values) if kept_labels else {"n": 0}
    result["judged_errors"] = len(rows) - len(kept_labels)
    result["malformed_lines"] = len(problems)
    if kept_labels:
        print(format_table(result))
    print(
        f"{result['judged_errors']} lines without a verdict, {len(problems)} malformed lines skipped"
    )
    print(json.dumps(result))
    kappa = result.get("cohen_kappa")
    if args.min_kappa is not None and (kappa is None or kappa < args.min_kappa):
        print(f"kappa {kappa} is under --min-kappa {args.min_kappa}", file=sys.stderr)
        return EXIT_BELOW
    return EXIT_BELOW if problems else EXIT_OK
