#!/usr/bin/env bash
# Debugging aid: builds and runs the trace guest that `generate.ts --trace NAME [N]` wrote to
# /tmp/fpsimd-trace/trace, printing QEMU's inputs and outputs for the form's first N cases.
# Compare with `npx tsx packages/cpu/scripts/fp-trace.ts NAME N` (the library's view).
set -euo pipefail
cd "$(dirname "$0")/.."
./build.sh /tmp/fpsimd-trace/trace >/dev/null
timeout 120 "${QEMU:-qemu-system-aarch64}" -M virt,mte=on -cpu max -nographic -nic none -no-reboot \
  -kernel /tmp/fpsimd-trace/trace/trace.elf </dev/null | grep '^case '
