#!/usr/bin/env bash
# Checks that the committed ELFs and recordings are current: rebuilds every guest and records
# it again in a scratch copy, then compares with what is committed. Needs the oracle tools
# (scripts/install-oracles.sh). Exits non-zero and names each stale file.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r . "$tmp/guests"
"$tmp/guests/build.sh" >/dev/null
"$tmp/guests/record-qemu.sh" >/dev/null
stale=0
for f in */*.elf */qemu.out fpsimd/*/*.elf fpsimd/*/qemu.out QEMU_VERSION; do
  [ -e "$f" ] || continue
  if ! cmp -s "$f" "$tmp/guests/$f"; then
    echo "check.sh: guests/$f is stale (rebuild with build.sh / record-qemu.sh)" >&2
    stale=1
  fi
done
[ "$stale" = 0 ] && echo "guests: every ELF and recording is current"
exit "$stale"
