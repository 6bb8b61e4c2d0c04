#!/usr/bin/env bash
# Builds the prototype's QEMU guest (guest/jitproto.elf, with guests/lib) and extracts the
# kernels' words into fixtures/kernels.json, so tagvm runs exactly the code QEMU runs.
# Needs clang, ld.lld, llvm-nm, llvm-objcopy (LLVM 14). Rebuilding gives identical files.
#   packages/cpu/bench/jit-prototype/guest/build.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lib=$(cd "$here/../../../../../guests/lib" && pwd)
cd "$here"
for tool in clang ld.lld llvm-nm llvm-objcopy; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (scripts/install-oracles.sh)" >&2; exit 1; }
done
# The flags of guests/build.sh.
CFLAGS=(--target=aarch64-none-elf -march=armv8.5-a+memtag+crc -ffreestanding -nostdlib -fno-builtin
  -mgeneral-regs-only -mstrict-align -fno-pic -fno-pie -fno-stack-protector -fno-ident
  -fno-unwind-tables -fno-asynchronous-unwind-tables -mno-outline-atomics -g0 -O2 -Wall -Wextra -Werror
  -I"$lib")
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
objs=()
for src in "$lib"/*.c "$lib"/*.S kernels.c main.c; do
  o="$obj/$(basename "$src").o"
  clang "${CFLAGS[@]}" -c "$src" -o "$o"
  objs+=("$o")
done
ld.lld -nostdlib -static --build-id=none -z max-page-size=4096 -z norelro -T "$lib/guest.ld" "${objs[@]}" -o jitproto.elf
echo "built guest/jitproto.elf ($(stat -c %s jitproto.elf) bytes)"

# The kernels' section as words, and each kernel's offset in it.
llvm-objcopy -O binary --only-section=.text.kernels "$obj/kernels.c.o" "$obj/kernels.bin"
section=$(llvm-nm --defined-only jitproto.elf | awk '$3 == "crc32_kernel" { print $1 }')
mkdir -p ../fixtures
{
  echo '{'
  echo '  "//": "A64 words of guest/kernels.c as linked into guest/jitproto.elf (clang 14 -O2); written by guest/build.sh",'
  echo "  \"address\": \"0x$section\","
  echo '  "entries": {'
  llvm-nm --defined-only "$obj/kernels.c.o" | while read -r addr _ name; do echo "    \"$name\": $((16#$addr))"; done | sort -k2 -n | sed '$!s/$/,/'
  echo '  },'
  echo -n '  "words": ['
  od -An -v -tx4 -w4 "$obj/kernels.bin" | awk '{ printf "%s\"0x%s\"", (NR > 1 ? ", " : ""), $1 }'
  echo ']'
  echo '}'
} > ../fixtures/kernels.json
# The linked copy must be the same bytes (no relocations inside the kernels).
llvm-objcopy -O binary --only-section=.text jitproto.elf "$obj/text.bin"
text=$(llvm-nm --defined-only jitproto.elf | awk '$3 == "_start" { print $1 }')
skip=$(( 0x$section - 0x$text ))
cmp -s -n "$(stat -c %s "$obj/kernels.bin")" <(tail -c +$((skip + 1)) "$obj/text.bin") "$obj/kernels.bin" \
  || { echo "build.sh: the linked kernels differ from the object's" >&2; exit 1; }
echo "wrote fixtures/kernels.json ($(( $(stat -c %s "$obj/kernels.bin") / 4 )) words at 0x$section)"
