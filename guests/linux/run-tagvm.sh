#!/usr/bin/env bash
# Runs the kit on tagvm, as run-qemu.sh does on QEMU; the guest console goes to stdout.
#   guests/linux/run-tagvm.sh [--cpus N] [--smp-mode lockstep|threads] [--memory SIZE] [--max-insns N] [--clock host|instructions] [--earlycon] MODE [KERNEL-ARGS...]
# --earlycon adds earlycon=pl011,0x9000000 (kernel messages before the PL011 driver takes the
# console over; not needed for the console itself). Memory defaults to 1G, as on QEMU.
# --clock instructions makes guest time one tick per instruction (repeatable timestamps).
# Exits with tagvm's status (0 powered off, 3 --max-insns reached).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${TAGVM_KIT_OUT:-$HERE/out}

opts=(--memory 1G) earlycon=
while [ $# -gt 0 ]; do
  case $1 in
    --cpus | --smp-mode | --memory | --max-insns | --clock) opts+=("$1" "$2"); shift 2 ;;
    --earlycon) earlycon=" earlycon=pl011,0x9000000"; shift ;;
    -*) echo "run-tagvm.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { sed -n '2,6p' "$0" >&2; exit 2; }
mode=$1
shift
[ -e "$OUT/Image" ] && [ -e "$OUT/initramfs.cpio.gz" ] ||
  { echo "run-tagvm.sh: no kit in $OUT; build it with guests/linux/build-kit.sh" >&2; exit 1; }

cd "$ROOT"
exec npx -y pnpm@10.34.9 -s tagvm run "$OUT/Image" --initrd "$OUT/initramfs.cpio.gz" "${opts[@]}" \
  --append "console=ttyAMA0${earlycon} rdinit=/init tagvm.run=$mode $*"
