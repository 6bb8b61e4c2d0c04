#!/usr/bin/env bash
# Debian tools the tests drive: the real debuggers for the GDB remote stub's transcript tests
# (apps/tagvm/src/gdb: gdb-multiarch, an AArch64-capable GDB, and lldb) and zsh for the
# completion script's tests (apps/tagvm/src/completion.test.ts). Idempotent; fails loudly.
set -euo pipefail
missing=()
command -v gdb-multiarch >/dev/null 2>&1 || missing+=(gdb-multiarch)
command -v lldb >/dev/null 2>&1 || missing+=(lldb)
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "ci-setup: installing ${missing[*]} from Debian" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo -n); else
    echo "ci-setup/40-debian-tools.sh: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
  "${sudo_cmd[@]}" apt-get update >/dev/null
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null || {
    echo "ci-setup/40-debian-tools.sh: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi
for tool in gdb-multiarch lldb zsh; do
  command -v "$tool" >/dev/null 2>&1 || { echo "ci-setup/40-debian-tools.sh: $tool still missing after install" >&2; exit 1; }
done
