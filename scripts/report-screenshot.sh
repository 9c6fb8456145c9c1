#!/usr/bin/env bash
# Rebuild docs/img/report_demo.png, the README's picture of `assay report`: score the bundled
# demo with --details, write its report, and photograph the top of the page in headless
# Chromium (Debian's `chromium`; scripts/system-packages.sh installs it). Needs .venv with
# core[report], sandbox and verifiers (scripts/test.sh sets that up).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=core/src/assay/data
.venv/bin/python -m assay.cli score "$data/demo.jsonl" -p "$data/demo_pipeline.yaml" \
  -o "$tmp/scored.jsonl" --details
py="$PWD/.venv/bin/python"
(cd "$tmp" && "$py" -m assay.cli report scored.jsonl -o report.html)  # a relative name on the page
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$tmp/profile" \
  --window-size=1100,1250 --screenshot="$tmp/shot.png" "file://$tmp/report.html" 2>/dev/null
cp "$tmp/shot.png" docs/img/report_demo.png
echo "wrote docs/img/report_demo.png"
