#!/usr/bin/env bash
# Runs the kit on QEMU 10 (-M virt,mte=on,gic-version=3 -cpu max -m 1G) and records what
# tagvm must reproduce, plus facts for benchmarks:
#   mte-test.qemu.out     mte-test's lines (run twice; must not differ)
#   heap.qemu.out         tagged-heap, 32 MiB, 3 passes with churn (run twice; must not differ)
#   selftests.qemu.tap    the MTE selftests' verdicts on 1 CPU, checked equal on 2 and 4 CPUs
#   boot-facts.qemu.txt   kernel and QEMU versions, boot-to-/init time and instructions,
#                         the dmesg lines that matter, SMP bring-up
#   guests/linux/record-qemu.sh [mte-test] [heap] [selftests] [boot]   (default: all)
# Needs the kit (guests/linux/build-kit.sh) and QEMU 10 (scripts/install-oracles.sh).
# Full console logs go to out/logs/ (not committed).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"
OUT=${TAGVM_KIT_OUT:-$HERE/out}
export TAGVM_KIT_OUT=$OUT
QEMU=${QEMU:-qemu-system-aarch64}
LOGS=$OUT/logs
mkdir -p "$LOGS"

command -v "$QEMU" >/dev/null || { echo "record-qemu.sh: $QEMU not found (run scripts/install-oracles.sh)" >&2; exit 1; }
qemu_version=$("$QEMU" --version | head -1)
case "$qemu_version" in
  "QEMU emulator version 1"[0-9].*) ;;
  *) echo "record-qemu.sh: need QEMU 10 or later, found: $qemu_version" >&2; exit 1 ;;
esac
[ -e "$OUT/Image" ] || { echo "record-qemu.sh: no kit in $OUT; run guests/linux/build-kit.sh" >&2; exit 1; }
read -r pin_abi pin_version < <(grep -v '^#' kernel.pin | grep -v '^ *$' | head -1)
read -r kit_release kit_version <"$OUT/kernel.release"
[ "$kit_version" = "$pin_version" ] ||
  echo "record-qemu.sh: warning: the kit's kernel ($kit_version) is not kernel.pin's ($pin_version); update kernel.pin" >&2

# run NAME MODE [run-qemu.sh options and kernel args...]: console to $LOGS/NAME.log
run() {
  local name=$1
  shift
  echo "record-qemu.sh: running $name" >&2
  if ! ./run-qemu.sh "$@" >"$LOGS/$name.log" 2>&1; then
    echo "record-qemu.sh: $name: QEMU did not power off cleanly (see $LOGS/$name.log)" >&2
    return 1
  fi
}

# record FILE MODE [args...]: run twice, extract, require equal, write FILE
record_twice() {
  local file=$1 mode=$2
  shift 2
  run "$mode.1" "$@" || return 1
  run "$mode.2" "$@" || return 1
  ./extract.sh "$mode" <"$LOGS/$mode.1.log" >"$LOGS/$mode.1.out"
  ./extract.sh "$mode" <"$LOGS/$mode.2.log" >"$LOGS/$mode.2.out"
  if ! cmp -s "$LOGS/$mode.1.out" "$LOGS/$mode.2.out"; then
    echo "record-qemu.sh: $mode printed different lines on two runs; not recorded:" >&2
    diff "$LOGS/$mode.1.out" "$LOGS/$mode.2.out" >&2 || true
    return 1
  fi
  cp "$LOGS/$mode.1.out" "$file"
  echo "recorded $file ($(wc -l <"$file") lines)"
}

record_selftests() {
  run selftests.smp1 --timeout 5400 selftests
  ./extract.sh selftests <"$LOGS/selftests.smp1.log" >selftests.qemu.tap
  echo "recorded selftests.qemu.tap ($(grep -c '^ok\|^not ok' selftests.qemu.tap) programs)"
  run selftests.icount --icount --timeout 5400 selftests
  ./extract.sh selftests <"$LOGS/selftests.icount.log" | cmp -s selftests.qemu.tap - ||
    echo "record-qemu.sh: selftests with -icount differ from the plain run" >&2
  for n in 2 4; do
    run "selftests.smp$n" --smp "$n" --timeout 5400 selftests
    ./extract.sh selftests <"$LOGS/selftests.smp$n.log" >"$LOGS/selftests.smp$n.tap"
    if cmp -s selftests.qemu.tap "$LOGS/selftests.smp$n.tap"; then
      echo "selftests on $n CPUs: the same verdicts"
    else
      echo "record-qemu.sh: selftests on $n CPUs differ from 1 CPU:" >&2
      diff selftests.qemu.tap "$LOGS/selftests.smp$n.tap" >&2 || true
    fi
  done
}

# Host wall time from QEMU's start to the /init line, in ms (no icount: real speed).
time_to_init() {
  local t0 now line
  t0=${EPOCHREALTIME/./}
  while IFS= read -r line; do
    now=${EPOCHREALTIME/./}
    printf '%s\n' "$line" >>"$LOGS/boot.timed.log"
    if [[ $line == *"/init started"* ]]; then echo "$(((now - t0) / 1000)) ms: ${line%$'\r'}"; fi
  done < <(./run-qemu.sh boot 2>&1)
}

