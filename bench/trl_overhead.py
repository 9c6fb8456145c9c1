"""Step time of GRPO through assay (backend + pipeline rewards) versus the raw TRL GRPOTrainer.

Same tiny in-code Llama, same data, same GRPOConfig values, same reward (the fraction of "a"
characters): the raw run passes a plain Python function to TRL; the assay run goes through
``assay_trl.GRPO`` with the pipeline ``char_fraction`` (combined reward + component logger).
Each run is a fresh process (a trainer left in memory slows the next run's steps) and the sides
alternate, which one goes first switching every repeat, so machine load hits both alike; each run
trains ``--steps`` optimizer steps and the first ``--warmup`` are dropped. Also times the reward call
alone on one batch, the only part of a step that differs.

    .venv/bin/python bench/trl_overhead.py [--steps 30] [--repeats 3]

Prints a table and one JSON line. Aim: assay within 5% of raw TRL. Judge by CPU time per step on
a shared machine: other jobs move wall time by far more than 5% between runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Sibling bench scripts are named like stdlib modules (math.py, code.py): keep them off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from typing import Any  # noqa: E402

ALPHABET = "abcdefgh"
G = 4
BATCH = 16
MAX_LEN = 8
LR = 1e-2


def frac_a(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
    """The raw TRL reward: fraction of completion characters that are 'a'."""
    return [c.count("a") / len(c) if c else 0.0 for c in completions]


def step_timer() -> Any:
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []
            self.cpu: list[float] = []
            self._t = self._c = 0.0

        def on_step_begin(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            self._t, self._c = time.perf_counter(), time.process_time()

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            self.times.append(time.perf_counter() - self._t)
            self.cpu.append(time.process_time() - self._c)

    return StepTimer()


def run_raw(steps: int, out: str, device: str) -> tuple[Any, float]:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from assay_trl.tiny import tiny_model_and_tokenizer
    from assay_trl.toy import toy_prompts

    model, tok = tiny_model_and_tokenizer(ALPHABET, seed=0)
    args = GRPOConfig(
        output_dir=out,
        learning_rate=LR,
        max_steps=steps,
        per_device_train_batch_size=BATCH,
        num_generations=G,
        max_completion_length=MAX_LEN,
        beta=0.0,
        loss_type="grpo",
        scale_rewards="group",
        save_strategy="no",
        logging_steps=1,
        report_to="none",
        use_cpu=device == "cpu",
        bf16=device == "cuda",  # what the assay backend picks by itself on a bf16 GPU
        disable_tqdm=True,
        seed=0,
    )
    timer = step_timer()
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=frac_a,
        args=args,
        train_dataset=Dataset.from_list([{"prompt": p} for p in toy_prompts(64, ALPHABET)]),
        processing_class=tok,
        callbacks=[timer],
    )
    _quiet(trainer)
    trainer.train()
    return timer, _last_reward(trainer)


def run_assay(steps: int, out: str, device: str) -> tuple[Any, float]:
    from assay_trl import GRPO
    from assay_trl.toy import toy_prompts

    timer = step_timer()
    algo = GRPO(
        output_dir=out,
        learning_rate=LR,
        max_steps=steps,
        per_device_train_batch_size=BATCH,
        num_generations=G,
        max_completion_length=MAX_LEN,
        beta=0.0,
        save_strategy="no",
        trl={"disable_tqdm": True},
    )
    trainer = algo.build(
        f"tiny:{ALPHABET}",
        dataset=toy_prompts(64, ALPHABET),
        pipeline="char_fraction",
        callbacks=[timer],
    )
    _quiet(trainer)
    trainer.train()
    return timer, _last_reward(trainer)


def _quiet(trainer: Any) -> None:
    """Drop the per-step log printer (same for both sides; keeps the bench output short)."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def _last_reward(trainer: Any) -> float:
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    return float(statistics.mean(rewards[-5:]))


def reward_call_times(n: int = 200) -> tuple[float, float]:
    """Median seconds of one reward call on a batch of BATCH completions: raw function vs assay."""
    from assay_trl.rewards import trl_reward_funcs
    from assay_trl.toy import toy_prompts

    funcs, _ = trl_reward_funcs("char_fraction", components=True)
    prompts = toy_prompts(BATCH, ALPHABET)
    raw, ours = [], []
    for i in range(n):
        completions = [f"a{i}b{j}aa" for j in range(BATCH)]  # fresh batch: no cache hit
        t = time.perf_counter()
        frac_a(prompts, completions)
        raw.append(time.perf_counter() - t)
        t = time.perf_counter()
        for fn in funcs:  # TRL calls the combined reward and each component logger
            fn(prompts=prompts, completions=completions, completion_ids=None)
        ours.append(time.perf_counter() - t)
    return statistics.median(raw), statistics.median(ours)


