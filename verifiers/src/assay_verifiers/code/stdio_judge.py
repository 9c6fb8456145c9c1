"""Judge the runs of a ``stdio`` task: per-case verdicts, the special judge, IOI subtasks.

Every verdict is decided outside the candidate's process: outputs are compared in this process
(`compare.outputs_match`, with the reward's whitespace mode and float tolerance), or by the
task's checker in a separate sandbox execution that receives the candidate's output as a file.

The checker's own failures: an exit code other than 0, 1 or 2 is the checker's deliberate word
(testlib's ``_fail``: the jury's answer is wrong), so the sample is ``unverifiable``. A checker
that crashes, times out or runs out of memory on the candidate's output is run once more on the
case's own answer as the output: when it accepts that, the checker works and the candidate's
output broke it (a token longer than its buffer, more tokens than it can handle in time), which
is the candidate's failure (the case fails); otherwise the task's checker is broken
(``unverifiable``).

Value: with ``subtasks``, the points of the subtasks whose every case passed, over the total
points (``details["points"]`` holds the raw sum, as open-r1's ``ioi_code_reward`` reports it);
otherwise the fraction of cases passed (``partial_credit``) or all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assay import Score

from .compare import OutputMode, outputs_match, short
from .specs import StdioTests

__all__ = ["CaseVerdict", "describe_run_failure", "judge_cases", "score_verdicts"]

CHECKER_ACCEPT = 0
CHECKER_REJECT = (1, 2)  # testlib: wrong answer, presentation error


class CheckerFailed(RuntimeError):
    """The task's checker did not give a verdict (crashed, timed out, exit code not 0/1/2)."""


@dataclass(frozen=True)
class CaseVerdict:
    passed: bool
    why: str = ""
    status: str = "ok"


def describe_run_failure(r: Any) -> str:
    """``runtime error (exit code 1): <last stderr line>``, ``timeout: ...``, ``memory``..."""
    status = getattr(r, "status", "?")
    err = (getattr(r, "stderr", "") or "").strip().splitlines()
    tail = f": {short(err[0], 120)}" if err else ""  # Java, Rust, Go: the message comes first
    if status == "ok":
        return f"runtime error (exit code {getattr(r, 'exit_code', None)}){tail}"
    if status == "crash":
        return f"runtime error ({getattr(r, 'reason', '') or 'killed'}){tail}"
    if status == "timeout":
        return f"time limit: {getattr(r, 'reason', '') or 'timeout'}"
    if status == "memory":
        return f"memory limit{tail}"
    if status == "output_limit":
        return "output limit: the program printed too much"
    return f"{status}: {getattr(r, 'reason', '') or getattr(r, 'error', '') or ''}"


def judge_cases(
    spec: StdioTests,
    results: Sequence[Any],
    *,
    output_mode: OutputMode,
    float_tol: float | None,
    run_checker: Callable[[list[tuple[int, str]]], list[Any]] | None = None,
) -> list[CaseVerdict]:
    """One verdict per case. A case needs a normal exit with status 0 first; then the whole
    output is compared, or handed to ``run_checker([(case index, output), ...])`` which returns
    one sandbox result per item (its exit code decides)."""
    verdicts: list[CaseVerdict | None] = [None] * len(spec.cases)
    to_check: list[tuple[int, str]] = []
    for i, (case, r) in enumerate(zip(spec.cases, results, strict=True)):
        if r.status != "ok" or (r.exit_code or 0) != 0:
            status = "runtime_error" if r.status == "ok" else r.status
            verdicts[i] = CaseVerdict(False, describe_run_failure(r), status)
        elif spec.checker is not None:
            to_check.append((i, r.stdout or ""))
        else:
            ok, diff = outputs_match(r.stdout or "", case.output, output_mode, float_tol)
            verdicts[i] = CaseVerdict(
                ok, "" if ok else f"wrong answer: {diff}", "ok" if ok else "wrong"
            )
    if to_check:
        assert run_checker is not None, "a checker task needs run_checker"
        for (i, _), c in zip(to_check, run_checker(to_check), strict=True):
            try:
                verdicts[i] = _checker_verdict(c)
            except CheckerFailed:
                if c.status == "ok" or not _checker_accepts_answer(spec, i, run_checker):
                    raise
                why = f"checker: broke on this output ({describe_run_failure(c)})"
                verdicts[i] = CaseVerdict(False, short(why, 200), "wrong")
    return [v if v is not None else CaseVerdict(False, "not judged", "error") for v in verdicts]


def _checker_accepts_answer(
    spec: StdioTests, i: int, run_checker: Callable[[list[tuple[int, str]]], list[Any]]
) -> bool:
    """Whether the checker accepts case ``i``'s own answer as the output (it works)."""
    [c] = run_checker([(i, spec.cases[i].output)])
    return bool(c.status == "ok" and c.exit_code == CHECKER_ACCEPT)


def _checker_verdict(c: Any) -> CaseVerdict:
    if c.status == "ok" and c.exit_code == CHECKER_ACCEPT:
        return CaseVerdict(True)
    if c.status == "ok" and c.exit_code in CHECKER_REJECT:
        said = (c.stderr or c.stdout or "").strip().splitlines()
        return CaseVerdict(
            False, "checker: " + (short(said[0], 160) if said else "rejected"), "wrong"
        )
    detail = describe_run_failure(c) if c.status != "ok" else f"exit code {c.exit_code}"
    raise CheckerFailed(f"the task's checker gave no verdict ({detail})")


def score_verdicts(
    spec: StdioTests,
    verdicts: Sequence[CaseVerdict],
    *,
    partial_credit: bool,
    failure_chars: int,
    **details: Any,
) -> Score:
    """The sample's `Score` from its case verdicts (see the module docstring)."""
    total = len(verdicts)
    passed = sum(v.passed for v in verdicts)
    first_i = next((i for i, v in enumerate(verdicts) if not v.passed), None)
    first = None if first_i is None else f"case {first_i}: {verdicts[first_i].why}"
    tally: dict[str, int] = {}
    for v in verdicts:
        tally[v.status] = tally.get(v.status, 0) + 1
    details.update(passed=passed, failed=total - passed, total=total, case_status=tally)
    if first:
        details["first_failure"] = short(first, failure_chars)
    if spec.subtasks:
        got, available, subs = 0.0, 0.0, []
        for k, sub in enumerate(spec.subtasks):
            ok = all(verdicts[c].passed for c in sub.cases)
            got += sub.points if ok else 0.0
            available += sub.points
            subs.append({"name": sub.name or str(k), "points": sub.points if ok else 0.0,
                         "max_points": sub.points, "passed": ok})  # fmt: skip
        value = got / available if available > 0 else float(passed == total)
        details.update(points=got, max_points=available, subtasks=subs)
        reason = f"{got:g}/{available:g} points" + (f"; {first}" if first else "")
        return Score.ok(value, short(reason, failure_chars), **details)
    value = passed / total if partial_credit else float(passed == total)
    reason = "all tests passed" if passed == total else f"{passed}/{total} passed; {first}"
    return Score.ok(value, short(reason, failure_chars), **details)
