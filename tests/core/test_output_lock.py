"""`assay score --output`: one writer at a time (a real flock held by a real second process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("fcntl")


def _holder(path) -> subprocess.Popen:
    """Another process that holds the output's lock, as a running `assay score` does."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from assay.scorefile import lock_output
        fh = lock_output(Path({str(path)!r}))
        fh.write(b'{{"id": 0, "reward": 1.0}}\\n'); fh.flush()
        print("locked", flush=True)
        sys.stdin.readline()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_is_refused_and_the_output_is_untouched(tmp_path, capsys):
    from assay.cli import main
    from assay.scorefile import OutputLocked, score_jsonl

    src, out, spec = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "em.yaml"
    src.write_text(
        "".join(json.dumps({"id": i, "completion": "a", "answer": "a"}) + "\n" for i in range(5))
    )
    spec.write_text("rewards:\n  - use: exact_match\n")
    holder = _holder(out)
    try:
        before = out.read_bytes()
        assert main(["score", str(src), "-p", str(spec), "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert "being written by another run" in err and str(out) in err
        from assay.pipeline import load_pipeline

        with pytest.raises(OutputLocked):
            score_jsonl(src, load_pipeline(str(spec)), out, progress=False)
        assert out.read_bytes() == before  # nothing interleaved, nothing cut
    finally:
        holder.communicate("\n", timeout=30)
    # the lock goes with its holder: the next run resumes after the line it wrote
    assert main(["score", str(src), "-p", str(spec), "-o", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [0, 1, 2, 3, 4]