def _setup(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")


def _one_side(side: str, steps: int, threads: int, device: str) -> None:
    """Child process: train one side, print its step times as JSON (assay picks its device itself:
    the GPU with bf16 where one is, as ``--device cuda`` sets for the raw side)."""
    _setup(threads)
    with tempfile.TemporaryDirectory() as tmp:
        timer, final = (run_raw if side == "raw" else run_assay)(steps, tmp, device)
    print(json.dumps({"wall": timer.times, "cpu": timer.cpu, "final": final}))


def _spawn(side: str, args: argparse.Namespace) -> dict[str, Any]:
    import subprocess

    cmd = [sys.executable, __file__, "--side", side, "--steps", str(args.steps)]
    cmd += ["--threads", str(args.threads), "--device", args.device]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--side", choices=["raw", "assay"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        _one_side(args.side, args.steps, args.threads, args.device)
        return
    _setup(args.threads)

    runs: dict[str, list[dict[str, Any]]] = {"raw": [], "assay": []}
    for r in range(args.repeats):  # each run in a fresh process; the first side alternates
        for side in ("raw", "assay") if r % 2 == 0 else ("assay", "raw"):
            runs[side].append(_spawn(side, args))
    w = args.warmup
    raw_steps = [t for run in runs["raw"] for t in run["wall"][w:]]
    assay_steps = [t for run in runs["assay"] for t in run["wall"][w:]]
    raw_cpu = [t for run in runs["raw"] for t in run["cpu"][w:]]
    assay_cpu = [t for run in runs["assay"] for t in run["cpu"][w:]]
    raw_final = [run["final"] for run in runs["raw"]]
    assay_final = [run["final"] for run in runs["assay"]]
    raw_call, assay_call = reward_call_times()

    raw_med, assay_med = statistics.median(raw_steps), statistics.median(assay_steps)
    raw_cmed, assay_cmed = statistics.median(raw_cpu), statistics.median(assay_cpu)
    ratio, cpu_ratio = assay_med / raw_med, assay_cmed / raw_cmed
    rows = [
        ("raw TRL GRPOTrainer", raw_med, raw_cmed, raw_call, statistics.mean(raw_final)),
        ("assay GRPO + pipeline", assay_med, assay_cmed, assay_call, statistics.mean(assay_final)),
    ]
    print(
        f"{'run':<24}{'wall ms/step':>14}{'cpu ms/step':>13}{'reward call us':>16}{'final reward':>14}"
    )
    for name, step, cpu, call, fin in rows:
        print(f"{name:<24}{step * 1e3:>14.2f}{cpu * 1e3:>13.2f}{call * 1e6:>16.1f}{fin:>14.3f}")
    print(
        f"assay/raw: wall {ratio:.3f}, cpu {cpu_ratio:.3f} (aim <= 1.05); "
        f"medians over {len(raw_steps)} steps per side"
    )
    print(
        json.dumps(
            {
                "bench": "trl_overhead",
                "steps_per_run": args.steps,
                "repeats": args.repeats,
                "raw_step_ms_median": round(raw_med * 1e3, 3),
                "assay_step_ms_median": round(assay_med * 1e3, 3),
                "step_ratio": round(ratio, 4),
                "raw_step_cpu_ms_median": round(raw_cmed * 1e3, 3),
                "assay_step_cpu_ms_median": round(assay_cmed * 1e3, 3),
                "cpu_ratio": round(cpu_ratio, 4),
                "threads": args.threads,
                "device": args.device,
                "raw_reward_call_us": round(raw_call * 1e6, 2),
                "assay_reward_call_us": round(assay_call * 1e6, 2),
                "reward_call_overhead_ms_per_step": round((assay_call - raw_call) * 1e3, 4),
                "raw_final_reward": round(statistics.mean(raw_final), 4),
                "assay_final_reward": round(statistics.mean(assay_final), 4),
                "reward_overhead_share_of_step": round((assay_call - raw_call) / raw_cmed, 5),
                # CPU time: other jobs on the machine move wall time far more than 5%
                "within_5pct_cpu": cpu_ratio <= 1.05,
            }
        )
    )


if __name__ == "__main__":
    main()
