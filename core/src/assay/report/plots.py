"""The report's figures, drawn with matplotlib and kept as inline SVG (and PNG on request).

matplotlib because it is the long-maintained default of scientific Python (NumFOCUS, regular
releases), draws headless on the CPU with its Agg/SVG backends, and writes SVG that needs no
JavaScript and no network: the report stays one file that opens offline. Plotly or Bokeh would
embed megabytes of JavaScript or fetch it from a CDN. Imported only by ``assay report``
(``pip install 'assay[report]'``), so ``import assay`` stays light.

Each component keeps one colour (`component_color`) in every figure.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .analysis import STATUS_ORDER, ComponentStats, Loaded
from .compare import Comparison

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
STATUS_COLORS = {
    "ok": "#4c9f70",
    "n/a": "#c8c8c8",
    "unverifiable": "#e0b341",
    "timeout": "#9b59b6",
    "error": "#d9534f",
}
#: Route colours in the scatter: a palette apart from the component colours, so each component's
#: colour marks only that component.
ROUTE_PALETTE = (
    "#66c2a5",
    "#fc8d62",
    "#8da0cb",
    "#e78ac3",
    "#a6d854",
    "#ffd92f",
    "#e5c494",
    "#b3b3b3",
)
MAX_POINTS = 5000  # scatter points drawn (an even stride over the rows): the SVG stays small


@dataclass
class Figure:
    name: str  # file stem for --png
    title: str
    svg: str
    fig: object  # the matplotlib Figure, kept for --png and closed by `close_all`


def component_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def short(label: str, limit: int = 48) -> str:
    """A label that fits a plot (names come from user data and may be long)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",  # text stays text: smaller, searchable
            "text.parse_math": False,  # a `$` in a component or route name is just a `$`
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _svg(fig: object) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})  # type: ignore[attr-defined]
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline SVG


def distributions(stats: Sequence[ComponentStats], rewards: Sequence[float]) -> Figure:
    """One histogram per component, then the combined reward."""
    plt = _plt()
    panels = [(short(s.name), s.values, component_color(i)) for i, s in enumerate(stats)]
    panels.append(("reward (combined)", list(rewards), "#333333"))
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.3 * rows), squeeze=False)
    for ax, (name, values, color) in zip(axes.flat, panels):
        if values:
            lo, hi = min(min(values), 0.0), max(max(values), 1.0)  # 0/1 verifiers on [0, 1]
            ax.hist(values, bins=min(30, max(10, len(set(values)))), range=(lo, hi), color=color)
        else:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(f"{name} (n={len(values)})")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return Figure("distributions", "Per-component distributions", _svg(fig), fig)


def _stacked(title: str, name: str, labels: list[str], counts: list[dict[str, int]]) -> Figure:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(labels) + 1.0))
    left = [0.0] * len(labels)
    y = list(range(len(labels)))
    for status in STATUS_ORDER:
        widths = [
            c.get(status, 0) / max(1, sum(c.values())) for c in counts
        ]  # shares: components of very different sizes stay comparable
        if any(widths):
            ax.barh(y, widths, left=left, color=STATUS_COLORS[status], label=status)
            left = [a + b for a, b in zip(left, widths)]
    ax.set_yticks(y, labels)  # positions, not names: two names cut to one label stay two bars
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of samples")
    ax.invert_yaxis()
    ax.legend(ncol=len(STATUS_ORDER), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    return Figure(name, title, _svg(fig), fig)


def component_statuses(stats: Sequence[ComponentStats]) -> Figure:
    return _stacked(
        "Status per component",
        "status_per_component",
        [short(s.name) for s in stats],
        [s.statuses for s in stats],
    )


def route_statuses(routes: dict[str, dict[str, int]], route_by: str | None) -> Figure:
    return _stacked(
        f"Status per route ({route_by or 'no route field'})",
        "status_per_route",
        [short(r) for r in routes],
        list(routes.values()),
    )


def reward_vs_length(data: Loaded) -> Figure:
    plt = _plt()
    rows = [r for r in data.rows if r.reward is not None]
    stride = max(1, -(-len(rows) // MAX_POINTS))
    shown = rows[::stride]
    routes = list(dict.fromkeys(r.route or "(none)" for r in shown))
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for i, route in enumerate(routes):
        pts = [r for r in shown if (r.route or "(none)") == route]
        ax.scatter(
            [r.length for r in pts],
            [r.reward for r in pts],
            s=16,
            alpha=0.6,
            color=ROUTE_PALETTE[i % len(ROUTE_PALETTE)],
            label=short(route),
        )
    ax.set_xlabel("completion length (characters)")
    ax.set_ylabel("reward")
    if len(routes) > 1:
        ax.legend(frameon=False, title=data.route_by)
    note = f" ({len(shown)} of {len(rows)} shown, evenly spaced)" if stride > 1 else ""
    fig.tight_layout()
    return Figure("reward_vs_length", f"Reward against completion length{note}", _svg(fig), fig)


def mean_shift(cmp: Comparison, label_a: str, label_b: str) -> Figure:
    plt = _plt()
    shifts = [s for s in cmp.shifts if s.mean_a is not None and s.mean_b is not None]
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(shifts) + 1.2))
    y = list(range(len(shifts)))
    ax.barh(
        [i - 0.2 for i in y], [s.mean_a for s in shifts], height=0.4, label=label_a, color="#9ab"
    )
    ax.barh(
        [i + 0.2 for i in y], [s.mean_b for s in shifts], height=0.4, label=label_b, color="#1f77b4"
    )
    ax.set_yticks(y, [short(s.name) for s in shifts])
    ax.invert_yaxis()
    ax.set_xlabel("mean value (samples scored in both runs)")
    ax.legend(frameon=False)
    fig.tight_layout()
    return Figure("mean_shift", "Per-component mean, before and after", _svg(fig), fig)


def close_all(figures: Sequence[Figure]) -> None:
    plt = _plt()
    for f in figures:
        plt.close(f.fig)
