"""Benchmark: reward-model scoring, batched and sorted by length vs a per-sample loop.

Same model, same texts, one run. Rows:

- ``per-sample loop`` (the anchor): one forward pass per text, what a naive reward function does;
- ``batched, input order``: batches of ``--batch-size`` in input order, each padded to its
  longest text (how TRL's GRPO scores with a reward model: one padded batch, no sorting);
- ``assay-rm``: `assay_rm.RewardModelScorer.forward`: batches of similar length, at most
  ``CPU_MAX_TOKENS`` padded tokens each, no padding mask for a causal model;
- ``+prefix`` (a column: speed-up over the loop): the same with ``share_prefix=True``, which
  runs a prompt shared by several rows once and the rest against its cached keys and values.
  Only the ``grpo`` regime (groups of 8 completions sharing a 200-character prompt, as a GRPO
  batch has them) shares anything; elsewhere it measures the cost of looking.

All get the same token ids (forward passes only). End to end, the ``reward_model``
reward called once per sample (tokenising each text, building each Score) against one call for
the whole batch is timed too (``e2e`` column; ``reward_call_*`` in the JSON).

Scores are checked to agree across the methods (max abs difference printed). ``GFLOP/s`` is the
batched path's arithmetic rate (2 FLOPs per matmul weight per token): when it nears what one
core can do, batching has nothing left to save but the per-call overhead. The model is a
Llama sequence classifier built in code (no Hub); the size is set by ``--hidden`` / ``--layers``.

    .venv/bin/python bench/rm_scoring.py [--texts 128] [--threads 1] [--regimes short,grpo]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Sibling bench scripts are named like stdlib modules (math.py, code.py): keep them off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402


def per_sample(scorer: Any, rows: list[Any]) -> list[float]:
    return [scorer.forward([r])[0] for r in rows]


def batched_input_order(scorer: Any, rows: list[Any], batch_size: int) -> list[float]:
    import torch

    out: list[float] = []
    with torch.inference_mode():  # padded batches with the attention mask, as TRL's GRPO does
        for i in range(0, len(rows), batch_size):
            logits = scorer.model(**scorer._pad(rows[i : i + batch_size])).logits
            out += logits[:, 0].float().tolist()
    return out


def timed_interleaved(
    fns: dict[str, Callable[[], list[Any]]], repeats: int
) -> dict[str, tuple[float, float, list[Any]]]:
    """Median wall and CPU seconds of each function, run in turns (a, b, c, a, b, c, ...) so a
    burst of load from other processes hits every method alike."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    out: dict[str, list[Any]] = {}
    for _ in range(repeats):
        for k, fn in fns.items():
            w, c = time.perf_counter(), time.process_time()
            out[k] = fn()
            cpu[k].append(time.process_time() - c)
            wall[k].append(time.perf_counter() - w)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k]), out[k]) for k in fns}


REGIMES = {  # completion lengths in characters (= tokens with the character tokenizer)
    "short": (8, 64),  # GRPO on math/code answers: short completions
    "medium": (16, 256),
    "long": (64, 1024),
    "grpo": (8, 64),  # short completions in groups of 8 that share a 200-character prompt
}
GROUP, PROMPT_CHARS = 8, 200


def matmul_params(model: Any) -> int:
    """Weights every token multiplies through (all but the embedding table): a forward pass
    costs about 2 FLOPs per such weight per token, attention scores aside."""
    emb = model.get_input_embeddings().weight.numel()
    return sum(p.numel() for p in model.parameters()) - emb


