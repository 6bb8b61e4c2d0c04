#!/usr/bin/env bash
# Installs what apps/web's browser test drives: Debian's Chromium (playwright-core uses it as it
# is; no browser is downloaded) and the DejaVu fonts the page's monospace text falls back to.
# Idempotent: does nothing when Chromium is already at TAGVM_CHROMIUM (default /usr/bin/chromium).
# Needs root or password-less sudo on Debian; exits 1 with the reason when it cannot install
# (.ci/run then stops; run alone, the browser test fails saying Chromium is missing: it never skips).
set -euo pipefail

chromium=${TAGVM_CHROMIUM:-/usr/bin/chromium}
if [ -x "$chromium" ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "ci-setup/chromium.sh: $chromium is missing and this user cannot install it (not root, no password-less sudo); run: apt-get install -y --no-install-recommends chromium fonts-dejavu-core" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "ci-setup/chromium.sh: $chromium is missing and this is not a Debian system (no apt-get); install Chromium and set TAGVM_CHROMIUM to it" >&2
  exit 1
fi

echo "ci-setup/chromium.sh: installing Debian's chromium for the browser test" >&2
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
if [ ! -x "$chromium" ]; then
  echo "ci-setup/chromium.sh: apt-get installed chromium, but $chromium is still missing" >&2
  exit 1
fi
"$chromium" --version 2>/dev/null | head -1 >&2 || true
