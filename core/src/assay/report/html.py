"""The report as one self-contained HTML page: inline CSS, inline SVG figures, no script, no
link to anything outside the file (so it opens offline and fetches nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from .analysis import STATUS_ORDER, ComponentStats, Loaded, Row
from .compare import Comparison
from .plots import Figure, component_color
from .signals import Signal

MAX_FLIPS = 100  # flipped samples listed (all are counted)

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
margin:0 auto;max-width:1100px;padding:16px 24px;color:#222;background:#fff}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#555}.swatch{display:inline-block;width:10px;height:10px;margin-right:5px;
border-radius:2px}.warn{background:#fdecea;border-left:4px solid #d9534f;padding:6px 10px;
margin:6px 0}.fine{color:#555}.snippet{font-family:ui-monospace,monospace;font-size:12px;
white-space:pre-wrap;word-break:break-word;max-width:460px}figure{margin:8px 0}
figcaption{font-weight:600;margin-bottom:4px}svg{max-width:100%;height:auto}
"""


def _num(x: float | None, fmt: str = ".3g") -> str:
    return "&ndash;" if x is None else format(x, fmt)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table; cells are HTML already (callers escape text)."""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = []
    for r in rows:
        tds = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(r)
        )
        body.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _signals(signals: Sequence[Signal]) -> str:
    fired = [s for s in signals if s.fired]
    out = ["<h2>Reward-hacking and measurement warnings</h2>"]
    if not fired:
        out.append('<p class="fine">No check fired on this data.</p>')
    for s in fired:
        out.append(
            f'<div class="warn"><b>{escape(s.name)}</b>: {escape(s.figure)}.'
            f" <i>{escape(s.advice)}</i></div>"
        )
    rows = [[escape(s.name), "fired" if s.fired else "&ndash;", escape(s.figure)] for s in signals]
    out.append("<details><summary>Every check and its figure</summary>")
    out.append(_table(["check", "", "figure"], rows))
    out.append("</details>")
    return "\n".join(out)


def _components(stats: Sequence[ComponentStats]) -> str:
    head = ["component", "scored", "mean", "share > 0", *STATUS_ORDER]
    rows = []
    for i, s in enumerate(stats):
        sw = f'<span class="swatch" style="background:{component_color(i)}"></span>'
        rows.append(
            [
                sw + escape(s.name),
                str(s.scored),
                _num(s.mean),
                _num(s.positive, ".1%"),
                *[str(s.statuses.get(k, 0)) for k in STATUS_ORDER],
            ]
        )
    return _table(head, rows, numeric=range(1, len(head)))


def _routes(routes: dict[str, dict[str, int]], route_by: str | None) -> str:
    statuses = ["ok", "unverifiable", "timeout", "error"]
    rows = [
        [escape(k), str(sum(c.values())), *[str(c.get(s, 0)) for s in statuses]]
        for k, c in routes.items()
    ]
    head = [escape(route_by or "route"), "samples", *statuses]
    return _table(head, rows, numeric=range(1, len(head)))


def _samples(title: str, rows: Sequence[Row], components: Sequence[str]) -> str:
    out = [f"<h3>{escape(title)}</h3>"]
    body = []
    for r in rows:
        vals = ", ".join(f"{escape(n)}={_num(r.values[n])}" for n in components if n in r.values)
        body.append(
            [
                escape(r.id),
                _num(r.reward),
                escape(r.status),
                vals,
                escape(r.reasons()),
                f'<div class="snippet">{escape(r.snippet)}</div>',
            ]
        )
    out.append(_table(["id", "reward", "status", "components", "reasons", "completion"], body, [1]))
    return "\n".join(out)


def _figure(f: Figure) -> str:
    return f'<figure id="fig-{f.name}"><figcaption>{escape(f.title)}</figcaption>{f.svg}</figure>'


def _comparison(cmp: Comparison, label_b: str, figure: Figure | None) -> str:
    out = [f"<h2>Compared with {escape(label_b)}</h2>"]
    out.append(
        f'<p class="meta">{cmp.paired} samples paired by {cmp.paired_by}; '
        f"{cmp.only_a} only in this run, {cmp.only_b} only in the other.</p>"
    )
    rows = [
        [escape(s.name), _num(s.mean_a), _num(s.mean_b), _num(s.delta, "+.3g"), str(s.paired)]
        for s in cmp.shifts
    ]
    out.append(
        _table(["component", "mean before", "mean after", "shift", "paired"], rows, [1, 2, 3, 4])
    )
    if figure is not None:
        out.append(_figure(figure))
    per = ", ".join(f"{escape(k)}: {v}" for k, v in cmp.flips_per_component.items()) or "none"
    out.append(f"<h3>Flipped verdicts ({len(cmp.flips)}; {per})</h3>")
    flips = [
        [
            escape(f.id),
            escape(f.component),
            f"{escape(f.before)} ({_num(f.value_a)})",
            f"{escape(f.after)} ({_num(f.value_b)})",
            escape(f.reason_a),
            escape(f.reason_b),
        ]
        for f in cmp.flips[:MAX_FLIPS]
    ]
    out.append(
        _table(["id", "component", "before", "after", "reason before", "reason after"], flips)
    )
    if len(cmp.flips) > MAX_FLIPS:
        out.append(f'<p class="fine">First {MAX_FLIPS} of {len(cmp.flips)} shown.</p>')
    return "\n".join(out)


def render(
    data: Loaded,
    stats: Sequence[ComponentStats],
    routes: dict[str, dict[str, int]],
    signals: Sequence[Signal],
    figures: Sequence[Figure],
    top: Sequence[Row],
    bottom: Sequence[Row],
    cmp: Comparison | None = None,
    other: Loaded | None = None,
) -> str:
    """The whole page."""
    name = Path(data.path).name
    meta = (
        f"{escape(data.path)}: {len(data.rows)} samples, {len(data.components)} components"
        f" ({', '.join(escape(c) for c in data.components) or 'none'}); route field: "
        f"{escape(data.route_by or 'none')}."
    )
    if not data.detailed:
        meta += (
            " Scored without <code>--details</code>: a component's status is inferred from the"
            " line's status and error; re-score with <code>assay score --details</code> for"
            " every component's status and reason."
        )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Assay report: {escape(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Assay report: {escape(name)}</h1>",
        f'<p class="meta">{meta}</p>',
        _signals(signals),
        "<h2>Components</h2>",
        _components(stats),
    ]
    by_name = {f.name: f for f in figures}
    for f in figures:
        if f.name == "mean_shift":
            continue  # shown with the comparison
        parts.append(_figure(f))
        if f.name == "status_per_route":
            parts.append(_routes(routes, data.route_by))
    parts.append("<h2>Samples</h2>")
    parts.append(_samples(f"Top {len(top)} by reward", top, data.components))
    if bottom:
        parts.append(_samples(f"Bottom {len(bottom)} by reward", bottom, data.components))
    unrewarded = [r for r in data.rows if r.reward is None]
    if unrewarded:
        parts.append(
            _samples(f"No reward ({len(unrewarded)}; first 10)", unrewarded[:10], data.components)
        )
    if cmp is not None and other is not None:
        parts.append(_comparison(cmp, other.path, by_name.get("mean_shift")))
    if data.skipped:
        rows = [[str(n), escape(why)] for n, why in data.skipped[:50]]
        parts.append(
            f"<h2>Skipped lines ({len(data.skipped)})</h2>" + _table(["line", "why"], rows, [0])
        )
    parts.append("</body></html>")
    return "\n".join(parts)
