#!/usr/bin/env bash
# Builds the Linux guest kit from Debian's package archive only:
#   Image               Debian 12's arm64 cloud kernel as a raw arm64 Image
#   initramfs.cpio.gz   busybox, /init (init.sh), the kernel's own MTE selftests
#                       (tools/testing/selftests/arm64/mte of the same kernel version) and
#                       tagvm's programs (src/mte-test.c, src/tagged-heap.c)
#
#   guests/linux/build-kit.sh          build (downloads only what the cache lacks)
#   TAGVM_KIT_KERNEL=latest ...        ignore kernel.pin, take the newest 6.1 kernel
#
# Environment: TAGVM_KIT_CACHE (downloads and extracted sources; default
# ~/.cache/tagvm-linux-kit, outside the repository so fresh clones on this machine share
# it), TAGVM_KIT_OUT (outputs; default guests/linux/out). Installs the cross compiler and
# cpio with apt-get when they are missing (as root). Nothing it downloads or builds is
# committed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${TAGVM_KIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tagvm-linux-kit}
OUT=${TAGVM_KIT_OUT:-$HERE/out}
CROSS=aarch64-linux-gnu-
started=$(date +%s)

log() { echo "build-kit: $*" >&2; }
die() { echo "build-kit: error: $*" >&2; exit 1; }

mkdir -p "$CACHE" "$OUT"
CACHE=$(cd "$CACHE" && pwd)
OUT=$(cd "$OUT" && pwd)

# Two builds sharing a cache (a developer and CI on one machine) take turns.
if command -v flock >/dev/null; then
  exec 9>"$CACHE/.lock"
  flock 9
fi

# ---------------------------------------------------------------- host tools
host_packages_missing() {
  local missing=()
  command -v ${CROSS}gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
  [ -e /usr/aarch64-linux-gnu/lib/libc.a ] || missing+=(libc6-dev-arm64-cross)
  command -v cpio >/dev/null || missing+=(cpio)
  command -v xz >/dev/null || missing+=(xz-utils)
  command -v dpkg-deb >/dev/null || missing+=(dpkg)
  echo "${missing[@]}"
}
missing=$(host_packages_missing)
if [ -n "$missing" ]; then
  [ "$(id -u)" = 0 ] || die "missing host packages: $missing (apt-get install them, or run this as root)"
  log "installing host packages: $missing"
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  missing=$(host_packages_missing)
  [ -z "$missing" ] || die "still missing after apt-get install: $missing"
fi

# ------------------------------------------------- a private apt for arm64 packages
# arm64 packages are downloaded with the host's apt sources but a separate state
# directory, so the host's dpkg never gains a foreign architecture.
APT_DIR=$CACHE/apt
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial"
[ -e "$APT_DIR/status" ] || : >"$APT_DIR/status"
cat >"$APT_DIR/apt.conf" <<EOF
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Sandbox::User "root";
Dir::State::Lists "$APT_DIR/lists";
Dir::State::status "$APT_DIR/status";
Dir::Cache "$APT_DIR";
Dir::Cache::archives "$APT_DIR/archives";
EOF
apt_arm64() { APT_CONFIG="$APT_DIR/apt.conf" "$@"; }
apt_updated=
apt_update_once() {
  [ -n "$apt_updated" ] && return
  log "reading the archive's arm64 package lists"
  apt_arm64 apt-get update -qq || die "apt-get update for arm64 failed"
  apt_updated=1
}
DEBS=$CACHE/debs
mkdir -p "$DEBS"
download() { # download PACKAGE[=VERSION] into $DEBS
  apt_update_once
  (cd "$DEBS" && apt_arm64 apt-get download -q "$1" >/dev/null) || die "apt-get download $1 failed"
}

