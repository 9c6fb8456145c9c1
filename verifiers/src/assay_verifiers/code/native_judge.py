"""Score a ``stdio`` task in any language: compile once, run every case, judge outside.

- A missing toolchain is ``unverifiable`` with the reason when the task (or the reward's option)
  names the language; when only the completion's fence chose it, the choice is the candidate's
  and scores 0.0 (else answering in a language this machine lacks would dodge every 0).
- A compile error is the candidate's failure: value 0.0, status ``ok``, the first lines of the
  compiler's message in ``details["compile_error"]``; so is a compiler that runs past its own
  time or memory limits (template bombs).
- Every case runs the one compiled artifact (`assay_sandbox.NativeRunner`, compile-once cache);
  the verdicts come from `stdio_judge` (comparison, or the task's checker in its own sandbox
  execution), subtasks included.
- Python programs take the same judge when the task has a checker or subtasks (their runs
  come from the sandbox's Python path).
"""

from __future__ import annotations

from typing import Any

from assay import Score

from .compare import short
from .stdio_judge import CheckerFailed, judge_cases, score_verdicts

__all__ = ["CheckerFailed", "score_stdio_job"]

COMPILE_ERROR_LINES = 12
# "error" reasons that are the candidate's doing (its process ended before the case was run).
_CANDIDATE_ERRORS = ("exited with status", "not run: exited with status")


def _first_lines(text: str, lines: int, chars: int) -> str:
    return short("\n".join(text.strip().splitlines()[:lines]), chars)


def _checker_runner(runner: Any, spec: Any, opts: Any) -> Any:
    """``run_checker(items)`` for `judge_cases`: compiles the task's checker once (cached with
    the candidates' programs) and runs ``checker input.txt output.txt answer.txt`` per case."""
    from assay_sandbox import Limits

    def run_checker(items: list[tuple[int, str]]) -> list[Any]:
        checker = spec.checker
        built = runner.compile(checker.language, checker.source, extra_files=checker.files)
        if not built.ok:
            raise CheckerFailed(
                f"the task's checker does not build ({built.status}): "
                + _first_lines(built.message or built.reason, 4, 300)
            )
        files = [
            [
                ("input.txt", spec.cases[i].input),
                ("output.txt", out),
                ("answer.txt", spec.cases[i].output),
            ]
            for i, out in items
        ]
        limits = Limits(
            wall_s=opts.checker_timeout * len(items),
            cpu_s=opts.checker_timeout * len(items),
            memory_mb=512,
        )
        return runner.run_cases(
            built.program,
            [""] * len(items),
            limits=limits,
            case_wall_s=opts.checker_timeout,
            case_files=files,
            argv_extra=["input.txt", "output.txt", "answer.txt"],
        )

    return run_checker


def score_stdio_job(
    runner: Any, pool: Any, spec: Any, program: str, language: str, opts: Any, chosen: bool = False
) -> Score:
    """The `Score` of ``program`` (in ``language``) on the ``stdio`` ``spec``; ``chosen``: the
    completion, not the task, chose the language (a missing toolchain is then its failure)."""
    details: dict[str, Any] = {"language": language}
    n = len(spec.cases)
    if language == "python":
        from assay_sandbox import StdioCase

        cases = [StdioCase(stdin=c.input) for c in spec.cases]
        results = pool.run_cases(program, cases, case_wall_s=opts.case_timeout)
    else:
        built = runner.compile(language, program)
        details.update(compile_status=built.status, compile_cached=built.cached,
                       compile_s=round(built.duration_s, 4))  # fmt: skip
        if built.status == "unavailable" and chosen:
            return Score.ok(0.0, short(f"the completion's language is not available here: "
                                       f"{built.reason}", opts.failure_chars),
                            passed=0, failed=n, total=n, **details)  # fmt: skip
        if built.status == "unavailable":
            return Score.unverifiable(built.reason, language=language)
        if built.status == "error":
            raise RuntimeError(built.reason or "sandbox error while compiling")
        if not built.ok:
            what = (
                "compile error" if built.status == "compile_error" else f"compiler {built.status}"
            )
            message = _first_lines(built.message or built.reason, COMPILE_ERROR_LINES,
                                   opts.failure_chars)  # fmt: skip
            first_line = message.splitlines()[0] if message else built.reason
            return Score.ok(0.0, short(f"{what}: {first_line}", opts.failure_chars),
                            passed=0, failed=n, total=n, compile_error=message,
                            isolation=built.isolation, **details)  # fmt: skip
        results = runner.run_cases(built.program, [c.input for c in spec.cases],
                                   case_wall_s=opts.case_timeout)  # fmt: skip
    for r in results:
        candidates = getattr(r, "fault", None) == "candidate" or (r.reason or "").startswith(
            _CANDIDATE_ERRORS
        )
        if r.status == "error" and not candidates:
            raise RuntimeError(r.reason or "sandbox error while running")
    checker = _checker_runner(runner, spec, opts) if spec.checker is not None else None
    try:
        verdicts = judge_cases(spec, results, output_mode=opts.output_mode,
                               float_tol=opts.float_tol, run_checker=checker)  # fmt: skip
    except CheckerFailed as exc:  # the task's fault: this sample cannot be verified
        return Score.unverifiable(short(str(exc), opts.failure_chars), **details)
    isolation = next((r.isolation for r in results if r.isolation), getattr(pool, "isolation", ""))
    return score_verdicts(spec, verdicts, partial_credit=opts.partial_credit,
                          failure_chars=opts.failure_chars, isolation=isolation,
                          **details)  # fmt: skip
