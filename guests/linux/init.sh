#!/bin/sh
# /init of tagvm's Linux guest kit (busybox sh). What it runs comes from the kernel
# command line (dotted parameters are not passed to init, so /proc/cmdline is read):
#   tagvm.run=MODE[,MODE...]  boot | mte-test | selftests | heap | shell   (default: shell)
#   tagvm.selftests=a,b       only these selftests (names as in /opt/selftests/arm64/mte)
#   tagvm.timeout=S           per-selftest timeout in guest seconds (default 0: none; a guest
#                             clock that follows host time makes any fixed timeout fail on a
#                             slow or busy host: check_gcr_el1_cswitch runs 10 million prctls)
#   tagvm.heap=MIB            tagged-heap size (default 256)
#   tagvm.passes=N            tagged-heap check passes, 0 = until SIGINT/SIGTERM (default 3)
#   tagvm.churn=1             tagged-heap rewrites a sixteenth of its pages every pass
#   tagvm.heaptags=0          tagged-heap without PROT_MTE (untagged memory, for benchmarks)
#   tagvm.heapwait=1          tagged-heap waits for a line on the console between fill and
#                             check (tests save or migrate the guest while it waits)
#   tagvm.loglevel=N          console log level while modes run (default 1: kernel messages
#                             would interleave with the programs' lines)
# Each mode prints "=== tagvm-kit: begin MODE ===" and "=== tagvm-kit: end MODE status=N ===";
# the kit then powers off with poweroff -f, except for the shell.
# The virtual counter first: it is what the boot benchmarks compare.
counter=$(/opt/tagvm/counter)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/opt/tagvm
/bin/busybox --install -s /bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || {
  mount -t tmpfs -o mode=755 tmpfs /dev
  mknod -m 600 /dev/console c 5 1
  mknod -m 666 /dev/null c 1 3
  mknod -m 666 /dev/zero c 1 5
}
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /dev/hugepages
mount -t hugetlbfs hugetlbfs /dev/hugepages 2>/dev/null

# The first line after the kernel's: when /init started, in the kernel's clock.
read -r uptime idle </proc/uptime
echo "=== tagvm-kit: /init started, uptime ${uptime} s, idle ${idle} s, ${counter} ==="

run=shell selftests= timeout=0 heap=256 passes=3 churn=0 heapwait=0 heaptags=1 loglevel=1
for word in $(cat /proc/cmdline); do
  case $word in
    tagvm.run=*) run=${word#tagvm.run=} ;;
    tagvm.selftests=*) selftests=$(echo "${word#tagvm.selftests=}" | tr , ' ') ;;
    tagvm.timeout=*) timeout=${word#tagvm.timeout=} ;;
    tagvm.heap=*) heap=${word#tagvm.heap=} ;;
    tagvm.passes=*) passes=${word#tagvm.passes=} ;;
    tagvm.churn=*) churn=${word#tagvm.churn=} ;;
    tagvm.heapwait=*) heapwait=${word#tagvm.heapwait=} ;;
    tagvm.heaptags=*) heaptags=${word#tagvm.heaptags=} ;;
    tagvm.loglevel=*) loglevel=${word#tagvm.loglevel=} ;;
  esac
done

# boot: what later benchmarks and checks read; nothing here is compared byte for byte.
mode_boot() {
  cat /proc/version
  echo "cpus online: $(cat /sys/devices/system/cpu/online)"
  for f in /sys/devices/system/cpu/cpu*/mte_tcf_preferred; do
    [ -e "$f" ] && echo "$f: $(cat "$f")"
  done
  grep -m1 -i '^Features' /proc/cpuinfo
  cat /etc/tagvm-kit
  echo "--- dmesg"
  dmesg
}

mode_mte_test() {
  /opt/tagvm/mte-test
}

# selftests: kselftest's TAP, with each program's own TAP lines indented by "# " as
# run_kselftest.sh does; exit status 4 is kselftest's SKIP.
mode_selftests() {
  dir=/opt/selftests/arm64/mte
  [ -n "$selftests" ] || selftests=$(cd $dir && echo check_*)
  set -- $selftests
  echo "TAP version 13"
  echo "1..$#"
  n=0 failed=0
  for t in "$@"; do
    n=$((n + 1))
    echo "# selftests: arm64/mte: $t"
    if [ ! -x "$dir/$t" ]; then
      echo "not ok $n selftests: arm64/mte: $t # no such test"
      failed=$((failed + 1))
      continue
    fi
    read -r t0 idle0 </proc/uptime
    if [ "$timeout" = 0 ]; then
      (cd $dir && "./$t" >/tmp/st.out 2>&1; echo $? >/tmp/st.rc)
    else
      (cd $dir && timeout "$timeout" "./$t" >/tmp/st.out 2>&1; echo $? >/tmp/st.rc)
    fi
    read -r t1 idle1 </proc/uptime
    sed 's/^/# /' /tmp/st.out
    echo "# time: $t uptime $t0 $t1 idle $idle0 $idle1"
    rc=$(cat /tmp/st.rc)
    case $rc in
      0) echo "ok $n selftests: arm64/mte: $t" ;;
      4) echo "ok $n selftests: arm64/mte: $t # SKIP" ;;
      124 | 143) echo "not ok $n selftests: arm64/mte: $t # TIMEOUT ${timeout} seconds"; failed=$((failed + 1)) ;;
      *) echo "not ok $n selftests: arm64/mte: $t # exit=$rc"; failed=$((failed + 1)) ;;
    esac
  done
  [ $failed -eq 0 ]
}

mode_heap() {
  args="--size $heap --passes $passes"
  [ "$churn" = 1 ] && args="$args --churn"
  [ "$heapwait" = 1 ] && args="$args --wait"
  [ "$heaptags" = 0 ] && args="$args --untagged"
  /opt/tagvm/tagged-heap $args
}

status=0
for mode in $(echo "$run" | tr , ' '); do
  case $mode in
    shell)
      echo "=== tagvm-kit: shell (poweroff -f to stop) ==="
      setsid cttyhack sh -l
      poweroff -f
      ;;
    boot | mte-test | selftests | heap)
      dmesg -n "$loglevel"
      echo "=== tagvm-kit: begin $mode ==="
      rc=0
      "mode_$(echo "$mode" | tr - _)" || rc=$?
      echo "=== tagvm-kit: end $mode status=$rc ==="
      [ $rc -eq 0 ] || status=$rc
      ;;
    *)
      echo "=== tagvm-kit: unknown mode '$mode' (boot, mte-test, selftests, heap, shell) ==="
      status=2
      ;;
  esac
done
echo "=== tagvm-kit: powering off, status=$status ==="
poweroff -f