# ------------------------------------------------------------ which kernel
read -r pin_abi pin_version < <(grep -v '^#' "$HERE/kernel.pin" | grep -v '^ *$' | head -1)
newest_kernel() { # prints "ABI VERSION" of the newest 6.1 cloud kernel in the archive
  apt_update_once
  local pkg
  pkg=$(apt_arm64 apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-arm64$' |
    awk '{print $1}' | sort -V | tail -1)
  [ -n "$pkg" ] || die "no linux-image-6.1.0-*-cloud-arm64 in the apt sources (Debian 12 bookworm and bookworm-security are needed)"
  local abi=${pkg#linux-image-}
  abi=${abi%-cloud-arm64}
  echo "$abi $(apt_arm64 apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')"
}
if [ "${TAGVM_KIT_KERNEL:-pin}" = latest ]; then
  read -r abi version < <(newest_kernel)
elif [ -e "$CACHE/kernel-$pin_version/Image" ] && [ -e "$CACHE/src-$pin_version/.complete" ]; then
  abi=$pin_abi version=$pin_version
else
  apt_update_once
  if apt_arm64 apt-cache madison "linux-image-$pin_abi-cloud-arm64" | grep -q "| *$pin_version *|"; then
    abi=$pin_abi version=$pin_version
  else
    read -r abi version < <(newest_kernel)
    log "warning: the archive no longer has the pinned kernel $pin_abi ($pin_version); using $abi ($version)."
    log "warning: re-record with guests/linux/record-qemu.sh and update guests/linux/kernel.pin"
  fi
fi
release=$abi-cloud-arm64
log "kernel $release, Debian version $version"

# ------------------------------------------------------------ kernel Image
KDIR=$CACHE/kernel-$version
if [ ! -e "$KDIR/Image" ]; then
  download "linux-image-$release=$version"
  deb=$(ls "$DEBS"/linux-image-"$release"_"$version"_arm64.deb)
  rm -rf "$KDIR.tmp" && mkdir -p "$KDIR.tmp"
  dpkg-deb --fsys-tarfile "$deb" |
    tar -x -C "$KDIR.tmp" "./boot/vmlinuz-$release" "./boot/config-$release"
  vmlinuz=$KDIR.tmp/boot/vmlinuz-$release
  # Debian's arm64 vmlinuz has been a plain Image (with its EFI stub header) in 6.1;
  # a gzip'd one is decompressed, an EFI zboot image is refused.
  case $(od -An -tx1 -N2 "$vmlinuz" | tr -d ' ') in
    1f8b) gzip -dc <"$vmlinuz" >"$KDIR.tmp/Image" ;;
    *)
      [ "$(dd if="$vmlinuz" bs=1 skip=4 count=4 2>/dev/null)" != zimg ] ||
        die "vmlinuz is an EFI zboot image; extracting its payload is not implemented"
      cp "$vmlinuz" "$KDIR.tmp/Image"
      ;;
  esac
  [ "$(dd if="$KDIR.tmp/Image" bs=1 skip=56 count=4 2>/dev/null)" = ARMd ] ||
    die "$vmlinuz did not give an arm64 Image (no ARM\\x64 magic at offset 0x38)"
  mv "$KDIR.tmp/boot/config-$release" "$KDIR.tmp/config"
  rm -rf "$KDIR.tmp/boot"
  echo "$release $version" >"$KDIR.tmp/release"
  rm -rf "$KDIR" && mv "$KDIR.tmp" "$KDIR"
  rm -f "$deb"
fi

# --------------------------------------------- the MTE selftests' sources
# linux-source-6.1 is ~140 MB (a .tar.xz inside the .deb); only the selftests' own
# directory and kselftest.h are kept, and the .deb is deleted once they are out.
SRC=$CACHE/src-$version
if [ ! -e "$SRC/.complete" ]; then
  download "linux-source-6.1=$version"
  deb=$(ls "$DEBS"/linux-source-6.1_"$version"_all.deb)
  log "extracting tools/testing/selftests/arm64/mte from $(basename "$deb")"
  rm -rf "$SRC" && mkdir -p "$SRC"
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/src/linux-source-6.1.tar.xz |
    tar -xJ -C "$SRC" --strip-components=1 \
      linux-source-6.1/Makefile \
      linux-source-6.1/tools/testing/selftests/kselftest.h \
      linux-source-6.1/tools/testing/selftests/arm64/mte
  [ -e "$SRC/tools/testing/selftests/arm64/mte/mte_common_util.c" ] ||
    die "linux-source-6.1 $version has no tools/testing/selftests/arm64/mte"
  touch "$SRC/.complete"
  rm -f "$deb"
fi
MTE_SRC=$SRC/tools/testing/selftests/arm64/mte

