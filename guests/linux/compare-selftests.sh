#!/usr/bin/env bash
# Runs the kernel's MTE selftests on tagvm and compares each program's verdict with QEMU 10's
# recording (selftests.qemu.tap): the program's ok / not ok / SKIP and its own subtest lines.
#   guests/linux/compare-selftests.sh [--tests a,b,...] [--log FILE] [--from-log FILE]
#       [--snapshot-at PROGRAM+INSNS]... [--migrate-at PROGRAM+INSNS [--postcopy]] [--restore-clock host]
#       [--cpus N [--smp-mode threads]]
# --tests      only these programs (default: every one in the recording)
# --log        where tagvm's console goes (default: out/logs/selftests.tagvm.log)
# --from-log   compare an existing console log instead of running tagvm (the table then has
#              no host times)
# --snapshot-at, --migrate-at  move the running guest INSNS instructions after init printed
#              PROGRAM's header (in the middle of PROGRAM), in the run's order; the last move
#              goes to a fresh tagvm process (`tagvm restore` of the snapshot file, or `tagvm
#              migrate receive`: pre-copy over a Unix socket, --postcopy post-copy over TCP
#              loopback) that runs it to the end; an earlier snapshot is restored in the same
#              process (--restore-clock host: onto the host clock). See move-selftests.ts. The
#              verdicts are compared across the whole run as usual.
# --cpus, --smp-mode  N vCPUs (tagvm's --cpus), in lockstep or each on its own worker thread
#              (threads run on the host clock, so the tagvm G-insn column is host seconds of
#              guest time instead; no moves)
# Runs tagvm on the instruction clock (guest time = instructions), so each program's guest
# time less its idle time is its instruction count. Prints one row per program, then a
# summary; exits 1 if any verdict or subtest line differs, or a program did not finish.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${TAGVM_KIT_OUT:-$HERE/out}
RECORDING=$HERE/selftests.qemu.tap
FACTS=$HERE/boot-facts.qemu.txt

tests= log= from_log= move=() smp=()
while [ $# -gt 0 ]; do
  case $1 in
    --tests) tests=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --from-log) from_log=$2; shift 2 ;;
    --snapshot-at | --migrate-at | --restore-clock) move+=("$1" "$2"); shift 2 ;;
    --postcopy) move+=("$1"); shift ;;
    --cpus | --smp-mode) smp+=("$1" "$2"); shift 2 ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
  esac
