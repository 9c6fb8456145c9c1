"""``assay train ALGORITHM --config recipe.yaml [--set key=value ...]``.

The algorithm is looked up in the assay registry (so a third-party backend registered through
``assay_register_algorithms`` trains the same way); progress and each reward component are logged
per step by TRL's own logging; checkpoints land where TRL puts them (``config.output_dir``), and
the trained policy is saved there at the end (``--no-save`` to skip), so that folder loads back as
a ``model:``.
Exit codes: 0 trained, 2 bad recipe / data / rewards, 1 training failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_train_command(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train",
        help="train a model with an assay pipeline as reward (GRPO, DAPO, PPO, DPO, ...)",
        description="Train ALGORITHM on the recipe's model and data, with its assay pipeline "
        "as the reward. Checkpoints and, at the end, the trained policy go to config.output_dir.",
    )
    parser.add_argument("algorithm", help="registered algorithm name (see `assay plugins`)")
    parser.add_argument(
        "--config",
        "-c",
        required=True,
        help="recipe YAML file, or the name of a packaged recipe (e.g. grpo)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe value (repeatable): config.learning_rate=1e-5, model=path, ...",
    )
    parser.add_argument("--output-dir", help="shorthand for --set config.output_dir=DIR")
    parser.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        help="resume from the last (or given) checkpoint",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate the recipe and print it, do not train"
    )
    parser.add_argument(
        "--no-save",
        action="store_true",
        help="do not save the trained policy into config.output_dir at the end",
    )
    parser.set_defaults(func=run_train)
    return parser


def _error(message: str) -> int:
    print(f"assay train: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_train(args: argparse.Namespace) -> int:
    """Handler of ``assay train``; returns the exit code."""
    from pydantic import ValidationError

    from assay.errors import AssayError, UnknownNameError

    from .errors import TrainError
    from .recipe import load_recipe

    overrides = list(args.overrides)
    if args.output_dir:
        overrides.append(f"config.output_dir={args.output_dir}")
    try:
        import assay

        algo_cls = assay.get_registry().get("algorithm", args.algorithm).obj
        recipe = load_recipe(args.config, overrides)
        if recipe.algorithm and recipe.algorithm != args.algorithm:
            return _error(
                f"recipe {args.config} is for {recipe.algorithm!r}, not {args.algorithm!r}; "
                f"run `assay train {recipe.algorithm} ...` or edit `algorithm:`"
            )
        algo = algo_cls(recipe.config)
    except UnknownNameError as exc:
        return _error(str(exc))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        return _error(f"config.{loc}: {err['msg']}")
    except (TrainError, AssayError, ValueError) as exc:
        return _error(str(exc))
    if args.dry_run:
        shown = recipe.model_dump()
        shown["algorithm"] = args.algorithm
        shown["config"] = algo.config.model_dump()
        print(json.dumps(shown, indent=2, default=str))
        return EXIT_OK
    try:
        trainer = algo.train(
            recipe.model,
            recipe.tokenizer,
            recipe.resolved_dataset(),
            recipe.resolved_pipeline(),
            **({"resume_from_checkpoint": args.resume} if args.resume is not None else {}),
        )
    except (TrainError, AssayError, ValidationError) as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        print("assay train: interrupted", file=sys.stderr)
        return 130
    saved = None if args.no_save else _save_policy(trainer)
    _summary(args.algorithm, trainer, saved)
    return EXIT_OK


def _save_policy(trainer: Any) -> str | None:
    """Save the trained policy (weights and tokenizer) into the run's ``output_dir``, so the
    folder loads back as ``model:``; checkpoints (``save_strategy``) are for resuming."""
    save = getattr(trainer, "save_model", None)
    out = getattr(getattr(trainer, "args", None), "output_dir", None)
    if save is None or out is None:  # a third-party backend that saves on its own
        return None
    save(out)
    return str(out)


def _summary(algorithm: str, trainer: Any, saved: str | None = None) -> None:
    state = getattr(trainer, "state", None)
    history = getattr(state, "log_history", []) if state is not None else []
    rewards = [h["reward"] for h in history if "reward" in h]
    line: dict[str, Any] = {
        "algorithm": algorithm,
        "steps": getattr(state, "global_step", None),
        "output_dir": getattr(getattr(trainer, "args", None), "output_dir", None),
        "saved": saved,
    }
    if rewards:
        line["first_reward"], line["last_reward"] = rewards[0], rewards[-1]
    extra = getattr(trainer, "assay_history", None)
    if extra:
        line["rounds"] = extra
    print(json.dumps(line, default=str))


def main(argv: list[str] | None = None) -> int:
    """``python -m assay_trl train ...``: the same command without the core CLI."""
    parser = argparse.ArgumentParser(prog="assay")
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_command(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))
