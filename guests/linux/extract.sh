#!/usr/bin/env bash
# Reduces a guest console log to the lines a recording holds for one mode, so QEMU's and
# tagvm's runs compare with diff:
#   guests/linux/extract.sh MODE < console.log
# mte-test, heap: the mode's lines from its begin marker to its end marker (with status),
#   kernel log lines dropped, carriage returns removed.
# selftests: the TAP verdicts only: each program's "ok/not ok N selftests: arm64/mte: NAME",
#   its own subtest verdicts ("# ok N ...", "# not ok N ...", "# 1..0 # SKIP ...") and
#   headers; no timings, totals or diagnostics.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: extract.sh MODE < console.log" >&2; exit 2; }
mode=$1

tr -d '\r' | awk -v mode="$mode" '
  $0 == "=== tagvm-kit: begin " mode " ===" { inside = 1; print; next }
  inside && index($0, "=== tagvm-kit: end " mode " ") == 1 { print; inside = 0; found = 1; next }
  !inside { next }
  /^\[ *[0-9]+\.[0-9]+\] / { next }
  mode != "selftests" { print; next }
  /^(not )?ok [0-9]+ / || /^# (not )?ok [0-9]+ / || /^# 1\.\.0 # SKIP/ || /^# selftests: / { print }
  END { if (!found) { print "extract.sh: no complete \"" mode "\" section in the log" > "/dev/stderr"; exit 1 } }
'
