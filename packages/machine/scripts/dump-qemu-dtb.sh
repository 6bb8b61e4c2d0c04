#!/bin/sh
# Dumps QEMU's own device tree for the machine tagvm follows (GICv3, as tagvm's vGIC), for src/fdt/virt.test.ts.
# Needs qemu-system-aarch64 10.x (see shared spec virt-platform.md) and, for the .dts, dtc.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/test/fixtures"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
qemu-system-aarch64 -M virt,mte=on,gic-version=3,dumpdtb="$tmp/virt.dtb" -cpu max -m 128 -smp 2 \
  -nographic -nic none -kernel "$here/../../guests/hello/hello.elf" -append "console=ttyAMA0" >/dev/null 2>&1 || true
test -s "$tmp/virt.dtb"
gzip -9n <"$tmp/virt.dtb" >"$out/qemu-virt-mte-m128-smp2.dtb.gz"
if command -v dtc >/dev/null; then dtc -q -I dtb -O dts "$tmp/virt.dtb" >"$out/qemu-virt-mte-m128-smp2.dts"; fi
qemu-system-aarch64 --version | head -1 >"$out/QEMU_VERSION"