done
clock=(--clock instructions)
case " ${smp[*]:-} " in *" --smp-mode threads "*)
  clock=()
  [ ${#move[@]} -eq 0 ] || { echo "compare-selftests.sh: no moves with --smp-mode threads" >&2; exit 2; } ;;
esac
[ -n "$tests" ] || tests=$(sed -n 's/^\(not \)\{0,1\}ok [0-9]* selftests: arm64\/mte: \([^ ]*\).*/\2/p' "$RECORDING" | paste -sd, -)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
times=$work/host-times
: >"$times"
# The guest's console on stdout, from one boot or from a boot moved once to a second process.
run_guest() {
  if [ ${#move[@]} -eq 0 ]; then
    "$HERE/run-tagvm.sh" "${clock[@]}" "${smp[@]}" selftests "tagvm.selftests=$tests"
  else
    (cd "$HERE/../.." && exec node --conditions=source --import tsx "$HERE/move-selftests.ts" "${move[@]}" "tagvm.selftests=$tests" 2>"$work/move-notes")
  fi
}
: >"$work/move-notes"
if [ -n "$from_log" ]; then
  log=$from_log
else
  [ -n "$log" ] || { mkdir -p "$OUT/logs"; log=$OUT/logs/selftests.tagvm.log; }
  : >"$log"
  # Host time at each program's header and verdict line, as the console streams.
  status=0
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    case $line in
      "# selftests: arm64/mte: "* | "ok "* | "not ok "*) printf '%s %s\n' "$EPOCHREALTIME" "${line%$'\r'}" >>"$times" ;;
    esac
  done < <(run_guest 2>&1; echo "=== tagvm exit $? ===")
  grep -q '^=== tagvm exit 0 ===$' "$log" || status=1
  # Where the move happened, and how it went (its notes were kept off the console).
  sed 's/^/# move: /' "$work/move-notes" | tee -a "$log" >&2
  [ $status -eq 0 ] || echo "compare-selftests.sh: tagvm did not power off cleanly (see $log)" >&2
fi

# One block per program: its header, its subtest verdicts and its verdict without the
# position number (a subset run numbers programs differently from the recording).
blocks() {
  awk '
    /^# selftests: arm64\/mte: / { name = $4; next }
    /^(not )?ok [0-9]+ selftests: arm64\/mte: / {
      line = $0; sub(/ok [0-9]+ selftests/, "ok selftests", line)
      print name "\t" line; next
    }
    name != "" && (/^# (not )?ok [0-9]+ / || /^# 1\.\.0 # SKIP/) { print name "\t" $0 }
  '
}
verdict_of() { # verdict line -> ok | not ok | skip
  case $1 in
    "ok "*"# SKIP"*) echo skip ;;
    "ok "*) echo ok ;;
    *) echo "not ok" ;;
  esac
}

blocks <"$RECORDING" >"$work/qemu"
tr -d '\r' <"$log" | awk '$0 == "=== tagvm-kit: begin selftests ===" { inside = 1 } inside' | blocks >"$work/tagvm"
# Each program's instructions on tagvm from init's "# time:" line (guest s less idle s).
tr -d '\r' <"$log" | awk '/^# time: / { printf "%s %.3f\n", $3, ($6 - $5) - ($9 - $8) }' >"$work/insns"

printf '%-24s %-8s %-8s %-9s %12s %12s %10s\n' program qemu tagvm subtests "qemu G-insn" "tagvm G-insn" "host s"
differ=0
for t in $(echo "$tests" | tr , ' '); do
  qv=$(awk -F'\t' -v t="$t" '$1 == t && $2 ~ /selftests: arm64/ { print $2 }' "$work/qemu")
  tv=$(awk -F'\t' -v t="$t" '$1 == t && $2 ~ /selftests: arm64/ { print $2 }' "$work/tagvm")
  q=$([ -n "$qv" ] && verdict_of "$qv" || echo "-")
  v=$([ -n "$tv" ] && verdict_of "$tv" || echo "-")
  if cmp -s <(awk -F'\t' -v t="$t" '$1 == t' "$work/qemu") <(awk -F'\t' -v t="$t" '$1 == t' "$work/tagvm"); then
    same=same
  else
    same=DIFFERENT differ=1
  fi
  [ -n "$tv" ] || same=unfinished differ=1
  qi=$(grep -m1 "^$t [0-9.]* s " "$FACTS" | awk '{ print $4 }' || true)
  ti=$(awk -v t="$t" '$1 == t { printf "%.2f", $2 }' "$work/insns")
  hs=$(awk -v t="$t" '
    $2 == "#" && $3 == "selftests:" && $5 == t { start = $1 }
    $0 ~ ("selftests: arm64/mte: " t "( |$)") && ($2 == "ok" || $2 == "not") && start { printf "%.0f", $1 - start }
  ' "$times")
  printf '%-24s %-8s %-8s %-9s %12s %12s %10s\n' "$t" "$q" "$v" "$same" "${qi:--}" "${ti:--}" "${hs:--}"
done
if [ $differ -ne 0 ]; then
  echo "differences (< QEMU, > tagvm):"
  diff <(sort -s -k1,1 "$work/qemu" | awk -F'\t' -v list=",$tests," 'index(list, "," $1 ",")') \
    <(sort -s -k1,1 "$work/tagvm") || true
  echo "compare-selftests.sh: verdicts differ from QEMU 10's (log: $log)" >&2
  exit 1
fi
[ "${status:-0}" -eq 0 ] || exit 1
[ ${#move[@]} -eq 0 ] || grep -q '^move-selftests: \(saved\|migrated\) the guest' "$work/move-notes" ||
  { echo "compare-selftests.sh: the guest was not moved (${move[*]})" >&2; exit 1; }
echo "every program's verdict and subtest lines are QEMU 10's (log: $log)"
