#!/usr/bin/env bash
# Builds every guest (guests/<name>/*.c + *.S, plus guests/lib) into guests/<name>/<name>.elf.
# Needs clang and ld.lld (scripts/install-oracles.sh). Output is deterministic: no debug info,
# no build id, no .comment, relative paths only.
#   guests/build.sh            build all guests
#   guests/build.sh hello ...  build the named guests
set -euo pipefail
cd "$(dirname "$0")"
for tool in clang ld.lld; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (run scripts/install-oracles.sh)" >&2; exit 1; }
done

CFLAGS=(--target=aarch64-none-elf -march=armv8.5-a+memtag+crc -ffreestanding -nostdlib -fno-builtin
  -mgeneral-regs-only -mstrict-align -fno-pic -fno-pie -fno-stack-protector -fno-ident
  -fno-unwind-tables -fno-asynchronous-unwind-tables -mno-outline-atomics -g0 -O2 -Wall -Wextra -Werror
  -Ilib ${GUEST_CFLAGS:-})

guests=("$@")
if [ ${#guests[@]} -eq 0 ]; then
  # fpsimd/<name>/: the generated differential guests (fpsimd/generate.ts)
  for d in */main.c fpsimd/*/main.c; do [ -e "$d" ] && guests+=("${d%/main.c}"); done
fi

obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
for name in "${guests[@]}"; do
  objs=()
  for src in lib/*.c lib/*.S "$name"/*.c $(ls "$name"/*.S 2>/dev/null); do
    o="$obj/$(echo "$name-$src" | tr / _).o"
    clang "${CFLAGS[@]}" -c "$src" -o "$o"
    objs+=("$o")
  done
  elf="$name/$(basename "$name").elf"
  ld.lld -nostdlib -static --build-id=none -z max-page-size=4096 -z norelro -T lib/guest.ld "${objs[@]}" -o "$elf"
  echo "built $elf ($(stat -c %s "$elf") bytes)"
done