def run_regime(name: str, args: Any, scorer: Any, shared: Any) -> dict[str, Any]:
    from assay import Sample
    from assay_rm.synthetic import random_texts

    lo, hi = REGIMES[name]
    texts = random_texts(args.texts, seed=0, min_len=lo, max_len=hi)
    if name == "grpo":
        n_prompts = -(-args.texts // GROUP)
        prompts = random_texts(n_prompts, seed=1, min_len=PROMPT_CHARS, max_len=PROMPT_CHARS)
        samples = [
            Sample(prompt=f"Q: {prompts[i // GROUP]}", completion=t) for i, t in enumerate(texts)
        ]
    else:
        samples = [Sample(prompt="Q: ", completion=t) for t in texts]
    rows = [e.ids for e in scorer.encode(samples)]
    assert all(r is not None for r in rows)
    per_sample(scorer, rows[:4])  # warm-up (first-call allocations)
    got = timed_interleaved(
        {
            "loop": lambda: per_sample(scorer, rows),
            "input_order": lambda: batched_input_order(scorer, rows, args.batch_size),
            "assay_rm": lambda: scorer.forward(rows),
            "shared": lambda: shared.forward(rows),
        },
        args.repeats,
    )
    w_shared, _, v_shared = got["shared"]
    (w_loop, c_loop, v_loop), (w_plain, c_plain, v_plain), (w_ours, c_ours, v_ours) = (
        got["loop"],
        got["input_order"],
        got["assay_rm"],
    )
    from assay_rm.rewards import RewardModelReward

    reward = RewardModelReward(model=scorer.model, tokenizer=scorer.tokenizer)
    reward._scorer = scorer  # the same scorer settings as the rows above
    e2e = timed_interleaved(
        {
            "one_by_one": lambda: [reward.score([x])[0] for x in samples],
            "batched": lambda: reward.score(samples),
        },
        args.repeats,
    )
    diff = max(
        max(abs(a - b) for a, b in zip(v_loop, v_ours, strict=True)),
        max(abs(a - b) for a, b in zip(v_loop, v_plain, strict=True)),
        max(abs(a - b) for a, b in zip(v_loop, v_shared, strict=True)),
    )
    tokens = sum(len(r) for r in rows)  # type: ignore[arg-type]
    gflop = 2 * matmul_params(scorer.model) * tokens / 1e9
    return {
        "regime": name,
        "chars": [lo, hi],
        "tokens": tokens,
        # arithmetic rate of the batched path: near the CPU's peak, batching has nothing left
        # to save but per-call overhead
        "assay_rm_gflops": round(gflop / w_ours, 1),
        "per_sample_gflops": round(gflop / w_loop, 1),
        "per_sample_s": round(w_loop, 4),
        "batched_input_order_s": round(w_plain, 4),
        "assay_rm_s": round(w_ours, 4),
        "speedup_vs_loop": round(w_loop / w_ours, 2),
        "share_prefix_s": round(w_shared, 4),
        "share_prefix_speedup_vs_loop": round(w_loop / w_shared, 2),
        "speedup_vs_input_order": round(w_plain / w_ours, 2),
        "cpu_speedup_vs_loop": round(c_loop / c_ours, 2),
        "cpu_speedup_vs_input_order": round(c_plain / c_ours, 2),
        "max_abs_diff": diff,
        "reward_calls_one_by_one_s": round(e2e["one_by_one"][0], 4),
        "reward_call_batched_s": round(e2e["batched"][0], 4),
        "reward_call_speedup": round(e2e["one_by_one"][0] / e2e["batched"][0], 2),
    }


MODELS = {  # name: (hidden, layers, heads)
    "tiny": (64, 2, 4),  # per-call overhead dominates: what batching removes
    "small": (256, 4, 4),  # arithmetic dominates on one CPU thread
    "0.5b": (896, 24, 14),  # Qwen2.5-0.5B's width and depth (random weights): for a GPU
    "1.5b": (1536, 28, 12),  # Qwen2.5-1.5B's width and depth (random weights): for a GPU
}
INTERMEDIATE = {"0.5b": 4864, "1.5b": 8960}  # the Qwen2.5 MLP widths; the others use 2 x hidden


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=96, help="texts per regime")
    ap.add_argument(
        "--regimes", default="short,medium,long,grpo", help=f"from {', '.join(REGIMES)}"
    )
    ap.add_argument("--models", default="tiny,small", help=f"from {', '.join(MODELS)}")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: torch default)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--dtype", default="auto", help="auto (bf16 on a GPU), float32, bfloat16")
    args = ap.parse_args()

    import torch

    from assay_rm.scoring import RewardModelScorer
    from assay_rm.tiny import char_tokenizer, tiny_reward_model

    if args.threads:
        torch.set_num_threads(args.threads)
    tok = char_tokenizer()
    print(
        f"{args.texts} texts per regime, batch {args.batch_size}, {torch.get_num_threads()} torch "
        f"thread(s), device {args.device}; median of {args.repeats} interleaved runs (wall; cpu = process CPU time)"
    )
    print(
        f"{'model':<16}{'regime':<8}{'chars':>9}{'loop s':>8}{'batched s':>10}{'assay-rm s':>11}"
        f"{'vs loop':>9}{'vs batched':>11}{'cpu vs loop':>12}{'e2e':>8}{'GFLOP/s':>9}"
        f"{'+prefix':>9}{'max diff':>9}"
    )
    results = []
    for model_name in args.models.split(","):
        hidden, layers, heads = MODELS[model_name.strip()]
        model = tiny_reward_model(
            tok,
            hidden_size=hidden,
            layers=layers,
            heads=heads,
            max_positions=2048,
            intermediate_size=INTERMEDIATE.get(model_name.strip(), 2 * hidden),
        )
        params = sum(p.numel() for p in model.parameters())
        common = {"batch_size": args.batch_size, "device": args.device, "dtype": args.dtype}
        scorer = RewardModelScorer(model, tok, **common)
        shared = RewardModelScorer(model, tok, share_prefix=True, **common)
        label = f"{model_name} {params / 1e6:.2f}M"
        for name in args.regimes.split(","):
            r = run_regime(name.strip(), args, scorer, shared)
            r = {"model": model_name, "params": params, **r}
            results.append(r)
            lo, hi = r["chars"]
            print(
                f"{label:<16}{name:<8}{f'{lo}-{hi}':>9}{r['per_sample_s']:>8.3f}"
                f"{r['batched_input_order_s']:>10.3f}{r['assay_rm_s']:>11.3f}"
                f"{r['speedup_vs_loop']:>8.2f}x{r['speedup_vs_input_order']:>10.2f}x"
                f"{r['cpu_speedup_vs_loop']:>11.2f}x{r['reward_call_speedup']:>7.2f}x"
                f"{r['assay_rm_gflops']:>9.1f}{r['share_prefix_speedup_vs_loop']:>8.2f}x"
                f"{r['max_abs_diff']:>9.0e}",
                flush=True,
            )
    print(
        json.dumps(
            {
                "bench": "rm_scoring",
                "device": str(scorer.device),
                "dtype": str(scorer.dtype),
                "batch_size": args.batch_size,
                "threads": torch.get_num_threads(),
                "repeats": args.repeats,
                "speedup_vs_loop": {
                    f"{r['model']}/{r['regime']}": r["speedup_vs_loop"] for r in results
                },
                "share_prefix_speedup_vs_loop": {
                    f"{r['model']}/{r['regime']}": r["share_prefix_speedup_vs_loop"]
                    for r in results
                },
                "reward_call_speedup": {
                    f"{r['model']}/{r['regime']}": r["reward_call_speedup"] for r in results
                },
                "speedup_vs_input_order": {
                    f"{r['model']}/{r['regime']}": r["speedup_vs_input_order"] for r in results
                },
                "results": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
