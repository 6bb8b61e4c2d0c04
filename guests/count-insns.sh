#!/usr/bin/env bash
# Measures how many instructions each guest runs, under QEMU with -icount shift=0 (one
# virtual nanosecond, one counter tick at QEMU's 1 GHz CNTFRQ, per instruction), using a
# throwaway build with -DGUEST_COUNT_INSNS. Writes guests/instructions.json, which VMM tests
# use to pick instruction budgets. The committed ELFs are not touched.
set -euo pipefail
cd "$(dirname "$0")"
QEMU=${QEMU:-qemu-system-aarch64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r lib build.sh "$tmp"/
if [ -d fpsimd/runtime ]; then mkdir -p "$tmp/fpsimd" && cp -r fpsimd/runtime "$tmp/fpsimd/"; fi
entries=()
for d in */main.c fpsimd/*/main.c; do
  [ -e "$d" ] || continue
  name=${d%/main.c}
  mkdir -p "$tmp/$name"
  cp "$name"/*.c "$tmp/$name"/
  cp "$name"/*.S "$name"/*.h "$tmp/$name"/ 2>/dev/null || true
  GUEST_CFLAGS=-DGUEST_COUNT_INSNS "$tmp/build.sh" "$name" >/dev/null
  count=$(timeout 120 "$QEMU" -M virt,mte=on -cpu max -nographic -nic none -no-reboot -icount shift=0 \
    -kernel "$tmp/$name/$(basename "$name").elf" </dev/null | sed -n 's/^\[instructions: \([0-9]*\)\]$/\1/p')
  [ -n "$count" ] || { echo "count-insns.sh: no count from $name" >&2; exit 1; }
  echo "$name: $count"
  entries+=("  \"$name\": $count")
done
{
  echo "{"
  echo "  \"//\": \"approximate instructions from entry to PSCI SYSTEM_OFF, measured by count-insns.sh under $(head -1 QEMU_VERSION)\","
  (IFS=$'\n'; echo "${entries[*]}" | sed '$!s/$/,/')
  echo "}"
} > instructions.json
