#!/usr/bin/env bash
# Set up a virtualenv with the core, the sandbox and the verifiers (no torch needed), then run
# the main job on embedded defaults: score the bundled JSONL with the bundled pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e core -e sandbox -e verifiers
exec .venv/bin/assay score "$@"
