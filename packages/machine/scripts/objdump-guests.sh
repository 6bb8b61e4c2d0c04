#!/bin/sh
# Records llvm-objdump-14's listing of hello.elf and mte-demo.elf for src/disasm.test.ts, which
# compares addresses, mnemonics and resolved branch targets with `tagvm disasm`.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
for g in hello mte-demo; do
  llvm-objdump-14 -d --no-show-raw-insn --mattr=+v8.5a,+mte,+crc "$here/../../guests/$g/$g.elf" | sed "s|$here/../../guests/$g/||" >"$here/test/fixtures/$g.objdump.txt"
done
