"""`assay report`: the numbers (statuses, comparisons, hacking signals), a page that fetches
nothing, and the page as headless Chromium renders it (Debian's `chromium`)."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.report import build_report
from assay.report.analysis import component_stats, load_scored, repetition_share, spearman
from assay.report.compare import compare
from assay.report.plots import component_color
from assay.report.signals import all_signals

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def scored_row(i: int, math: float | None, fmt: float, length: int, **extra) -> dict:
    reward = None if math is None else math + 0.2 * fmt
    row = {
        "id": f"s{i}",
        "completion": "x" * length,
        "metadata": {"task": "math"},
        "reward": reward,
        "rewards": {"math": math, "think_format": fmt},
        "status": "ok",
    }
    row.update(extra)
    return row


# -- the numbers -----------------------------------------------------------------------------


def test_statuses_come_from_details_and_are_inferred_without(tmp_path):
    detailed = {
        "id": "a",
        "completion": "c",
        "reward": 0.0,
        "rewards": {"math": None, "fmt": 1.0, "code": None},
        "status": "error",
        "error": "code: crashed",
        "scores": {
            "math": {"value": None, "status": "unverifiable", "reason": "gold does not parse"},
            "fmt": {"value": 1.0, "status": "ok", "reason": "format ok"},
            "code": {"value": None, "status": "error", "reason": "crashed"},
        },
    }
    plain = {k: v for k, v in detailed.items() if k != "scores"} | {"id": "b"}
    data = load_scored(write_jsonl(tmp_path / "s.jsonl", [detailed, plain]))
    a, b = data.rows
    assert [a.component_status(n) for n in ("math", "fmt", "code")] == [
        "unverifiable",
        "ok",
        "error",
    ]
    # Without --details only the line's most severe component is known; the rest are n/a.
    assert [b.component_status(n) for n in ("math", "fmt", "code")] == ["n/a", "ok", "error"]
    assert a.reasons() == "math: gold does not parse; fmt: format ok; code: crashed"
    assert b.reasons() == "code: crashed"
    stats = {s.name: s for s in component_stats(data)}
    assert stats["code"].statuses == {"error": 2}
    assert stats["math"].statuses == {"unverifiable": 1, "n/a": 1}
    assert data.detailed and data.route_by is None


def test_lines_that_are_not_scored_are_listed_not_fatal(tmp_path):
    src = tmp_path / "s.jsonl"
    src.write_text(
        '{"id": 1, "completion": "x"}\n{not json\n[1]\n'
        + json.dumps(scored_row(0, 1.0, 1.0, 3))
        + "\n"
    )
    data = load_scored(src)
    assert len(data.rows) == 1
    assert [n for n, _ in data.skipped] == [1, 2, 3]
    assert "run `assay score` first" in data.skipped[0][1]


def test_compare_measures_shifts_and_lists_flipped_verdicts(tmp_path):
    before = [scored_row(i, 1.0 if i < 5 else 0.0, 1.0, 10) for i in range(10)]
    after = [scored_row(i, 1.0 if i < 7 else 0.0, 1.0, 10) for i in range(10)]
    after[0]["status"], after[0]["error"] = "timeout", "math: deadline"
    after[0]["rewards"]["math"], after[0]["reward"] = None, 0.2
    after.reverse()  # paired by id, not by position
    a = load_scored(write_jsonl(tmp_path / "a.jsonl", before))
    b = load_scored(write_jsonl(tmp_path / "b.jsonl", after))
    cmp = compare(a, b)
    assert cmp.paired_by == "id" and cmp.paired == 10
    shift = {s.name: s for s in cmp.shifts}
    # Means over the samples with a value in both runs: s0 timed out after, so 9 pairs.
    assert shift["math"].paired == 9
    assert shift["math"].mean_a == pytest.approx(4 / 9)
    assert shift["math"].mean_b == pytest.approx(6 / 9)
    flips = {(f.id, f.component): (f.before, f.after) for f in cmp.flips}
    assert flips[("s5", "math")] == ("zero", "pass")
    assert flips[("s6", "math")] == ("zero", "pass")
    assert flips[("s0", "math")] == ("pass", "timeout")
    assert cmp.flips_per_component["math"] == 3


def test_hacking_signals_fire_on_data_that_shows_them(tmp_path):
    rnd = random.Random(0)
    hacked = []
    for i in range(200):
        right = rnd.random() < 0.3
        length = rnd.randint(50, 2000)
        # Wrong answers still earn the format term, and longer wrong answers earn more.
        fmt = 1.0
        row = scored_row(i, 1.0 if right else 0.0, fmt, length)
        if not right:
            row["reward"] = 0.2 + length / 4000
        hacked.append(row)
    data = load_scored(write_jsonl(tmp_path / "h.jsonl", hacked))
    fired = {s.name for s in all_signals(data, component_stats(data)) if s.fired}
    assert "format pays for wrong answers" in fired
    assert "reward rises with length among wrong answers" in fired

    clean = [scored_row(i, float(i % 2), float(i % 2), 100 + (i * 37) % 500) for i in range(200)]
    for r in clean:  # format counts only with a right answer (a gate)
        r["reward"] = r["rewards"]["math"] * 1.2
    data = load_scored(write_jsonl(tmp_path / "c.jsonl", clean))
    assert not [s for s in all_signals(data, component_stats(data)) if s.fired]


def test_repetition_signal_and_measure():
    assert repetition_share("a b c a b c a b c") == pytest.approx(4 / 7)
    assert repetition_share("one two three four") == 0.0
    assert repetition_share("") == 0.0
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None


def test_reward_rising_with_repetition_fires(tmp_path):
    rows = []
    for i in range(60):
        reps = i % 12
        text = " ".join(["the answer is"] * reps + [f"w{j}" for j in range(12 - reps)])
        r = scored_row(i, 0.0, 1.0, 0)
        r["completion"], r["reward"] = text, 0.1 * reps
        rows.append(r)
    data = load_scored(write_jsonl(tmp_path / "r.jsonl", rows))
    fired = {s.name for s in all_signals(data, component_stats(data)) if s.fired}
    assert "reward rises with repetition" in fired


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=" ab\n\t猫", max_size=2000), st.integers(1, 4))
def test_text_measures_stay_linear_on_hostile_text(piece, reps):
    # The report reads user completions outside any worker deadline: linear time, any input.
    text = piece * (200 * reps)
    t0 = time.perf_counter()
    share = repetition_share(text)
    assert 0.0 <= share <= 1.0
    assert time.perf_counter() - t0 < 5.0


def test_repetition_share_scales_linearly():
    unit = "lorem ipsum dolor " * 20_000
    t0 = time.perf_counter()
    repetition_share(unit)
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    repetition_share(unit * 8)
    eight = time.perf_counter() - t0
    assert eight < 8 * one * 4  # linear with a wide margin for a noisy machine; quadratic is 64x


# -- the page --------------------------------------------------------------------------------


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action", "data", "srcset") and v:
                self.refs.append(v)


@pytest.fixture(scope="module")
def demo_scored(tmp_path_factory) -> Path:
    """The bundled demo scored with --details, through the real verifiers and sandbox."""
    pytest.importorskip("matplotlib", reason="the report's plots need the `report` extra")
    out = tmp_path_factory.mktemp("demo") / "scored.jsonl"
    data = Path(str(files("assay") / "data"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "assay.cli",
            "score",
            str(data / "demo.jsonl"),
            "-p",
            str(data / "demo_pipeline.yaml"),
            "-o",
            str(out),
            "--details",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_report_is_one_file_that_fetches_nothing(demo_scored, tmp_path):
    earlier = tmp_path / "earlier.jsonl"
    rows = [json.loads(x) for x in demo_scored.read_text().splitlines()]
    rows[0]["rewards"]["math"], rows[0]["reward"] = 0.0, 0.2
    write_jsonl(earlier, rows)
    out = tmp_path / "report.html"
    summary = build_report(demo_scored, out, compare_path=earlier, png_dir=tmp_path / "png")
    page = out.read_text()
    parser = _Refs()
    parser.feed(page)
    assert not [r for r in parser.refs if not r.startswith(("#", "data:"))], parser.refs
    assert not {"script", "link", "iframe", "img"} & parser.tags
    assert "@import" not in page
    assert re.findall(r"url\((?!#)", page) == []  # only references into the page itself
    for name in ("math", "think_format", "code", "exact_match"):
        assert (
            f'<span class="swatch" style="background:{component_color(summary.components.index(name))}"></span>{name}'
            in page
        )
    assert "Compared with" in page and "math-correct" in page
    assert sorted(p.name for p in summary.pngs) == [
        "distributions.png",
        "mean_shift.png",
        "reward_vs_length.png",
        "status_per_component.png",
        "status_per_route.png",
    ]
    assert all(p.stat().st_size > 1000 for p in summary.pngs)


def test_report_cli_exit_codes(demo_scored, tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "assay.cli", "report", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run(str(tmp_path / "missing.jsonl")).returncode == 2
    r = run(str(demo_scored), "-o", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    assert "11 samples, 4 components" in r.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text(demo_scored.read_text() + "{oops\n")
    assert run(str(bad), "-o", str(tmp_path / "r2.html")).returncode == 1


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("Debian's chromium is not installed (scripts/system-packages.sh installs it)")
    return exe


def render_in_chromium(page: Path, tmp_path: Path, width: int, height: int) -> tuple[Path, str]:
    """A screenshot and the DOM of ``page`` as headless Chromium renders it."""
    exe = chromium()
    shot = tmp_path / "shot.png"
    base = [exe, *CHROMIUM_FLAGS, f"--window-size={width},{height}"]
    subprocess.run(
        [*base, f"--user-data-dir={tmp_path / 'profile-1'}", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    dom = subprocess.run(
        [*base, f"--user-data-dir={tmp_path / 'profile-2'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return shot, dom


def test_report_renders_in_headless_chromium(demo_scored, tmp_path):
    import numpy as np
    from matplotlib.image import imread

    out = tmp_path / "report.html"
    summary = build_report(demo_scored, out)
    shot, dom = render_in_chromium(out, tmp_path, 1200, 3600)
    pixels = imread(shot)[..., :3]
    assert pixels.shape[0] >= 3000 and pixels.shape[1] >= 1000
    # Not blank: many colours, and a good share of the page is not background white.
    flat = (pixels * 255).round().astype(np.int32).reshape(-1, 3)
    assert len(np.unique(flat, axis=0)) > 200
    assert (flat.sum(axis=1) < 700).mean() > 0.05
    # Every component is on the page as rendered, and its colour was drawn (its histogram).
    for i, name in enumerate(summary.components):
        assert f"{name}" in dom
        rgb = np.array([int(component_color(i)[k : k + 2], 16) for k in (1, 3, 5)])
        near = (np.abs(flat - rgb).max(axis=1) <= 6).sum()
        assert near > 2000, (name, near)  # a histogram's bars, not just the 10px swatch


def test_import_assay_and_its_cli_do_not_import_matplotlib():
    code = "import sys, assay, assay.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
