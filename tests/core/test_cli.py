"""The `assay` CLI end to end, in subprocesses, with plugins discovered from real dist-info."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.errors import SpecError  # noqa: F401  (the CLI's error type, imported for docs)

PLUGIN = """
import time
import assay

def slowish(sample, delay: float = 0.0):
    if delay:
        time.sleep(delay)
    return float(len(sample.completion_text))

@assay.hookimpl
def assay_register_rewards(register):
    register(slowish)
"""

BROKEN = 'raise ImportError("needs libfoo")\n'


def make_site(root: Path, plugins: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for module, source in plugins.items():
        (root / f"{module}.py").write_text(source)
        info = root / f"{module}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n"
        )
        (info / "entry_points.txt").write_text(f"[assay]\n{module} = {module}\n")
    return root


def run_cli(args: list[str], site: Path | None = None, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "assay.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def popen_cli(args: list[str], site: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.Popen(
        [sys.executable, "-m", "assay.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site", {"slow_plugin": PLUGIN, "broken_plugin": BROKEN})


@pytest.fixture
def spec(tmp_path):
    p = tmp_path / "pipe.yaml"
    p.write_text("name: cli\nrewards:\n  - use: slowish\n")
    return p


def write_input(path: Path, n: int, malformed_at: tuple[int, ...] = ()) -> list[int]:
    """n good lines with ids, plus malformed lines inserted at the given 1-based line numbers."""
    lines, good_ids = [], []
    i = 0
    for lineno in range(1, n + len(malformed_at) + 1):
        if lineno in malformed_at:
            lines.append(["{not json", "[1, 2, 3]", '"just a string"'][len(lines) % 3])
        else:
            lines.append(json.dumps({"id": i, "completion": "x" * (i % 13)}))
            good_ids.append(i)
            i += 1
    path.write_text("\n".join(lines) + "\n")
    return good_ids


def test_plugins_lists_installed_and_shows_failures(site):
    r = run_cli(["plugins", "--json"], site)
    assert r.returncode == 1, r.stderr  # listed, and the status says a plugin failed
    data = json.loads(r.stdout)
    names = {p["name"]: p for p in data["plugins"]}
    assert names["slow_plugin"]["provides"] == {"reward": ["slowish"]}
    assert "builtins" in names
    failed = {f["name"]: f for f in data["failed"]}
    assert "needs libfoo" in failed["broken_plugin"]["reason"]
    assert failed["broken_plugin"]["distribution"] == "broken-plugin"
    human = run_cli(["plugins"], site)
    assert human.returncode == 1 and "broken_plugin" in human.stdout and "FAILED" in human.stdout


def test_plugins_exit_status_says_whether_every_plugin_loaded(tmp_path, site):
    r = run_cli(["plugins", "--json"], site)
    assert r.returncode == 1  # the broken plugin is listed, and the status says so
    check = run_cli(["plugins", "--check"], site)
    assert check.returncode == 1 and check.stdout == ""
    assert "broken_plugin" in check.stderr and "needs libfoo" in check.stderr
    assert "1 failed" in check.stderr
    healthy = make_site(tmp_path / "healthy", {"slow_plugin": PLUGIN})
    ok = run_cli(["plugins", "--check"], healthy)
    assert ok.returncode == 0 and "0 failed" in ok.stderr, ok.stderr
    assert run_cli(["plugins"], healthy).returncode == 0


def test_rewards_lists_options(site):
    r = run_cli(["rewards", "--json"], site)
    assert r.returncode == 0, r.stderr
    rows = {x["name"]: x for x in json.loads(r.stdout)}
    assert rows["slowish"]["options"]["delay"]["default"] == 0.0
    assert rows["regex"]["options"]["pattern"]["required"] is True


def test_score_10000_lines_with_3_malformed(tmp_path, site, spec):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    good = write_input(src, 9_997, malformed_at=(5, 5_000, 10_000))
    r = run_cli(["score", str(src), "--pipeline", str(spec), "--output", str(out)], site)
    assert r.returncode == 1, r.stderr  # partial: malformed lines were skipped
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 9_997 and [x["id"] for x in rows] == good
    assert rows[3] == {
        "id": 3,
        "completion": "xxx",
        "reward": 3.0,
        "rewards": {"slowish": 3.0},
        "status": "ok",
    }
    for lineno in (5, 5_000, 10_000):
        assert f"in.jsonl:{lineno}: skipped" in r.stderr
    assert "9997 scored" in r.stderr


def test_score_resumes_after_sigkill_without_duplicates(tmp_path, site):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    spec = tmp_path / "slow.yaml"
    spec.write_text("rewards:\n  - use: slowish\n    with: {delay: 0.001}\n")
    good = write_input(src, 10_000, malformed_at=(7, 8_000, 9_000))
    args = ["score", str(src), "--pipeline", str(spec), "--output", str(out), "--batch-size", "50"]
    proc = popen_cli(args, site)
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 100_000):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    partial = out.read_bytes().count(b"\n")
    assert 0 < partial < 10_000, "the kill should land half-way"
    r = run_cli(args, site)
    assert r.returncode == 1, r.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in rows] == good  # exactly one line per good input line, in order
    assert f"{partial} already done" in r.stderr or "already done" in r.stderr


def test_score_bad_spec_and_missing_file_exit_2(tmp_path, site):
    src = tmp_path / "in.jsonl"
    write_input(src, 3)
    bad = tmp_path / "bad.yaml"
    bad.write_text("rewards:\n  - use: slowish\n    wieght: 2\n")
    r = run_cli(["score", str(src), "--pipeline", str(bad)], site)
    assert r.returncode == 2 and "rewards[0].wieght" in r.stderr
    r = run_cli(["score", str(tmp_path / "nope.jsonl"), "--pipeline", str(bad)], site)
    assert r.returncode == 2 and "no such file" in r.stderr


def test_score_to_stdout_and_per_row_errors(tmp_path, site, spec):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "completion": "abc"}\n{"id": 2, "completion": 5}\n')
    r = run_cli(["score", str(src), "--pipeline", str(spec)], site)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows[0]["reward"] == 3.0
    assert rows[1]["status"] == "error" and "completion" in rows[1]["error"]


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_score_with_parallel_executors_matches_inline(tmp_path, site, spec, executor):
    src = tmp_path / "in.jsonl"
    write_input(src, 500)
    a = run_cli(["score", str(src), "-p", str(spec)], site).stdout
    b = run_cli(
        ["score", str(src), "-p", str(spec), "--executor", executor, "--workers", "2"], site
    ).stdout
    assert a == b and a.count("\n") == 500


def test_help_works_even_with_a_broken_plugin(site):
    r = run_cli(["--help"], site)
    assert r.returncode == 0 and "score" in r.stdout


def test_hostile_lines_are_reported_not_fatal(tmp_path):
    from assay.pipeline import load_pipeline
    from assay.scorefile import score_jsonl

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [
        b'{"completion": "a", "answer": "a"}',
        b"[" * 100_000,  # nesting past the recursion limit
        b"\xff\xfe not utf-8",
        b"null",
        b'{"completion": {"role": 1}}',
        b'{"completion": "b", "answer": "c"}',
    ]
    src.write_bytes(b"\n".join(lines) + b"\n")
    report = score_jsonl(
        src, load_pipeline({"rewards": [{"use": "exact_match"}]}), out, progress=False
    )
    assert [m.line for m in report.malformed] == [2, 3, 4]
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "error", "ok"]
    assert [r["reward"] for r in rows] == [1.0, None, 0.0]


@pytest.fixture
def em_spec(tmp_path):
    """A spec the test process can build itself (no plugin site needed)."""
    p = tmp_path / "em.yaml"
    p.write_text("name: em\nrewards:\n  - use: exact_match\n")
    return p


def _exact_match_pipeline():
    from assay.pipeline import load_pipeline

    return load_pipeline({"rewards": [{"use": "exact_match"}]})


def test_lone_surrogate_in_a_line_does_not_sink_the_batch(tmp_path):
    from assay.scorefile import score_jsonl

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    # "\ud800" is valid JSON but cannot be encoded as UTF-8: it used to crash the whole write.
    src.write_text(
        '{"completion": "a\\ud800", "answer": "a"}\n{"completion": "b", "answer": "b"}\n'
    )
    report = score_jsonl(src, _exact_match_pipeline(), out, progress=False)
    assert report.scored == 2 and not report.malformed
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["completion"] == "a\ud800" and rows[1]["reward"] == 1.0


def test_score_refuses_to_write_over_its_input(tmp_path, em_spec):
    from assay.cli import main
    from assay.scorefile import score_jsonl

    src = tmp_path / "in.jsonl"
    write_input(src, 3)
    before = src.read_bytes()
    link = tmp_path / "link.jsonl"
    link.symlink_to(src)
    for out in (src, link, tmp_path / "." / "in.jsonl"):
        assert main(["score", str(src), "-p", str(em_spec), "-o", str(out)]) == 2
        with pytest.raises(ValueError, match="is the input"):
            score_jsonl(src, _exact_match_pipeline(), out, progress=False)
    assert src.read_bytes() == before


def test_score_bad_paths_and_options_exit_2(tmp_path, em_spec, capsys):
    from assay.cli import main

    src = tmp_path / "in.jsonl"
    write_input(src, 3)
    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_bytes(b"\xff\xfe: not utf-8\n")
    cases = [
        ["score", str(tmp_path), "-p", str(em_spec)],  # input is a directory
        ["score", str(src), "-p", str(em_spec), "-o", str(tmp_path)],  # output is a directory
        ["score", str(src), "-p", str(tmp_path)],  # spec is a directory
        ["score", str(src), "-p", str(bad_spec)],  # spec is not UTF-8
        ["score", str(src), "-p", str(em_spec), "--workers", "0", "--executor", "thread"],
        ["score", str(src), "-p", str(em_spec), "--batch-size", "0"],
        ["serve", "-p", str(tmp_path)],
    ]
    for argv in cases:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("assay ") and "Traceback" not in err, (argv, err)


def test_line_without_a_completion_is_an_error_row(tmp_path):
    from assay.scorefile import score_jsonl

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(
        b'\xef\xbb\xbf{"id": 1, "completion": "a", "answer": "a"}\r\n\r\n'
        b'{"id": 2, "answer": "a"}\r\n{"id": 3, "completion": "b", "answer": "b"}'
    )
    report = score_jsonl(src, _exact_match_pipeline(), out, progress=False)
    assert not report.malformed
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert [r["status"] for r in rows] == ["ok", "error", "ok"]
    assert rows[1]["reward"] is None and "completion" in rows[1]["error"]
    assert [r["reward"] for r in (rows[0], rows[2])] == [1.0, 1.0]


def test_a_run_stopped_by_an_error_exits_3_keeps_its_lines_and_resumes(
    tmp_path, em_spec, monkeypatch, capsys
):
    from assay.cli import main
    from assay.pipeline import Pipeline

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    good = write_input(src, 10)
    real = Pipeline.score
    calls = []

    def flaky(self, samples, **kw):
        calls.append(len(samples))
        if len(calls) == 2:
            raise RuntimeError("scorer fell over")
        return real(self, samples, **kw)

    monkeypatch.setattr(Pipeline, "score", flaky)
    argv = ["score", str(src), "-p", str(em_spec), "-o", str(out), "--batch-size", "4"]
    assert main(argv) == 3
    assert "scorer fell over" in capsys.readouterr().err
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == good[:4]
    assert main(argv) == 0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == good


def test_rewards_lists_an_option_without_a_json_schema(assay_registry, capsys):
    from assay.cli import main

    def with_callable(sample, fn=len) -> float:
        return 1.0

    with_callable.__annotations__["fn"] = Callable  # a real type (this module's are strings)
    assay_registry.add("reward", "with_callable", with_callable)
    assert main(["rewards", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["with_callable"]["options"]["fn"]["required"] is False
    assert main(["rewards"]) == 0 and "with_callable" in capsys.readouterr().out


def test_score_details_writes_each_components_status_reason_and_details(tmp_path, em_spec):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(
        '{"id": "a", "completion": "Paris", "answer": "Paris"}\n'
        '{"id": "b", "completion": "Lyon", "answer": "Paris"}\n'
        '{"id": "c", "completion": 5}\n'
    )
    r = run_cli(["score", str(src), "-p", str(em_spec), "-o", str(out), "--details"])
    assert r.returncode == 0, r.stderr
    rows = {x["id"]: x for x in map(json.loads, out.read_text().splitlines())}
    a = rows["a"]["scores"]["exact_match"]
    assert a["value"] == 1.0 and a["status"] == "ok" and a["plugin"] == "builtins"
    assert rows["a"]["rewards"] == {"exact_match": 1.0}  # the plain columns stay
    b = rows["b"]["scores"]["exact_match"]
    assert b["value"] == 0.0 and b["status"] == "ok"
    assert rows["c"]["status"] == "error" and rows["c"]["scores"] == {}
    plain = tmp_path / "plain.jsonl"
    assert run_cli(["score", str(src), "-p", str(em_spec), "-o", str(plain)]).returncode == 0
    assert all("scores" not in json.loads(x) for x in plain.read_text().splitlines())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_score_says_what_is_kept_and_how_to_resume(tmp_path, site, sig):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    spec = tmp_path / "slow.yaml"
    spec.write_text("rewards:\n  - use: slowish\n    with: {delay: 0.01}\n")
    good = write_input(src, 2000)
    args = ["score", str(src), "-p", str(spec), "-o", str(out), "--batch-size", "8"]
    proc = popen_cli(args, site)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 200):
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 130, err
    kept = len(out.read_text().splitlines())
    assert 0 < kept < len(good)
    assert f"{kept} scored lines are kept in {out}" in err
    assert "To resume, run the same command again" in err and str(src) in err
    again = run_cli(args, site)
    assert again.returncode == 0, again.stderr
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == good


def test_an_interrupted_score_to_stdout_says_it_cannot_resume(tmp_path, site):
    src = tmp_path / "in.jsonl"
    spec = tmp_path / "slow.yaml"
    spec.write_text("rewards:\n  - use: slowish\n    with: {delay: 0.01}\n")
    write_input(src, 2000)
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assay.cli",
            "score",
            str(src),
            "-p",
            str(spec),
            "--batch-size",
            "8",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # scoring has started
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "pass --output FILE to make a run resumable" in err.decode()
