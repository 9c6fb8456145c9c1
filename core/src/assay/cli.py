"""The ``assay`` command line: plugins, rewards, score, serve, and subcommands from plugins.

Exit codes: 0 success; 1 the job ran but some input lines were malformed (reported, skipped),
or (``assay plugins``) a plugin failed to load;
2 bad usage, a bad pipeline spec, a missing or unreadable file, an output path equal to the
input, or an output another run is writing; 3 the run stopped on an error part-way (what was
written is kept; re-run to resume);
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import signal
import sys
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
_PLURAL = {"sandbox": "sandboxes"}


def _data(name: str) -> Path:
    return Path(str(files("assay") / "data" / name))


def cmd_plugins(args: argparse.Namespace) -> int:
    from .registry import get_registry

    reg = get_registry()
    plugins: list[dict[str, Any]] = [
        {
            "name": p.name,
            "distribution": p.distribution,
            "version": p.version,
            "module": p.module,
            "provides": {k: sorted(v) for k, v in p.provides.items()},
        }
        for p in reg.plugins.values()
    ]
    failures = [
        {"name": f.plugin, "distribution": f.distribution, "stage": f.stage, "reason": f.reason}
        for f in reg.failures
    ]
    # A plugin that failed to load is reported and skipped (a broken plugin must not take the
    # CLI down), but the exit status says so: scripts and CI can gate on `assay plugins`.
    status = EXIT_PARTIAL if failures else EXIT_OK
    if args.json:
        print(json.dumps({"plugins": plugins, "failed": failures}, indent=2))
        return status
    if args.check:
        for f in failures:
            print(
                f"{f['name']}  ({f['distribution'] or '?'})  FAILED at {f['stage']}: {f['reason']}",
                file=sys.stderr,
            )
        print(f"assay plugins: {len(plugins)} loaded, {len(failures)} failed", file=sys.stderr)
        return status
    for p in plugins:
        dist = f"{p['distribution']} {p['version']}" if p["distribution"] else "runtime"
        print(f"{p['name']}  ({dist})")
        for kind, names in p["provides"].items():
            print(f"    {_PLURAL.get(kind, kind + 's'):<11} {', '.join(names)}")
    for f in failures:
        print(f"{f['name']}  ({f['distribution'] or '?'})  FAILED at {f['stage']}: {f['reason']}")
    return status


def _options_of(cls: Any) -> dict[str, Any]:
    try:
        schema = cls.Options.model_json_schema()
    except Exception:  # noqa: BLE001 - an option type with no JSON schema (a callable, a class)
        return _options_from_fields(cls)
    out: dict[str, Any] = {}
    fields = getattr(cls.Options, "model_fields", {})
    for name, prop in schema.get("properties", {}).items():
        default = prop.get("default")
        f = fields.get(name)
        if "default" not in prop and f is not None and not f.is_required():
            default = f.get_default(call_default_factory=True)  # a default_factory's value
        out[name] = {
            "type": prop.get("type")
            or " | ".join(str(a.get("type", a.get("$ref", "?"))) for a in prop.get("anyOf", []))
            or "any",
            "default": default,
            "required": name in schema.get("required", []),
            "description": prop.get("description", ""),
        }
    return out


def _options_from_fields(cls: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, f in getattr(getattr(cls, "Options", None), "model_fields", {}).items():
        ann = f.annotation
        out[name] = {
            "type": getattr(ann, "__name__", None) or str(ann),
            "default": None if f.is_required() else f.get_default(call_default_factory=True),
            "required": f.is_required(),
            "description": f.description or "",
        }
    return out


def cmd_rewards(args: argparse.Namespace) -> int:
    from .registry import get_registry

    reg = get_registry()
    rows: list[dict[str, Any]] = []
    for e in reg.entries("reward"):
        doc = (e.obj.__doc__ or "").strip().splitlines()
        rows.append(
            {
                "name": e.name,
                "plugin": e.plugin,
                "version": e.version,
                "summary": doc[0] if doc else "",
                "options": _options_of(e.obj),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return EXIT_OK
    for r in rows:
        print(f"{r['name']}  [{r['plugin']}]  {r['summary']}")
        for name, o in r["options"].items():
            req = " (required)" if o["required"] else f" = {o['default']!r}"
            print(f"    {name}: {o['type']}{req}")
    return EXIT_OK


def _print_table(path: Path) -> None:
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    for i, r in enumerate(rows, 1):
        reward = "None" if r["reward"] is None else f"{r['reward']:.3f}"
        comps = ", ".join(
            f"{k}={'-' if v is None else format(v, '.2f')}" for k, v in r["rewards"].items()
        )
        label = r.get("id", i)
        extra = f"  ({r['error']})" if r.get("error") else ""
        print(f"{label!s:<18} reward={reward:<7} {r['status']:<13} {comps}{extra}")


def _load(cmd: str, spec: str) -> Any:
    """The pipeline of a spec, or None after printing why it cannot be built."""
    from .building import load_pipeline
    from .errors import SpecError

    try:
        return load_pipeline(spec)
    except SpecError as exc:
        print(f"assay {cmd}: {exc}", file=sys.stderr)
    except (OSError, ValueError) as exc:  # a directory, an unreadable or non-UTF-8 file, ...
        print(f"assay {cmd}: pipeline spec {spec}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return None


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a job scheduler, ``timeout``) stops a run the way Ctrl-C does, so the lines
    already written are flushed and the user is told how to resume."""

    def raise_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, raise_interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _resume_hint(output: str | Path | None, demo: bool, argv: list[str]) -> str:
    """What an interrupted ``assay score`` says: what was kept and the command that resumes."""
    if output is None or demo:
        return (
            "assay score: interrupted; the output went to stdout and cannot be resumed: "
            "pass --output FILE to make a run resumable"
        )
    from .scorefile import completed_lines

    done = completed_lines(Path(output))
    command = shlex.join(["assay", *argv])
    return (
        f"assay score: interrupted; {done} scored lines are kept in {output}. "
        f"To resume, run the same command again (lines already scored are skipped): {command}"
    )


