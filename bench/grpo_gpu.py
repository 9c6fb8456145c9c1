"""GRPO on a GPU with a mixed math + code + format pipeline, and the rewards' verdicts checked in
the training process afterwards.

Two things only a GPU run shows:

1. **The GPU path of the GRPO backend**: bf16 chosen by itself on a capable GPU, the policy on the
   device, TRL's step with Assay's pipeline as its reward, and how much of a step the reward call
   takes (per-step wall time, reward-call time from the pipeline's own timer).
2. **Rewards that fork inside a CUDA process**: the math workers and the code sandbox pool start
   after CUDA is initialised and the trainer's threads run. After training, a fixed batch of real
   math and code completions (right and wrong) is scored in the same process and each verdict is
   checked (``verdicts_ok`` in the JSON line).

The policy is a Llama with Qwen2.5-0.5B's width and depth by default, random weights and a
character tokenizer (no Hub: the GPU machine reaches no network), so its completions are noise
and the training reward stays near 0: the run measures the path, not learning.

    python bench/grpo_gpu.py [--steps 8] [--hidden 896 --layers 24 --heads 14]

Prints one line per step and a final JSON line.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Sibling bench scripts are named like stdlib modules (math.py, code.py): keep them off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

ALPHABET = "0123456789+-*= ()abcdefghijklmnopqrstuvwxyz:<>/\n`"

PIPELINE = {
    "name": "mixed",
    "rewards": [
        {"use": "math", "weight": 1.0},
        {"use": "code", "weight": 1.0},
        {"use": "think_format", "weight": 0.1},
    ],
}

ADD_TESTS = {"type": "asserts", "asserts": ["assert add(1, 2) == 3", "assert add(-4, 4) == 0"]}
RIGHT_CODE = "```python\ndef add(a, b):\n    return a + b\n```"
WRONG_CODE = "```python\ndef add(a, b):\n    return a - b\n```"
HACK_CODE = (
    "```python\nclass E:\n    def __eq__(self, o):\n        return True\n"
    "def add(a, b):\n    return E()\n```"
)


def verdict_batch() -> list[tuple[dict[str, Any], str, float]]:
    """(sample, component, expected score): right answers 1, wrong answers and a hack 0."""
    return [
        (
            {"prompt": "1+2=?", "completion": "so the answer is \\boxed{3}", "answer": "3"},
            "math",
            1,
        ),
        (
            {"prompt": "1+2=?", "completion": "so the answer is \\boxed{4}", "answer": "3"},
            "math",
            0,
        ),
        ({"prompt": "half", "completion": "It is $\\frac{1}{2}$.", "answer": "0.5"}, "math", 1),
        ({"prompt": "add", "completion": RIGHT_CODE, "tests": ADD_TESTS}, "code", 1),
        ({"prompt": "add", "completion": WRONG_CODE, "tests": ADD_TESTS}, "code", 0),
        ({"prompt": "add", "completion": HACK_CODE, "tests": ADD_TESTS}, "code", 0),
    ]


def dataset(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        a, b = i % 7 + 1, i % 5 + 2
        rows.append(
            {
                "prompt": f"{a}+{b}=",
                "answer": str(a + b),
                "tests": {"type": "asserts", "asserts": [f"assert add({a}, {b}) == {a + b}"]},
            }
        )
    return rows


def step_timer() -> Any:
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []
            self._t = 0.0

        def on_step_begin(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            self._t = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            import torch

            if torch.cuda.is_available():  # a step's kernels finish before its time is taken
                torch.cuda.synchronize()
            self.times.append(time.perf_counter() - self._t)
            print(f"step {len(self.times)}: {self.times[-1] * 1e3:.1f} ms", flush=True)

    return StepTimer()


def check_verdicts() -> tuple[bool, list[dict[str, Any]]]:
    """Score the fixed batch in this (CUDA-initialised) process; each verdict as expected?"""
    import assay

    rows = []
    ok = True
    pipes = {name: assay.Pipeline(name=name, components=[name]) for name in ("math", "code")}
    for sample, component, expected in verdict_batch():
        t = time.perf_counter()
        result = pipes[component].score([assay.Sample(**sample)])[0]
        comp = result.components[component]
        good = comp.status == "ok" and comp.value == expected
        ok = ok and good
        rows.append(
            {
                "component": component,
                "completion": sample["completion"][:40],
                "expected": expected,
                "got": comp.value,
                "status": comp.status,
                "reason": comp.reason,
                "ms": round((time.perf_counter() - t) * 1e3, 1),
                "as_expected": good,
            }
        )
    return ok, rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=896)
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--heads", type=int, default=14)
    ap.add_argument("--batch", type=int, default=64, help="completions per step")
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--max-completion", type=int, default=64)
    args = ap.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")

    import torch

    from assay_trl import get_algorithm
    from assay_trl.tiny import tiny_model_and_tokenizer

    cuda = torch.cuda.is_available()
    model, tok = tiny_model_and_tokenizer(
        ALPHABET, seed=0, hidden_size=args.hidden, layers=args.layers, heads=args.heads
    )
    params = sum(p.numel() for p in model.parameters())
    timer = step_timer()
    with tempfile.TemporaryDirectory() as out:
        algo = get_algorithm(
            "grpo",
            {
                "output_dir": out,
                "learning_rate": 1e-6,
                "max_steps": args.steps,
                "per_device_train_batch_size": args.batch,
                "num_generations": args.generations,
                "max_completion_length": args.max_completion,
                "beta": 0.0,
                "save_strategy": "no",
                "logging_steps": 1,
                "trl": {"disable_tqdm": True, "report_to": "none"},
            },
        )
        trainer = algo.build(model, tok, dataset=dataset(256), pipeline=PIPELINE, callbacks=[timer])
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # the step lines above say enough
        placed = {
            "device": str(next(trainer.model.parameters()).device),
            "bf16": bool(trainer.args.bf16),
            "use_cpu": bool(trainer.args.use_cpu),
        }
        print(f"{params / 1e6:.0f}M parameters; {placed}", flush=True)
        t = time.perf_counter()
        trainer.train()
        train_s = time.perf_counter() - t
        logs = trainer.state.log_history
    statuses = {
        k: sum(h[k] for h in logs if k in h)
        for k in sorted({k for h in logs for k in h if k.startswith("assay/")})
    }
    verdicts_ok, rows = check_verdicts()
    for r in rows:
        print(r, flush=True)
    steady = timer.times[1:] or timer.times
    print(
        json.dumps(
            {
                "bench": "grpo_gpu",
                "gpu": torch.cuda.get_device_name(0) if cuda else None,
                "torch": torch.__version__,
                "params": params,
                "placed": placed,
                "steps": args.steps,
                "completions_per_step": args.batch,
                "step_ms_median": round(statistics.median(steady) * 1e3, 1),
                "first_step_ms": round(timer.times[0] * 1e3, 1) if timer.times else None,
                "train_s": round(train_s, 2),
                "non_ok_counts": statuses,
                "verdicts_ok": verdicts_ok,
                "verdicts": rows,
            }
        )
    )
    return 0 if verdicts_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
