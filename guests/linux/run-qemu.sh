#!/usr/bin/env bash
# Runs the kit on QEMU 10's virt machine with MTE; the guest console goes to stdout.
#   guests/linux/run-qemu.sh [--smp N] [--icount] [--timeout S] MODE [KERNEL-ARGS...]
# MODE is tagvm.run's value (boot, mte-test, selftests, heap, shell, or a comma list);
# KERNEL-ARGS are appended to the command line (e.g. tagvm.heap=64 tagvm.passes=2).
# --icount runs with -icount shift=0 (one instruction per nanosecond of guest time).
# Exits with QEMU's status (124 on timeout). Stdin is the terminal only for the shell.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${TAGVM_KIT_OUT:-$HERE/out}
QEMU=${QEMU:-qemu-system-aarch64}

smp=1 icount=() timeout=900
while [ $# -gt 0 ]; do
  case $1 in
    --smp) smp=$2; shift 2 ;;
    --icount) icount=(-icount shift=0); shift ;;
    --timeout) timeout=$2; shift 2 ;;
    -*) echo "run-qemu.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { sed -n '2,7p' "$0" >&2; exit 2; }
mode=$1
shift
[ -e "$OUT/Image" ] && [ -e "$OUT/initramfs.cpio.gz" ] ||
  { echo "run-qemu.sh: no kit in $OUT; build it with guests/linux/build-kit.sh" >&2; exit 1; }

args=(-M virt,mte=on,gic-version=3 -cpu max -smp "$smp" -m 1G -nographic -nic none -no-reboot
  "${icount[@]}" -kernel "$OUT/Image" -initrd "$OUT/initramfs.cpio.gz"
  -append "console=ttyAMA0 rdinit=/init tagvm.run=$mode $*")
if [ "$mode" = shell ]; then
  exec "$QEMU" "${args[@]}"
fi
exec timeout "$timeout" "$QEMU" "${args[@]}" </dev/null
