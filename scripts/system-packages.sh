#!/usr/bin/env bash
# Install the Debian packages listed in scripts/debian-packages.txt that are missing (toolchains
# for the code sandbox, the browser for report screenshots, ...). Needs root and apt-get; where
# either is missing it says so and leaves the tests that need a package to skip with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
LIST=scripts/debian-packages.txt
[ -f "$LIST" ] || exit 0
mapfile -t wanted < <(sed -e 's/#.*//' "$LIST" | awk 'NF{print $1}')
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-packages: cannot install ${missing[*]} (needs root and apt-get)" >&2
  exit 0
fi
echo "system-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
