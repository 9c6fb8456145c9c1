"""``assay serve``: its command-line options and what the command does (the server itself is
`assay.serve`, imported only when the command runs, so building the parser stays light)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_OK, EXIT_USAGE = (
    0,
    2,
)  # as `assay.cli`: success; bad usage, spec, or a server that cannot start


def _load(spec: str) -> Any:
    """The pipeline of a spec, or None after printing why it cannot be built (as `assay score`)."""
    from .building import load_pipeline
    from .errors import SpecError

    try:
        return load_pipeline(spec)
    except SpecError as exc:
        print(f"assay serve: {exc}", file=sys.stderr)
    except (OSError, ValueError) as exc:  # a directory, an unreadable or non-UTF-8 file, ...
        print(f"assay serve: pipeline spec {spec}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return None


def add_serve_command(sub: Any) -> None:
    """Add ``assay serve`` to the ``assay`` subcommands."""
    p = sub.add_parser(
        "serve",
        help="serve a pipeline over HTTP (OpenRLHF, slime, NeMo Gym, Assay shapes)",
        description="A micro-batching reward server; see docs/serving.md.",
    )
    p.add_argument("--pipeline", "-p", required=True, help="pipeline spec: YAML/JSON path")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--executor",
        choices=["process", "thread", "ray"],
        default="process",
        help="where batches are scored: worker processes (default), the server's own "
        "process, or Ray actors",
    )
    p.add_argument("--workers", type=int, default=1, help="scoring processes or Ray actors")
    p.add_argument(
        "--ray-address",
        help="Ray cluster to use with --executor ray (default: RAY_ADDRESS, else local)",
    )
    p.add_argument("--api-key", help="require 'Authorization: Bearer KEY' (or ASSAY_API_KEY)")
    p.add_argument("--max-batch", type=int, default=256, help="samples per score call at most")
    p.add_argument(
        "--max-wait-ms", type=float, default=5.0, help="how long a request waits for company"
    )
    p.add_argument(
        "--max-queue", type=int, default=4096, help="samples waiting at most; past it, 503"
    )
    p.add_argument("--batch-timeout", type=float, default=300.0, help="seconds per batch (0: none)")
    p.add_argument(
        "--drain-timeout", type=float, default=30.0, help="seconds to finish work on shutdown"
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the server until a signal (see `assay.serve.runner`)."""
    import os

    try:
        from .serve import serve
    except ImportError as exc:  # uvicorn / starlette missing
        print(
            f"assay serve: needs the serve extra ({exc.name} is missing): "
            "pip install 'assay[serve]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.workers < 1 or args.max_batch < 1 or args.max_queue < 1 or args.max_wait_ms < 0:
        print(
            "assay serve: --workers, --max-batch and --max-queue must be at least 1, "
            "--max-wait-ms at least 0",
            file=sys.stderr,
        )
        return EXIT_USAGE
    pipeline = _load(args.pipeline)
    if pipeline is None:
        return EXIT_USAGE
    try:
        serve(
            pipeline,
            args.host,
            args.port,
            executor=args.executor,
            workers=args.workers,
            api_key=args.api_key or os.environ.get("ASSAY_API_KEY") or None,
            max_batch=args.max_batch,
            max_wait=args.max_wait_ms / 1000,
            max_queue=args.max_queue,
            batch_timeout=args.batch_timeout or None,
            drain_timeout=args.drain_timeout,
            **({"address": args.ray_address} if args.executor == "ray" else {}),
        )
    except OSError as exc:  # port in use, bad host, ...
        print(f"assay serve: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (RuntimeError, ValueError, ImportError) as exc:  # workers or Ray could not start
        print(f"assay serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