# ------------------------------------------------------------------ busybox
busybox_deb=$(ls "$DEBS"/busybox-static_*_arm64.deb 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$busybox_deb" ]; then
  download busybox-static
  busybox_deb=$(ls "$DEBS"/busybox-static_*_arm64.deb | sort -V | tail -1)
fi

# ------------------------------------------------------- selftests (cached)
# The flags of the selftests' Makefiles (arm64/Makefile: -Wall -O2 -g -I selftests/;
# mte/Makefile: -std=gnu99 -I. -pthread), static so the initramfs needs no libc. Source
# paths are mapped and build IDs left out, so the binaries do not depend on where the
# cache is (assert() keeps __FILE__).
ST_FLAGS="-static -Wall -O2 -g -std=gnu99 -pthread -ffile-prefix-map=$SRC=linux-source-6.1 -Wl,--build-id=none"
ST_BIN=$CACHE/selftests-$version-$(echo "$ST_FLAGS" | sed "s|$SRC||" | cksum | cut -d' ' -f1)
if [ ! -e "$ST_BIN/.complete" ]; then
  log "building the MTE selftests"
  rm -rf "$ST_BIN" && mkdir -p "$ST_BIN"
  for c in "$MTE_SRC"/*.c; do
    name=$(basename "$c" .c)
    [ "$name" = mte_common_util ] && continue
    # shellcheck disable=SC2086
    ${CROSS}gcc $ST_FLAGS -I"$SRC/tools/testing/selftests" -I"$MTE_SRC" \
      "$c" "$MTE_SRC/mte_common_util.c" "$MTE_SRC/mte_helper.S" -o "$ST_BIN/$name" \
      2>"$ST_BIN/$name.log" || { cat "$ST_BIN/$name.log" >&2; die "building $name failed"; }
    ${CROSS}strip "$ST_BIN/$name"
    rm -f "$ST_BIN/$name.log"
  done
  touch "$ST_BIN/.complete"
fi
for old in "$CACHE"/selftests-*; do # builds with other flags or of other versions
  [ "$old" = "$ST_BIN" ] || rm -rf "$old"
done

# ------------------------------------------------------- tagvm's own programs
PROG_BIN=$OUT/bin
rm -rf "$PROG_BIN" && mkdir -p "$PROG_BIN"
for prog in mte-test tagged-heap counter; do
  ${CROSS}gcc -static -O2 -Wall -Wextra -Werror -std=gnu11 -march=armv8.5-a+memtag \
    -ffile-prefix-map="$HERE"=guests/linux -Wl,--build-id=none \
    -I"$HERE/src" "$HERE/src/$prog.c" -o "$PROG_BIN/$prog"
  ${CROSS}strip "$PROG_BIN/$prog"
done

# ------------------------------------------------------------------ initramfs
ROOT=$OUT/rootfs
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,root,etc,mnt} "$ROOT/opt/tagvm" "$ROOT/opt/selftests/arm64/mte"
dpkg-deb --fsys-tarfile "$busybox_deb" | tar -xO ./bin/busybox >"$ROOT/bin/busybox"
chmod 755 "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
install -m 755 "$HERE/init.sh" "$ROOT/init"
install -m 755 "$PROG_BIN"/* "$ROOT/opt/tagvm/"
for t in "$ST_BIN"/check_*; do install -m 755 "$t" "$ROOT/opt/selftests/arm64/mte/"; done
# The kernel's built-in initramfs already has /dev/console; ours has it too where we may
# create device nodes, so an initramfs used with another kernel still gets a console.
mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || true
busybox_version=$(basename "$busybox_deb" _arm64.deb)
busybox_version=${busybox_version#busybox-static_}
cat >"$ROOT/etc/tagvm-kit" <<EOF
kernel $release $version
busybox-static ${busybox_version//%3a/:}
selftests $(cd "$ROOT/opt/selftests/arm64/mte" && echo check_*)
EOF
# Fixed timestamps, sorted names and owner 0: the same inputs give the same archive.
find "$ROOT" -exec touch -h -d @0 {} +
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
  cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9 -n >"$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"

cp "$KDIR/Image" "$OUT/Image.tmp" && mv "$OUT/Image.tmp" "$OUT/Image"
cp "$KDIR/config" "$OUT/config"
cp "$KDIR/release" "$OUT/kernel.release"
cp "$ROOT/etc/tagvm-kit" "$OUT/manifest.txt"

size() { du -h "$1" | cut -f1; }
echo "build-kit: done in $(($(date +%s) - started)) s"
echo "  kernel     $release (Debian $version)"
echo "  Image      $OUT/Image ($(size "$OUT/Image"))"
echo "  initramfs  $OUT/initramfs.cpio.gz ($(size "$OUT/initramfs.cpio.gz"))"
echo "  cache      $CACHE ($(du -sh "$CACHE" | cut -f1))"