record_boot() {
  : >"$LOGS/boot.timed.log"
  local i
  for i in 1 2 3; do time_to_init; done >"$LOGS/boot.wall.txt"
  for i in 1 2 3; do run "boot.icount.$i" --icount boot; done
  for n in 2 4; do run "boot.smp$n" --smp "$n" boot; done
  write_boot_facts
}

# boot-facts.qemu.txt from the logs of record_boot and record_selftests in $LOGS.
write_boot_facts() {
  local log=$LOGS/boot.icount.1.log i
  {
    echo "# Boot facts of the Linux guest kit on QEMU (written by guests/linux/record-qemu.sh)."
    echo "qemu: $qemu_version"
    echo "machine: -M virt,mte=on,gic-version=3 -cpu max -m 1G -nographic -no-reboot"
    echo "kernel: $(tr -d '\r' <"$log" | grep -m1 '^Linux version')"
    echo "kernel package: linux-image-$kit_release $kit_version"
    echo "kit: $(tr -d '\r' <"$log" | grep -m1 '^busybox-static')"
    echo
    echo "# Boot to /init, real speed (no -icount): host wall time from QEMU's start to the"
    echo "# /init line, and the guest's own uptime there, three runs on a shared 2-core host."
    sed 's/^/wall /' "$LOGS/boot.wall.txt"
    echo
    echo "# Boot to /init with -icount shift=0: the guest's 1 GHz virtual counter then advances"
    echo "# one tick per executed instruction (and with idle time, which /proc/uptime's second"
    echo "# field bounds: 0.00 s idle means under 10 ms), so CNTVCT at /init is the instruction"
    echo "# count from reset to /init to within 1%. Runs differ by ~1% (KASLR and random seeds)."
    for i in 1 2 3; do
      tr -d '\r' <"$LOGS/boot.icount.$i.log" | grep -m1 '/init started' | sed 's/^/icount /'
    done
    echo
    echo "# dmesg lines that matter (1 CPU, -icount run)"
    tr -d '\r' <"$log" | sed -n '1,/tagvm-kit: \/init started/p' | grep -E \
      'Linux version|Machine model|psci: PSCI|Memory Tagging|Asymmetric MTE|GIC system register|GICv3: (CPU0|[0-9]+ SPIs|GICv3 features)|ITS@|arch_timer|sched_clock:|smp: Brought up|Scalable Vector|SVE: default|pl011|console \[ttyAMA0\]|hw-breakpoint|KASLR|Run /init|Freeing unused kernel' |
      sed -E 's/^\[ *[0-9]+\.[0-9]+\] //'
    echo
    echo "# -smp 2 and -smp 4"
    for n in 2 4; do
      tr -d '\r' <"$LOGS/boot.smp$n.log" | grep -m1 -o 'smp: Brought up.*' | sed "s/^/smp $n: /"
      tr -d '\r' <"$LOGS/boot.smp$n.log" | grep -m1 '^cpus online' | sed "s/^/smp $n: /"
    done
    if [ -e "$LOGS/selftests.smp2.tap" ]; then
      for n in 2 4; do
        if cmp -s selftests.qemu.tap "$LOGS/selftests.smp$n.tap"; then
          echo "smp $n: MTE selftests: the same verdicts as on 1 CPU ($(grep -c '^ok' "$LOGS/selftests.smp$n.tap") of $(grep -c '^ok\|^not ok' "$LOGS/selftests.smp$n.tap") programs ok, $(grep -c '^ok.*# SKIP' "$LOGS/selftests.smp$n.tap") of them skipped)"
        else
          echo "smp $n: MTE selftests: DIFFERENT verdicts from 1 CPU"
        fi
      done
    fi
    echo
    echo "# Each selftest program at real speed (guest seconds, 1 CPU, busy host) and its"
    echo "# instructions from a -icount shift=0 run (guest time less idle time, 1 ns each)"
    tr -d '\r' <"$LOGS/selftests.smp1.log" 2>/dev/null | grep '^# time:' |
      awk '{printf "%s %.1f s\n", $3, $6 - $5}' >"$LOGS/selftests.seconds"
    tr -d '\r' <"$LOGS/selftests.icount.log" 2>/dev/null | grep '^# time:' |
      awk '{printf "%.2f billion instructions\n", (($6 - $5) - ($9 - $8))}' >"$LOGS/selftests.insns"
    paste -d ' ' "$LOGS/selftests.seconds" "$LOGS/selftests.insns" | sed 's/ $//'
  } >boot-facts.qemu.txt
  echo "recorded boot-facts.qemu.txt"
}

what=("$@")
[ ${#what[@]} -gt 0 ] || what=(mte-test heap selftests boot)
for w in "${what[@]}"; do
  case $w in
    mte-test) record_twice mte-test.qemu.out mte-test mte-test ;;
    heap) record_twice heap.qemu.out heap heap tagvm.heap=32 tagvm.passes=3 tagvm.churn=1 ;;
    selftests) record_selftests ;;
    boot) record_boot ;;
    facts) write_boot_facts ;; # rewrite boot-facts.qemu.txt from the last runs' logs
    *) echo "record-qemu.sh: unknown recording '$w' (mte-test, heap, selftests, boot)" >&2; exit 2 ;;
  esac
done
