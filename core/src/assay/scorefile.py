"""Score a JSONL file with a pipeline: resumable, order-preserving, tolerant of bad lines.

Each input line that parses as a JSON object yields exactly one output line: the input's fields
plus ``reward`` (float or null), ``rewards`` (component -> value), ``status`` and, where the
status is not ``ok``, ``error`` (the reason). An object without a ``completion`` field, or
whose fields have the wrong types, gets status ``error`` and the reason. A line that is not a
JSON object is reported with its line number and skipped. Output is written batch by batch and
flushed, so a run killed at any point loses at most the batch in flight; re-running skips the
lines already written (a partial last line is cut off first), so the output never holds a line
twice. The output may not be the input file (`ValueError`), and only one run writes to it at a
time: a second writer is refused with `OutputLocked` (an exclusive ``flock`` on the output,
held for the whole run; on systems without ``fcntl`` there is no lock).

With ``details=True`` each line also gets ``scores``: component -> ``{value, status, reason,
details, plugin, version}``, so a scored file says why each sample got what it got (what
``assay report`` reads).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .composed import Pipeline
from .errors import AssayError
from .executors import Executor
from .models import Result


class OutputLocked(AssayError, RuntimeError):
    """Another run is writing to the same output file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"{path} is being written by another run; wait for it to finish (re-running then "
            "resumes) or write to another path"
        )


def lock_output(path: Path) -> IO[bytes] | None:
    """Take an exclusive lock on ``path`` (created if missing) for as long as the returned file
    stays open; raises `OutputLocked` at once if another writer holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    fh = path.open("ab")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise OutputLocked(path) from None
    except OSError:  # a file system without flock: write without the lock
        return fh
    return fh


@dataclass
class Malformed:
    line: int
    reason: str


@dataclass
class ScoreReport:
    total: int = 0  # good input lines
    scored: int = 0  # scored in this run
    resumed: int = 0  # already in the output before this run
    malformed: list[Malformed] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def read_lines(path: Path, report: ScoreReport) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each JSON-object line; others go to ``report.malformed``."""
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            text = raw.strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
                report.malformed.append(Malformed(n, f"not valid JSON: {str(exc)[:200]}"))
                continue
            if not isinstance(obj, dict):
                report.malformed.append(
                    Malformed(n, f"expected a JSON object, got {type(obj).__name__}")
                )
                continue
            yield n, obj


def completed_lines(out: Path) -> int:
    """Count complete output lines, cutting off a partial last line left by a crash."""
    if not out.exists():
        return 0
    with out.open("rb+") as fh:
        data = fh.read()
        if not data:
            return 0
        end = data.rfind(b"\n") + 1
        if end != len(data):
            fh.truncate(end)  # a line cut short by a crash
        return data[:end].count(b"\n")


_MISSING = Result(reward=None, status="error", reason="missing field: completion")


def component_scores(result: Result) -> dict[str, dict[str, Any]]:
    """Each component's full verdict as JSON-ready fields (``--details``)."""
    out: dict[str, dict[str, Any]] = {}
    for name, sc in result.components.items():
        entry: dict[str, Any] = {"value": sc.value, "status": sc.status, "reason": sc.reason}
        if sc.details:
            entry["details"] = sc.details
        if sc.plugin is not None:
            entry["plugin"], entry["version"] = sc.plugin, sc.version
        out[name] = entry
    return out


def _row(obj: dict[str, Any], result: Any, details: bool = False) -> dict[str, Any]:
    row = dict(obj)
    row["reward"] = result.reward
    row["rewards"] = result.rewards
    row["status"] = result.status
    if result.status != "ok":
        row["error"] = result.reason
    else:
        row.pop("error", None)
    if details:
        row["scores"] = component_scores(result)
    return row