def cmd_score(args: argparse.Namespace) -> int:
    from .scorefile import OutputLocked, _same_file, score_jsonl

    demo = args.input is None
    src = Path(args.input) if args.input else _data("demo.jsonl")
    spec = args.pipeline or (str(_data("demo_pipeline.yaml")) if demo else None)
    if spec is None:
        print("assay score: --pipeline SPEC is required with an input file", file=sys.stderr)
        return EXIT_USAGE
    if not src.exists():
        print(f"assay score: no such file: {src}", file=sys.stderr)
        return EXIT_USAGE
    if src.is_dir():
        print(f"assay score: {src} is a directory, not a JSONL file", file=sys.stderr)
        return EXIT_USAGE
    if args.output is not None:
        if Path(args.output).is_dir():
            print(f"assay score: --output {args.output} is a directory", file=sys.stderr)
            return EXIT_USAGE
        if _same_file(src, Path(args.output)):
            print(
                f"assay score: --output {args.output} is the input file; write to another path",
                file=sys.stderr,
            )
            return EXIT_USAGE
    if args.batch_size < 1 or (args.workers is not None and args.workers < 1):
        print("assay score: --batch-size and --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        src.open("rb").close()
    except OSError as exc:
        print(f"assay score: cannot read {src}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.ray_address:
        import os

        os.environ["RAY_ADDRESS"] = args.ray_address
    pipeline = _load("score", spec)
    if pipeline is None:
        return EXIT_USAGE
    if args.output is not None:
        try:  # an unwritable output: say so before scoring anything
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            Path(args.output).open("ab").close()
        except OSError as exc:
            print(f"assay score: cannot write {args.output}: {exc}", file=sys.stderr)
            pipeline.close()
            return EXIT_USAGE
    output = args.output
    table_path = None
    if demo and output is None:
        import tempfile

        table_path = Path(tempfile.mkdtemp(prefix="assay-demo-")) / "scored.jsonl"
        output = table_path
    try:
        with pipeline, _sigterm_as_interrupt():
            report = score_jsonl(
                src,
                pipeline,
                output,
                batch_size=args.batch_size,
                executor=args.executor,
                workers=args.workers,
                details=args.details,
            )
    except BrokenPipeError:  # stdout closed early (| head): main() treats it as done
        raise
    except OutputLocked as exc:
        print(f"assay score: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(_resume_hint(output, table_path is not None, args.argv), file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - disk full, a bug that escaped the pipeline
        where = "" if output is None else f"; lines written to {output} are kept, re-run resumes"
        print(f"assay score: stopped: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        return EXIT_FAILED
    if table_path is not None:
        print(f"Scored {src.name} with {Path(spec).name}:\n")
        _print_table(table_path)
    for m in report.malformed:
        print(f"assay score: {src}:{m.line}: skipped: {m.reason}", file=sys.stderr)
    summary = ", ".join(f"{k}={v}" for k, v in sorted(report.statuses.items()))
    print(
        f"assay score: {report.scored} scored, {report.resumed} already done, "
        f"{len(report.malformed)} malformed ({summary or 'nothing new'}) in {report.seconds:.2f} s",
        file=sys.stderr,
    )
    return EXIT_PARTIAL if report.malformed else EXIT_OK


def build_parser(with_plugins: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assay", description="Rewards and verifiers for RL post-training, as plugins."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "plugins",
        help="installed plugins and what each provides",
        description="Exits 1 when a plugin failed to load (it is listed with the reason).",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--check",
        action="store_true",
        help="print only failures and a count (for CI); exit 1 on any",
    )
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("rewards", help="available rewards and their options")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_rewards)

    p = sub.add_parser(
        "score",
        help="score a JSONL file with a pipeline (no input: the bundled demo)",
        description="One output line per input line: its fields plus reward, rewards, status, error.",
    )
    p.add_argument("input", nargs="?", help="input JSONL (omit to score the bundled demo)")
    p.add_argument("--pipeline", "-p", help="pipeline spec: YAML/JSON path")
    p.add_argument("--output", "-o", help="output JSONL (resumable); default stdout")
    p.add_argument(
        "--workers", type=int, default=None, help="parallel workers (threads, processes, actors)"
    )
    p.add_argument("--executor", choices=["inline", "thread", "process", "ray"], default="inline")
    p.add_argument(
        "--ray-address",
        help="Ray cluster to use with --executor ray (default: RAY_ADDRESS, else local)",
    )
    p.add_argument("--batch-size", type=int, default=256, help="lines scored and written at a time")
    p.add_argument(
        "--details",
        action="store_true",
        help="also write `scores`: each component's value, status, reason and details",
    )
    p.set_defaults(func=cmd_score)

    from .report.command import add_report_command

    add_report_command(sub)

    from .serve_command import add_serve_command

    add_serve_command(sub)

    if with_plugins:
        from .registry import get_registry

        get_registry().add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Plugins add subcommands; plain --help should still work if the registry cannot load.
    try:
        parser = build_parser(with_plugins=True)
    except Exception as exc:  # noqa: BLE001 - strict mode, or a broken environment
        print(f"assay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    args.argv = argv  # an interrupted run prints the command that resumes it
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
