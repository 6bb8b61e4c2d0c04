#!/usr/bin/env bash
# The Linux guest kit (guests/linux/build-kit.sh) that packages/machine's linux-boot test boots:
# Debian's arm64 cloud kernel and busybox-static from Debian's archive, the MTE selftests and
# tagvm's own programs. Cold: 45-124 s and 171 MB downloaded (plus the cross compiler if
# missing, which needs root); warm (cache in ~/.cache/tagvm-linux-kit): a few seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash guests/linux/build-kit.sh
