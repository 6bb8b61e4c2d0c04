#!/usr/bin/env bash
# Assembles wfi-held-timer.s into wfi-held-timer.bin (a raw image for 0x4008_0000), the
# fixture of wfi-held-timer.test.ts. Needs llvm-mc and llvm-objcopy (LLVM 14 made the
# committed file); the test itself needs neither.
set -euo pipefail
cd "$(dirname "$0")"
obj=$(mktemp)
trap 'rm -f "$obj"' EXIT
llvm-mc -triple=aarch64 -mattr=+v8.2a -filetype=obj wfi-held-timer.s -o "$obj"
llvm-objcopy -O binary --only-section=.text "$obj" wfi-held-timer.bin
echo "wrote wfi-held-timer.bin ($(stat -c %s wfi-held-timer.bin) bytes)"