def _dumps(obj: dict[str, Any], result: Any, encoding: str = "utf-8", details: bool = False) -> str:
    """The output line; an input that cannot be written back (absurd nesting) still gets one
    line, with its result and the reason, so the output keeps one line per input line.

    Text the output's ``encoding`` cannot hold (a lone surrogate such as ``"\\ud800"`` in the
    input, which JSON allows but UTF-8 does not) is written as ``\\u`` escapes instead of
    failing the write of the whole batch."""
    try:
        row = _row(obj, result, details)
        line = json.dumps(row, ensure_ascii=False, default=str)
        if not line.isascii():
            try:
                line.encode(encoding)
            except UnicodeEncodeError:
                line = json.dumps(row, ensure_ascii=True, default=str)
        return line
    except (ValueError, RecursionError, TypeError) as exc:
        row = {"reward": None, "rewards": {}, "status": "error"}
        row["error"] = f"input fields cannot be written back: {type(exc).__name__}"
        return json.dumps(row)


class Progress:
    """A one-line progress display on a terminal (silent otherwise)."""

    def __init__(self, total: int | None, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.total = total
        self.start = time.perf_counter()
        self.last = 0.0

    def update(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < 0.1):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        if self.total:
            frac = min(done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            msg = f"\r[{bar:<30}] {done}/{self.total} {frac:6.1%} {rate:,.0f}/s"
        else:
            msg = f"\r{done} scored {rate:,.0f}/s"
        self.stream.write(msg)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (links included)."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def score_jsonl(
    input_path: str | Path,
    pipeline: Pipeline,
    output: str | Path | None = None,
    *,
    batch_size: int = 256,
    executor: Executor = "inline",
    workers: int | None = None,
    out_stream: IO[str] | None = None,
    progress: bool = True,
    details: bool = False,
) -> ScoreReport:
    """Score ``input_path`` into ``output`` (or ``out_stream``); see the module docstring."""
    src = Path(input_path)
    report = ScoreReport()
    t0 = time.perf_counter()
    skip = 0
    fh: IO[str]
    lock: IO[bytes] | None = None
    if output is not None:
        out = Path(output)
        if _same_file(src, out):
            raise ValueError(f"the output {out} is the input file: write to another path")
        out.parent.mkdir(parents=True, exist_ok=True)
        lock = lock_output(out)  # before reading what is done: another writer may be appending
        try:
            skip = completed_lines(out)
        except BaseException:
            if lock is not None:
                lock.close()
            raise
        fh = out.open("a", encoding="utf-8")
    else:
        fh = out_stream or sys.stdout
    encoding = getattr(fh, "encoding", None) or "utf-8"
    bar = (
        Progress(_count_lines(src) if progress and sys.stderr.isatty() else None)
        if progress
        else None
    )
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if not pending:
            return
        # A line without a completion has nothing to score: an error for that line (scoring it
        # as an empty completion would pass for a real verdict).
        todo = [obj for obj in pending if "completion" in obj]
        scored = iter(pipeline.score(todo, executor=executor, workers=workers) if todo else [])
        results = [next(scored) if "completion" in obj else _MISSING for obj in pending]
        lines = []
        for obj, res in zip(pending, results):
            report.statuses[res.status] = report.statuses.get(res.status, 0) + 1
            lines.append(_dumps(obj, res, encoding, details))
        fh.write("\n".join(lines) + "\n")  # one write per batch: a crash cuts at most this batch
        fh.flush()
        report.scored += len(pending)
        pending.clear()
        if bar:
            bar.update(report.resumed + report.scored)

    try:
        for _, obj in read_lines(src, report):
            report.total += 1
            if report.total <= skip:
                report.resumed += 1
                continue
            pending.append(obj)
            if len(pending) >= batch_size:
                flush()
        flush()
    finally:
        if output is not None:
            os.fsync(fh.fileno())
            fh.close()
        if lock is not None:
            lock.close()
        if bar:
            bar.update(report.resumed + report.scored, force=True)
            bar.close()
    report.seconds = time.perf_counter() - t0
    return report
