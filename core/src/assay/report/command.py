"""``assay report SCORED.jsonl [-o report.html] [--compare EARLIER.jsonl] [--png DIR]``: the
command-line side of `assay.report` (argument parsing, messages, exit codes).

Exit codes: 0 written; 1 written, but some lines were skipped; 2 a missing input, an unwritable
output, or matplotlib not installed (``pip install 'assay[report]'``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import ReportUnavailable, build_report

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def add_report_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``report`` to the ``assay`` command line."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="explain a scored JSONL file in one self-contained HTML page",
        description="Distributions, statuses per component and route, reward against length, "
        "top and bottom samples with reasons, reward-hacking warnings; with --compare, what "
        "changed from an earlier run. Needs matplotlib: pip install 'assay[report]'.",
    )
    p.add_argument("scored", help="output of `assay score` (best with --details)")
    p.add_argument("--output", "-o", default="report.html", help="HTML file to write")
    p.add_argument("--compare", metavar="EARLIER", help="an earlier scored run of the same samples")
    p.add_argument("--png", metavar="DIR", help="also write each plot as a PNG into DIR")
    p.add_argument("--by", help="dotted field to group routes by (default: metadata.task, ...)")
    p.add_argument("--top", type=int, default=10, help="samples in the top and bottom tables")
    p.add_argument(
        "--format-component",
        dest="format_components",
        action="append",
        metavar="NAME",
        help="a format component for the hacking checks (default: found by name)",
    )
    p.add_argument(
        "--answer-component",
        dest="answer_components",
        action="append",
        metavar="NAME",
        help="an answer-checking component for the hacking checks (default: found by name)",
    )
    p.set_defaults(func=cmd_report)
    return p


def cmd_report(args: argparse.Namespace) -> int:
    for path in [args.scored, args.compare]:
        if path is not None and not Path(path).is_file():
            print(f"assay report: no such file: {path}", file=sys.stderr)
            return EXIT_USAGE
    try:
        summary = build_report(
            args.scored,
            args.output,
            compare_path=args.compare,
            png_dir=args.png,
            route_by=args.by,
            top=args.top,
            formats=args.format_components,
            answers=args.answer_components,
        )
    except ReportUnavailable as exc:
        print(f"assay report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # an unreadable input, an unwritable output
        print(f"assay report: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"assay report: {summary.output}: {summary.samples} samples, "
        f"{len(summary.components)} components, {len(summary.fired)} warnings"
        + (f", {summary.skipped} lines skipped" if summary.skipped else ""),
        file=sys.stderr,
    )
    for s in summary.fired:
        print(f"  warning: {s.name}: {s.figure}", file=sys.stderr)
    for png in summary.pngs:
        print(f"  wrote {png}", file=sys.stderr)
    return EXIT_PARTIAL if summary.skipped else EXIT_OK
