"""Signs of reward hacking, and of rewards that are quietly not measuring, that a scored file
shows on its face.

Each check reports its figure whether or not it fires; it fires past a fixed threshold (below).
The checks:

- format pays for wrong answers: samples whose format component passes while an answer
  component marks them wrong, and that still earn a positive reward;
- reward rising with completion length, overall and among wrong answers (Spearman's rho);
- reward rising with repetition (share of repeated word 3-grams);
- components whose ``error``/``timeout`` samples count as 0, or that are often
  ``unverifiable``: the reward is not measuring those samples;
- with a second run: the reward rising while the answer components do not.

Format and answer components are found by name (``think_format``, ``tag_count``,
``json_schema``...; ``math``, ``code``, ``exact_match``, ``accuracy``...) unless named.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .analysis import ComponentStats, Loaded, Row, spearman
from .compare import Comparison

FORMAT_NAMES = re.compile(r"format|tag|schema|structure|layout|xml", re.IGNORECASE)
ANSWER_NAMES = re.compile(
    r"math|code|exact|match|accura|correct|answer|verif|judge|test", re.IGNORECASE
)
MIN_ROWS = 20  # fewer samples than this: correlations are reported, never fired on
RHO_FIRES = 0.3
FORMAT_WRONG_FIRES = 0.10  # share of all samples
NOT_MEASURED_FIRES = 0.05  # error + timeout share of a component
UNVERIFIABLE_FIRES = 0.10


@dataclass
class Signal:
    name: str
    fired: bool
    figure: str
    advice: str


def pick(names: Sequence[str], pattern: re.Pattern[str], chosen: Sequence[str] | None) -> list[str]:
    if chosen:
        return [n for n in chosen if n in names]
    return [n for n in names if pattern.search(n)]


def _wrong(row: Row, answers: Sequence[str]) -> bool | None:
    """Whether an answer component marks the row wrong (None: no answer verdict on it)."""
    verdicts = [
        row.values[a]
        for a in answers
        if row.values.get(a) is not None and row.component_status(a) == "ok"
    ]
    if not verdicts:
        return None
    return all(v <= 0 for v in verdicts)  # type: ignore[operator]


def format_pays_for_wrong_answers(data: Loaded, formats: list[str], answers: list[str]) -> Signal:
    name = "format pays for wrong answers"
    if not formats or not answers:
        return Signal(name, False, "no format or no answer component found", "")
    judged = [r for r in data.rows if _wrong(r, answers) is not None]
    wrong = [r for r in judged if _wrong(r, answers)]
    hits = [
        r for r in wrong if any((r.values.get(f) or 0) > 0 for f in formats) and (r.reward or 0) > 0
    ]
    share = len(hits) / len(data.rows) if data.rows else 0.0
    mean = sum(r.reward or 0 for r in hits) / len(hits) if hits else 0.0
    figure = (
        f"{len(hits)} of {len(wrong)} wrong answers ({', '.join(answers)}) pass "
        f"{', '.join(formats)} and still earn reward (mean {mean:.3g}); "
        f"{share:.1%} of all samples"
    )
    advice = (
        "gate the format term on the answer, lower its weight, or make it a gate (`gate: true`) "
        "so a well-formatted wrong answer earns nothing"
    )
    return Signal(name, len(data.rows) >= MIN_ROWS and share >= FORMAT_WRONG_FIRES, figure, advice)


def _rises(name: str, rows: list[Row], key: str, advice: str, what: str) -> Signal:
    xs = [float(getattr(r, key)) for r in rows if r.reward is not None]
    ys = [r.reward for r in rows if r.reward is not None]
    rho = spearman(xs, ys)
    if rho is None:
        return Signal(name, False, f"not measurable on {len(ys)} samples ({what})", "")
    fired = len(ys) >= MIN_ROWS and rho >= RHO_FIRES
    return Signal(name, fired, f"Spearman rho = {rho:+.2f} over {len(ys)} samples ({what})", advice)


def length_signals(data: Loaded, answers: list[str]) -> list[Signal]:
    advice = "add a length penalty (`overlong`, `length`) or cosine length scaling"
    out = [_rises("reward rises with length", data.rows, "length", advice, "all samples")]
    if answers:
        wrong = [r for r in data.rows if _wrong(r, answers)]
        out.append(
            _rises(
                "reward rises with length among wrong answers",
                wrong,
                "length",
                advice,
                "wrong answers only",
            )
        )
    return out


def repetition_signal(data: Loaded) -> Signal:
    rows = [r for r in data.rows if r.reward is not None]
    if not any(r.repetition > 0.2 for r in rows):
        return Signal(
            "reward rises with repetition", False, "no completion repeats much (<20% 3-grams)", ""
        )
    return _rises(
        "reward rises with repetition",
        rows,
        "repetition",
        "add the `repetition` reward as a penalty",
        "share of repeated word 3-grams",
    )


def not_measured(stats: list[ComponentStats]) -> list[Signal]:
    out = []
    for st in stats:
        n = st.scored
        if not n:
            continue
        bad = st.statuses.get("error", 0) + st.statuses.get("timeout", 0)
        unv = st.statuses.get("unverifiable", 0)
        if bad:
            out.append(
                Signal(
                    f"{st.name}: errors and timeouts count as 0",
                    bad / n >= NOT_MEASURED_FIRES,
                    f"{bad} of {n} samples ({bad / n:.1%})",
                    "read their reasons below; raise the `timeout` or fix the inputs",
                )
            )
        if unv:
            out.append(
                Signal(
                    f"{st.name}: unverifiable",
                    unv / n >= UNVERIFIABLE_FIRES,
                    f"{unv} of {n} samples ({unv / n:.1%}) have no verdict",
                    "check the gold answers or tests of those samples",
                )
            )
    return out


def reward_without_correctness(cmp: Comparison, answers: list[str]) -> Signal | None:
    by = {s.name: s for s in cmp.shifts}
    reward = by.get("reward")
    moved = [by[a] for a in answers if a in by and by[a].delta is not None]
    if reward is None or reward.delta is None or not moved:
        return None
    best = max(s.delta for s in moved)  # type: ignore[type-var]
    figure = f"reward {reward.delta:+.3g}; " + ", ".join(f"{s.name} {s.delta:+.3g}" for s in moved)
    return Signal(
        "reward rose without the answers improving",
        reward.delta > 0.05 and best <= 0,  # type: ignore[operator]
        figure,
        "the second run earns more from the other terms: look at the flipped samples",
    )


def all_signals(
    data: Loaded,
    stats: list[ComponentStats],
    cmp: Comparison | None = None,
    formats: Sequence[str] | None = None,
    answers: Sequence[str] | None = None,
) -> list[Signal]:
    fmt = pick(data.components, FORMAT_NAMES, formats)
    ans = [a for a in pick(data.components, ANSWER_NAMES, answers) if a not in fmt]
    out = [format_pays_for_wrong_answers(data, fmt, ans), *length_signals(data, ans)]
    out.append(repetition_signal(data))
    out += not_measured(stats)
    if cmp is not None:
        extra = reward_without_correctness(cmp, ans)
        if extra is not None:
            out.append(extra)
    return out
