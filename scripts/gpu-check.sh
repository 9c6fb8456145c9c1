#!/usr/bin/env bash
# The GPU checks, in one run, on a machine with a CUDA GPU and Assay installed with its TRL and RM
# plugins (no Hub needed: every model is built in code). Writes each part's output to $OUT (or
# ./gpu-out) and the JSON lines to gpu.jsonl there; docs/benchmarks.md quotes them.
#
#   bash scripts/gpu-check.sh            # about 5 minutes on one H200
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PYTHON:-python3}

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
  nproc
  "$PY" - <<'PYEOF'
import importlib.metadata as md
for n in ("torch", "transformers", "trl", "datasets", "accelerate", "pyarrow", "pydantic", "assay"):
    try:
        print(n, md.version(n))
    except md.PackageNotFoundError:
        print(n, "missing")
import torch
print("cuda", torch.cuda.is_available(), torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PYEOF
} 2>&1 | tee "$OUT/env.txt"

part() {  # part NAME SECONDS CMD...: one bounded part; its JSON line (the last one) into gpu.jsonl
  local name=$1 secs=$2; shift 2
  echo "=== $name: $*"
  timeout "$secs" "$@" 2>&1 | tee "$OUT/$name.txt"
  local rc=${PIPESTATUS[0]}
  echo "=== $name rc=$rc"
  grep '^{"bench"' "$OUT/$name.txt" | tail -1 >>"$OUT/gpu.jsonl" || true
}

PARTS=${PARTS:-rm_scoring grpo_gpu trl_overhead}  # a subset reruns only those
has() { [[ " $PARTS " == *" $1 "* ]]; }
has rm_scoring && part rm_scoring 200 "$PY" bench/rm_scoring.py --device cuda --threads 0 --models 0.5b \
  --regimes short,long,grpo --texts 256 --batch-size 64 --repeats 3
has grpo_gpu && part grpo_gpu 200 "$PY" bench/grpo_gpu.py --steps 6
has trl_overhead && part trl_overhead 200 "$PY" bench/trl_overhead.py --device cuda --steps 20 --repeats 2 --warmup 3
