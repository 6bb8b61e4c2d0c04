#!/usr/bin/env bash
# Runs each guest ELF under QEMU and records the exact UART bytes as guests/<name>/qemu.out,
# plus QEMU's version in guests/QEMU_VERSION. Needs QEMU 10 (scripts/install-oracles.sh).
#   guests/record-qemu.sh            record all guests
#   guests/record-qemu.sh hello ...  record the named guests
set -euo pipefail
cd "$(dirname "$0")"

QEMU=${QEMU:-qemu-system-aarch64}
command -v "$QEMU" >/dev/null || { echo "record-qemu.sh: $QEMU not found (run scripts/install-oracles.sh)" >&2; exit 1; }
version=$("$QEMU" --version | head -1)
case "$version" in
  "QEMU emulator version 1"[0-9].*) ;;
  *) echo "record-qemu.sh: need QEMU 10 or later, found: $version" >&2; exit 1 ;;
esac
echo "$version" > QEMU_VERSION

guests=("$@")
if [ ${#guests[@]} -eq 0 ]; then
  for d in */main.c fpsimd/*/main.c; do [ -e "$d" ] && guests+=("${d%/main.c}"); done
fi

status=0
for name in "${guests[@]}"; do
  elf="$name/$(basename "$name").elf"
  # -nographic puts the PL011 on stdio; stdin is closed so QEMU cannot read the terminal.
  # A guest that does not power off within the timeout is a failure, not a recording.
  # Each guest runs twice: a recording is only useful if the guest prints the same bytes
  # every time.
  run() {
    timeout 120 "$QEMU" -M virt,mte=on -cpu max -nographic -nic none -no-reboot -kernel "$elf" </dev/null >"$1"
  }
  if ! run "$name/qemu.out.tmp" || ! run "$name/qemu.out.again"; then
    echo "record-qemu.sh: $elf did not power off cleanly" >&2
    status=1
  elif ! cmp -s "$name/qemu.out.tmp" "$name/qemu.out.again"; then
    echo "record-qemu.sh: $elf printed different output on two runs; not recorded" >&2
    status=1
  else
    mv "$name/qemu.out.tmp" "$name/qemu.out"
    echo "recorded $name/qemu.out ($(wc -c <"$name/qemu.out") bytes)"
  fi
  rm -f "$name/qemu.out.tmp" "$name/qemu.out.again"
done
exit $status
