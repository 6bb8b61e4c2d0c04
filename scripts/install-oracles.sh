#!/usr/bin/env bash
# Installs the oracle tools used only by guests/build.sh and guests/record-qemu.sh:
# clang + ld.lld (+ llvm-mc) to build guests, and QEMU 10 from bookworm-backports to record
# reference outputs. Debian 12's own QEMU 7.2 has an MTE tag-storage bug (QEMU #1416), so the
# backports QEMU is required. Idempotent; run as root on Debian 12 (bookworm).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-oracles.sh: run as root" >&2
  exit 1
fi

sources=/etc/apt/sources.list.d/debian.sources
if ! grep -Rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  if [ -f "$sources" ] && grep -q '^Suites: bookworm bookworm-updates$' "$sources"; then
    sed -i 's/^Suites: bookworm bookworm-updates$/Suites: bookworm bookworm-updates bookworm-backports/' "$sources"
  else
    echo "install-oracles.sh: add bookworm-backports to the main Debian apt source by hand" >&2
    exit 1
  fi
fi

need_update=1
apt_install() {
  if [ "$need_update" = 1 ]; then apt-get update; need_update=0; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

command -v clang >/dev/null && command -v ld.lld >/dev/null || apt_install clang lld
command -v llvm-mc >/dev/null || apt_install llvm

# `|| true`: with no QEMU installed yet the pipeline fails, and set -e would end the script here.
qemu_major() { { qemu-system-aarch64 --version 2>/dev/null || true; } | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p'; }
major=$(qemu_major)
if [ -z "$major" ] || [ "$major" -lt 10 ]; then
  apt_install -t bookworm-backports qemu-system-arm qemu-system-common qemu-system-data
fi

major=$(qemu_major)
if [ -z "$major" ] || [ "$major" -lt 10 ]; then
  echo "install-oracles.sh: expected QEMU 10, got: $(qemu-system-aarch64 --version | head -1)" >&2
  exit 1
fi
clang --version | head -1
ld.lld --version
qemu-system-aarch64 --version | head -1
