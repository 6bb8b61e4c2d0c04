// The benchmark guests (guests/bench-*): one workload each, built twice, with MTE on
// (BENCH_MTE = 1: data on Tagged memory through tagged pointers, SCTLR_EL1.ATA, synchronous tag
// checks) and MTE off (BENCH_MTE = 0: the same data on Normal memory, no tag access, TCF = 0).
// Each prints one line with its result, so QEMU's recording and tagvm's run can be compared,
// and for MTE on whether a mismatched tag still faults (the checks really were on).
//
// How much work: BENCH_PARAMS holds a round count written before boot (QEMU:
// -device loader,addr=0x407ff000,data=N,data-len=4; tagvm: a memory write). 0 (the RAM's
// reset value) runs the guest's default, 0xffffffff runs no round (set-up alone, so a bench
// can subtract it).
#ifndef GUEST_BENCH_H
#define GUEST_BENCH_H
#include "probe.h"

#ifndef BENCH_MTE
#define BENCH_MTE 1
#endif

#define BENCH_PARAMS 0x407ff000UL
#define BENCH_BASE 0x40800000UL
#define BENCH_SIZE 0x800000UL
#define BENCH_NO_ROUNDS 0xffffffffu

// GCR_EL1.Exclude: IRG never picks tag 0, so an untagged pointer never matches by chance.
#define BENCH_EXCLUDE 1UL

static inline u64 xorshift64(u64 *s) {
  u64 x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

// Reads the round count (with the MMU still off), maps the bench region and turns on the MMU
// and, for MTE on, tag access and synchronous checking.
static inline u32 bench_start(u32 default_rounds) {
  u32 p = *(volatile u32 *)BENCH_PARAMS;
  u32 rounds = p == 0 ? default_rounds : p == BENCH_NO_ROUNDS ? 0 : p;
  mmu_map(BENCH_BASE, BENCH_SIZE, BENCH_MTE ? ATTR_TAGGED : ATTR_NORMAL);
  if (BENCH_MTE) {
    mte_enable(SCTLR_TCF_SYNC, 0);
    write_sysreg(gcr_el1, BENCH_EXCLUDE);
    write_sysreg(rgsr_el1, 0xace1UL << 8);
    isb();
  } else {
    mmu_enable(TCR_TBI0 | TCR_TBI1, 0);
  }
  return rounds;
}

// Gives [p, p + len) (granule-aligned) a random tag and returns p with that tag; MTE off: p.
static inline u64 bench_tag(u64 p, u64 len) {
  if (!BENCH_MTE) return p;
  u64 t = irg(p, 0);
  u64 off = 0;
  for (; off + 2 * GRANULE <= len; off += 2 * GRANULE) st2g(t + off);
  if (off < len) stg(t + off);
  return t;
}

// MTE on: a load through `p` with its tag changed must fault (and is skipped). Prints the
// result line.
static inline void bench_finish(const char *name, u32 rounds, u64 result, u64 p) {
  const char *checks = "off";
  if (BENCH_MTE) {
    set_exception_handler(skip_data_aborts);
    fault_log_reset();
    probe_load(with_tag(p, tag_of(p) ^ 1), SENTINEL);
    checks = last_fault.count == 1 && (last_fault.esr & 0x3f) == 0x11 ? "fault" : "MISSED";
  }
  printf("%s mte=%d rounds=%u result=%lx tag-check=%s\n", name, BENCH_MTE, rounds, result, checks);
}

#endif
