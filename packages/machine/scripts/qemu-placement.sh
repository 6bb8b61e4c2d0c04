#!/bin/sh
# Reproduces the QEMU observations behind src/boot.test.ts and src/loaders/loaders.test.ts:
# where qemu-system-aarch64 -M virt,mte=on -cpu max -m 128 puts a -kernel image, its initrd
# and the DTB, and the boot vCPU's registers. Each image's first instruction is `b .`, so the
# monitor's `info registers` shows the entry state. Writes test/fixtures/qemu-placement.txt.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp" <<'PY'
import struct, sys
d = sys.argv[1]
def image(name, text_offset, size, flags):
    h = struct.pack('<IIQQQQQQII', 0x14000000, 0, text_offset, size, flags, 0, 0, 0, 0x644d5241, 0)
    open(f'{d}/{name}', 'wb').write(h + b'\0' * (4096 - len(h)))
def elf(name, paddr):
    eh = bytearray(64)
    eh[0:7] = b'\x7fELF\x02\x01\x01'
    struct.pack_into('<HHIQQQIHHHHHH', eh, 16, 2, 183, 1, paddr, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    ph = struct.pack('<IIQQQQQQ', 1, 5, 120, paddr, paddr, 4, 4, 4)
    open(f'{d}/{name}', 'wb').write(bytes(eh) + ph + struct.pack('<I', 0x14000000))
image('img-off0', 0, 0x200000, 0xa)
image('img-off80000', 0x80000, 0x200000, 0xa)
image('img-size0', 0x123000, 0, 0xa)
elf('elf-ram0.elf', 0x40000000)
elf('elf-ram1m.elf', 0x40100000)
elf('elf-ram1m-4k.elf', 0x400ff000)
open(f'{d}/initrd', 'wb').write(b'hi\n')
PY
probe() {
  name=$1; shift
  printf '%s: ' "$name"
  (sleep 2; echo "info registers"; echo "xp /1wx 0x40000000"; sleep 0.5; echo q) |
    timeout 20 qemu-system-aarch64 -M virt,mte=on -cpu max -m 128 -nic none -display none -serial none -monitor stdio "$@" 2>&1 |
    tr -d '\r' | grep -o 'PC=[0-9a-f]*\|X0[0-3]=[0-9a-f]*\|SP=[0-9a-f]*\|PSTATE=[0-9a-f]*\|^0000000040000000: 0x[0-9a-f]*' | tr '\n' ' '
  echo
}
{
  qemu-system-aarch64 --version | head -1
  probe img-off0 -kernel "$tmp/img-off0"
  probe img-off80000 -kernel "$tmp/img-off80000"
  probe img-size0 -kernel "$tmp/img-size0"
  probe img-off0+initrd -kernel "$tmp/img-off0" -initrd "$tmp/initrd"
  probe elf-ram0 -kernel "$tmp/elf-ram0.elf"
  probe elf-ram1m -kernel "$tmp/elf-ram1m.elf"
  probe elf-ram1m-4k -kernel "$tmp/elf-ram1m-4k.elf"
} >"$here/test/fixtures/qemu-placement.txt"
cat "$here/test/fixtures/qemu-placement.txt"
