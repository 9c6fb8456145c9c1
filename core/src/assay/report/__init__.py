"""``assay report``: a scored JSONL file explained in one self-contained HTML page.

Per-component distributions, status per component and per route, reward against completion
length, the top and bottom samples with their reasons, warnings about reward hacking the data
shows, and (with a second scored file) what changed between the runs. The numbers come from
`analysis`, `compare` and `signals` (pure Python); the figures from `plots` (matplotlib, the
``report`` extra); the page from `html`.

    from assay.report import build_report
    build_report("scored.jsonl", "report.html", compare_path="before.jsonl", png_dir="plots/")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .analysis import Loaded, component_stats, load_scored, rewarded, route_statuses
from .compare import Comparison, compare
from .signals import Signal, all_signals


class ReportUnavailable(RuntimeError):
    """The plotting library is not installed."""


@dataclass
class ReportSummary:
    """What was written, for the command line to print."""

    output: Path
    samples: int
    components: list[str]
    fired: list[Signal]
    pngs: list[Path]
    skipped: int
    comparison: Comparison | None


def build_report(
    scored: str | Path,
    output: str | Path,
    *,
    compare_path: str | Path | None = None,
    png_dir: str | Path | None = None,
    route_by: str | None = None,
    top: int = 10,
    formats: Sequence[str] | None = None,
    answers: Sequence[str] | None = None,
) -> ReportSummary:
    """Write the report of ``scored`` to ``output``. With ``compare_path`` (an earlier run of
    the same samples) it also shows what changed from that run to this one; ``png_dir`` also
    gets each figure as a PNG."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ReportUnavailable(
            "assay report draws with matplotlib: pip install 'assay[report]'"
        ) from exc
    from . import plots
    from .html import render

    data = load_scored(scored, route_by)
    other: Loaded | None = None
    cmp: Comparison | None = None
    if compare_path is not None:
        other = load_scored(compare_path, route_by or data.route_by)
        cmp = compare(other, data)  # the other run is "before", this one "after"
    stats = component_stats(data)
    routes = route_statuses(data)
    signals = all_signals(data, stats, cmp, formats, answers)
    ranked = rewarded(data.rows)
    figures = [
        plots.distributions(stats, [r.reward for r in ranked]),  # type: ignore[misc]
        plots.component_statuses(stats),
        plots.route_statuses(routes, data.route_by),
        plots.reward_vs_length(data),
    ]
    if cmp is not None and other is not None:
        figures.append(plots.mean_shift(cmp, Path(other.path).name, Path(data.path).name))
    try:
        page = render(
            data,
            stats,
            routes,
            signals,
            figures,
            ranked[:top],
            ranked[::-1][:top] if len(ranked) > top else [],
            cmp,
            other,
        )
        out = Path(output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
        pngs: list[Path] = []
        if png_dir is not None:
            folder = Path(png_dir)
            folder.mkdir(parents=True, exist_ok=True)
            for f in figures:
                path = folder / f"{f.name}.png"
                f.fig.savefig(path, dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
                pngs.append(path)
    finally:
        plots.close_all(figures)
    return ReportSummary(
        out,
        len(data.rows),
        data.components,
        [s for s in signals if s.fired],
        pngs,
        len(data.skipped),
        cmp,
    )


__all__ = ["ReportSummary", "ReportUnavailable", "build_report"]
